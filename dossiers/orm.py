"""SQLAlchemy tables of the dossier store.

They derive from the shared `core.db.Base`, so catalog and dossiers
live in one database with one Alembic history, and a status change commits
together with its notification (transactional outbox).

Portability (SQLite default, PostgreSQL for scale-out): only generic types;
timestamps are `core.db.UTCDateTime` (naive UTC in a plain `TIMESTAMP`, aware
UTC in Python). Constraint names are explicit so Alembic migrations are
deterministic.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_mixin, relationship

from core.db import Base, UTCDateTime, utcnow

DOSSIER_STATUSES: tuple[str, ...] = (
    "submitted",
    "received",
    "processing",
    "need_supplement",
    "completed",
    "rejected",
    "cancelled",
)
NOTIFICATION_STATUSES: tuple[str, ...] = ("pending", "sending", "delivered", "failed")
HANDOFF_STATUSES: tuple[str, ...] = ("open", "taken", "closed")


@declarative_mixin
class LeasedOutboxRow:
    """The delivery lease shared by the two outboxes (`Notification`,
    `DeliveryJob`), which `dossiers.outbox` drives alike.

    A dispatcher claims a due row (`next_attempt_at` passed) by setting a lease
    (`claimed_until`) and its own `claim_token`; only the holder of the token
    may complete it, and an expired lease makes the row claimable again.
    `attempts` counts tries; `last_error` keeps the latest failure's reason.
    """

    # Plain columns on a mixin are copied into each table (same DDL as when
    # both tables declared them by hand: the schema did not change).
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_error = Column(Text, nullable=True)
    claimed_until = Column(UTCDateTime, nullable=True)
    claim_token = Column(String(64), nullable=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Dossier(Base):
    """A submitted dossier (hồ sơ). Applicant fields are real columns (they are
    the same for every procedure); procedure-specific answers go in `extra`."""

    __tablename__ = "dossiers"
    __table_args__ = (
        UniqueConstraint("code", name="uq_dossiers_code"),
        UniqueConstraint("idempotency_key", name="uq_dossiers_idempotency_key"),
        CheckConstraint(_in("status", DOSSIER_STATUSES), name="ck_dossiers_status"),
        Index("ix_dossiers_sender", "sender_id", "channel"),
        Index("ix_dossiers_status", "status"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    code = Column(String(16), nullable=False)
    procedure_code = Column(String(32), nullable=False, index=True)
    procedure_name = Column(Text, nullable=False, default="")
    status = Column(String(32), nullable=False, default="submitted")
    sender_id = Column(String(128), nullable=False)
    channel = Column(String(32), nullable=False)
    applicant_name = Column(String(100), nullable=False)
    applicant_dob = Column(Date, nullable=True)
    applicant_citizen_id = Column(String(12), nullable=True)
    applicant_phone = Column(String(10), nullable=True)
    applicant_address = Column(String(300), nullable=True)
    # Procedure-specific answers, JSON-serialisable (dates as ISO strings).
    extra = Column(JSON, nullable=False, default=dict)
    idempotency_key = Column(String(128), nullable=False)
    # Reference returned by the submission backend (one-stop-shop system).
    backend_reference = Column(String(200), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)

    events = relationship(
        "DossierEvent",
        back_populates="dossier",
        order_by="DossierEvent.id",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:  # no personal data in reprs: they end up in logs
        return f"<Dossier {self.code} {self.procedure_code} {self.status}>"


class DossierEvent(Base):
    """Append-only history of a dossier's status."""

    __tablename__ = "dossier_events"
    __table_args__ = (
        CheckConstraint(_in("status", DOSSIER_STATUSES), name="ck_dossier_events_status"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    dossier_id = Column(
        Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status = Column(String(32), nullable=False)
    actor = Column(String(128), nullable=False)
    note = Column(Text, nullable=False, default="")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    dossier = relationship("Dossier", back_populates="events")


class Notification(LeasedOutboxRow, Base):
    """Transactional outbox row: written in the same transaction as the change
    it announces, delivered later by `outbox.OutboxDispatcher`, which claims
    it by setting status "sending" and the lease of `LeasedOutboxRow`.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_in("status", NOTIFICATION_STATUSES), name="ck_notifications_status"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    dossier_id = Column(
        Integer, ForeignKey("dossiers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    channel = Column(String(32), nullable=False)
    recipient = Column(String(128), nullable=False)
    text = Column(Text, nullable=False)
    # Rasa-style one-tap buttons under the text, [{"title": ..., "payload": ...}]
    # (e.g. 👍/👎 on a finished dossier); NULL for a plain text (older rows too).
    buttons = Column(JSON, nullable=True)
    status = Column(String(16), nullable=False, default="pending")
    # attempts, next_attempt_at, last_error, claimed_until, claim_token: LeasedOutboxRow
    delivered_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.channel} {self.status} attempts={self.attempts}>"


class HandoffRequest(Base):
    """A citizen asked for (or was routed to) a human officer."""

    __tablename__ = "handoff_requests"
    __table_args__ = (
        CheckConstraint(_in("status", HANDOFF_STATUSES), name="ck_handoff_requests_status"),
        Index("ix_handoff_requests_status", "status", "created_at"),
        Index("ix_handoff_requests_sender", "sender_id", "channel"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    sender_id = Column(String(128), nullable=False)
    channel = Column(String(32), nullable=False)
    reason = Column(String(200), nullable=False, default="")
    last_message = Column(Text, nullable=False, default="")
    status = Column(String(16), nullable=False, default="open")
    assigned_to = Column(String(128), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # Hand-off live (dossiers/handoff.py, migration 0005): when an officer took
    # it, when and how it ended ("handed_back", "citizen_ended", "dismissed").
    claimed_at = Column(UTCDateTime, nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)
    closed_by = Column(String(128), nullable=True)
    close_reason = Column(String(32), nullable=True)

    def __repr__(self) -> str:
        return f"<HandoffRequest {self.id} {self.channel} {self.status}>"


class Attachment(Base):
    """A file a citizen uploaded (scan of a document). `dossier_id` stays NULL
    until the dossier it belongs to is submitted; the bytes live at
    `storage_path`, never in the database."""

    __tablename__ = "dossier_attachments"

    id = Column(Integer, primary_key=True, autoincrement=True)
    dossier_id = Column(
        Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=True, index=True
    )
    sender_id = Column(String(128), nullable=False, index=True)
    file_name = Column(String(255), nullable=False)
    content_type = Column(String(127), nullable=False)
    size_bytes = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    storage_path = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.content_type} {self.size_bytes}B>"


# Tables of this package, in dependency order (for create_all(tables=...) in
# tests and tools; production schema comes from Alembic).
TABLES = [
    Dossier.__table__,
    DossierEvent.__table__,
    Notification.__table__,
    HandoffRequest.__table__,
    Attachment.__table__,
]
