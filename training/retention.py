"""Retention of conversations in Rasa's tracker store (issue 12).

A conversation (all events of one sender id) has *ended* when its last event
is older than the retention period that applies to it:

- `days_without_dossier` (TTHC_RETENTION_DAYS, default 90) when the sender
  never filed a dossier;
- `days_with_dossier` (TTHC_RETENTION_DAYS_WITH_DOSSIER, default 730) when it
  did (the conversation documents the filing).

What happens to an ended conversation (TTHC_RETENTION_MODE):

- `anonymise` (default): every text is scrubbed (training.scrub), personal slot
  values and button payload values removed, the sender id replaced by
  "anon-" + a hash (stable, so statistics still count distinct conversations);
  inbox items that pointed at it follow the new id. Anonymised conversations are
  never touched again.
- `delete`: its events are deleted.

`run` returns what it did (`RetentionResult`); `tthc retention run` writes it
to the audit log (one entry per kind, with the counts). A 0 period disables
that kind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.settings import RETENTION_MODES, settings_for
from dossiers.orm import Dossier
from training.inbox import EVENTS
from training.orm import InboxItem
from training.scrub import scrub

__all__ = ["RetentionPolicy", "RetentionResult", "run"]

ANON_PREFIX = "anon-"
PII_SLOTS = frozenset(
    {
        "citizen_id",
        "phone",
        "address",
        "temporary_address",
        "permanent_address",
        "applicant_name",
        "full_name",
        "name",
        "date_of_birth",
        "email",
    }
)
MODES = RETENTION_MODES


@dataclass(frozen=True)
class RetentionPolicy:
    """Periods in days (0 = keep forever) and the mode (anonymise | delete)."""

    days_without_dossier: int = 90
    days_with_dossier: int = 730
    mode: str = "anonymise"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionPolicy:
        """From TTHC_RETENTION_DAYS, TTHC_RETENTION_DAYS_WITH_DOSSIER and
        TTHC_RETENTION_MODE (core.settings; `env`: a mapping instead of the
        process environment); ValueError (SettingsError) naming a bad value."""
        training = settings_for(env).training
        return cls(
            training.retention_days,
            training.retention_days_with_dossier,
            training.retention_mode,
        )


@dataclass
class RetentionResult:
    """Conversations and events handled, per kind ("without_dossier", "with_dossier")."""

    mode: str
    conversations: dict[str, int] = field(
        default_factory=lambda: {"without_dossier": 0, "with_dossier": 0}
    )
    events: dict[str, int] = field(
        default_factory=lambda: {"without_dossier": 0, "with_dossier": 0}
    )


def anonymous_id(sender_id: str) -> str:
    """The stable anonymous id of `sender_id`."""
    return ANON_PREFIX + hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:20]


def _anonymise_data(data: dict[str, Any]) -> dict[str, Any]:
    if "text" in data and isinstance(data["text"], str):
        data["text"] = scrub(data["text"])
    parse = data.get("parse_data")
    if isinstance(parse, dict):
        if isinstance(parse.get("text"), str):
            parse["text"] = scrub(parse["text"])
        for entity in parse.get("entities") or []:
            if isinstance(entity, dict) and entity.get("entity") != "procedure":
                entity["value"] = None
    if data.get("event") == "slot" and data.get("name") in PII_SLOTS:
        data["value"] = None
    if isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    return data


def _senders(connection: Any) -> list[tuple[str, float]]:
    return connection.execute(
        select(EVENTS.c.sender_id, func.max(EVENTS.c.timestamp))
        .where(~EVENTS.c.sender_id.startswith(ANON_PREFIX))
        .group_by(EVENTS.c.sender_id)
    ).all()


def run(
    db: Session, tracker: Engine, policy: RetentionPolicy, *, now: datetime | None = None
) -> RetentionResult:
    """Apply `policy` to the tracker store (see module doc). The tracker store
    is changed in its own transaction; inbox references in `db` (the caller
    commits). Nothing to do without an `events` table."""
    now = now or datetime.now(timezone.utc)
    result = RetentionResult(policy.mode)
    if not inspect(tracker).has_table("events"):
        return result
    with_dossier = set(db.execute(select(Dossier.sender_id).distinct()).scalars())
    cutoffs = {
        "without_dossier": policy.days_without_dossier,
        "with_dossier": policy.days_with_dossier,
    }
    renames: dict[str, str | None] = {}
    with tracker.begin() as connection:
        for sender, last in _senders(connection):
            kind = "with_dossier" if sender in with_dossier else "without_dossier"
            days = cutoffs[kind]
            if not days or last is None or last >= (now - timedelta(days=days)).timestamp():
                continue
            where = EVENTS.c.sender_id == sender
            if policy.mode == "delete":
                count = connection.execute(delete(EVENTS).where(where)).rowcount
            else:
                new_id = anonymous_id(sender)
                rows = connection.execute(select(EVENTS.c.id, EVENTS.c.data).where(where)).all()
                for row in rows:
                    try:
                        data = json.loads(row.data or "{}")
                    except ValueError:
                        data = {}
                    data = _anonymise_data(data) if isinstance(data, dict) else {}
                    if "sender_id" in data:
                        data["sender_id"] = new_id
                    connection.execute(
                        update(EVENTS)
                        .where(EVENTS.c.id == row.id)
                        .values(sender_id=new_id, data=json.dumps(data, ensure_ascii=False))
                    )
                count = len(rows)
            renames[sender] = anonymous_id(sender) if policy.mode == "anonymise" else None
            result.conversations[kind] += 1
            result.events[kind] += count
    # after the tracker transaction: both may live in one SQLite file
    for sender, renamed in renames.items():
        values: dict[str, str | None] = (
            {"sender_id": renamed} if renamed else {"sender_id": None, "event_id": None}
        )
        db.execute(update(InboxItem).where(InboxItem.sender_id == sender).values(**values))
    return result
