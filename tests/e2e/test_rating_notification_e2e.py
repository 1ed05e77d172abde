"""End to end over Rasa's REST channel (issue 12 item 5): an officer finishes
a dossier, the citizen's client collects the notification WITH the 👍/👎
buttons, POSTs the tapped payload to the webhook like any button, and the
rating is stored as a "dossier" rating with the dossier's code.

The session's real stack (tests/e2e/conftest.py `servers`: action server and
Rasa server on loopback ports, model from models/, SQLite with the catalog).
"""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.wording import say
from dossiers.outbox import enqueue_notification
from dossiers.rating_buttons import rating_buttons
from dossiers.service import SubmissionRequest, change_status, submit_dossier
from tests.e2e.conftest import Servers
from training.orm import Rating

pytestmark = pytest.mark.slow


def test_a_tap_on_the_finished_dossier_notification_stores_the_rating(
    servers: Servers,
) -> None:
    citizen = f"rest-citizen-{secrets.token_hex(4)}"
    factory = servers.database.new_factory()
    with session_scope(factory) as session:
        code = submit_dossier(session, SubmissionRequest(
            idempotency_key=citizen,
            procedure_code="1.004194",
            procedure_name="Đăng ký tạm trú",
            sender_id=citizen,
            channel="rest",
            applicant_name="Lê Thị Hoa",
            applicant_dob=date(1995, 7, 1),
            applicant_phone="0987654321",
        )).code
        # A notification written before migration 0011 had no buttons.
        enqueue_notification(session, "rest", citizen, "Thông báo cũ")
        for status in ("received", "processing"):
            change_status(session, code, status, actor="officer:e2e", notify=False)
        change_status(session, code, "completed", actor="officer:e2e")

    notifications = f"/webhooks/rest/notifications?sender={citizen}"
    body = servers.get(notifications)
    assert body["messages"][0] == "Thông báo cũ" and code in body["messages"][1]
    old, finished = body["responses"]
    assert old == {"recipient_id": citizen, "text": "Thông báo cũ"}
    assert finished["text"] == body["messages"][1]
    assert finished["buttons"] == rating_buttons("dossier", code)
    assert servers.get(notifications)["responses"] == []

    up = finished["buttons"][0]
    replies = servers.say(citizen, up["payload"])  # the tap: the payload, as the web chat posts it
    assert [r.get("text") for r in replies] == [say("rating.thanks")]

    with session_scope(factory) as session:
        ratings = session.execute(
            select(Rating).where(Rating.sender_id == citizen)
        ).scalars().all()
        assert [(r.channel, r.kind, r.score, r.dossier_code) for r in ratings] == [
            ("rest", "dossier", 5, code)
        ]
