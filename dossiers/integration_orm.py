"""Tables of the one-stop-shop integration (issue 13, migration 0007).

- `SupplementRequest` / `SupplementPart`: what an officer (console) or the
  one-stop-shop (inbound API) asked the citizen to add, and the files and
  answers the citizen sent back (`dossiers.supplements`).
- `DeliveryJob`: durable outbound job (dossier or supplement to the
  one-stop-shop), written in the same transaction as the change it carries
  and delivered by `dossiers.delivery.DeliveryWorker` with the lease/claim
  mechanics of `dossiers.outbox`.
- `InboundStatusEvent`: every status event the one-stop-shop posted, unique
  per (client, event id), so a replayed or duplicate event changes nothing.
- `IntegrationClient`: a caller of the inbound API (bearer token hash and
  HMAC secret).

Same portability rules as `dossiers.orm`: generic types, `UTCDateTime`,
explicit constraint names.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from core.db import Base, UTCDateTime, utcnow
from dossiers.orm import LeasedOutboxRow, _in

SUPPLEMENT_STATUSES: tuple[str, ...] = ("open", "completed", "cancelled")
SUPPLEMENT_PART_KINDS: tuple[str, ...] = ("file", "text")
DELIVERY_KINDS: tuple[str, ...] = ("dossier", "supplement")
# pending -> sending -> delivered | pending (retry) | failed (gave up) | rejected (4xx)
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "sending", "delivered", "failed", "rejected")


class SupplementRequest(Base):
    """One request for missing documents. `items` is a JSON list of document
    names (from the procedure's list or free text), in the order asked."""

    __tablename__ = "supplement_requests"
    __table_args__ = (
        CheckConstraint(_in("status", SUPPLEMENT_STATUSES), name="ck_supplement_requests_status"),
        Index("ix_supplement_requests_dossier", "dossier_id", "status"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    dossier_id = Column(Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False)
    status = Column(String(16), nullable=False, default="open")
    items = Column(JSON, nullable=False, default=list)
    note = Column(Text, nullable=False, default="")
    requested_by = Column(String(128), nullable=False)
    completed_by = Column(String(128), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    completed_at = Column(UTCDateTime, nullable=True)

    parts = relationship(
        "SupplementPart",
        back_populates="supplement",
        order_by="SupplementPart.id",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<SupplementRequest {self.id} dossier={self.dossier_id} {self.status}>"


class SupplementPart(Base):
    """A file (an `Attachment` row) or a text answer the citizen sent."""

    __tablename__ = "supplement_parts"
    __table_args__ = (
        CheckConstraint(_in("kind", SUPPLEMENT_PART_KINDS), name="ck_supplement_parts_kind"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    supplement_id = Column(
        Integer,
        ForeignKey("supplement_requests.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    kind = Column(String(8), nullable=False)
    attachment_id = Column(
        Integer, ForeignKey("dossier_attachments.id", ondelete="CASCADE"), nullable=True
    )
    text = Column(Text, nullable=False, default="")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    supplement = relationship("SupplementRequest", back_populates="parts")
    attachment = relationship("Attachment")


class DeliveryJob(LeasedOutboxRow, Base):
    """Outbox row for the one-stop-shop. Claimed with a lease exactly like
    `Notification` (same column names: `dossiers.outbox` drives both)."""

    __tablename__ = "delivery_jobs"
    __table_args__ = (
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="ck_delivery_jobs_status"),
        CheckConstraint(_in("kind", DELIVERY_KINDS), name="ck_delivery_jobs_kind"),
        UniqueConstraint("idempotency_key", name="uq_delivery_jobs_idempotency_key"),
        Index("ix_delivery_jobs_due", "status", "next_attempt_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    kind = Column(String(16), nullable=False)
    dossier_id = Column(
        Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    supplement_id = Column(
        Integer, ForeignKey("supplement_requests.id", ondelete="SET NULL"), nullable=True
    )
    idempotency_key = Column(String(160), nullable=False)
    status = Column(String(16), nullable=False, default="pending")
    # attempts, next_attempt_at, last_error, claimed_until, claim_token: LeasedOutboxRow
    remote_reference = Column(String(200), nullable=True)
    delivered_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<DeliveryJob {self.id} {self.kind} {self.status} attempts={self.attempts}>"


class InboundStatusEvent(Base):
    """A status event posted by the one-stop-shop, kept for idempotency and
    audit. `outcome`: applied | duplicate-status | stale | rejected:<why>."""

    __tablename__ = "inbound_status_events"
    __table_args__ = (
        UniqueConstraint("client_name", "event_id", name="uq_inbound_status_events_event"),
        Index("ix_inbound_status_events_dossier", "dossier_id", "occurred_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    client_name = Column(String(64), nullable=False)
    event_id = Column(String(128), nullable=False)
    dossier_id = Column(Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=True)
    status = Column(String(32), nullable=False)
    occurred_at = Column(UTCDateTime, nullable=False)
    outcome = Column(String(64), nullable=False)
    payload = Column(JSON, nullable=False, default=dict)
    received_at = Column(UTCDateTime, nullable=False, default=utcnow)


class IntegrationClient(Base):
    """A system allowed to call the inbound API. The bearer token is stored
    only as its SHA-256; the HMAC secret must be kept (it verifies)."""

    __tablename__ = "integration_clients"
    __table_args__ = (UniqueConstraint("name", name="uq_integration_clients_name"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(64), nullable=False)
    token_sha256 = Column(String(64), nullable=True)
    hmac_secret = Column(String(128), nullable=True)
    active = Column(Integer, nullable=False, default=1)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


TABLES = [
    SupplementRequest.__table__,
    SupplementPart.__table__,
    DeliveryJob.__table__,
    InboundStatusEvent.__table__,
    IntegrationClient.__table__,
]
