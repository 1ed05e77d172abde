"""Helpers for the action tests: tracker construction and output access."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def make_tracker(
    text: str = "",
    intent: str = "",
    *,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    candidates: list[dict[str, Any]] | None = None,
    sender_id: str = "citizen-1",
    channel: str = "telegram",
    active_loop: str | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A tracker whose latest message is `text` classified as `intent`."""
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
    }
    if candidates is not None:
        latest["procedure_candidates"] = candidates
    user_event = {
        "event": "user",
        "text": text,
        "parse_data": latest,
        "input_channel": channel,
        "timestamp": 1.0,
    }
    all_events = [*(events or []), user_event]
    slot_values = dict(slots or {})
    # Slots set during this turn must appear as SlotSet events after the user
    # message, which is how FormValidationAction finds what to validate.
    return Tracker(
        sender_id=sender_id,
        slots=slot_values,
        latest_message=latest,
        events=all_events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def run(action: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
    return asyncio.run(action.run(dispatcher, tracker, domain))


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def payloads(dispatcher: CollectingDispatcher) -> list[str]:
    return [b["payload"] for m in dispatcher.messages for b in (m.get("buttons") or [])]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def entity(name: str, value: str) -> dict[str, Any]:
    return {"entity": name, "value": value}


def search_candidates(text: str) -> list[dict[str, Any]]:
    """What the NLU attaches as `procedure_candidates`."""
    import catalog

    return [{"code": c.code, "name": c.name, "score": c.score} for c in catalog.search(text)]


@contextlib.contextmanager
def actions_database(tmp_path: Path, monkeypatch: Any) -> Iterator[Any]:
    """A fresh migrated SQLite database (tests.conftest.isolated_database) that
    the actions use: TTHC_DATABASE_URL points at it and the actions' cached
    engines/settings are dropped on entry and exit. Yields the TestDatabase."""
    from actions import common
    from core.db import DATABASE_URL_ENV
    from tests.conftest import isolated_database

    with isolated_database("sqlite", tmp_path) as database:
        monkeypatch.setenv(DATABASE_URL_ENV, database.url)
        common.reset_caches()
        try:
            yield database
        finally:
            common.reset_caches()


def file_dossier(key: str, sender: str = "owner-1", channel: str = "telegram") -> str:
    """File a khai sinh (1.001193) dossier of the sample applicant through the
    domain code, on the database the actions use; returns its HS- code."""
    from datetime import date

    from actions import common
    from dossiers.service import SubmissionRequest, submit_dossier

    request = SubmissionRequest(
        idempotency_key=key, procedure_code="1.001193", procedure_name="Thủ tục đăng ký khai sinh",
        sender_id=sender, channel=channel, applicant_name="Nguyễn Văn An",
        applicant_dob=date(1990, 3, 15), applicant_citizen_id="001090012345",
        applicant_phone="0912345678", applicant_address="Số 12 Tràng Tiền, Hoàn Kiếm, Hà Nội",
    )
    with common.db_session() as session:
        return submit_dossier(session, request).code
