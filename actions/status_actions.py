"""Dossier status look-up.

- A message with a dossier code from its owner (same sender and channel):
  status and history.
- From anyone else: we ask for the last 4 digits of the phone number in the
  dossier (`awaiting_phone_last4`), then try once; the service answers "not
  found" and "not yours" identically, so codes cannot be probed.
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
from core.wording import say
from dossiers.codes import parse_any_code

log = logging.getLogger(__name__)

VIETNAM_TZ = timezone(timedelta(hours=7))
MAX_LISTED = 5
_LAST4_RE = re.compile(r"(?<!\d)(\d{4})(?!\d)|(?<!\d)0\d{9}(?!\d)")


FINISHED = ("completed", "rejected")


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


def _remote_status(code: str, digits: str) -> str:
    """The one-stop-shop's answer for a national code we do not hold."""
    from dossiers.backends import BackendError, backend_from_env
    from dossiers.service import AccessDenied, status_label

    try:
        backend = backend_from_env()
        found = backend.lookup(code, digits) if hasattr(backend, "lookup") else None
    except (BackendError, ValueError):
        log.warning("one-stop-shop look-up unavailable", exc_info=True)
        return say("status.remote_unavailable", code=code)
    if found is None:
        return AccessDenied.message_vi
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
    def name(self) -> str:
        return "action_check_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from dossiers.service import AccessDenied, DossierError, get_dossier, list_dossiers

        sender = tracker.sender_id
        channel = c.channel_of(tracker)
        code = _code_in(tracker)
        reset = [SlotSet(c.SLOT_AWAITING_PHONE, False), SlotSet(c.SLOT_STATUS_CODE, None)]

        # The citizen answers our "last 4 digits" question.
        pending = tracker.get_slot(c.SLOT_STATUS_CODE)
        if tracker.get_slot(c.SLOT_AWAITING_PHONE) and pending and code is None:
            digits = _last4(c.latest_text(tracker))
            if digits is None:
                dispatcher.utter_message(
                    text=say("status.no_digits")
                )
                return reset
            if _is_national(pending):
                dispatcher.utter_message(text=_remote_status(pending, digits))
                return reset
            try:
                with c.db_session() as session:
                    view = get_dossier(
                        session, pending, sender_id=sender, phone_last4=digits, channel=channel
                    )
                    text = _format_history(view)
            except DossierError as exc:
                dispatcher.utter_message(text=exc.message_vi)
                return reset
            dispatcher.utter_message(text=text, buttons=_rating_for(view))
            return [*reset, SlotSet(c.SLOT_DOSSIER_CODE, pending)]

        if code is None:
            if c.latest_entity(tracker, "dossier_code"):
                dispatcher.utter_message(
                    text=say("status.bad_code")
                )
                return reset
            return self._list_own(dispatcher, sender, channel, list_dossiers) + reset

        if _is_national(code):
            from dossiers.delivery import delivery_enabled

            if not delivery_enabled():
                dispatcher.utter_message(
                    text=say("status.national_not_found", code=code)
                )
                return reset
            dispatcher.utter_message(text=say("status.ask_phone_last4", code=code))
            return [SlotSet(c.SLOT_AWAITING_PHONE, True), SlotSet(c.SLOT_STATUS_CODE, code)]

        try:
            with c.db_session() as session:
                view = get_dossier(session, code, sender_id=sender, channel=channel)
                text = _format_history(view)
        except AccessDenied:
            dispatcher.utter_message(text=say("status.ask_phone_last4", code=code))
            return [SlotSet(c.SLOT_AWAITING_PHONE, True), SlotSet(c.SLOT_STATUS_CODE, code)]
        except DossierError as exc:
            dispatcher.utter_message(text=exc.message_vi)
            return reset
        dispatcher.utter_message(text=text, buttons=_rating_for(view))
        return [*reset, SlotSet(c.SLOT_DOSSIER_CODE, code)]

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
