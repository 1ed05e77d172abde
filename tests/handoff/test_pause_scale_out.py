"""The pause holds on the scale-out path: two Rasa workers (Redis locks,
PostgreSQL tracker store) over a PostgreSQL tthc database. After the claim,
messages sent back to back and in parallel — which the two workers share
between them — all go unanswered and all reach the officer; "quay lại trợ
lý" then ends it and the assistant answers again."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.handoff_gate import HELD_NOTICE_VI
from bot.runtime import latest_model, loopback_stack
from catalog.importer import import_catalog
from core.db import (
    drop_postgres_database,
    make_session_factory,
    recreate_postgres_database,
    session_scope,
)
from dossiers import handoff
from tests.conftest import TestDatabase, isolated_database

pytestmark = pytest.mark.slow

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/4"
# Parallel messages of ONE conversation queue on its lock (Rasa's lock ticket
# lives 60 s): a few are enough to have both workers serve the conversation.
HELD_MESSAGES = 4


def _say(base: str, sender: str, message: str, timeout: float = 300) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{base}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def test_two_workers_keep_the_pause(tmp_path: Path) -> None:
    model = latest_model()
    if model is None:
        pytest.fail("no trained model in models/: `make test` trains one first", pytrace=False)
    tracker_url = f"{POSTGRES}/tthc_handoff_tracker_{secrets.token_hex(4)}"
    recreate_postgres_database(tracker_url)
    try:
        with isolated_database("postgresql", tmp_path) as database:
            assert not import_catalog(database.new_factory()).failures  # the NLU needs it
            _run(tmp_path, database, model, tracker_url)
    finally:
        drop_postgres_database(tracker_url)


def _run(tmp_path: Path, database: TestDatabase, model: Path, tracker_url: str) -> None:
    with loopback_stack(
        tmp_path,
        database.url,
        model,
        tracker_store_url=tracker_url,
        lock_store_url=REDIS,
        rasa_workers=2,
    ) as base:
        factory = make_session_factory(database.new_engine())
        citizen = f"scale-{secrets.token_hex(4)}"
        # The port opens before the workers have loaded the model; a worker
        # accepts connections only once it has: wait for the first answer.
        assert _say(base, f"warm-{citizen}", "xin chào", timeout=900)
        assert "số yêu cầu" in " ".join(
            m.get("text") or "" for m in _say(base, citizen, "tôi muốn nói chuyện với cán bộ")
        )
        with session_scope(factory) as session:
            request = handoff.active_for(session, citizen, "rest")
            assert request is not None
            handoff.claim(session, request.id, "canbo.an")

        replies: list[list[dict[str, Any]]] = []
        errors: list[str] = []

        def send(i: int) -> None:
            try:
                replies.append(_say(base, citizen, f"xin chào, câu số {i}"))
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=send, args=(i,)) for i in range(HELD_MESSAGES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        marker = {"handoff": {"status": "held", "id": request.id}}
        assert not errors
        silent = [{"recipient_id": citizen, "custom": marker}]
        notice = [{"recipient_id": citizen, "text": HELD_NOTICE_VI}, *silent]
        # The conversation lock orders the turns across both workers: exactly
        # one message (the first of the hold) gets the notice, none is answered.
        assert sorted(replies, key=len) == [silent] * (HELD_MESSAGES - 1) + [notice]
        with session_scope(factory) as session:
            stored = [
                m.text for m in handoff.messages(session, request.id) if m.author == "citizen"
            ]
        assert sorted(stored) == sorted(f"xin chào, câu số {i}" for i in range(HELD_MESSAGES))

        ended = _say(base, citizen, "quay lại trợ lý")
        assert [m.get("text") for m in ended] == [handoff.CITIZEN_ENDED_REPLY_VI]
        assert _say(base, citizen, "xin chào")  # the assistant answers again
