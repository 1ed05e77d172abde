"""Human hand-off and the NLU fallback."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import common as c
from core.wording import say

log = logging.getLogger(__name__)

# Consecutive "I did not understand" turns before a human is offered.
FALLBACKS_BEFORE_HUMAN = 2


def _last_citizen_message(tracker: Tracker) -> str:
    """The last message that was not the hand-off request itself, so officers
    see what the citizen was stuck on."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        text = event.get("text") or ""
        if intent != "human_handoff" and not text.startswith("/"):
            return text
    return c.latest_text(tracker)


def _handoff_reason(tracker: Tracker) -> str:
    if tracker.active_loop_name == "dossier_form":
        return f"Cần hỗ trợ khi nộp hồ sơ (mục {tracker.get_slot('requested_slot') or '?'})"
    if consecutive_fallbacks(tracker) >= FALLBACKS_BEFORE_HUMAN:
        return "Trợ lý không hiểu câu hỏi"
    return "Người dân yêu cầu gặp cán bộ"


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the latest user messages in a row were not understood."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count


HANDOFF_FAILED_VI = say("support.handoff_failed")
NO_HANDOFF_VI = say("support.no_handoff")


class ActionHumanHandoff(Action):
    """Queue the conversation for an officer (`dossiers.handoff`) and say what
    really happens next: the queue position during office hours, otherwise
    when officers will answer (the request is kept either way)."""

    def name(self) -> str:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from dossiers.handoff import request_handoff

        try:
            with c.db_session() as session:
                ticket = request_handoff(
                    session,
                    tracker.sender_id,
                    c.channel_of(tracker),
                    _handoff_reason(tracker),
                    _last_citizen_message(tracker),
                )
        except Exception:
            log.exception("could not record the hand-off request")
            dispatcher.utter_message(text=HANDOFF_FAILED_VI)
            return []
        dispatcher.utter_message(text=ticket.reply_vi)
        return []


class ActionEndHandoff(Action):
    """The citizen no longer wants an officer ("quay lại trợ lý", intent
    `end_handoff`). While an officer holds the conversation the Rasa gate
    (bot/handoff_gate.py) handles this before any prediction; this action
    covers a waiting request once the model has learnt the intent."""

    def name(self) -> str:
        return "action_end_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from dossiers import handoff

        try:
            with c.db_session() as session:
                active = handoff.active_for(session, tracker.sender_id, c.channel_of(tracker))
                reply = (
                    NO_HANDOFF_VI
                    if active is None
                    else handoff.end_by_citizen(session, active.id)
                )
        except handoff.HandoffConflict:
            reply = NO_HANDOFF_VI
        except Exception:
            log.exception("could not end the hand-off")
            reply = say("support.system_error")
        dispatcher.utter_message(text=reply)
        return []


class ActionHandleFallback(Action):
    """"Chưa hiểu" with suggestions; a human on the second miss in a row."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # A procedure named without a recognisable question ("sổ đỏ", a long
        # story) is understood: the catalog decides (issue 9, H2).
        from actions.procedure_actions import answer_procedure_question

        answered = answer_procedure_question(dispatcher, tracker, fallback=True)
        if answered is not None:
            return answered
        if consecutive_fallbacks(tracker) >= FALLBACKS_BEFORE_HUMAN:
            dispatcher.utter_message(
                text=say("support.still_not_understood"),
                buttons=[
                    c.button(say("button.human"), c.intent_payload("human_handoff")),
                    c.button(say("button.what_i_do_see"), c.intent_payload("help")),
                ],
            )
            return []
        dispatcher.utter_message(
            text=say("support.not_understood"),
            buttons=[
                c.button(say("button.what_i_do"), c.intent_payload("help")),
                c.button(say("button.submit_dossier"), c.intent_payload("submit_dossier")),
                c.button(say("button.check_status"), c.intent_payload("check_status")),
            ],
        )
        return []
