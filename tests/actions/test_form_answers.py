"""Issue 14: while the dossier form asks a field, an answer that validates as
that field is taken as the answer before any intent the NLU guessed; only a
real question, an explicit cancel or an explicit officer request interrupts.

Runs on real Rasa trackers built from the project's domain (bot/domain),
with the intents the shipped model gave in the reported failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot import form_answers
from dossiers import forms

DOMAIN = Domain.load("bot/domain")


def _tracker(code: str, requested: str, **slots: Any) -> DialogueStateTracker:
    events = [
        ActionExecuted("action_listen"),
        ActiveLoop("dossier_form"),
        SlotSet("dossier_procedure", code),
        *(SlotSet(name, value) for name, value in slots.items()),
        SlotSet("requested_slot", requested),
    ]
    return DialogueStateTracker.from_events("citizen", events, slots=DOMAIN.slots)


def _parse(text: str, intent: str, confidence: float = 0.93) -> dict[str, Any]:
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": [],
    }


def _reads(text: str, intent: str, code: str, requested: str, **slots: Any) -> str:
    parsed = form_answers.reinterpret(_parse(text, intent), _tracker(code, requested, **slots))
    return parsed["intent"]["name"]


@pytest.mark.parametrize("typed", ["Bỏ qua", "bỏ qua", "không có", "Không"])
@pytest.mark.parametrize("nlu_intent", ["cancel", "deny", "faq", "out_of_scope"])
def test_skip_on_the_landlord_field_is_an_answer_not_a_cancel(typed, nlu_intent):
    assert _reads(typed, nlu_intent, "1.004194", "landlord_name") == "inform"


def test_landlord_name_is_taken_before_the_faq():
    parsed = form_answers.reinterpret(
        _parse("Lê Thị Giờ", "faq"), _tracker("1.004194", "landlord_name")
    )
    assert parsed["intent"] == {"name": "inform", "confidence": 1.0}
    assert parsed["intent_ranking"][0]["name"] == "inform"
    assert parsed[form_answers.REINTERPRETED_KEY] == "faq"


def test_duration_is_taken_before_any_intent():
    assert _reads("12 tháng", "ask_processing_time", "1.004194", "stay_duration") == "inform"
    assert _reads("nửa năm", "out_of_scope", "1.004194", "stay_duration") == "inform"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("giờ làm việc của phường thế nào?", "faq"),
        ("đăng ký tạm trú mất bao lâu", "ask_processing_time"),
        ("lệ phí bao nhiêu vậy", "ask_fee"),
        ("hủy", "cancel"),
        ("thôi không nộp nữa", "cancel"),
        ("cho tôi gặp cán bộ", "human_handoff"),
        ("HS-7K3M-9QXP", "check_status"),
        ("/cancel", "cancel"),
    ],
)
def test_real_questions_and_explicit_requests_interrupt(text, intent):
    assert _reads(text, intent, "1.004194", "landlord_name") == intent


def test_a_name_that_looks_like_cancel_is_a_name():
    # "Huy" is a given name; only "hủy" with its diacritics asks to cancel.
    assert _reads("Nguyễn Quang Huy", "cancel", "1.004194", "landlord_name") == "inform"


def test_an_unvalidated_message_keeps_its_intent():
    assert _reads("xin chào", "greet", "1.004194", "citizen_id") == "greet"
    assert _reads("abc", "cancel", "1.004194", "phone") == "cancel"


def test_continue_after_cancel_question_goes_back_to_the_form():
    reading = _reads(
        "tiếp tục", "affirm", "1.004194", "date_of_birth",
        full_name="Nguyễn Văn An", dossier_cancel_pending=True,
    )
    assert reading == "inform"


def test_nothing_changes_outside_the_form_or_for_payloads():
    outside = DialogueStateTracker.from_events("c", [ActionExecuted("action_listen")],
                                               slots=DOMAIN.slots)
    assert form_answers.reinterpret(_parse("bỏ qua", "cancel"), outside)["intent"]["name"] == (
        "cancel"
    )
    assert _reads('/inform{"x": 1}', "inform", "1.004194", "landlord_name") == "inform"
    assert _reads("/faq", "faq", "1.004194", "landlord_name") == "faq"
    assert form_answers.reinterpret(_parse("bỏ qua", "cancel"), None)["intent"]["name"] == (
        "cancel"
    )


EVERY_FIELD = [
    pytest.param(code, spec, id=f"{code}-{spec.name}")
    for code in forms.form_procedures()
    for spec in forms.fields_for(code)
]


@pytest.mark.parametrize(("code", "spec"), EVERY_FIELD)
def test_every_field_reads_skip_words_as_answers(code, spec):
    # Required fields too: the form re-asks them, it must never cancel.
    assert _reads("bỏ qua", "cancel", code, spec.name) == "inform"


def test_installed_into_rasa_parse_message():
    class Interpreter:  # Rasa's http_interpreter slot: the NLU's answer for the message
        async def parse(self, message: Any) -> dict[str, Any]:
            return _parse(message.text, "cancel")

    from rasa.core.channels.channel import UserMessage

    form_answers.install()
    form_answers.install()  # idempotent
    processor = object.__new__(MessageProcessor)
    processor.http_interpreter = Interpreter()
    processor.domain = DOMAIN
    tracker = _tracker("1.004194", "landlord_name")
    parsed = asyncio.run(processor.parse_message(UserMessage("bỏ qua"), tracker))
    assert parsed["intent"]["name"] == "inform"
    assert asyncio.run(processor.parse_message(UserMessage("bỏ qua")))["intent"]["name"] == (
        "cancel"
    )


def test_a_typed_faq_payload_without_response_selection_is_out_of_scope():
    typed = form_answers.guard_retrieval_payload(_parse("/faq", "faq"))
    assert typed["intent"] == {"name": "out_of_scope", "confidence": 1.0}
    real = _parse("giờ làm việc", "faq")
    real["response_selector"] = {"faq": {"response": {"responses": [{"text": "8h"}],
                                                      "utter_action": "utter_faq/gio"}}}
    assert form_answers.guard_retrieval_payload(real)["intent"]["name"] == "faq"
    default = _parse("giờ làm việc", "faq")
    default["response_selector"] = {"all_retrieval_intents": ["faq"], "default": {"response": {}}}
    assert form_answers.guard_retrieval_payload(default)["intent"]["name"] == "faq"
    assert form_answers.guard_retrieval_payload(_parse("x", "greet"))["intent"]["name"] == "greet"


def _with_procedure(parsed: dict[str, Any], code: str = "1.001022") -> dict[str, Any]:
    parsed["entities"] = [
        {"entity": "procedure", "value": code, "start": 0, "end": 3, "extractor": "x"},
        {"entity": "date", "value": "02/09/1985", "start": 0, "end": 3, "extractor": "y"},
    ]
    parsed["procedure_candidates"] = [{"code": code, "score": 71.0}]
    return parsed


@pytest.mark.parametrize("nlu_intent", ["inform", "faq", "ask_fee"])
def test_a_field_answer_is_not_a_procedure_mention(nlu_intent):
    # Fresh-user trial: "Mẹ" (relationship) filled `procedure` with 1.001022
    # ("đăng ký nhận cha, mẹ, con"), and the next follow-up and the dossier's
    # rating were about that procedure.
    code, spec = next(
        (code, spec) for code in forms.form_procedures() for spec in forms.fields_for(code)
        if forms.answers_field(spec, "Trần Thị Mai", {})
    )
    parsed = form_answers.reinterpret(
        _with_procedure(_parse("Trần Thị Mai", nlu_intent)), _tracker(code, spec.name)
    )
    assert parsed["intent"]["name"] == "inform"
    assert [e["entity"] for e in parsed["entities"]] == ["date"]
    assert parsed["procedure_candidates"] == []


def test_an_invalid_answer_read_as_inform_is_no_procedure_mention_either():
    parsed = form_answers.reinterpret(
        _with_procedure(_parse("???", "inform")), _tracker("1.004194", "landlord_name")
    )
    assert [e["entity"] for e in parsed["entities"]] == ["date"]


def test_a_real_question_in_the_form_keeps_its_procedure():
    parsed = form_answers.reinterpret(
        _with_procedure(_parse("còn lệ phí đăng ký nhận cha mẹ con thì sao?", "ask_fee")),
        _tracker("1.004194", "landlord_name"),
    )
    assert parsed["intent"]["name"] == "ask_fee"
    assert [e["entity"] for e in parsed["entities"]] == ["procedure", "date"]


@pytest.mark.parametrize("typed", ["có", "Có", "đồng ý", "chắc chắn", "ok"])
def test_yes_to_the_cancel_question_cancels(typed):
    # Fresh-user trial: "có" (affirm, 0.97) got "Xin lỗi, tôi chưa hiểu ý bạn".
    pending = _reads(
        typed, "affirm", "1.004194", "date_of_birth",
        full_name="Nguyễn Văn An", dossier_cancel_pending=True,
    )
    assert pending == "cancel"
    not_asked = _reads(typed, "affirm", "1.004194", "date_of_birth", full_name="Nguyễn Văn An")
    assert not_asked != "cancel"


def test_no_to_the_cancel_question_goes_back_to_the_form():
    reading = _reads(
        "không", "deny", "1.004194", "date_of_birth",
        full_name="Nguyễn Văn An", dossier_cancel_pending=True,
    )
    assert reading == "inform"


@pytest.mark.parametrize("typed", ["thôi không hủy nữa", "không hủy", "Không huỷ đâu"])
def test_a_negated_cancel_keeps_the_form(typed):
    # Re-test: "thôi không hủy nữa" after the cancel question deleted the answers.
    assert not forms.is_cancel_request(typed)
    assert forms.is_continue_answer(typed)
    pending = _reads(
        typed, "cancel", "1.004194", "date_of_birth",
        full_name="Nguyễn Văn An", dossier_cancel_pending=True,
    )
    assert pending == "inform"
    assert forms.is_cancel_request("hủy hồ sơ") and forms.is_cancel_request("thôi không nộp nữa")
