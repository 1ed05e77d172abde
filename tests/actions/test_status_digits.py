"""The phone-digits check of a status look-up by someone other than the
submitter: digits given with the code, a wrong answer retried (with a limit),
and another request while we wait for the digits."""

from __future__ import annotations

from typing import Any

from action_helpers import entity, file_dossier, make_tracker, run, search_candidates, texts
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.status_actions import (
    MAX_DIGIT_ATTEMPTS,
    ActionCheckStatus,
    _digits_with_code,
)
from core.wording import say

STRANGER = "stranger-7"
RESET = [SlotSet("awaiting_phone_last4", False), SlotSet("status_code_pending", None)]




def _history(code: str) -> str:
    from actions.status_actions import _format_history
    from dossiers.service import get_dossier

    with common.db_session() as session:
        return _format_history(get_dossier(session, code, sender_id="owner-7",
                                           channel="telegram"))


class Conversation:
    """One sender's turns as Rasa runs them: each run of the action sees the
    slots and the events of the earlier turns (user message, the action, the
    slots it set), as the tracker the action server receives does."""

    def __init__(self, domain: dict[str, Any], sender: str = STRANGER) -> None:
        self.domain, self.sender = domain, sender
        self.slots: dict[str, Any] = {"awaiting_phone_last4": False}
        self.events: list[dict[str, Any]] = []

    def say(self, text: str, intent: str, **kw: Any) -> tuple[CollectingDispatcher, list]:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(text, intent, sender_id=self.sender, slots=dict(self.slots),
                               events=list(self.events), **kw)
        events = run(ActionCheckStatus(), dispatcher, tracker, self.domain)
        self.events += [tracker.events[-1], {"event": "action", "name": "action_check_status"}]
        for event in events:
            self.events.append(dict(event))
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.events.append({"event": "action", "name": "action_listen"})
        return dispatcher, events


def test_digits_given_with_the_code_are_tried_at_once(domain) -> None:
    """Before: "…, 4 số cuối 5678" was asked for the 4 digits again."""
    code = file_dossier(sender="owner-7", key="k-digits-inline")
    for text in (f"tra cứu hồ sơ {code}, 4 số cuối 5678", f"{code.lower()} sđt đuôi 5678"):
        chat = Conversation(domain)
        dispatcher, events = chat.say(text, "check_status", entities=[entity("dossier_code", code)])
        assert [m["text"] for m in dispatcher.messages] == [_history(code)]
        assert events == [*RESET, SlotSet("dossier_code", code)]


def test_wrong_digits_with_the_code_open_the_question(domain) -> None:
    code = file_dossier(sender="owner-7", key="k-digits-inline-wrong")
    chat = Conversation(domain)
    dispatcher, events = chat.say(f"hồ sơ {code} số điện thoại đuôi 1111", "check_status",
                                  entities=[entity("dossier_code", code)])
    assert texts(dispatcher) == say("status.wrong_digits", code=code)
    assert events == [SlotSet("awaiting_phone_last4", True), SlotSet("status_code_pending", code)]
    dispatcher, _ = chat.say("5678", "inform")
    assert texts(dispatcher) == _history(code)


def test_only_clearly_given_digits_count() -> None:
    assert _digits_with_code("tra cứu hồ sơ HS-V0PP-7R6D, 4 số cuối 5678") == "5678"
    assert _digits_with_code("HS-V0PP-7R6D sđt 0912 345 678") == "5678"
    # the digits of the code itself, a bare number or a year are not the phone's
    assert _digits_with_code("tra cứu HS-1234-5678") is None
    assert _digits_with_code("số điện thoại HS-1234-5678") is None
    assert _digits_with_code("HS-V0PP-7R6D 5678") is None
    assert _digits_with_code("HS-V0PP-7R6D nộp năm 2025") is None


def test_a_wrong_answer_keeps_the_question_for_a_retry(domain) -> None:
    """Before: after a wrong "1234" the question was dropped, and "5678" went
    to the procedure answer ("Bạn muốn hỏi về thủ tục nào?")."""
    code = file_dossier(sender="owner-7", key="k-digits-retry")
    chat = Conversation(domain)
    dispatcher, _ = chat.say(code, "check_status", entities=[entity("dossier_code", code)])
    assert texts(dispatcher) == say("status.ask_phone_last4", code=code)
    dispatcher, events = chat.say("1234", "inform")
    assert texts(dispatcher) == say("status.wrong_digits", code=code)
    assert events == []  # both slots stay: the rule sends the next answer here again
    assert chat.slots["awaiting_phone_last4"] is True and chat.slots["status_code_pending"] == code
    dispatcher, events = chat.say("5678", "inform")
    assert texts(dispatcher) == _history(code)
    assert events == [*RESET, SlotSet("dossier_code", code)]


def test_the_tries_are_limited(domain) -> None:
    code = file_dossier(sender="owner-7", key="k-digits-limit")
    chat = Conversation(domain)
    chat.say(code, "check_status", entities=[entity("dossier_code", code)])
    for _ in range(MAX_DIGIT_ATTEMPTS - 1):
        dispatcher, events = chat.say("1111", "inform")
        assert texts(dispatcher) == say("status.wrong_digits", code=code) and events == []
    dispatcher, events = chat.say("2222", "inform")
    assert texts(dispatcher) == say("status.digits_exhausted", code=code)
    assert events == RESET
    # sending the code again asks again, with fresh tries
    dispatcher, _ = chat.say(code, "check_status", entities=[entity("dossier_code", code)])
    assert texts(dispatcher) == say("status.ask_phone_last4", code=code)
    dispatcher, _ = chat.say("5678", "inform")
    assert texts(dispatcher) == _history(code)


def test_digits_given_with_the_code_use_a_try(domain) -> None:
    code = file_dossier(sender="owner-7", key="k-digits-inline-limit")
    chat = Conversation(domain)
    chat.say(f"{code} 4 số cuối 1111", "check_status", entities=[entity("dossier_code", code)])
    for _ in range(MAX_DIGIT_ATTEMPTS - 2):
        dispatcher, _ = chat.say("1111", "inform")
        assert texts(dispatcher) == say("status.wrong_digits", code=code)
    dispatcher, events = chat.say("1111", "inform")
    assert texts(dispatcher) == say("status.digits_exhausted", code=code) and events == RESET


def test_my_dossiers_while_the_digits_are_awaited(domain) -> None:
    """Before: "hồ sơ của tôi" got "Tôi chưa nhận được 4 chữ số"."""
    code = file_dossier(sender="owner-7", key="k-digits-mine")
    chat = Conversation(domain)
    chat.say(code, "check_status", entities=[entity("dossier_code", code)])
    dispatcher, events = chat.say("hồ sơ của tôi", "check_status")
    assert texts(dispatcher) == say("status.none_filed")  # the stranger's own: none
    assert events == RESET


def test_a_procedure_named_while_the_digits_are_awaited(domain) -> None:
    code = file_dossier(sender="owner-7", key="k-digits-procedure")
    chat = Conversation(domain)
    chat.say(code, "check_status", entities=[entity("dossier_code", code)])
    text = "lệ phí đăng ký khai sinh"
    dispatcher, events = chat.say(text, "inform", candidates=search_candidates(text))
    assert say("status.no_digits") not in texts(dispatcher)
    assert "khai sinh" in texts(dispatcher).lower()
    assert events[-2:] == RESET


def test_no_digits_and_no_request_ends_the_question(domain) -> None:
    code = file_dossier(sender="owner-7", key="k-digits-none")
    chat = Conversation(domain)
    chat.say(code, "check_status", entities=[entity("dossier_code", code)])
    dispatcher, events = chat.say("ừm để tôi xem", "nlu_fallback")
    assert texts(dispatcher) == say("status.no_digits") and events == RESET
