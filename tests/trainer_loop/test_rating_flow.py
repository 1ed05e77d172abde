"""Ratings end to end (issue 12): typed payloads are validated; after 👎 the
next free-text message becomes the rating's comment (scrubbed) unless it is
clearly a new question; the buttons are one tap on Telegram and Zalo; a bad
rating reaches the misunderstood inbox and the dashboard."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.rating_actions import COMMENT_PROMPT, ActionSaveRating, rating_buttons
from bot import rating_comment
from core.db import session_scope
from tests.actions.action_helpers import actions_database, file_dossier, make_tracker, run
from tests.conftest import isolated_database
from training.orm import Rating
from training.ratings import add_comment, record_rating


def _rate(entities: dict[str, str], **kw: Any) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    text = "/rate" + json.dumps(entities) if "rating" in entities else entities.get(
        "rating_comment", "")
    run(ActionSaveRating(), dispatcher, make_tracker(
        text, "rate", entities=[{"entity": k, "value": v} for k, v in entities.items()],
        **kw), {})
    return dispatcher


def test_typed_payloads_are_validated_and_a_comment_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with actions_database(tmp_path, monkeypatch) as database:
        for bad in ({"rating": "0"}, {"rating": "6"}, {"rating": "x"},
                    {"rating": "5", "rating_kind": "admin"},
                    {"rating": "5", "rating_kind": "dossier", "dossier_code": "<script>"}):
            assert "chưa nhận được" in _rate(bad).messages[0]["text"], bad
        # a comment with no bad rating before it is thanked, not stored
        assert _rate({"rating_comment": "hay lắm"}).messages[0]["text"] == "Cảm ơn bạn!"
        down = _rate({"rating": "1", "rating_kind": "answer"}, slots={"procedure": "1.001193"})
        assert down.messages[0]["text"] == COMMENT_PROMPT
        assert down.messages[0]["buttons"][0]["payload"] == "/human_handoff"
        thanks = _rate({"rating_comment": "sai lệ phí, tôi là Nguyễn Văn An 0912345678"})
        assert "Cảm ơn góp ý" in thanks.messages[0]["text"]
        # a second comment does not overwrite the first
        assert _rate({"rating_comment": "nữa"}).messages[0]["text"] == "Cảm ơn bạn!"
        # only one's own dossier
        filed = file_dossier("k-flow", sender="citizen-1", channel="telegram")
        up = _rate({"rating": "👍", "rating_kind": "dossier", "dossier_code": filed})
        assert up.messages[0]["text"] == "Cảm ơn bạn đã đánh giá!"
        with session_scope(database.new_factory()) as db:
            rows = [(r.kind, r.score, r.procedure, r.dossier_code, r.comment) for r in
                    db.execute(select(Rating).order_by(Rating.id)).scalars()]
    assert len(rows) == 2
    kind, score, procedure, code, comment = rows[0]
    assert (kind, score, procedure, code) == ("answer", 1, "1.001193", None)
    assert "0912345678" not in comment and "Nguyễn Văn An" not in comment
    assert comment.startswith("sai lệ phí") and "[số điện thoại]" in comment
    assert rows[1][:4] == ("dossier", 5, None, filed)


def test_comment_window_and_scope(tmp_path: Path) -> None:
    with isolated_database("sqlite", tmp_path) as database, session_scope(
        database.new_factory()
    ) as db:
        old = record_rating(db, "s1", "zalo", "1")
        late = datetime.now(timezone.utc) + timedelta(hours=1)
        assert add_comment(db, "s1", "zalo", "muộn quá", now=late) is None
        assert add_comment(db, "s1", "telegram", "kênh khác") is None
        assert add_comment(db, "s1", "zalo", "   ") is None
        assert add_comment(db, "s1", "zalo", "chưa rõ") is old
        record_rating(db, "s2", "zalo", "4")
        assert add_comment(db, "s2", "zalo", "tốt") is None  # only bad ratings ask


# --------------------------------------------------------------------------- the NLU step


def _tracker(rate_entities: list[dict[str, Any]] | None, last_action: str = "action_save_rating",
             loop: str | None = None) -> SimpleNamespace:
    parse = {"intent": {"name": "rate" if rate_entities is not None else "greet"},
             "entities": rate_entities or []}
    events = [SimpleNamespace(type_name="user", action_name=None),
              SimpleNamespace(type_name="action", action_name=last_action),
              SimpleNamespace(type_name="action", action_name="action_listen")]
    return SimpleNamespace(latest_message=SimpleNamespace(parse_data=parse), events=events,
                           active_loop_name=loop)


BAD = [{"entity": "rating", "value": "1"}, {"entity": "rating_kind", "value": "dossier"}]


def _parse(text: str, intent: str, confidence: float, candidates: list | None = None) -> dict:
    return {"text": text, "intent": {"name": intent, "confidence": confidence},
            "entities": [], "procedure_candidates": candidates or []}


def test_the_message_after_a_bad_rating_is_its_comment() -> None:
    comment = rating_comment.reinterpret(
        _parse("trả lời chẳng đúng ý tôi gì cả", "out_of_scope", 0.4), _tracker(BAD))
    assert comment["intent"]["name"] == "rate"
    values = {e["entity"]: e["value"] for e in comment["entities"]}
    assert values == {"rating_comment": "trả lời chẳng đúng ý tôi gì cả", "rating_kind": "dossier"}
    # a low-confidence guess at a question is still a comment
    weak = rating_comment.reinterpret(_parse("thủ tục rườm rà quá", "ask_fee", 0.5), _tracker(BAD))
    assert weak["intent"]["name"] == "rate"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("câu trả lời thiếu lệ phí, khó hiểu quá", "faq"),
        ("thông tin lệ phí chưa đúng", "ask_fee"),
        ("dài dòng quá, tôi không hiểu", "ask_procedure"),
        ("thieu le phi, kho hieu qua", "faq"),  # typed without diacritics
    ],
)
def test_feedback_with_a_confident_intent_is_still_the_comment(text: str, intent: str) -> None:
    comment = rating_comment.reinterpret(_parse(text, intent, 0.95), _tracker(BAD))
    assert comment["intent"]["name"] == "rate"
    assert {e["entity"]: e["value"] for e in comment["entities"]}["rating_comment"] == text


@pytest.mark.parametrize(
    "text",
    [
        "thiếu giấy tờ gì thì sao?",  # ends in a question
        "lệ phí khai sinh là bao nhiêu",
        "nộp sai hồ sơ thì làm lại thế nào",
        "ở Sài Gòn nộp ở đâu",
        "le phi kho hieu qua vay co mien khong",
    ],
)
def test_a_question_with_feedback_words_is_still_a_question(text: str) -> None:
    parse = _parse(text, "ask_fee", 0.95)
    assert rating_comment.reinterpret(parse, _tracker(BAD)) is parse


@pytest.mark.parametrize(
    ("parse", "tracker"),
    [
        # clearly a new question: confident intent, or a confidently named procedure
        (_parse("lệ phí đăng ký khai sinh bao nhiêu", "ask_fee", 0.95), _tracker(BAD)),
        (_parse("khai sinh", "out_of_scope", 0.3, [{"code": "1.001193", "score": 95.0}]),
         _tracker(BAD)),
        (_parse("không", "deny", 0.9), _tracker(BAD)),
        (_parse("/greet", "greet", 1.0), _tracker(BAD)),  # a button
        (_parse("chán", "out_of_scope", 0.4), _tracker([{"entity": "rating", "value": "5"}])),
        (_parse("chán", "out_of_scope", 0.4),
         _tracker([*BAD, {"entity": "rating_comment", "value": "đã góp ý"}])),
        (_parse("chán", "out_of_scope", 0.4), _tracker(None)),  # no rating before
        (_parse("chán", "out_of_scope", 0.4), _tracker(BAD, last_action="action_greet_menu")),
        (_parse("chán", "out_of_scope", 0.4), _tracker(BAD, loop="dossier_form")),
        (_parse("chán", "out_of_scope", 0.4), None),
    ],
)
def test_other_messages_are_left_alone(parse: dict, tracker: Any) -> None:
    assert rating_comment.reinterpret(parse, tracker) is parse


def test_the_step_is_installed_in_the_rasa_server() -> None:
    source = (Path(__file__).resolve().parents[2] / "bot" / "rasa_server.py").read_text("utf-8")
    assert "rating_comment.install()" in source


# --------------------------------------------------------------------------- channels


def test_one_tap_on_telegram_and_zalo(tmp_path: Path) -> None:
    from bot.channels.store import ChannelStore
    from bot.channels.telegram import CALLBACK_PREFIX, TelegramBridge
    from bot.channels.zalo_api import BUTTON_TYPE, build_buttons

    buttons = rating_buttons("dossier", "HS-7K2M-Q9XD")
    zalo = build_buttons(buttons)
    assert [(b["type"], b["payload"]) for b in zalo] == [
        (BUTTON_TYPE, b["payload"]) for b in buttons]  # comes back as the message text
    with isolated_database("sqlite", tmp_path) as database:
        store = ChannelStore(database.new_factory())
        bridge = TelegramBridge.__new__(TelegramBridge)
        bridge.store = store
        markup = asyncio.run(bridge.keyboard(buttons))
        datas = [row[0].callback_data for row in markup.inline_keyboard]
        assert all(d.startswith(CALLBACK_PREFIX) and len(d.encode()) <= 64 for d in datas)
        # the tap resolves to the exact payload the rule routes to action_save_rating
        assert [store.resolve_payload(d[len(CALLBACK_PREFIX):]) for d in datas] == [
            b["payload"] for b in buttons]


# --------------------------------------------------------------------------- inbox, dashboard


def test_a_bad_rating_feeds_the_inbox_and_the_dashboard(tmp_path: Path) -> None:
    from tests.trainer_loop.tracker import FakeTracker
    from training import analytics, inbox
    from training.orm import InboxItem

    tracker = FakeTracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    question = "khai sinh cho con ở đâu vậy"
    tracker.user("z1", question, "ask_agency", 0.93, procedure="1.001193",
                 candidates=[("1.001193", 90.0)], channel="zalo")
    down = rating_buttons("answer")[1]  # exactly what the answer offered
    tracker.bot("z1", "📄 Đăng ký khai sinh (mã 1.001193)",
                [(b["title"], b["payload"]) for b in rating_buttons("answer")])
    entities = json.loads(down["payload"][len("/rate"):])
    tracker.user("z1", down["payload"], "rate", 1.0, channel="zalo",
                 entities=[{"entity": k, "value": v} for k, v in entities.items()])
    tracker.action("z1", "action_save_rating")
    # the comment as bot.rating_comment hands it on: intent rate, free text
    tracker.user("z1", "nói rõ hơn giúp tôi", "rate", 1.0, channel="zalo",
                 entities=[{"entity": "rating_comment", "value": "nói rõ hơn giúp tôi"}])
    tracker.action("z1", "action_save_rating")
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            rating = record_rating(db, "z1", "zalo", entities["rating"],
                                   kind=entities["rating_kind"], procedure="1.001193")
            add_comment(db, "z1", "zalo", "nói rõ hơn giúp tôi")
            assert rating.score == 1
            inbox.collect(db, tracker.engine)
        with factory.begin() as db:
            reasons = {i.text: set(i.reasons) for i in db.execute(select(InboxItem)).scalars()}
            today = date.today()
            board = analytics.compute(db, None, analytics.Filters(
                today - timedelta(days=1), today + timedelta(days=1), "zalo"))
    tracker.close()
    assert reasons == {question: {"bad_rating"}}  # the comment is no item of its own
    assert board.ratings == {1: 1}




def test_ratings_are_checked_and_one_per_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with actions_database(tmp_path, monkeypatch) as database:
        mine = file_dossier("k-own", sender="citizen-1", channel="telegram")
        theirs = file_dossier("k-other", sender="citizen-2", channel="telegram")
        other_channel = file_dossier("k-zalo", sender="citizen-1", channel="zalo")
        refused = [
            {"rating": "5", "rating_kind": "dossier", "dossier_code": "HS-XXXX-0000"},
            {"rating": "5", "rating_kind": "dossier", "dossier_code": theirs},
            {"rating": "5", "rating_kind": "dossier", "dossier_code": other_channel},
            {"rating": "5", "rating_kind": "dossier"},
        ]
        for bad in refused:
            text = _rate(bad).messages[0]["text"]
            assert "Cảm ơn" not in text, bad
        # {"rating":[1,2]}: Rasa makes one entity per list item
        listed = CollectingDispatcher()
        run(ActionSaveRating(), listed, make_tracker(
            '/rate{"rating":[1,2]}', "rate",
            entities=[{"entity": "rating", "value": 1}, {"entity": "rating", "value": 2}]), {})
        assert "chưa nhận được" in listed.messages[0]["text"]
        as_list = _rate({"rating": [1, 2], "rating_kind": "answer"})  # type: ignore[dict-item]
        assert "chưa nhận được" in as_list.messages[0]["text"]
        for _ in range(7):
            assert "Cảm ơn" in _rate({"rating": "5", "rating_kind": "dossier",
                                      "dossier_code": mine}).messages[0]["text"]
        for score in ("5", "1", "5"):
            _rate({"rating": score, "rating_kind": "answer"}, slots={"procedure": "1.001193"})
        _rate({"rating": "5", "rating_kind": "answer"}, slots={"procedure": "1.014061"})
        with session_scope(database.new_factory()) as db:
            rows = sorted((r.kind, r.score, r.procedure, r.dossier_code) for r in
                          db.execute(select(Rating)).scalars())
    assert rows == [("answer", 5, "1.001193", None), ("answer", 5, "1.014061", None),
                    ("dossier", 5, None, mine)]
