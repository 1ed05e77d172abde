"""Console tables: staff accounts, server-side sessions, login attempts, audit log.

They derive from the shared `core.db.Base` (one database, one Alembic
history: migration 0006). Timestamps use `core.db.UTCDateTime` (naive UTC
stored, aware UTC returned) so SQLite and PostgreSQL behave the same.

The audit table is append-only: the application only inserts, and migration
0006 adds database triggers (SQLite and PostgreSQL) that refuse UPDATE and
DELETE on it, so not even a bug or a hand-written SQL session can rewrite it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
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

ROLES: tuple[str, ...] = ("officer", "supervisor", "trainer", "admin", "auditor")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class StaffMember(Base):
    """An officer's (or supervisor's, trainer's, admin's, auditor's) account.

    `agency` scopes an officer's dossiers (matched against the procedure's
    implementing agencies); NULL means no agency restriction beyond the role.
    `password_hash` is an argon2id PHC string (argon2-cffi)."""

    __tablename__ = "console_staff"
    __table_args__ = (
        UniqueConstraint("username", name="uq_console_staff_username"),
        CheckConstraint(_in("role", ROLES), name="ck_console_staff_role"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(64), nullable=False)
    display_name = Column(String(100), nullable=False, default="")
    role = Column(String(16), nullable=False)
    agency = Column(String(200), nullable=True)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    # Consecutive failed logins and the lockout they caused.
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime, nullable=True)
    # Set by `tthc staff reset-password`: the next login must choose a new one.
    must_change_password = Column(Boolean, nullable=False, default=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<StaffMember {self.username} {self.role} active={self.active}>"


class StaffSession(Base):
    """A server-side login session. The cookie holds a random token; only its
    sha256 is stored (`token_hash`), so a database leak does not leak sessions.
    `csrf_token` is the synchronizer token every unsafe request must echo."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_staff", "staff_id"),)

    token_hash = Column(String(64), primary_key=True)
    staff_id = Column(
        Integer, ForeignKey("console_staff.id", ondelete="CASCADE"), nullable=False
    )
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = Column(UTCDateTime, nullable=False, default=utcnow)
    ip = Column(String(64), nullable=False, default="")
    user_agent = Column(String(200), nullable=False, default="")


class LoginAttempt(Base):
    """Every login attempt (for per-address throttling and the audit trail of
    failures). `username` is what was typed (truncated), known or not."""

    __tablename__ = "console_login_attempts"
    __table_args__ = (Index("ix_console_login_attempts_ip", "ip", "created_at"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    ip = Column(String(64), nullable=False)
    username = Column(String(64), nullable=False)
    success = Column(Boolean, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class AuditEntry(Base):
    """One append-only audit record: who did what to which object, when.

    `action` is a dotted name ("dossier.status", "personal.reveal",
    "export.conversations", "staff.add", "handoff.claim", ...); `target_type`
    and `target_id` name the object; `detail` holds JSON facts (never the
    revealed personal data itself)."""

    __tablename__ = "console_audit_log"
    __table_args__ = (
        Index("ix_console_audit_created", "created_at"),
        Index("ix_console_audit_action", "action"),
        Index("ix_console_audit_actor", "actor"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    actor = Column(String(64), nullable=False)
    actor_role = Column(String(16), nullable=False, default="")
    action = Column(String(64), nullable=False)
    target_type = Column(String(32), nullable=False, default="")
    target_id = Column(String(128), nullable=False, default="")
    detail = Column(JSON, nullable=False, default=dict)
    ip = Column(String(64), nullable=False, default="")
    # An annotation attached by append-only design: corrections are new rows.
    note = Column(Text, nullable=False, default="")


TABLES = [
    StaffMember.__table__,
    StaffSession.__table__,
    LoginAttempt.__table__,
    AuditEntry.__table__,
]
