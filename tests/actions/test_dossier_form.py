"""The dossier form: validation through validate_dossier_form (hostile input
included), failure counting, confirmation, edit, cancel, idempotent submit,
and the domain covering dossiers/form_fields.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from action_helpers import entity, make_tracker, payloads, run, slot_events, texts

from actions import common
from actions.dossier_actions import (
    ActionAskDossierConfirmed,
    ActionCancelDossier,
    ActionStartDossier,
    ActionSubmitDossier,
    ValidateDossierForm,
    all_field_names,
)
from dossiers.orm import Dossier

VALIDATE = ValidateDossierForm()
APPLICANT = {
    "dossier_procedure": "1.004873",
    "full_name": "Nguyễn Văn An",
    "date_of_birth": "1990-03-15",
    "citizen_id": "001090012345",
    "phone": "0912345678",
    "address": "Số 12 Tràng Tiền, Hoàn Kiếm, Hà Nội",
    "marital_status": "Chưa từng kết hôn",
    "purpose": "Vay vốn ngân hàng",
    "intended_spouse_name": "",
    "copies": "1",
}


def _answer(slot: str, text: str, slots: dict | None = None, intent: str = "inform", **kw):
    """The form asked `slot` and the citizen typed `text` (mapped from_text)."""
    values = {**(slots or {}), slot: text, "requested_slot": slot}
    tracker = make_tracker(text, intent, slots=values, active_loop="dossier_form", **kw)
    tracker.events.append({"event": "slot", "name": slot, "value": text})
    return tracker


def _validate(dispatcher, domain, slot, text, slots=None, **kw):
    return slot_events(run(VALIDATE, dispatcher, _answer(slot, text, slots, **kw), domain))


@pytest.mark.parametrize(
    ("slot", "text", "message"),
    [
        ("full_name", "An", "ít nhất 2 từ"),
        ("full_name", "Nguyễn Văn 4n", "chữ số"),
        ("full_name", "x" * 100_000, "quá dài"),
        ("full_name", "Nguyễn\x00Văn", "không hợp lệ"),
        ("date_of_birth", "31/02/1990", "không tồn tại"),
        ("date_of_birth", "15/03/2999", "tương lai"),
        ("citizen_id", "123456789", "9 số"),
        ("citizen_id", "001095012345", "năm sinh"),
        ("phone", "0241234567", "máy bàn"),
        ("phone", "🙂🙂🙂", "10 chữ số"),
        ("address", "HN", "Địa chỉ còn thiếu"),
        ("marital_status", "có lẽ", "lựa chọn"),
    ],
)
def test_invalid_values_are_reasked_specifically(dispatcher, domain, slot, text, message):
    slots = {k: v for k, v in APPLICANT.items() if k not in (slot,)}
    result = _validate(dispatcher, domain, slot, text, slots)
    assert result[slot] is None
    assert message.lower() in texts(dispatcher).lower()
    assert result["form_failures"] == {slot: 1}


def test_valid_values_are_normalised(dispatcher, domain):
    result = _validate(dispatcher, domain, "full_name", "nguyễn văn an")
    assert result["full_name"] == "Nguyễn Văn An"
    result = _validate(dispatcher, domain, "date_of_birth", "ngày 15 tháng 3 năm 1990",
                       {"dossier_procedure": "1.001193"})
    assert result["date_of_birth"] == "1990-03-15"
    assert _validate(dispatcher, domain, "phone", "+84 912 345 678")["phone"] == "0912345678"


def test_optional_field_can_be_skipped(dispatcher, domain):
    slots = {k: v for k, v in APPLICANT.items() if k != "intended_spouse_name"}
    result = _validate(dispatcher, domain, "intended_spouse_name", "bỏ qua", slots)
    assert result["intended_spouse_name"] == ""


def test_required_slots_include_procedure_fields(dispatcher, domain):
    result = _validate(dispatcher, domain, "full_name", "Nguyễn Văn An",
                       {"dossier_procedure": "1.004873"})
    assert result["requested_slot"] == "date_of_birth"
    full = {**APPLICANT, "marital_status": None}
    full.pop("marital_status")
    result = _validate(dispatcher, domain, "address", APPLICANT["address"], full)
    assert result["requested_slot"] == "marital_status"


def test_three_failures_offer_a_human(dispatcher, domain):
    slots = {"dossier_procedure": "1.001193", "form_failures": {"phone": 2}}
    result = _validate(dispatcher, domain, "phone", "abc", slots)
    assert "/human_handoff" in payloads(dispatcher)
    assert result["form_failures"] == {"phone": 0}


def test_procedure_typed_in_form_is_searched(dispatcher, domain):
    result = _validate(dispatcher, domain, "dossier_procedure", "đăng ký khai tử")
    assert result["dossier_procedure"] == "1.000656"
    ambiguous = _validate(dispatcher, domain, "dossier_procedure", "giấy phép")
    assert ambiguous["dossier_procedure"] is None
    assert any(p.startswith('/inform{"procedure"') for p in payloads(dispatcher))


def test_summary_masks_citizen_id(dispatcher, domain):
    tracker = make_tracker("", "inform", slots=dict(APPLICANT), active_loop="dossier_form")
    run(ActionAskDossierConfirmed(), dispatcher, tracker, domain)
    text = texts(dispatcher)
    assert "********2345" in text and "001090012345" not in text
    assert "/affirm" in payloads(dispatcher) and "/cancel" in payloads(dispatcher)
    assert '/inform{"edit_field":"phone"}' in payloads(dispatcher)


def test_edit_by_button_and_by_text(dispatcher, domain):
    result = _validate(dispatcher, domain, "dossier_confirmed", '/inform{"edit_field":"phone"}',
                       dict(APPLICANT), entities=[entity("edit_field", "phone")])
    assert result["phone"] is None and result["dossier_confirmed"] is None
    assert result["requested_slot"] == "phone"
    assert "form_failures" not in result
    result = _validate(dispatcher, domain, "dossier_confirmed", "sửa địa chỉ", dict(APPLICANT))
    assert result["address"] is None and result["requested_slot"] == "address"


def test_confirm_then_submit_once(dispatcher, domain):
    result = _validate(dispatcher, domain, "dossier_confirmed", "/affirm", dict(APPLICANT),
                       intent="affirm")
    assert result["dossier_confirmed"] == "yes"
    slots = {**APPLICANT, "dossier_confirmed": "yes", "dossier_form_id": "form-1"}
    tracker = make_tracker("/affirm", "affirm", slots=slots, sender_id="submitter")
    events = run(ActionSubmitDossier(), dispatcher, tracker, domain)
    code = slot_events(events)["last_dossier_code"]
    assert code.startswith("HS-") and code in texts(dispatcher)
    assert slot_events(events)["citizen_id"] is None  # personal data leaves the tracker
    # The same confirmation redelivered (same state): same dossier, no second row.
    run(ActionSubmitDossier(), dispatcher, tracker, domain)
    assert code in dispatcher.messages[-1]["text"]
    # A repeated click after the submission (slots already updated).
    after = make_tracker("/affirm", "affirm", sender_id="submitter", slots={
        **slots, **slot_events(events)})
    run(ActionSubmitDossier(), dispatcher, after, domain)
    assert code in dispatcher.messages[-1]["text"]
    with common.db_session() as session:
        assert session.query(Dossier).filter_by(sender_id="submitter").count() == 1


def test_start_prefills_procedure_and_new_form_id(dispatcher, domain):
    tracker = make_tracker("nộp hồ sơ khai sinh", "submit_dossier",
                           entities=[entity("procedure", "1.001193")])
    first = slot_events(run(ActionStartDossier(), dispatcher, tracker, domain))
    second = slot_events(run(ActionStartDossier(), dispatcher, tracker, domain))
    assert first["dossier_procedure"] == "1.001193"
    assert first["dossier_form_id"] != second["dossier_form_id"]


def test_cancel_stores_nothing(dispatcher, domain):
    slots = {**APPLICANT, "dossier_cancel_pending": True}  # the second, confirmed "hủy"
    tracker = make_tracker("hủy", "cancel", slots=slots, active_loop="dossier_form",
                           sender_id="canceller")
    events = slot_events(run(ActionCancelDossier(), dispatcher, tracker, domain))
    assert events["full_name"] is None and events["requested_slot"] is None
    assert "không được lưu" in texts(dispatcher)
    with common.db_session() as session:
        assert session.query(Dossier).filter_by(sender_id="canceller").count() == 0


def test_domain_covers_form_fields_yml():
    domain_text = ""
    for file in Path("bot/domain").glob("*.yml"):
        domain_text += file.read_text(encoding="utf-8")
    merged_slots: dict = {}
    actions: list = []
    for file in Path("bot/domain").glob("*.yml"):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        merged_slots.update(data.get("slots") or {})
        actions += data.get("actions") or []
    for name in all_field_names():
        assert name in merged_slots, f"slot {name} missing from bot/domain"
        assert f"action_ask_{name}" in actions, f"action_ask_{name} missing from bot/domain"
        mapping = merged_slots[name]["mappings"][-1]
        assert mapping["conditions"][0]["requested_slot"] == name


# ---------------------------------------------------------------------------
# Issue 14: answers mean what the citizen meant, over every field of every form
# ---------------------------------------------------------------------------

from actions.dossier_actions import SKIPPED  # noqa: E402
from core.vietnamese import fold  # noqa: E402
from dossiers import forms  # noqa: E402

# A valid answer per field type (dates chosen so cross-field checks hold).
VALID_BY_TYPE = {
    "text": ("Bổ sung hồ sơ xin việc", "Bổ sung hồ sơ xin việc"),
    "name": ("trần thị bình", "Trần Thị Bình"),
    "phone": ("0912 345 678", "0912345678"),
    "address": ("Số 5 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội", "Số 5 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội"),
}
DATE_ANSWERS = {
    "child_date_of_birth": ("05/01/2025", "2025-01-05"),
    "date_of_death": ("02/03/2024", "2024-03-02"),
    "licence_expiry_date": ("01/01/2030", "2030-01-01"),
}
CONTEXT = {  # earlier answers the cross-checks read
    "date_of_birth": "1990-03-15",
    "spouse_date_of_birth": "1992-07-01",
    "deceased_date_of_birth": "1940-01-01",
}
CITIZEN_IDS = {  # digits 4-6 must match the birth year in CONTEXT
    "citizen_id": "001090012345",
    "spouse_citizen_id": "001192012345",
    "deceased_citizen_id": "001040012345",
}
EVERY_FIELD = [
    pytest.param(code, spec, id=f"{code}-{spec.name}")
    for code in forms.form_procedures()
    for spec in forms.fields_for(code)
]


def _field_slots(code: str, spec) -> dict:
    return {"dossier_procedure": code, **{k: v for k, v in CONTEXT.items() if k != spec.name}}


def _valid_answer(spec) -> tuple[str, str]:
    if spec.type == "date":
        return DATE_ANSWERS.get(spec.name, ("15/03/1990", "1990-03-15"))
    if spec.type == "citizen_id":
        return CITIZEN_IDS[spec.name], CITIZEN_IDS[spec.name]
    if spec.type == "choice":
        return spec.choices[-1].lower(), spec.choices[-1]
    return VALID_BY_TYPE[spec.type]


@pytest.mark.parametrize(("code", "spec"), EVERY_FIELD)
def test_every_field_takes_a_valid_answer(dispatcher, domain, code, spec):
    typed, stored = _valid_answer(spec)
    events = run(VALIDATE, dispatcher, _answer(spec.name, typed, _field_slots(code, spec)), domain)
    assert events[0] == {"event": "slot", "timestamp": None, "name": spec.name, "value": stored}
    assert "form_failures" not in slot_events(events)


@pytest.mark.parametrize(("code", "spec"), EVERY_FIELD)
@pytest.mark.parametrize("typed", ["Bỏ qua", "không có"])
def test_skip_words_skip_optional_fields_and_reask_required_ones(
    dispatcher, domain, code, spec, typed
):
    events = run(VALIDATE, dispatcher, _answer(spec.name, typed, _field_slots(code, spec)), domain)
    result = slot_events(events)
    if spec.required:
        assert result[spec.name] is None
        assert "bắt buộc" in texts(dispatcher)
        assert result["form_failures"] == {spec.name: 1}
    else:
        assert events[0] == {
            "event": "slot", "timestamp": None, "name": spec.name, "value": SKIPPED,
        }
        assert "form_failures" not in result and "hủy" not in texts(dispatcher).lower()


CHOICE_FIELDS = [p for p in EVERY_FIELD if p.values[1].type == "choice"]


@pytest.mark.parametrize(("code", "spec"), CHOICE_FIELDS)
def test_every_choice_is_taken_by_label_and_by_number(dispatcher, domain, code, spec):
    numeric = all(choice.isdigit() for choice in spec.choices)
    for index, choice in enumerate(spec.choices, 1):
        for typed in {choice, choice.upper(), fold(choice),
                      choice if numeric else str(index)}:
            assert forms.match_choice(spec, typed) == choice, typed


@pytest.mark.parametrize(
    ("code", "field", "typed", "expected"),
    [
        ("1.004194", "stay_duration", "12 tháng", "Từ 6 đến 12 tháng"),
        ("1.004194", "stay_duration", "1 năm", "Từ 6 đến 12 tháng"),
        ("1.004194", "stay_duration", "nửa năm", "Từ 6 đến 12 tháng"),
        ("1.004194", "stay_duration", "khoảng 3 tháng thôi", "Dưới 6 tháng"),
        ("1.004194", "stay_duration", "một năm rưỡi", "Từ 12 đến 24 tháng"),
        ("1.004194", "stay_duration", "2 năm", "Từ 12 đến 24 tháng"),
        ("1.004194", "stay_reason", "đi làm", "Lao động/làm việc"),
        ("1.001193", "child_sex", "bé trai", "Nam"),
        ("1.001193", "child_sex", "con gái", "Nữ"),
        ("1.001193", "relationship_to_child", "bố", "Cha"),
        ("1.004873", "copies", "hai bản", "2"),
        ("1.004873", "marital_status", "độc thân", "Chưa từng kết hôn"),
        ("3.000347", "licence_class", "hạng b2", "B2"),
        ("3.000347", "renewal_reason", "đổi sang mẫu mới", "Đổi sang mẫu mới"),
        ("1.014061", "request_type", "bị mất", "Cấp lại do bị mất"),
        ("1.001456", "delivery_method", "gửi bưu điện", "Nhận qua bưu điện"),
    ],
)
def test_choices_match_by_meaning(dispatcher, domain, code, field, typed, expected):
    spec = forms.field_by_name(code, field)
    events = run(VALIDATE, dispatcher, _answer(field, typed, _field_slots(code, spec)), domain)
    assert events[0] == {"event": "slot", "timestamp": None, "name": field, "value": expected}


@pytest.mark.parametrize("typed", ["30 tháng", "mấy năm", "3 tháng hoặc 2 năm"])
def test_durations_outside_every_range_are_reasked(dispatcher, domain, typed):
    spec = forms.field_by_name("1.004194", "stay_duration")
    result = _validate(dispatcher, domain, "stay_duration", typed, _field_slots("1.004194", spec))
    assert result["stay_duration"] is None and "lựa chọn" in texts(dispatcher)


def test_cancel_with_answers_asks_first_and_keeps_the_form(dispatcher, domain):
    slots = {"dossier_procedure": "1.004194", "full_name": "Nguyễn Văn An",
             "requested_slot": "date_of_birth"}
    tracker = make_tracker("hủy", "cancel", slots=slots, active_loop="dossier_form")
    events = run(ActionCancelDossier(), dispatcher, tracker, domain)
    assert events == [
        {"event": "slot", "timestamp": None, "name": "dossier_cancel_pending", "value": True},
        {"event": "followup", "timestamp": None, "name": "action_listen"},
    ]
    assert "có chắc" in texts(dispatcher)
    assert payloads(dispatcher) == ["/cancel", "tiếp tục"]


def test_cancel_without_answers_cancels_at_once(dispatcher, domain):
    tracker = make_tracker("hủy", "cancel", slots={"dossier_procedure": "1.004194"},
                           active_loop="dossier_form")
    events = slot_events(run(ActionCancelDossier(), dispatcher, tracker, domain))
    assert events["dossier_form_id"] is None and "Đã hủy" in texts(dispatcher)


def test_continue_after_cancel_question_reasks_without_failure(dispatcher, domain):
    slots = {"dossier_procedure": "1.004194", "full_name": "Nguyễn Văn An",
             "dossier_cancel_pending": True}
    events = run(VALIDATE, dispatcher, _answer("date_of_birth", "tiếp tục", slots), domain)
    result = slot_events(events)
    assert result["date_of_birth"] is None and result["dossier_cancel_pending"] is None
    assert result["requested_slot"] == "date_of_birth" and "form_failures" not in result


def test_an_answer_after_cancel_question_goes_on(dispatcher, domain):
    slots = {"dossier_procedure": "1.004194", "full_name": "Nguyễn Văn An",
             "dossier_cancel_pending": True}
    result = _validate(dispatcher, domain, "date_of_birth", "15/03/1990", slots)
    assert result["date_of_birth"] == "1990-03-15" and result["dossier_cancel_pending"] is None
    assert result["requested_slot"] == "citizen_id"


def test_optional_field_button_is_a_skip_not_a_cancel(dispatcher, domain):
    from actions.dossier_actions import ASK_FIELD_ACTIONS

    tracker = make_tracker("", "inform", slots={"dossier_procedure": "1.004194"},
                           active_loop="dossier_form")
    run(ASK_FIELD_ACTIONS["landlord_name"](), dispatcher, tracker, domain)
    skip_payload = payloads(dispatcher)[-1]
    assert forms.is_skip_answer(skip_payload) and not forms.is_cancel_request(skip_payload)


def test_no_form_in_a_group_only_an_invitation_to_private_chat(dispatcher, domain):
    group_member = "telegram-group:-100123:501"
    tracker = make_tracker("nộp hồ sơ tạm trú", "submit_dossier", sender_id=group_member,
                           entities=[entity("procedure", "1.004194")])
    events = run(ActionStartDossier(), dispatcher, tracker, domain)
    assert events == [{"event": "followup", "timestamp": None, "name": "action_listen"}]
    assert dispatcher.messages[0]["custom"]["private_chat"] == {"start": "nop_1_004194"}
    # Even a confirmed form (payload typed by hand) stores nothing from a group.
    slots = {**APPLICANT, "dossier_confirmed": "yes", "dossier_form_id": "g-1"}
    tracker = make_tracker("/affirm", "affirm", slots=slots, sender_id=group_member)
    run(ActionSubmitDossier(), dispatcher, tracker, domain)
    with common.db_session() as session:
        assert session.query(Dossier).filter_by(sender_id=group_member).count() == 0
