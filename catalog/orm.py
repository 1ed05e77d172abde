"""SQLAlchemy tables of the procedure catalog.

Children (methods, documents, legal bases, aliases) keep a `position` so the
order of the portal page survives a round trip. Curation from
`catalog/overrides.yml` (aliases, popularity, fee corrections, legal-document
status) is stored next to the portal data so every process reads one source.
Timestamps are aware UTC (`core.db.UTCDateTime`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import relationship

from core.db import Base, UTCDateTime, utcnow


class ProcedureRow(Base):
    __tablename__ = "procedures"

    code = Column(String(32), primary_key=True)
    name = Column(Text, nullable=False)
    field = Column(Text, nullable=False, default="")
    implementing_level = Column(String(200), nullable=False, default="")
    agencies = Column(JSON, nullable=False, default=list)
    competent_authority = Column(Text, nullable=False, default="")
    url = Column(Text, nullable=False, default="")
    decision = Column(String(200), nullable=False, default="")
    procedure_type = Column(Text, nullable=False, default="")
    subjects = Column(Text, nullable=False, default="")
    steps = Column(Text, nullable=False, default="")
    requirements = Column(Text, nullable=False, default="")
    result = Column(Text, nullable=False, default="")
    source_agency = Column(String(64), nullable=False, default="")
    online = Column(Boolean, nullable=False, default=False)
    # Curation overlay (catalog/overrides.yml).
    popularity = Column(Float, nullable=False, default=0.0)
    fee_correction_amount_vnd = Column(BigInteger, nullable=True)
    fee_correction_text = Column(Text, nullable=True)
    fee_correction_source = Column(Text, nullable=True)
    # sha256 of the raw record + overlay entry: re-imports skip unchanged rows.
    content_hash = Column(String(64), nullable=False, default="")
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)

    methods = relationship(
        "ProcedureMethodRow",
        order_by="ProcedureMethodRow.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    documents = relationship(
        "ProcedureDocumentRow",
        order_by="ProcedureDocumentRow.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    legal_bases = relationship(
        "ProcedureLegalBasisRow",
        order_by="ProcedureLegalBasisRow.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    aliases = relationship(
        "ProcedureAliasRow",
        order_by="ProcedureAliasRow.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class ProcedureMethodRow(Base):
    """One submission channel of a procedure with its time and fee."""

    __tablename__ = "procedure_methods"

    id = Column(Integer, primary_key=True)
    procedure_code = Column(
        String(32), ForeignKey("procedures.code", ondelete="CASCADE"), nullable=False, index=True
    )
    position = Column(Integer, nullable=False)
    channel = Column(String(64), nullable=False)
    time_value = Column(Float, nullable=True)
    time_unit = Column(String(64), nullable=True)
    time_text = Column(Text, nullable=False, default="")
    fee_amount_vnd = Column(BigInteger, nullable=True)
    fee_text = Column(Text, nullable=False, default="")
    fee_note = Column(Text, nullable=False, default="")
    description = Column(Text, nullable=False, default="")
    # Dated fee rules read from the note (catalog.fees; FeeRule.to_dict shapes).
    fee_rules = Column(JSON, nullable=False, default=list)


class ProcedureDocumentRow(Base):
    __tablename__ = "procedure_documents"

    id = Column(Integer, primary_key=True)
    procedure_code = Column(
        String(32), ForeignKey("procedures.code", ondelete="CASCADE"), nullable=False, index=True
    )
    position = Column(Integer, nullable=False)
    name = Column(Text, nullable=False)
    originals = Column(Integer, nullable=False, default=0)
    copies = Column(Integer, nullable=False, default=0)
    form = Column(Text, nullable=True)
    case = Column(Text, nullable=True)
    # declaration | submit | conditional | present | note (catalog.model.DOCUMENT_KINDS)
    kind = Column(String(16), nullable=False, default="submit")


class ProcedureLegalBasisRow(Base):
    __tablename__ = "procedure_legal_bases"

    id = Column(Integer, primary_key=True)
    procedure_code = Column(
        String(32), ForeignKey("procedures.code", ondelete="CASCADE"), nullable=False, index=True
    )
    position = Column(Integer, nullable=False)
    number = Column(String(200), nullable=True, index=True)  # normalised (catalog.legal)
    title = Column(Text, nullable=False, default="")
    doc_type = Column(String(64), nullable=False, default="")


class ProcedureAliasRow(Base):
    """A colloquial name maintainers added ("sổ đỏ", "bằng lái")."""

    __tablename__ = "procedure_aliases"

    id = Column(Integer, primary_key=True)
    procedure_code = Column(
        String(32), ForeignKey("procedures.code", ondelete="CASCADE"), nullable=False, index=True
    )
    position = Column(Integer, nullable=False)
    alias = Column(Text, nullable=False)


class LegalDocumentStatusRow(Base):
    """Curated status of a legal document (in force, amended, superseded...),
    keyed by its number. The portal does not say when a legal basis is stale."""

    __tablename__ = "legal_document_statuses"

    number = Column(String(200), primary_key=True)
    status = Column(String(32), nullable=False)
    superseded_by = Column(String(200), nullable=True)
    source = Column(Text, nullable=True)


class LegalDocumentRow(Base):
    """The legal-document registry (catalog.legal): one row per document the
    catalog cites or a curated entry names, with its status and the source of
    that status. Rebuilt by every import."""

    __tablename__ = "legal_documents"

    number = Column(String(200), primary_key=True)
    doc_type = Column(String(64), nullable=False, default="")
    issuer = Column(Text, nullable=False, default="")
    issue_date = Column(Date, nullable=True)
    title = Column(Text, nullable=False, default="")
    status = Column(String(32), nullable=False, default="unverified")
    amended_by = Column(JSON, nullable=False, default=list)
    replaced_by = Column(String(200), nullable=True)
    expired_on = Column(Date, nullable=True)
    status_source = Column(Text, nullable=True)
    origin = Column(String(16), nullable=False, default="catalog")
    cited_by = Column(Integer, nullable=False, default=0)


class CatalogImportRow(Base):
    """One run of `tthc catalog import`, with its failures, for `--if-changed`
    and for maintainers who want to know when the data last changed."""

    __tablename__ = "catalog_imports"

    id = Column(Integer, primary_key=True)
    source = Column(Text, nullable=False)
    fingerprint = Column(String(64), nullable=False)
    started_at = Column(UTCDateTime, nullable=False, default=utcnow)
    finished_at = Column(UTCDateTime, nullable=True)
    records = Column(Integer, nullable=False, default=0)
    inserted = Column(Integer, nullable=False, default=0)
    updated = Column(Integer, nullable=False, default=0)
    unchanged = Column(Integer, nullable=False, default=0)
    removed = Column(Integer, nullable=False, default=0)
    failures = Column(JSON, nullable=False, default=list)
