"""A reusable form validation base with per-slot failure counting.

Modelled on RasaHQ/financial-demo's `CustomFormValidationAction`, adapted to
how this project validates: validators raise
`dossiers.validation.ValidationError`, whose Vietnamese `message_vi` is the
specific re-ask. The base class

- calls `validate_<slot>` when a subclass defines it, else
  `validate_any_slot(slot, value, ...)` (forms whose slots come from data);
- turns a `ValidationError` into the re-ask message and an empty slot, so the
  form asks again; any other exception is logged and treated as a failed
  value, never a crash of the conversation;
- counts failures per slot in the `form_failures` slot, and after
  `MAX_FAILURES` failures on the same slot offers a human officer (and starts
  counting again, so the offer comes back after 3 more).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker, utils
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import common as c
from core.wording import say
from dossiers.validation import ValidationError

log = logging.getLogger(__name__)

FAILURES_SLOT = "form_failures"
MAX_FAILURES = 3
GENERIC_REASK = say("dossier.generic_reask")


class TthcFormValidationAction(FormValidationAction):
    """Base for the project's form validation actions (see module doc)."""

    @abstractmethod
    def name(self) -> str:  # abstract: keeps rasa_sdk from registering the base class
        raise NotImplementedError

    async def validate_any_slot(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Validation of slots without a `validate_<slot>` method. Return
        {slot: normalised value} or raise ValidationError."""
        return {slot: value}

    def offer_human(self, slot: str, dispatcher: CollectingDispatcher) -> None:
        dispatcher.utter_message(
            text=say("dossier.struggling"),
            buttons=[
                c.button(say("button.human"), c.intent_payload("human_handoff")),
                c.button(say("dossier.cancel_dossier_button"), c.intent_payload("cancel")),
            ],
        )

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        required = await self.required_slots(
            self.domain_slots(domain), dispatcher, tracker, domain
        )
        to_validate: dict[str, Any] = tracker.slots_to_validate()
        result: dict[str, Any] = {}
        failures: dict[str, int] = dict(tracker.get_slot(FAILURES_SLOT) or {})
        failures_changed = False
        for slot, value in list(to_validate.items()):
            if slot not in required:
                continue
            try:
                method = getattr(self, f"validate_{slot}", None)
                if method is not None:
                    output = await utils.call_potential_coroutine(
                        method(value, dispatcher, tracker, domain)
                    )
                else:
                    output = await self.validate_any_slot(slot, value, dispatcher, tracker, domain)
            except ValidationError as exc:
                dispatcher.utter_message(text=exc.message_vi)
                output = {slot: None}
            except Exception:  # a bug must not end the conversation; ask again instead
                log.exception("validation of slot %s failed unexpectedly", slot)
                dispatcher.utter_message(text=GENERIC_REASK)
                output = {slot: None}
            output = dict(output or {})
            # A validator clears a slot on purpose (edit, "no" at confirmation)
            # with this marker: that is not a failed answer.
            deliberate = bool(output.pop("__no_failure__", False))
            result.update(output)
            tracker.slots.update(output)
            # Count only answers to the question we asked; a value the
            # validator cleared on purpose (edit, skip) is not a failure.
            if slot == tracker.get_slot("requested_slot") and slot in output:
                if output[slot] is None and not deliberate:
                    failures[slot] = failures.get(slot, 0) + 1
                    failures_changed = True
                    if failures[slot] >= MAX_FAILURES:
                        self.offer_human(slot, dispatcher)
                        failures[slot] = 0
                elif output[slot] is not None and failures.get(slot):
                    failures.pop(slot)
                    failures_changed = True
        events: list[EventType] = [SlotSet(k, v) for k, v in result.items()]
        if failures_changed:
            events.append(SlotSet(FAILURES_SLOT, failures))
        return events
