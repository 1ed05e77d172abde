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
    ambiguous = _validate(dispatcher, domain, "dossier_procedure", "căn cước")
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
    tracker = make_tracker("hủy", "cancel", slots=dict(APPLICANT), active_loop="dossier_form",
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
