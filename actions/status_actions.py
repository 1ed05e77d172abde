"""Dossier status look-up.

- A message with a dossier code from its owner (same sender and channel):
  status and history.
- From anyone else: the last 4 digits of the phone number in the dossier.
  Given with the code ("HS-…, 4 số cuối 5678", "sđt đuôi 5678") they are
  tried at once; otherwise we ask for them (`awaiting_phone_last4`, the code
  in `status_code_pending`). A wrong answer keeps the question open for
  another try, `MAX_DIGIT_ATTEMPTS` tries per code asked; the service answers
  "not found" and "not yours" identically, so codes cannot be probed.
- While we wait for the digits, a message without them that is another
  request ("hồ sơ của tôi", a procedure named) is answered as that request
  and the question is dropped.
- No code ("hồ sơ của tôi"): the sender's own dossiers.
- Codes are read loosely (lower case, spaces, en dashes, missing dashes) and
  in the one-stop-shop's national format ("000.00.10.H12-251120-0003"): a
  national code of a dossier we delivered is looked up here; one we do not
  hold is asked of the one-stop-shop's look-up endpoint when the integration
  is on, after the same phone-digits check (the one-stop-shop verifies them).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import common as c
from actions.rating_actions import rating_buttons
from core.vietnamese import fold, without_codes
from core.wording import say
from dossiers.codes import parse_any_code

log = logging.getLogger(__name__)

VIETNAM_TZ = timezone(timedelta(hours=7))
MAX_LISTED = 5
_LAST4_RE = re.compile(r"(?<!\d)(\d{4})(?!\d)|(?<!\d)0\d{9}(?!\d)")
# Tries at the phone digits per code asked (the digits given with the code
# count as one): enough for a typo or two, few enough that 4 digits cannot
# be guessed in one conversation.
MAX_DIGIT_ATTEMPTS = 3
# In a message that also carries the code, digits count only after words that
# say what they are (folded: "4 số cuối 5678", "sđt đuôi 5678", "số điện thoại
# 0912345678"): a bare number next to a code may be anything (a date, a count).
_DIGITS_CUE_RE = re.compile(
    r"(?:\bso cuoi|\bduoi|\bsdt|\bdien thoai|\bso dt|\bdt|\bphone)\b"
    r"[^0-9]{0,20}?(?<!\d)(\d[\d .]{2,14}\d)(?!\d)"
)


FINISHED = ("completed", "rejected")
STATUS_INTENT = "check_status"


def _reset() -> list[EventType]:
    """The events that end the phone-digits question."""
    return [SlotSet(c.SLOT_AWAITING_PHONE, False), SlotSet(c.SLOT_STATUS_CODE, None)]


def _rating_for(view: Any) -> list[dict[str, str]]:
    """👍 / 👎 for a finished dossier (issue 12), nothing while it is open."""
    if getattr(view, "status", None) in FINISHED:
        return rating_buttons("dossier", view.code)
    return []


def _format_history(view: Any) -> str:
    lines = [view.summary_vi()]
    if view.events:
        lines.append(say("status.history_heading"))
        for event in view.events:
            when = event.created_at
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            note = say("status.history_note", note=event.note) if event.note else ""
            stamp = f"{when.astimezone(VIETNAM_TZ):%H:%M %d/%m/%Y}"
            lines.append(
                say("status.history_line", when=stamp, status=event.status_label, note=note)
            )
    return "\n".join(lines)


def _last4(text: str) -> str | None:
    compact = re.sub(r"[\s.\-]", "", text or "")[:64]
    match = _LAST4_RE.search(compact)
    if not match:
        return None
    return (match.group(1) or match.group(0))[-4:]


def _digits_with_code(text: str) -> str | None:
    """The last 4 phone digits clearly given in a message that carries a code
    (`_DIGITS_CUE_RE`), read with the codes taken out so that the digits of
    the code itself ("HS-1234-5678") never count; None when there are none."""
    rest, _ = without_codes(text or "")
    match = _DIGITS_CUE_RE.search(fold(rest))
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(1))
    if len(digits) == 4 or (len(digits) in (10, 11) and digits.startswith("0")):
        return digits[-4:]
    return None


def _attempts_used(tracker: Tracker) -> int:
    """Wrong tries at the phone digits since we asked for them: each run of
    this action after the slot `status_code_pending` was set left it set, so
    each was a wrong try (a right one, or a message without digits, clears
    it); digits given with the code in the message that set it count too.
    Read from the events because the model's domain has no slot for it."""
    events = list(tracker.events or [])
    used = 0
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "action" and event.get("name") == ActionCheckStatus.NAME:
            used += 1
        elif (event.get("event") == "slot" and event.get("name") == c.SLOT_STATUS_CODE
              and event.get("value")):
            # The run that set it (its ActionExecuted comes before its
            # events, so not counted above) asked, and tried only when the
            # message that started it gave the digits with the code.
            asked_by = next(
                (e for e in reversed(events[:index]) if e.get("event") == "user"), None
            )
            given = asked_by is not None and _digits_with_code(str(asked_by.get("text") or ""))
            return used + (1 if given else 0)
    return used


def _code_in(tracker: Tracker) -> str | None:
    """Our code ("HS-…") or a national code from the latest message; a
    national code of a dossier we hold becomes our code."""
    parsed = None
    raw = c.latest_entity(tracker, "dossier_code")
    if raw is not None:
        parsed = parse_any_code(str(raw))
    if parsed is None:
        parsed = parse_any_code(c.latest_text(tracker)[:500])
    if parsed is None:
        return None
    kind, code = parsed
    if kind == "national":
        from dossiers.delivery import code_for_reference

        with c.db_session() as session:
            return code_for_reference(session, code) or code
    return code


def _is_national(code: str) -> bool:
    return not code.startswith("HS-")


def _remote_status(code: str, digits: str) -> str | None:
    """The one-stop-shop's answer for a national code we do not hold; None
    when it knows no such dossier with these digits (a wrong try)."""
    from dossiers.backends import BackendError, backend_from_env
    from dossiers.service import status_label

    try:
        backend = backend_from_env()
        found = backend.lookup(code, digits) if hasattr(backend, "lookup") else None
    except (BackendError, ValueError):
        log.warning("one-stop-shop look-up unavailable", exc_info=True)
        return say("status.remote_unavailable", code=code)
    if found is None:
        return None
    lines = [say("status.remote_heading", reference=found.reference)]
    if found.procedure_name:
        lines[0] += say("status.remote_procedure", name=found.procedure_name)
    lines.append(say("status.remote_status", status=status_label(found.status)))
    if found.updated_at:
        lines.append(say("status.remote_updated", when=found.updated_at))
    if found.note:
        lines.append(say("status.remote_note", note=found.note))
    return "\n".join(lines)


class ActionCheckStatus(Action):
    """Status of a dossier by its code, the phone-digits check for someone
    other than its submitter, or the sender's own dossiers (module doc)."""

    NAME = "action_check_status"

    def name(self) -> str:
        return self.NAME

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from dossiers.service import AccessDenied, DossierError, get_dossier, list_dossiers

        sender = tracker.sender_id
        channel = c.channel_of(tracker)
        code = _code_in(tracker)
        reset = _reset()

        # The citizen answers our "last 4 digits" question.
        pending = tracker.get_slot(c.SLOT_STATUS_CODE)
        if tracker.get_slot(c.SLOT_AWAITING_PHONE) and pending and code is None:
            digits = _last4(c.latest_text(tracker))
            if digits is not None:
                # A wrong answer leaves the question (both slots) as it is.
                return self._try_digits(
                    dispatcher, tracker, str(pending), digits, _attempts_used(tracker) + 1, []
                )
            # No digits. "hồ sơ của tôi" (check_status, no code) is another
            # request: it falls through to the own dossiers below, and
            # `reset` drops the question. So is a procedure named (inform or
            # not understood, as the rules route them here while we wait).
            if c.latest_intent(tracker) != STATUS_INTENT:
                from actions.procedure_actions import answer_procedure_question

                answered = answer_procedure_question(dispatcher, tracker, fallback=True)
                if answered is not None:
                    return [*answered, *reset]
                dispatcher.utter_message(text=say("status.no_digits"))
                return reset

        if code is None:
            if c.latest_entity(tracker, "dossier_code"):
                dispatcher.utter_message(
                    text=say("status.bad_code")
                )
                return reset
            return self._list_own(dispatcher, sender, channel, list_dossiers) + reset

        # Digits given with the code are tried at once; a wrong try opens the
        # question as asking would.
        given = _digits_with_code(c.latest_text(tracker))
        ask = [SlotSet(c.SLOT_AWAITING_PHONE, True), SlotSet(c.SLOT_STATUS_CODE, code)]
        if _is_national(code):
            from dossiers.delivery import delivery_enabled

            if not delivery_enabled():
                dispatcher.utter_message(
                    text=say("status.national_not_found", code=code)
                )
                return reset
            if given is not None:
                return self._try_digits(dispatcher, tracker, code, given, 1, ask)
            dispatcher.utter_message(text=say("status.ask_phone_last4", code=code))
            return ask

        try:
            with c.db_session() as session:
                view = get_dossier(session, code, sender_id=sender, channel=channel)
                text = _format_history(view)
        except AccessDenied:
            if given is not None:
                return self._try_digits(dispatcher, tracker, code, given, 1, ask)
            dispatcher.utter_message(text=say("status.ask_phone_last4", code=code))
            return ask
        except DossierError as exc:
            dispatcher.utter_message(text=exc.message_vi)
            return reset
        dispatcher.utter_message(text=text, buttons=_rating_for(view))
        return [*reset, SlotSet(c.SLOT_DOSSIER_CODE, code)]

    @staticmethod
    def _try_digits(
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        code: str,
        digits: str,
        attempt: int,
        keep: list[EventType],
    ) -> list[EventType]:
        """Dossier `code` for someone who gives the phone `digits`; this is
        try number `attempt`. A wrong try returns `keep` (the events that
        leave the question open) until the last try, which ends it."""
        from dossiers.service import AccessDenied, DossierError, get_dossier

        reset = _reset()
        if _is_national(code):
            remote = _remote_status(code, digits)
            if remote is not None:  # found, or the one-stop-shop is down
                dispatcher.utter_message(text=remote)
                return reset
        else:
            try:
                with c.db_session() as session:
                    view = get_dossier(
                        session, code, sender_id=tracker.sender_id, phone_last4=digits,
                        channel=c.channel_of(tracker),
                    )
                    text = _format_history(view)
            except AccessDenied:
                pass
            except DossierError as exc:
                dispatcher.utter_message(text=exc.message_vi)
                return reset
            else:
                dispatcher.utter_message(text=text, buttons=_rating_for(view))
                return [*reset, SlotSet(c.SLOT_DOSSIER_CODE, code)]
        if attempt >= MAX_DIGIT_ATTEMPTS:
            dispatcher.utter_message(text=say("status.digits_exhausted", code=code))
            return reset
        dispatcher.utter_message(text=say("status.wrong_digits", code=code))
        return keep

    @staticmethod
    def _list_own(
        dispatcher: CollectingDispatcher, sender: str, channel: str, list_dossiers: Any
    ) -> list[EventType]:
        with c.db_session() as session:
            views = list_dossiers(session, sender, channel=channel, limit=MAX_LISTED)
            rows = [(v.code, v.procedure_name or v.procedure_code, v.status_label) for v in views]
        if not rows:
            dispatcher.utter_message(
                text=say("status.none_filed")
            )
            return []
        lines = [say("status.own_heading")]
        lines += [
            say("status.own_line", code=code, name=name, status=status)
            for code, name, status in rows
        ]
        lines.append(say("status.own_footer"))
        dispatcher.utter_message(
            text="\n".join(lines),
            buttons=[
                c.button(code, c.intent_payload("check_status", {"dossier_code": code}))
                for code, _, _ in rows
            ],
        )
        return []
