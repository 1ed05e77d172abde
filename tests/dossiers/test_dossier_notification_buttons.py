"""Buttons on outbox notifications (issue 12): the notification of a finished
dossier carries the 👍/👎 rating buttons; push senders get them, pull
channels see them as Rasa-style messages; plain rows (buttons NULL, also
rows written before migration 0011) keep working with text-only senders."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from core.db import session_scope
from dossiers.orm import Notification
from dossiers.outbox import (
    OutboxDispatcher,
    collect_for_recipient,
    collect_messages_for_recipient,
    enqueue_notification,
)
from dossiers.rating_buttons import rating_buttons
from dossiers.service import SubmissionRequest, change_status, submit_dossier


def _dossier(factory: sessionmaker, channel: str = "telegram", sender: str = "tg-42") -> str:
    request = SubmissionRequest(
        idempotency_key=f"k-{channel}-{sender}",
        procedure_code="1.004194",
        procedure_name="Đăng ký tạm trú",
        sender_id=sender,
        channel=channel,
        applicant_name="Lê Thị Hoa",
        applicant_dob=date(1995, 7, 1),
        applicant_phone="0987654321",
    )
    with session_scope(factory) as session:
        return submit_dossier(session, request).code


def test_only_a_finished_dossier_asks_for_a_rating(factory: sessionmaker) -> None:
    done = _dossier(factory, sender="tg-1")
    refused = _dossier(factory, sender="tg-2")
    with session_scope(factory) as session:
        for status in ("received", "processing", "completed"):
            change_status(session, done, status, actor="officer:1")
        change_status(session, refused, "rejected", actor="officer:1", note="Thiếu giấy tờ.")
    with session_scope(factory) as session:
        rows = session.execute(
            select(Notification.recipient, Notification.buttons).order_by(Notification.id)
        ).all()
    assert [b for r, b in rows if r == "tg-1"] == [
        None, None, rating_buttons("dossier", done)
    ]
    assert [b for r, b in rows if r == "tg-2"] == [rating_buttons("dossier", refused)]
    up, down = rating_buttons("dossier", done)
    assert up["payload"] == (
        '/rate{"rating":"5","rating_kind":"dossier","dossier_code":"' + done + '"}'
    )
    assert down["payload"].startswith('/rate{"rating":"1"')


def test_the_actions_and_the_dossiers_share_one_definition() -> None:
    from actions import common
    from actions.rating_actions import rating_buttons as offered_in_chat

    assert offered_in_chat is rating_buttons
    # Same payload text as every other button the actions build.
    assert rating_buttons("answer")[0]["payload"] == common.intent_payload(
        "rate", {"rating": "5", "rating_kind": "answer"}
    )


class Recorder:
    """A push sender accepting buttons (keyword) — and one that does not."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, object]] = []

    def send(self, recipient: str, text: str, buttons: object = "absent") -> None:
        self.sent.append((recipient, text, buttons))


class TextOnly:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, recipient: str, text: str) -> None:
        self.sent.append((recipient, text))


def test_push_senders_get_buttons_and_plain_rows_stay_two_argument(
    factory: sessionmaker,
) -> None:
    buttons = rating_buttons("dossier", "HS-7K2M-Q9XD")
    with session_scope(factory) as session:
        enqueue_notification(session, "telegram", "telegram:5", "Đã xong", buttons=buttons)
        enqueue_notification(session, "telegram", "telegram:5", "Đã nhận")
        enqueue_notification(session, "zalo", "zalo:6", "Cũ", buttons=[])  # empty -> NULL
    recorder, text_only = Recorder(), TextOnly()
    dispatcher = OutboxDispatcher(factory, {"telegram": recorder, "zalo": text_only})
    assert dispatcher.dispatch_once() == 3
    assert sorted(recorder.sent, key=lambda s: s[1]) == [
        ("telegram:5", "Đã nhận", "absent"),  # no buttons: the two-argument call
        ("telegram:5", "Đã xong", buttons),
    ]
    assert text_only.sent == [("zalo:6", "Cũ")]
    with session_scope(factory) as session:
        assert session.execute(
            select(Notification.buttons).where(Notification.text == "Cũ")
        ).scalar_one() is None


def test_pull_channels_get_rasa_style_messages_once(factory: sessionmaker) -> None:
    code = _dossier(factory, channel="rest", sender="web-1")
    with session_scope(factory) as session:
        enqueue_notification(session, "rest", "web-1", "Tin cũ")  # no buttons
        for status in ("received", "processing", "completed"):
            change_status(session, code, status, actor="officer:1", notify=status == "completed")
    messages = collect_messages_for_recipient(factory, "rest", "web-1")
    assert messages[0] == {"text": "Tin cũ"}
    assert code in messages[1]["text"]
    assert messages[1]["buttons"] == rating_buttons("dossier", code)
    assert collect_messages_for_recipient(factory, "rest", "web-1") == []
    with session_scope(factory) as session:
        enqueue_notification(session, "rest", "web-1", "Mới", buttons=rating_buttons())
    assert collect_for_recipient(factory, "rest", "web-1") == ["Mới"]  # texts-only API unchanged
