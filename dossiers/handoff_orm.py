"""Tables of the live hand-off (issue 11, migration 0005).

`HandoffRequest` itself lives in `dossiers.orm` (it predates this feature);
these are the tables added for the live part: the messages exchanged while an
officer holds a conversation, and the canned replies officers manage.
Portable types only (SQLite default, PostgreSQL for scale-out), explicit
constraint names, timestamps as aware UTC through `UTCDateTime`.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from core.db import Base, UTCDateTime, utcnow

MESSAGE_AUTHORS: tuple[str, ...] = ("citizen", "officer", "system")


class HandoffMessage(Base):
    """One message of a hand-off conversation, in the order it happened.

    `author` is "citizen" (typed while the officer held the conversation),
    "officer" (a reply, also queued in the notification outbox) or "system"
    (claimed, handed back, ended by the citizen). `officer` names the staff
    account for officer and system rows.
    """

    __tablename__ = "handoff_messages"
    __table_args__ = (
        CheckConstraint(
            "author IN ('citizen', 'officer', 'system')", name="ck_handoff_messages_author"
        ),
        Index("ix_handoff_messages_handoff", "handoff_id", "id"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    handoff_id = Column(
        Integer, ForeignKey("handoff_requests.id", ondelete="CASCADE"), nullable=False
    )
    author = Column(String(16), nullable=False)
    officer = Column(String(128), nullable=True)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:  # never the text: it may hold personal data
        return f"<HandoffMessage {self.id} of {self.handoff_id} by {self.author}>"


class CannedReply(Base):
    """A ready-made answer officers insert into the reply box (title unique)."""

    __tablename__ = "handoff_canned_replies"
    __table_args__ = (UniqueConstraint("title", name="uq_handoff_canned_replies_title"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    title = Column(String(100), nullable=False)
    text = Column(Text, nullable=False)
    updated_by = Column(String(128), nullable=False)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<CannedReply {self.id} {self.title!r}>"


HANDOFF_TABLES = [HandoffMessage.__table__, CannedReply.__table__]
