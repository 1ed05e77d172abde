"""A typed 👍/👎 (issue 12): right after the rating buttons it is the tap
(stored like the button); otherwise nothing is stored and nothing thanked. A
refused rating asks for no comment and does not feed the inbox."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.rating_actions import COMMENT_PROMPT, ActionSaveRating, rating_buttons
from bot import rating_comment
from core.db import session_scope
from core.wording import say
from dossiers.rating_buttons import typed_rating
from tests.actions.action_helpers import actions_database, make_tracker, run
from tests.conftest import isolated_database
from training.orm import InboxItem, Rating


def _user(text: str, entities: list[dict[str, Any]] | None = None,
          intent: str = "ask_fee") -> SimpleNamespace:
    parse = {"intent": {"name": intent}, "entities": entities or [], "text": text}
    return SimpleNamespace(type_name="user", action_name=None, parse_data=parse, text=text)


def _bot(text: str, buttons: list[dict[str, str]] | None = None) -> SimpleNamespace:
    return SimpleNamespace(type_name="bot", action_name=None, text=text,
                           data={"buttons": buttons} if buttons else {})


def _action(name: str) -> SimpleNamespace:
    return SimpleNamespace(type_name="action", action_name=name)


def _rasa_tracker(events: list[SimpleNamespace], loop: str | None = None) -> SimpleNamespace:
    """What Rasa passes to the after-parse step: the events so far (the new
    message is not among them yet), the latest user message, the active loop."""
    latest = next(e for e in reversed(events) if e.type_name == "user")
    return SimpleNamespace(events=events, latest_message=latest, active_loop_name=loop)


def _typed(text: str) -> dict[str, Any]:
    return {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.3},
            "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.3}], "entities": []}


def _answered(buttons: list[dict[str, str]]) -> SimpleNamespace:
    return _rasa_tracker([_user("lệ phí khai sinh"), _action("action_answer_procedure_question"),
                          _bot("📄 Đăng ký khai sinh", buttons), _action("action_listen")])


def _values(parse: dict[str, Any]) -> dict[str, Any]:
    return {e["entity"]: e["value"] for e in parse["entities"]}


def test_typed_rating() -> None:
    assert typed_rating("👍") == "5" and typed_rating(" 👎 ") == "1"
    assert typed_rating("👍🏻") == "5" and typed_rating("👎️") == "1" and typed_rating("👍👍") == "5"
    assert typed_rating("👍👎") is None and typed_rating("👍 hay") is None
    assert typed_rating("") is None and typed_rating(None) is None


@pytest.mark.parametrize(("text", "button"), [("👎", 1), ("👍🏻", 0)])
def test_a_thumb_right_after_the_buttons_is_the_tap(text: str, button: int) -> None:
    """Before: the NLU's guess was kept (no rating stored)."""
    buttons = rating_buttons("dossier", "HS-7K3M-9QXP")
    tapped = json.loads(buttons[button]["payload"][len("/rate"):])
    result = rating_comment.reinterpret(_typed(text), _answered(buttons))
    assert result["intent"] == {"name": "rate", "confidence": 1.0}
    assert result["intent_ranking"] == [{"name": "rate", "confidence": 1.0}]
    assert _values(result) == tapped
    assert result["text"] == text


def test_a_thumb_with_no_buttons_offered_is_left_to_the_nlu() -> None:
    parse = _typed("👍")
    assert rating_comment.reinterpret(parse, _answered([])) is parse
    # a thumb is no comment, even right after a bad rating
    bad = [{"entity": "rating", "value": "1"}, {"entity": "rating_kind", "value": "answer"}]
    after_bad = _rasa_tracker([_user("/rate", bad, "rate"), _action("action_save_rating"),
                               _bot(COMMENT_PROMPT), _action("action_listen")])
    assert rating_comment.reinterpret(_typed("👎"), after_bad) == _typed("👎")
    # nor inside a form
    in_form = _rasa_tracker(_answered(rating_buttons("answer")).events, loop="dossier_form")
    assert rating_comment.reinterpret(_typed("👎"), in_form) == _typed("👎")


def test_a_refused_rating_asks_for_no_comment() -> None:
    """Before: after "không tìm thấy hồ sơ" the next message was taken as the comment."""
    entities = [{"entity": "rating", "value": "1"}, {"entity": "rating_kind", "value": "dossier"},
                {"entity": "dossier_code", "value": "HS-V0PP-7R6D"}]
    refused = _rasa_tracker([_user("/rate", entities, "rate"), _action("action_save_rating"),
                             _bot(say("rating.dossier_not_found")), _action("action_listen")])
    assert not rating_comment.awaiting_comment(refused)
    parse = _typed("sai hết rồi")
    assert rating_comment.reinterpret(parse, refused) is parse
    stored = _rasa_tracker([_user("/rate", entities, "rate"), _action("action_save_rating"),
                            _bot(COMMENT_PROMPT), _action("action_listen")])
    assert rating_comment.awaiting_comment(stored)


def _save(text: str, entities: dict[str, str], **kw: Any) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    run(ActionSaveRating(), dispatcher, make_tracker(
        text, "rate", entities=[{"entity": k, "value": v} for k, v in entities.items()], **kw), {})
    return dispatcher


def test_the_tap_a_thumb_became_is_stored_and_a_stray_thumb_is_not_thanked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with actions_database(tmp_path, monkeypatch) as database:
        tap = rating_comment.reinterpret(_typed("👎"), _answered(rating_buttons("answer")))
        down = _save("👎", _values(tap), slots={"procedure": "1.001193"})
        assert [m["text"] for m in down.messages] == [COMMENT_PROMPT]
        # Before: "Cảm ơn bạn!" for a thumb that was stored nowhere.
        for stray in ({"rating_comment": "👍"}, {}):
            reply = _save("👍", stray, sender_id="citizen-2")
            assert [m["text"] for m in reply.messages] == [say("rating.not_offered")]
        with session_scope(database.new_factory()) as db:
            rows = [(r.sender_id, r.kind, r.score, r.procedure, r.comment)
                    for r in db.execute(select(Rating)).scalars()]
    assert rows == [("citizen-1", "answer", 1, "1.001193", "")]


def _inbox_reasons(tracker: Any, tmp_path: Path) -> dict[str, set[str]]:
    from training import inbox

    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            inbox.collect(db, tracker.engine)
        with factory.begin() as db:
            return {i.text: set(i.reasons) for i in db.execute(select(InboxItem)).scalars()}


def test_a_refused_rating_does_not_feed_the_inbox(tmp_path: Path) -> None:
    """Before: a `/rate` refused with "không tìm thấy hồ sơ" marked the message
    before it "Đánh giá thấp"."""
    from tests.trainer_loop.tracker import FakeTracker

    tracker = FakeTracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    asked = "hồ sơ khai sinh của tôi bao giờ xong vậy"
    tracker.user("r1", asked, "ask_processing_time", 0.93, procedure="1.001193",
                 candidates=[("1.001193", 90.0)])
    payload = rating_buttons("dossier", "HS-V0PP-7R6D")[1]["payload"]
    entities = json.loads(payload[len("/rate"):])
    tracker.user("r1", payload, "rate", 1.0,
                 entities=[{"entity": k, "value": v} for k, v in entities.items()])
    tracker.action("r1", "action_save_rating")
    tracker.bot("r1", say("rating.dossier_not_found"))
    # a stored one (comment prompt), typed as a thumb after the buttons
    rated = "lệ phí làm hộ chiếu bao nhiêu tiền"
    tracker.user("r2", rated, "ask_fee", 0.95, procedure="1.000001",
                 candidates=[("1.000001", 95.0)])
    tracker.bot("r2", "📄 Cấp hộ chiếu", [(b["title"], b["payload"])
                                         for b in rating_buttons("answer")])
    tracker.user("r2", "👎", "rate", 1.0, entities=[{"entity": "rating", "value": "1"},
                                                    {"entity": "rating_kind", "value": "answer"}])
    tracker.action("r2", "action_save_rating")
    tracker.bot("r2", COMMENT_PROMPT)
    try:
        reasons = _inbox_reasons(tracker, tmp_path)
    finally:
        tracker.close()
    assert "bad_rating" not in reasons.get(asked, set())
    assert reasons[rated] == {"bad_rating"}
