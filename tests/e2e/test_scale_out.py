"""The scale-out path end to end: two Rasa workers sharing conversations through
the PostgreSQL tracker store and the Redis lock store (the services these
machines run; the test fails, never skips, when they are down).

Several citizens talk at once, each sending messages back to back, so the two
workers interleave on every conversation: each reply must still follow from the
whole conversation (a follow-up question answered for the procedure named two
messages earlier) and every message must be stored once, in order."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.runtime import latest_model, loopback_stack
from catalog.importer import import_catalog
from core.db import drop_postgres_database, recreate_postgres_database
from tests.conftest import isolated_database

pytestmark = pytest.mark.slow

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/3"
CITIZENS = 4
MESSAGES = (
    "xin chào",
    "đăng ký tạm trú cần giấy tờ gì",
    "lệ phí bao nhiêu",
    "mất mấy ngày",
    "cảm ơn",
)


def _say(base: str, sender: str, message: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{base}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def test_two_workers_share_conversations(tmp_path: Path) -> None:
    model = latest_model()
    if model is None:
        pytest.fail("no trained model in models/: `make test` trains one first", pytrace=False)
    tracker_url = f"{POSTGRES}/tthc_e2e_tracker_{secrets.token_hex(4)}"
    recreate_postgres_database(tracker_url)
    try:
        _two_workers_share_conversations(tmp_path, model, tracker_url)
    finally:
        drop_postgres_database(tracker_url)


def _two_workers_share_conversations(tmp_path: Path, model: Path, tracker_url: str) -> None:
    replies: dict[str, list[list[dict[str, Any]]]] = {}
    errors: list[str] = []
    with isolated_database("sqlite", tmp_path) as database:
        assert not import_catalog(database.new_factory()).failures
        with loopback_stack(
            tmp_path,
            database.url,
            model,
            tracker_store_url=tracker_url,
            lock_store_url=REDIS,
            rasa_workers=2,
        ) as base:

            def citizen(sender: str) -> None:
                try:
                    replies[sender] = [_say(base, sender, m) for m in MESSAGES]
                except Exception as exc:  # reported below, with the sender
                    errors.append(f"{sender}: {exc!r}")

            threads = [
                threading.Thread(target=citizen, args=(f"scale-{i}",)) for i in range(CITIZENS)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    assert not errors
    for sender, conversation in replies.items():
        texts = [" ".join(m.get("text") or "" for m in reply) for reply in conversation]
        assert all(texts), f"{sender}: a message got no reply: {texts}"
        # Follow-ups without a procedure are answered for "đăng ký tạm trú": the
        # worker that took them saw the context another worker may have stored.
        assert "tạm trú" in texts[2].lower() and "tạm trú" in texts[3].lower(), texts

    engine = create_engine(tracker_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT sender_id, data FROM events WHERE type_name = 'user' "
                    "ORDER BY sender_id, id"
                )
            ).all()
    finally:
        engine.dispose()
    stored: dict[str, list[str]] = {}
    for sender, data in rows:
        stored.setdefault(sender, []).append(json.loads(data)["text"])
    for i in range(CITIZENS):
        assert stored.get(f"scale-{i}") == list(MESSAGES)
