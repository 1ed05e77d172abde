"""While the dossier form asks a field, an answer to it is an answer.

The NLU classifies every message on its own, without knowing what the form
just asked: "bỏ qua" (the form's own button on an optional field) comes out
as `cancel`, a landlord's name can come out as `faq`, "12 tháng" as anything.
The form's slot mappings exclude those intents, so the rules run the
digression instead of filling the slot, and the citizen loses the form.

`reinterpret` runs on the Rasa server right after the NLU, with the
conversation's tracker (so every Rasa process decides the same way from the
shared tracker store). When the dossier form is active and asks one of its
fields, and the message validates as that field (`dossiers.forms.answers_field`,
the same validators the action server applies), the intent becomes `inform`
with confidence 1.0 and the original intent is kept under
`tthc_reinterpreted_from`. Only a real question ("?", "bao lâu", "ở đâu"…), an
explicit cancel ("hủy", "dừng lại") or an explicit request for an officer
keeps its intent. `/intent{...}` payloads are never changed (the action server
validates whatever they set).

`install()` wraps `MessageProcessor.parse_message` of Rasa 3.6; it is called by
`bot.rasa_server.install()`.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.nlu.procedure_extractor import CANDIDATES_KEY, PROCEDURE_ENTITY
from catalog.answers import QUESTION_INTENTS
from core.vietnamese import DOSSIER_CODE_PATTERN
from dossiers import forms

log = logging.getLogger(__name__)

FORM_NAME = "dossier_form"
PROCEDURE_SLOT = "dossier_procedure"
CANCEL_PENDING_SLOT = "dossier_cancel_pending"
ANSWER_INTENT = "inform"
CANCEL_INTENT = "cancel"
REINTERPRETED_KEY = "tthc_reinterpreted_from"
QUESTION_LIKE_INTENTS = frozenset(
    {
        *QUESTION_INTENTS,
        "faq",
        "help",
        "bot_challenge",
        "check_status",
        "out_of_scope",
        "submit_dossier",
    }
)


def _slot(tracker: Any, name: str) -> Any:
    getter = getattr(tracker, "get_slot", None)
    if getter is not None:
        return getter(name)
    return (getattr(tracker, "slots", None) or {}).get(name)


def _keeps_intent(intent: str | None, text: str) -> bool:
    """Whether the message is a digression the form must let through."""
    if intent == "cancel":
        return forms.is_cancel_request(text)
    if intent == "human_handoff":
        return forms.asks_for_officer(text)
    if intent == "check_status" and DOSSIER_CODE_PATTERN.search(text):
        return True
    if intent in QUESTION_LIKE_INTENTS:
        return forms.looks_like_question(text)
    return False


def reading(parse_data: dict[str, Any], active_loop: str | None, slots: dict[str, Any]) -> str:
    """What the message is while the form waits: "answer" (take it as the
    requested field), "cancel" (yes to the form's "really cancel?" question),
    or "keep" (leave the NLU's intent). Pure function of the parse result and
    the conversation state; never raises."""
    text = parse_data.get("text")
    if active_loop != FORM_NAME or not isinstance(text, str) or not text.strip():
        return "keep"
    if text.lstrip().startswith("/"):
        return "keep"
    requested = slots.get("requested_slot")
    code = slots.get(PROCEDURE_SLOT)
    if not isinstance(requested, str) or not isinstance(code, str):
        return "keep"
    spec = forms.field_by_name(code, requested)
    if spec is None:
        return "keep"
    if slots.get(CANCEL_PENDING_SLOT) and forms.is_continue_answer(text):
        return "answer"
    if slots.get(CANCEL_PENDING_SLOT) and forms.is_cancel_confirmation(text):
        return "cancel"
    intent = (parse_data.get("intent") or {}).get("name")
    if _keeps_intent(intent, text):
        return "keep"
    if forms.is_cancel_request(text) and intent != ANSWER_INTENT:
        return "keep"
    context = {name: value for name, value in slots.items() if isinstance(name, str)}
    return "answer" if forms.answers_field(spec, text, context) else "keep"


def reinterpret(parse_data: dict[str, Any], tracker: Any) -> dict[str, Any]:
    """`parse_data` with the intent turned into `inform` when the message
    answers the field the dossier form asks (see module doc). Returns the
    same dict, changed in place; any internal error leaves it unchanged."""
    if tracker is None:
        return parse_data
    try:
        active_loop = getattr(tracker, "active_loop_name", None)
        if active_loop != FORM_NAME:
            return parse_data
        slots = {
            name: _slot(tracker, name)
            for name in (
                "requested_slot",
                PROCEDURE_SLOT,
                CANCEL_PENDING_SLOT,
                *(spec.name for spec in forms.fields_for(_slot(tracker, PROCEDURE_SLOT) or "")),
            )
        }
        read = reading(parse_data, active_loop, slots)
    except Exception:  # never let this lose the message; the NLU's reading stands
        log.warning("form answer reading failed; keeping the NLU intent", exc_info=False)
        return parse_data
    original = parse_data.get("intent") or {}
    if read == "answer" or (
        original.get("name") == ANSWER_INTENT and slots.get("requested_slot") != PROCEDURE_SLOT
    ):
        # An answer to a field is not a procedure mention: without this, a name
        # ("Trần Thị Mai") or a relationship ("Mẹ") fills the conversation's
        # `procedure` slot with whatever the catalog search found, and the next
        # follow-up or rating is about that procedure.
        _drop_procedure_mention(parse_data)
    if read == "cancel":
        # "có" to "Bạn có chắc muốn hủy hồ sơ này không?" is the cancel button:
        # the NLU reads it as `affirm`, which the form has no use for, and the
        # citizen got "Xin lỗi, tôi chưa hiểu ý bạn" (fresh-user trial).
        return _read_as(parse_data, CANCEL_INTENT)
    if read != "answer":
        return parse_data
    if original.get("name") == ANSWER_INTENT and original.get("confidence") == 1.0:
        return parse_data
    return _read_as(parse_data, ANSWER_INTENT)


def _read_as(parse_data: dict[str, Any], intent: str) -> dict[str, Any]:
    """`parse_data` with `intent` at confidence 1.0 in front of its ranking,
    the NLU's intent kept under REINTERPRETED_KEY (changed in place)."""
    parse_data[REINTERPRETED_KEY] = (parse_data.get("intent") or {}).get("name")
    chosen = {"name": intent, "confidence": 1.0}
    parse_data["intent"] = chosen
    ranking = [r for r in parse_data.get("intent_ranking") or [] if r.get("name") != intent]
    parse_data["intent_ranking"] = [chosen, *ranking]
    # A retrieval intent's answer must not be sent for what the form reads.
    parse_data.pop("response_selector", None)
    return parse_data


def _drop_procedure_mention(parse_data: dict[str, Any]) -> None:
    """Remove the procedure extractor's entity and ranked candidates from a
    parse result (in place), so no slot mapping or action reads a procedure
    out of a form answer."""
    entities = parse_data.get("entities")
    if isinstance(entities, list):
        parse_data["entities"] = [
            e for e in entities if not (isinstance(e, dict) and e.get("entity") == PROCEDURE_ENTITY)
        ]
    if parse_data.get(CANDIDATES_KEY):
        parse_data[CANDIDATES_KEY] = []


RETRIEVAL_INTENTS = frozenset({"faq"})
NO_ANSWER_INTENT = "out_of_scope"


def guard_retrieval_payload(parse_data: dict[str, Any]) -> dict[str, Any]:
    """A retrieval intent typed as a payload ("/faq") carries no response
    selection, and Rasa's `utter_faq` then fails with a traceback (found by
    benchmarks/fuzz_channels.py). Such a message is read as `out_of_scope`
    (which has its polite rule). Returns the same dict; never raises."""
    intent = (parse_data.get("intent") or {}).get("name")
    if intent not in RETRIEVAL_INTENTS:
        return parse_data
    selector = parse_data.get("response_selector")
    if isinstance(selector, dict) and any(
        isinstance(selector.get(key), dict) for key in (intent, "default")
    ):
        return parse_data  # the NLU selected an answer (under the intent or "default")
    parse_data[REINTERPRETED_KEY] = intent
    parse_data["intent"] = {"name": NO_ANSWER_INTENT, "confidence": 1.0}
    parse_data.pop("response_selector", None)
    return parse_data


def install() -> None:
    """Run `reinterpret` (then the retrieval-payload guard) after Rasa's NLU on
    every message (idempotent)."""
    from bot.rasa_server import after_parse

    after_parse(
        "form_answers",
        lambda parse_data, tracker: guard_retrieval_payload(reinterpret(parse_data, tracker)),
    )
