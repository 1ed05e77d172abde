"""The dossier form: start, validation, questions, confirmation, submission,
cancellation.

Flow (rules in nlu_data/rules/dossier.yml):

    submit_dossier -> action_start_dossier -> dossier_form (asks
    dossier_procedure if unknown, the applicant fields, the procedure's own
    fields from dossiers/form_fields.yml, then dossier_confirmed with a
    summary) -> action_submit_dossier

Which fields are asked is data (`dossiers.forms.fields_for`), so the
validation action overrides `required_slots`; every field name is declared
as a slot in bot/domain/dossier_form.yml (tests check the domain covers the
YAML).

Idempotency: `action_start_dossier` draws a form-instance id kept in the
`dossier_form_id` slot; the submission key is a hash of sender and that id,
so a double click on "Xác nhận" or a redelivered message returns the same
dossier instead of filing a second one.
"""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import catalog
from actions import common as c
from actions.custom_forms import FAILURES_SLOT, TthcFormValidationAction
from actions.procedure_actions import utter_choice
from actions.rating_actions import rating_buttons
from bot.channels.inbound import deep_link_payload_for_procedure, is_group_sender
from core.vietnamese import fold, is_procedure_code, mask_citizen_id
from core.wording import say
from dossiers import forms
from dossiers.validation import ValidationError

log = logging.getLogger(__name__)

FORM_NAME = "dossier_form"
PROCEDURE_SLOT = "dossier_procedure"
CONFIRM_SLOT = "dossier_confirmed"
FORM_ID_SLOT = "dossier_form_id"
SUBMITTED_FORM_SLOT = "submitted_form_id"
LAST_CODE_SLOT = "last_dossier_code"
CANCEL_PENDING_SLOT = "dossier_cancel_pending"
CONFIRMED = "yes"
SKIPPED = ""  # an optional field the citizen skipped: filled, but empty

# What people type after "sửa" for the common fields; procedure-specific
# fields are matched by their label.
EDIT_ALIASES: dict[str, tuple[str, ...]] = {
    PROCEDURE_SLOT: ("thu tuc",),
    "full_name": ("ho ten", "ho va ten", "ten"),
    "date_of_birth": ("ngay sinh", "sinh nhat", "nam sinh"),
    "citizen_id": ("can cuoc", "cccd", "cmnd", "dinh danh", "so cc"),
    "phone": ("dien thoai", "sdt", "so dt", "dt"),
    "address": ("dia chi", "noi o"),
}
EDIT_VERBS = ("sua", "chinh sua", "doi", "thay doi", "nhap lai")
AFFIRM_WORDS = forms.YES_ANSWERS | {"xac nhan", "nop", "nop di"}


def all_field_names() -> list[str]:
    """Every field any procedure can ask: the slots the domain must declare."""
    names = [spec.name for spec in forms.COMMON_FIELDS]
    for code in forms.form_procedures():
        for spec in forms.fields_for(code):
            if spec.name not in names:
                names.append(spec.name)
    return names


def form_slots() -> list[str]:
    return [PROCEDURE_SLOT, *all_field_names(), CONFIRM_SLOT]


def _procedure_name(code: str | None) -> str:
    if not code:
        return ""
    curated = catalog.get_curated_procedure(code)
    return curated.procedure.name if curated else code


def _display(spec: forms.FieldSpec, value: Any) -> str:
    if value == SKIPPED:
        return say("dossier.skipped_value")
    if spec.type == "citizen_id":
        return mask_citizen_id(value)  # only the last 4 digits on screen
    if spec.type == "date" and isinstance(value, str):
        try:
            return f"{date.fromisoformat(value):%d/%m/%Y}"
        except ValueError:
            return value
    return str(value)


def _reset_form_events(extra_keep: tuple[str, ...] = ()) -> list[EventType]:
    return [
        SlotSet(slot, None)
        for slot in (*form_slots(), FAILURES_SLOT, CANCEL_PENDING_SLOT, "requested_slot")
        if slot not in extra_keep
    ]


def _find_edit_field(text: str, code: str | None) -> str | None:
    """Field named after "sửa" ("sửa số điện thoại" -> phone)."""
    folded = fold(text)
    for verb in EDIT_VERBS:
        if folded.startswith(verb + " "):
            folded = folded[len(verb) + 1 :]
            break
    else:
        return None
    specs = forms.fields_for(code or "")
    best: tuple[int, str] | None = None
    for slot, aliases in EDIT_ALIASES.items():
        for alias in aliases:
            if f" {alias} " in f" {folded} " and (best is None or len(alias) > best[0]):
                best = (len(alias), slot)
    for spec in specs:
        label = fold(spec.label)
        if label and (label in folded or folded in label) and len(folded) >= 3:
            length = min(len(label), len(folded))
            if best is None or length > best[0]:
                best = (length, spec.name)
    return best[1] if best else None


# ---------------------------------------------------------------------------
# Start and validation
# ---------------------------------------------------------------------------


GROUP_INVITE_TEXT = say("dossier.group_invite")


def invite_to_private_chat(dispatcher: CollectingDispatcher, code: str | None) -> None:
    """The group invitation: text plus a custom payload the Telegram channel
    turns into a deep-link button opening the private chat (and the form)."""
    start = deep_link_payload_for_procedure(code, file_dossier=True) if code else ""
    # Only group conversations (Telegram) get here; its channel renders the text.
    dispatcher.utter_message(
        json_message={"private_chat": {"start": start}, "text": GROUP_INVITE_TEXT}
    )


class ActionStartDossier(Action):
    """Begin a fresh form instance: clear old answers, draw the instance id,
    pre-fill the procedure from the message or the conversation."""

    def name(self) -> str:
        return "action_start_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from dossiers.service import new_idempotency_key

        code = c.latest_entity(tracker, "procedure") or tracker.get_slot(c.SLOT_PROCEDURE)
        if code is not None and not is_procedure_code(code, loose=True):
            code = None
        if is_group_sender(tracker.sender_id):
            # Never ask for an ID number in front of a group: continue in private.
            invite_to_private_chat(dispatcher, code)
            return [FollowupAction("action_listen")]
        events = _reset_form_events()
        events += [
            SlotSet(FORM_ID_SLOT, new_idempotency_key()),
            SlotSet(SUBMITTED_FORM_SLOT, None),
        ]
        if code and catalog.get_curated_procedure(code) is not None:
            dispatcher.utter_message(
                text=say("dossier.start_for", name=_procedure_name(code), code=code)
            )
            events.append(SlotSet(PROCEDURE_SLOT, code))
        else:
            dispatcher.utter_message(
                text=say("dossier.start")
            )
        return events


class ValidateDossierForm(TthcFormValidationAction):
    def name(self) -> str:
        return "validate_dossier_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        code = tracker.slots.get(PROCEDURE_SLOT)
        fields = [spec.name for spec in forms.fields_for(code or "")]
        return [PROCEDURE_SLOT, *fields, CONFIRM_SLOT]

    async def validate_dossier_procedure(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        entity = c.latest_entity(tracker, "procedure")
        for candidate in (entity, value):
            if is_procedure_code(candidate, loose=True):
                code = str(candidate).strip()
                if catalog.get_curated_procedure(code) is not None:
                    return {PROCEDURE_SLOT: code, c.SLOT_PROCEDURE: code}
        text = value if isinstance(value, str) else ""
        if not text.strip() or len(text) > 300:
            raise ValidationError(say("dossier.which_procedure"))
        hits: list[dict[str, Any]] = [
            {"code": h.code, "name": h.name, "score": float(h.score)}
            for h in catalog.search(text, limit=c.MAX_OPTIONS)
        ]
        if hits and hits[0]["score"] >= c.CONFIDENT_SCORE and not c.is_ambiguous(hits):
            code = hits[0]["code"]
            dispatcher.utter_message(
                text=say("dossier.procedure_found", name=hits[0]["name"], code=code)
            )
            return {PROCEDURE_SLOT: code, c.SLOT_PROCEDURE: code}
        close = c.close_candidates(hits)
        if close:
            utter_choice(dispatcher, close, say("dossier.which_of_these"))
            return {PROCEDURE_SLOT: None, "__no_failure__": True}
        raise ValidationError(say("dossier.procedure_not_found"))

    async def validate_any_slot(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        spec = forms.field_by_name(tracker.slots.get(PROCEDURE_SLOT) or "", slot)
        if spec is None:
            return {slot: None}
        pending = bool(tracker.slots.get(CANCEL_PENDING_SLOT))
        if pending and forms.is_continue_answer(value):
            # "Tiếp tục" after "do you really want to cancel?": ask the field again.
            return {slot: None, CANCEL_PENDING_SLOT: None, "__no_failure__": True}
        cleared = {CANCEL_PENDING_SLOT: None} if pending else {}
        context = {name: tracker.slots.get(name) for name in all_field_names()}
        normalised = forms.validate_field(spec, value, context)
        if normalised is None:  # optional field skipped: filled, but empty
            return {slot: SKIPPED, **cleared}
        return {slot: forms.serialize_value(normalised), **cleared}

    async def validate_dossier_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        code = tracker.slots.get(PROCEDURE_SLOT)
        text = value if isinstance(value, str) else ""
        field = c.latest_entity(tracker, "edit_field")
        if field not in form_slots():
            field = _find_edit_field(text, code) if len(text) < 100 else None
        if field and field != CONFIRM_SLOT:
            spec = forms.field_by_name(code or "", field)
            label = spec.label if spec else say("dossier.edit_field_default_label")
            dispatcher.utter_message(text=say("dossier.edit_field", label=label))
            return {field: None, CONFIRM_SLOT: None, "__no_failure__": True}
        intent = c.latest_intent(tracker)
        folded = fold(text).strip(" .!")
        if intent == "affirm" or folded in AFFIRM_WORDS:
            return {CONFIRM_SLOT: CONFIRMED}
        if intent == "deny":
            dispatcher.utter_message(
                text=say("dossier.which_edit")
            )
            return {CONFIRM_SLOT: None, "__no_failure__": True}
        raise ValidationError(say("dossier.confirm_how"))


# ---------------------------------------------------------------------------
# Questions
# ---------------------------------------------------------------------------


class ActionAskFieldBase(Action, ABC):
    """Asks one form field with its prompt from dossiers/forms (subclasses per
    field are generated below, because Rasa looks for `action_ask_<slot>`)."""

    @property
    @abstractmethod
    def slot_name(self) -> str:  # abstract: rasa_sdk must not register the base class
        raise NotImplementedError

    def name(self) -> str:
        return f"action_ask_{self.slot_name}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        spec = forms.field_by_name(tracker.get_slot(PROCEDURE_SLOT) or "", self.slot_name)
        if spec is None:  # should not happen: required_slots come from the same data
            dispatcher.utter_message(text=say("dossier.next_field"))
            return []
        buttons = [c.button(choice, choice) for choice in spec.choices]
        if not spec.required:
            buttons.append(c.button(say("dossier.skip_button"), "bỏ qua"))
        dispatcher.utter_message(text=spec.prompt, buttons=buttons)
        return []


def _make_ask_action(slot: str) -> type[Action]:
    return type(f"ActionAsk_{slot}", (ActionAskFieldBase,), {"slot_name": slot})


ASK_FIELD_ACTIONS: dict[str, type[Action]] = {
    slot: _make_ask_action(slot) for slot in all_field_names()
}


class ActionAskDossierProcedure(Action):
    def name(self) -> str:
        return "action_ask_dossier_procedure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        buttons = [
            c.button(name, c.intent_payload("inform", {"procedure": code}))
            for code, name in list(forms.form_procedures().items())[:8]
        ]
        dispatcher.utter_message(
            text=say("dossier.choose_procedure"),
            buttons=buttons,
        )
        return []


class ActionAskDossierConfirmed(Action):
    """The summary before submission (ID masked) with Xác nhận / Sửa / Hủy."""

    def name(self) -> str:
        return "action_ask_dossier_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        code = tracker.get_slot(PROCEDURE_SLOT) or ""
        lines = [
            say("dossier.summary_heading"),
            say("dossier.summary_procedure", name=_procedure_name(code)),
        ]
        buttons = [c.button(say("dossier.confirm_button"), c.intent_payload("affirm"))]
        for spec in forms.fields_for(code):
            value = tracker.get_slot(spec.name)
            if value is None:
                continue
            lines.append(say("dossier.summary_line", label=spec.label, value=_display(spec, value)))
            buttons.append(
                c.button(
                    say("dossier.edit_button", label=spec.label.lower()),
                    c.intent_payload("inform", {"edit_field": spec.name}),
                )
            )
        buttons.append(c.button(say("dossier.cancel_button"), c.intent_payload("cancel")))
        lines.append(say("dossier.summary_footer"))
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return []


# ---------------------------------------------------------------------------
# Submission and cancellation
# ---------------------------------------------------------------------------


def idempotency_key(tracker: Tracker) -> str:
    """Stable for one form instance of one sender."""
    form_id = tracker.get_slot(FORM_ID_SLOT) or _form_activation_stamp(tracker)
    raw = f"{tracker.sender_id}\x1f{form_id}".encode()
    return "tthc-" + hashlib.sha256(raw).hexdigest()[:40]


def _form_activation_stamp(tracker: Tracker) -> str:
    """Fallback instance id: when the current dossier_form was activated."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FORM_NAME:
            return str(event.get("timestamp"))
    return "no-form"


class ActionSubmitDossier(Action):
    def name(self) -> str:
        return "action_submit_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from dossiers.service import DossierError, SubmissionRequest, submit_dossier

        form_id = tracker.get_slot(FORM_ID_SLOT)
        last_code = tracker.get_slot(LAST_CODE_SLOT)
        if form_id and form_id == tracker.get_slot(SUBMITTED_FORM_SLOT) and last_code:
            # Repeated "Xác nhận": answer with the same dossier, file nothing.
            dispatcher.utter_message(
                text=say("dossier.already_filed", code=last_code)
            )
            return []
        if is_group_sender(tracker.sender_id):
            invite_to_private_chat(dispatcher, tracker.get_slot(PROCEDURE_SLOT))
            return _reset_form_events()
        code = tracker.get_slot(PROCEDURE_SLOT)
        if tracker.get_slot(CONFIRM_SLOT) != CONFIRMED or not code:
            dispatcher.utter_message(
                text=say("dossier.nothing_to_confirm")
            )
            return []
        values = {}
        for spec in forms.fields_for(code):
            value = tracker.get_slot(spec.name)
            values[spec.name] = None if value == SKIPPED else value
        request = SubmissionRequest.from_form(
            idempotency_key=idempotency_key(tracker),
            procedure_code=code,
            procedure_name=_procedure_name(code),
            sender_id=tracker.sender_id,
            channel=c.channel_of(tracker),
            values=values,
        )
        try:
            with c.db_session() as session:
                dossier = submit_dossier(session, request)
                dossier_code = dossier.code
        except ValidationError as exc:
            dispatcher.utter_message(
                text=say("dossier.not_filed", reason=exc.message_vi)
            )
            return []
        except DossierError as exc:
            dispatcher.utter_message(text=exc.message_vi)
            return []
        except Exception:
            log.exception("dossier submission failed")
            dispatcher.utter_message(
                text=say("dossier.busy")
            )
            return []
        dispatcher.utter_message(
            text=say("dossier.filed", name=_procedure_name(code), code=dossier_code),
            buttons=[
                c.button(
                    say("button.check_status"),
                    c.intent_payload("check_status", {"dossier_code": dossier_code}),
                ),
                # issue 12: how was filing through the chat?
                *rating_buttons("dossier", dossier_code),
            ],
        )
        # Personal data leaves the conversation state once it is stored.
        events = _reset_form_events(extra_keep=(CONFIRM_SLOT, PROCEDURE_SLOT))
        return [
            *events,
            SlotSet(LAST_CODE_SLOT, dossier_code),
            SlotSet(SUBMITTED_FORM_SLOT, form_id),
        ]


def _entered_fields(tracker: Tracker) -> list[str]:
    """Fields of the running form the citizen has already answered."""
    code = tracker.get_slot(PROCEDURE_SLOT) or ""
    return [spec.name for spec in forms.fields_for(code) if tracker.get_slot(spec.name) is not None]


class ActionCancelDossier(Action):
    """Stop the form. When answers would be lost, ask first (and keep the form
    waiting): only a second, explicit "hủy" (or the "Hủy hồ sơ" button)
    cancels; "tiếp tục" or any answer goes on where the form was."""

    def name(self) -> str:
        return "action_cancel_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        form_running = tracker.active_loop_name == FORM_NAME
        if form_running and not tracker.get_slot(CANCEL_PENDING_SLOT) and _entered_fields(
            tracker
        ):
            dispatcher.utter_message(
                text=say("dossier.cancel_confirm"),
                buttons=[
                    c.button(say("dossier.cancel_dossier_button"), c.intent_payload("cancel")),
                    c.button(say("dossier.continue_button"), "tiếp tục"),
                ],
            )
            # Keep the form: listen for the answer instead of deactivating it.
            return [SlotSet(CANCEL_PENDING_SLOT, True), FollowupAction("action_listen")]
        if form_running:
            dispatcher.utter_message(
                text=say("dossier.cancelled_form")
            )
        else:
            dispatcher.utter_message(text=say("dossier.cancelled"))
        return [*_reset_form_events(), SlotSet(FORM_ID_SLOT, None)]
