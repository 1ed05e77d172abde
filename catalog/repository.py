"""Reading and writing procedures in the catalog database.

The repository converts between the plain `catalog.model` classes and the
ORM rows; nothing outside `catalog/` needs to know the tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.legal import NUMBER_RE, LegalEntry, normalize_number
from catalog.model import (
    Document,
    Fee,
    FeeRule,
    LegalDocument,
    Procedure,
    ProcessingTime,
    SubmissionMethod,
)
from catalog.orm import (
    CatalogImportRow,
    LegalDocumentRow,
    LegalDocumentStatusRow,
    ProcedureAliasRow,
    ProcedureDocumentRow,
    ProcedureLegalBasisRow,
    ProcedureMethodRow,
    ProcedureRow,
)
from catalog.search import SearchEntry
from core.db import utcnow


@dataclass(frozen=True)
class FeeCorrection:
    amount_vnd: int | None
    text: str
    source: str


@dataclass(frozen=True)
class LegalStatus:
    number: str
    status: str
    superseded_by: str | None
    source: str | None


@dataclass(frozen=True)
class CuratedProcedure:
    """A procedure with the maintainers' overlay applied. `legal` maps the
    normalised numbers of its legal bases to their registry entries (empty
    when built without a database)."""

    procedure: Procedure
    aliases: tuple[str, ...]
    popularity: float
    fee_correction: FeeCorrection | None
    legal: Mapping[str, LegalEntry] = dataclass_field(default_factory=dict)


def _rule_from_dict(data: Mapping[str, Any]) -> FeeRule:
    def day(value: Any) -> date | None:
        return date.fromisoformat(value) if value else None

    return FeeRule(
        kind=data["kind"],
        amount_vnd=data.get("amount_vnd"),
        valid_from=day(data.get("valid_from")),
        valid_until=day(data.get("valid_until")),
        percent=data.get("percent"),
        online_only=bool(data.get("online_only")),
        source=data.get("source"),
        text=data.get("text", ""),
    )


def entry_from_row(row: LegalDocumentRow) -> LegalEntry:
    return LegalEntry(
        number=row.number,
        doc_type=row.doc_type,
        issuer=row.issuer,
        issue_date=row.issue_date,
        title=row.title,
        status=row.status,
        amended_by=tuple(row.amended_by or ()),
        replaced_by=row.replaced_by,
        expired_on=row.expired_on,
        status_source=row.status_source,
        origin=row.origin,
        cited_by=row.cited_by,
    )


def entry_row(entry: LegalEntry) -> dict[str, Any]:
    """Insert parameters of one registry row."""
    return {
        "number": entry.number,
        "doc_type": entry.doc_type,
        "issuer": entry.issuer,
        "issue_date": entry.issue_date,
        "title": entry.title,
        "status": entry.status,
        "amended_by": list(entry.amended_by),
        "replaced_by": entry.replaced_by,
        "expired_on": entry.expired_on,
        "status_source": entry.status_source,
        "origin": entry.origin,
        "cited_by": entry.cited_by,
    }


def procedure_from_row(row: ProcedureRow) -> Procedure:
    return Procedure(
        code=row.code,
        name=row.name,
        field=row.field,
        implementing_level=row.implementing_level,
        agencies=list(row.agencies or []),
        competent_authority=row.competent_authority,
        url=row.url,
        decision=row.decision,
        procedure_type=row.procedure_type,
        subjects=row.subjects,
        steps=row.steps,
        requirements=row.requirements,
        result=row.result,
        source_agency=row.source_agency,
        methods=[
            SubmissionMethod(
                channel=m.channel,
                processing_time=ProcessingTime(m.time_value, m.time_unit, m.time_text),
                fee=Fee(m.fee_amount_vnd, m.fee_text, m.fee_note),
                description=m.description,
                fee_rules=tuple(_rule_from_dict(r) for r in (m.fee_rules or ())),
            )
            for m in row.methods
        ],
        documents=[
            Document(d.name, d.originals, d.copies, d.form, d.case, d.kind)
            for d in row.documents
        ],
        legal_basis=[LegalDocument(lb.number, lb.title, lb.doc_type) for lb in row.legal_bases],
    )


def procedure_rows(curated: CuratedProcedure, content_hash: str) -> dict[str, list[dict[str, Any]]]:
    """Table name → rows for one curated procedure, ready for executemany inserts
    (the ORM's per-row inserts made a full import several times slower)."""
    p = curated.procedure
    correction = curated.fee_correction
    code = p.code
    return {
        ProcedureRow.__tablename__: [
            {
                "code": code,
                "name": p.name,
                "field": p.field,
                "implementing_level": p.implementing_level,
                "agencies": list(p.agencies),
                "competent_authority": p.competent_authority,
                "url": p.url,
                "decision": p.decision,
                "procedure_type": p.procedure_type,
                "subjects": p.subjects,
                "steps": p.steps,
                "requirements": p.requirements,
                "result": p.result,
                "source_agency": p.source_agency,
                "online": p.online,
                "popularity": curated.popularity,
                "fee_correction_amount_vnd": correction.amount_vnd if correction else None,
                "fee_correction_text": correction.text if correction else None,
                "fee_correction_source": correction.source if correction else None,
                "content_hash": content_hash,
                "updated_at": utcnow(),
            }
        ],
        ProcedureMethodRow.__tablename__: [
            {
                "procedure_code": code,
                "position": i,
                "channel": m.channel,
                "time_value": m.processing_time.value,
                "time_unit": m.processing_time.unit,
                "time_text": m.processing_time.text,
                "fee_amount_vnd": m.fee.amount_vnd,
                "fee_text": m.fee.text,
                "fee_note": m.fee.note,
                "description": m.description,
                "fee_rules": [rule.to_dict() for rule in m.fee_rules],
            }
            for i, m in enumerate(p.methods)
        ],
        ProcedureDocumentRow.__tablename__: [
            {
                "procedure_code": code,
                "position": i,
                "name": d.name,
                "originals": d.originals,
                "copies": d.copies,
                "form": d.form,
                "case": d.case,
                "kind": d.kind,
            }
            for i, d in enumerate(p.documents)
        ],
        ProcedureLegalBasisRow.__tablename__: [
            {
                "procedure_code": code,
                "position": i,
                "number": lb.number,
                "title": lb.title,
                "doc_type": lb.doc_type,
            }
            for i, lb in enumerate(p.legal_basis)
        ],
        ProcedureAliasRow.__tablename__: [
            {"procedure_code": code, "position": i, "alias": alias}
            for i, alias in enumerate(curated.aliases)
        ],
    }


class CatalogRepository:
    """Queries over the catalog tables within one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, code: str) -> Procedure | None:
        row = self.session.get(ProcedureRow, code.strip())
        return procedure_from_row(row) if row else None

    def get_curated(
        self, code: str, registry: Mapping[str, LegalEntry] | None = None
    ) -> CuratedProcedure | None:
        """The procedure with its overlay and the registry entries of its legal
        bases (looked up in `registry` when given, else in the database)."""
        row = self.session.get(ProcedureRow, code.strip())
        if row is None:
            return None
        correction = None
        if row.fee_correction_text:
            correction = FeeCorrection(
                row.fee_correction_amount_vnd,
                row.fee_correction_text,
                row.fee_correction_source or "",
            )
        procedure = procedure_from_row(row)
        numbers = {lb.number for lb in procedure.legal_basis if lb.number}
        for method in procedure.methods:  # fees cite documents too ("theo Thông tư 44/2023/...")
            numbers.update(r.source for r in method.fee_rules if r.source)
            numbers.update(
                n for n in map(normalize_number, NUMBER_RE.findall(method.fee.note)) if n
            )
        if registry is None:
            legal = self.legal_registry(numbers)
        else:
            legal = {n: registry[n] for n in numbers if n in registry}
        return CuratedProcedure(
            procedure=procedure,
            aliases=tuple(a.alias for a in row.aliases),
            popularity=row.popularity,
            fee_correction=correction,
            legal=legal,
        )

    def iter_curated(self) -> list[CuratedProcedure]:
        registry = self.legal_registry()
        codes = self.session.execute(select(ProcedureRow.code).order_by(ProcedureRow.code))
        return [
            c for c in (self.get_curated(code, registry) for (code,) in codes) if c is not None
        ]

    def legal_registry(self, numbers: set[str] | None = None) -> dict[str, LegalEntry]:
        """Registry entries by number (all, or only `numbers` plus the documents
        that replace them, so a replacement chain can be followed)."""
        query = select(LegalDocumentRow)
        if numbers is not None:
            if not numbers:
                return {}
            query = query.where(LegalDocumentRow.number.in_(sorted(numbers)))
        entries = {r.number: entry_from_row(r) for r in self.session.execute(query).scalars()}
        pending = {e.replaced_by for e in entries.values() if e.replaced_by} - set(entries)
        while numbers is not None and pending:
            more = self.session.execute(
                select(LegalDocumentRow).where(LegalDocumentRow.number.in_(sorted(pending)))
            ).scalars()
            found = {r.number: entry_from_row(r) for r in more}
            entries.update(found)
            pending = {e.replaced_by for e in found.values() if e.replaced_by} - set(entries)
        return entries

    def count(self) -> int:
        return self.session.execute(select(func.count()).select_from(ProcedureRow)).scalar_one()

    def search_entries(self) -> list[SearchEntry]:
        """What the search index needs, in two queries (no per-row loading)."""
        aliases: dict[str, list[str]] = {}
        for code, alias in self.session.execute(
            select(ProcedureAliasRow.procedure_code, ProcedureAliasRow.alias).order_by(
                ProcedureAliasRow.procedure_code, ProcedureAliasRow.position
            )
        ):
            aliases.setdefault(code, []).append(alias)
        rows = self.session.execute(
            select(
                ProcedureRow.code,
                ProcedureRow.name,
                ProcedureRow.popularity,
                ProcedureRow.implementing_level,
                ProcedureRow.field,
            ).order_by(ProcedureRow.code)
        )
        return [
            SearchEntry(
                code=code,
                name=name,
                aliases=tuple(aliases.get(code, ())),
                popularity=popularity,
                implementing_level=level,
                field=field,
            )
            for code, name, popularity, level, field in rows
        ]

    def popular(self, limit: int = 5) -> list[tuple[str, str]]:
        """(code, name) of the procedures with the highest curated popularity."""
        rows = self.session.execute(
            select(ProcedureRow.code, ProcedureRow.name)
            .where(ProcedureRow.popularity > 0)
            .order_by(ProcedureRow.popularity.desc(), ProcedureRow.code)
            .limit(limit)
        ).all()
        return [(code, name) for code, name in rows]

    def legal_statuses(self) -> dict[str, LegalStatus]:
        return {
            r.number: LegalStatus(r.number, r.status, r.superseded_by, r.source)
            for r in self.session.execute(select(LegalDocumentStatusRow)).scalars()
        }

    def last_import(self) -> CatalogImportRow | None:
        return self.session.execute(
            select(CatalogImportRow)
            .where(CatalogImportRow.finished_at.is_not(None))
            .order_by(CatalogImportRow.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    def stats(self) -> dict[str, Any]:
        """Counts maintainers look at after an import."""
        s = self.session
        levels: Counter[str] = Counter()
        for (level,) in s.execute(select(ProcedureRow.implementing_level)):
            for part in (level or "").split(","):
                levels[part.strip() or "(không rõ)"] += 1
        by_agency = dict(
            s.execute(
                select(ProcedureRow.source_agency, func.count())
                .group_by(ProcedureRow.source_agency)
                .order_by(ProcedureRow.source_agency)
            ).all()
        )
        channels = dict(
            s.execute(
                select(ProcedureMethodRow.channel, func.count(func.distinct(
                    ProcedureMethodRow.procedure_code
                ))).group_by(ProcedureMethodRow.channel)
            ).all()
        )
        last = self.last_import()

        def count_of(model: Any) -> int:
            return s.execute(select(func.count()).select_from(model)).scalar_one()

        return {
            "procedures": self.count(),
            "online": s.execute(
                select(func.count()).select_from(ProcedureRow).where(ProcedureRow.online)
            ).scalar_one(),
            "methods": count_of(ProcedureMethodRow),
            "documents": count_of(ProcedureDocumentRow),
            "legal_bases": count_of(ProcedureLegalBasisRow),
            "aliases": count_of(ProcedureAliasRow),
            "fee_corrections": s.execute(
                select(func.count())
                .select_from(ProcedureRow)
                .where(ProcedureRow.fee_correction_text.is_not(None))
            ).scalar_one(),
            "by_source_agency": by_agency,
            "by_level": dict(sorted(levels.items())),
            "by_channel": channels,
            "last_import": None
            if last is None
            else {
                "finished_at": last.finished_at.isoformat(timespec="seconds"),
                "records": last.records,
                "failed": len(last.failures or []),
            },
        }
