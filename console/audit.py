"""The append-only audit log: the one call every sensitive action makes.

    from console.audit import record
    record(db, request.ctx.staff, "dossier.status", "dossier", code,
           ip=client_ip(request), status="rejected", note_chars=42)

Write the audit row in the SAME session (unit of work) as the change it
describes, so both commit or neither does. Never put the revealed personal
data itself into `detail`: record which field was revealed, not its value.

Actions in use: auth.login, auth.login_failed, auth.lockout, auth.logout,
staff.add, staff.disable, staff.enable, staff.reset_password, staff.role,
personal.reveal, export.conversations, export.dossiers, dossier.status,
dossier.supplement, attachment.download, handoff.* (H6).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.orm import AuditEntry


class Actor(Protocol):
    # Read-only members, so frozen dataclasses (StaffView, SystemActor) satisfy it.
    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class SystemActor:
    """The actor for terminal commands (`tthc staff ...`): `cli:<os user>`."""

    username: str
    role: str = "system"


def cli_actor() -> SystemActor:
    """The actor of a terminal command: `cli:<os user>` (cut to the 64-character column)."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = str(os.getuid())
    return SystemActor(f"cli:{user}"[:64])


def record(
    db: Session,
    actor: Actor,
    action: str,
    target_type: str = "",
    target_id: str | int = "",
    *,
    ip: str = "",
    note: str = "",
    **detail: Any,
) -> AuditEntry:
    """Append one audit entry (flushed, not committed: the caller's unit of
    work commits it with the change). `detail` must be JSON-serialisable."""
    entry = AuditEntry(
        actor=actor.username[:64],
        actor_role=actor.role[:16],
        action=action[:64],
        target_type=target_type[:32],
        target_id=str(target_id)[:128],
        detail=detail,
        ip=ip[:64],
        note=note,
    )
    db.add(entry)
    db.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """Filters of the audit page; empty strings / None mean "any"."""

    actor: str = ""
    action: str = ""
    target: str = ""
    since: datetime | None = None
    until: datetime | None = None


def search(
    db: Session, filters: AuditFilter, *, limit: int = 100, offset: int = 0
) -> tuple[Sequence[AuditEntry], int]:
    """Entries matching `filters`, newest first, and the total count."""
    query = select(AuditEntry)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action))
    if filters.target:
        query = query.where(AuditEntry.target_id == filters.target)
    if filters.since is not None:
        query = query.where(AuditEntry.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.created_at < filters.until)
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = db.execute(
        query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    ).scalars().all()
    return rows, int(total)
