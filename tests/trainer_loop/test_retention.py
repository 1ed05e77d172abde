"""Retention deletes (or anonymises) exactly the ended conversations of each
kind, on SQLite and PostgreSQL, and every run is counted in the audit log."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli.training_cmd import retention_once
from console.audit import SystemActor
from console.orm import AuditEntry
from core.db import session_scope
from dossiers.service import submit_dossier
from tests.conftest import DATABASE_KINDS, isolated_database
from tests.dossiers.test_dossiers_service import make_request
from tests.trainer_loop.tracker import FakeTracker
from training import inbox
from training.inbox import EVENTS
from training.orm import InboxItem
from training.retention import RetentionPolicy, anonymous_id

DAY = 86400.0


def _conversation(tracker: FakeTracker, sender: str, days_ago: float) -> None:
    tracker.at(time.time() - days_ago * DAY)
    tracker.user(sender, f"tên tôi là Nguyễn Văn Bình, sđt 0912345678 ({sender})",
                 "nlu_fallback", 0.2)
    tracker._add(sender, "slot", {"name": "phone", "value": "0912345678"})
    tracker.bot(sender, "Xin lỗi, tôi chưa hiểu.")


def _setup(tracker: FakeTracker, factory) -> None:
    _conversation(tracker, "old-plain", 100)      # ended, no dossier: handled
    _conversation(tracker, "recent-plain", 10)    # too recent
    _conversation(tracker, "old-filer", 100)      # has a dossier: longer period, kept
    _conversation(tracker, "ancient-filer", 800)  # has a dossier, past it: handled
    tracker.at(time.time() - 100 * DAY)
    tracker.user("resumed", "hỏi lại", "greet", 0.9)
    tracker.at(time.time() - 1 * DAY)
    tracker.user("resumed", "hỏi tiếp", "greet", 0.9)  # last activity counts: kept
    for sender in ("old-filer", "ancient-filer"):
        with session_scope(factory) as db:
            submit_dossier(db, make_request(key=secrets.token_hex(6), sender=sender),
                           deliver=False)
    with session_scope(factory) as db:
        inbox.collect(db, tracker.engine)


def _senders(tracker: FakeTracker) -> dict[str, int]:
    with tracker.engine.connect() as connection:
        rows = connection.execute(select(EVENTS.c.sender_id)).scalars().all()
    out: dict[str, int] = {}
    for sender in rows:
        out[sender] = out.get(sender, 0) + 1
    return out


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_delete_exactly_the_ended_conversations(kind: str, tmp_path: Path) -> None:
    with isolated_database(kind, tmp_path) as database:
        # the tracker store in the same database kind (its own schema on PostgreSQL)
        tracker_url = database.url if kind == "postgresql" else (
            f"sqlite:///{tmp_path / 'tracker.db'}")
        tracker = FakeTracker(tracker_url)
        factory = database.new_factory()
        _setup(tracker, factory)
        before = _senders(tracker)
        policy = RetentionPolicy(90, 730, "delete")
        result = retention_once(factory, tracker.engine, policy, SystemActor("retention"))
        after = _senders(tracker)
        assert set(before) - set(after) == {"old-plain", "ancient-filer"}
        assert after == {k: v for k, v in before.items() if k in after}
        assert result.conversations == {"without_dossier": 1, "with_dossier": 1}
        assert result.events == {"without_dossier": before["old-plain"],
                                 "with_dossier": before["ancient-filer"]}
        again = retention_once(factory, tracker.engine, policy, SystemActor("retention"))
        assert sum(again.conversations.values()) == 0
        with session_scope(factory) as db:
            entries = db.execute(
                select(AuditEntry).where(AuditEntry.action == "retention.delete")
                .order_by(AuditEntry.id)
            ).scalars().all()
            counted = {(e.target_id, e.detail["conversations"], e.detail["events"])
                       for e in entries[:2]}
            stale = db.execute(select(InboxItem).where(
                InboxItem.sender_id.in_(["old-plain", "ancient-filer"]))).scalars().all()
        assert counted == {("without_dossier", 1, before["old-plain"]),
                           ("with_dossier", 1, before["ancient-filer"])}
        assert stale == []
        tracker.close()


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_anonymise_instead_of_delete(kind: str, tmp_path: Path) -> None:
    with isolated_database(kind, tmp_path) as database:
        tracker_url = database.url if kind == "postgresql" else (
            f"sqlite:///{tmp_path / 'tracker.db'}")
        tracker = FakeTracker(tracker_url)
        factory = database.new_factory()
        _setup(tracker, factory)
        before = _senders(tracker)
        result = retention_once(factory, tracker.engine, RetentionPolicy(90, 730, "anonymise"),
                                SystemActor("retention"))
        after = _senders(tracker)
        assert result.conversations == {"without_dossier": 1, "with_dossier": 1}
        assert "old-plain" not in after and after[anonymous_id("old-plain")] == before[
            "old-plain"]
        with tracker.engine.connect() as connection:
            data = connection.execute(select(EVENTS.c.data).where(
                EVENTS.c.sender_id == anonymous_id("old-plain"))).scalars().all()
            kept = connection.execute(select(EVENTS.c.data).where(
                EVENTS.c.sender_id == "recent-plain")).scalars().all()
        text = " ".join(data)
        assert "0912345678" not in text and "Bình" not in text
        assert any(json.loads(d).get("text", "").startswith("tên tôi là [họ tên]") for d in data)
        assert "0912345678" in " ".join(kept)  # not ended: untouched
        with session_scope(factory) as db:
            moved = db.execute(select(InboxItem.sender_id)).scalars().all()
            actions = db.execute(select(AuditEntry.action)).scalars().all()
        assert anonymous_id("old-plain") in moved and "old-plain" not in moved
        assert actions.count("retention.anonymise") == 2
        again = retention_once(factory, tracker.engine, RetentionPolicy(90, 730, "anonymise"),
                               SystemActor("retention"))
        assert sum(again.conversations.values()) == 0  # anonymised ones are not redone
        tracker.close()


def test_policy_from_environment() -> None:
    assert RetentionPolicy.from_env({}) == RetentionPolicy(90, 730, "anonymise")
    policy = RetentionPolicy.from_env({"TTHC_RETENTION_DAYS": "30",
                                       "TTHC_RETENTION_DAYS_WITH_DOSSIER": "0",
                                       "TTHC_RETENTION_MODE": "delete"})
    assert policy == RetentionPolicy(30, 0, "delete")
    with pytest.raises(ValueError):
        RetentionPolicy.from_env({"TTHC_RETENTION_MODE": "shred"})
    with pytest.raises(ValueError):
        RetentionPolicy.from_env({"TTHC_RETENTION_DAYS": "-1"})
