"""Status look-up by the codes citizens hold: ours typed loosely, and the
one-stop-shop's national codes (ours after delivery, or asked remotely)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from action_helpers import entity, make_tracker, run, slot_events, texts

from actions import common
from actions.status_actions import ActionCheckStatus
from dossiers.service import SubmissionRequest, submit_dossier
from tools.one_stop_shop import OneStopShop

NATIONAL = "000.00.10.H12-251120-0003"


def _file(key: str, reference: str | None = None) -> str:
    request = SubmissionRequest(
        idempotency_key=key,
        procedure_code="1.001193",
        procedure_name="Thủ tục đăng ký khai sinh",
        sender_id="owner-9",
        channel="telegram",
        applicant_name="Nguyễn Văn An",
        applicant_dob=date(1990, 3, 15),
        applicant_phone="0912345678",
    )
    with common.db_session() as session:
        dossier = submit_dossier(session, request, deliver=False)
        dossier.backend_reference = reference
        return dossier.code


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c.lower().replace("-", "–"),
        lambda c: c.lower().replace("-", " "),
        lambda c: c.replace("-", ""),
        lambda c: f"tra cứu hồ sơ {c.lower().replace('-', ' – ')} giúp tôi",
    ],
)
def test_our_code_typed_loosely(dispatcher, domain, typed) -> None:
    code = _file(f"k-loose-{id(typed)}")
    text = typed(code)
    run(
        ActionCheckStatus(),
        dispatcher,
        make_tracker(text, "check_status", sender_id="owner-9"),
        domain,
    )
    assert code in texts(dispatcher) and "Lịch sử xử lý" in texts(dispatcher)


def test_national_code_of_a_delivered_dossier(dispatcher, domain) -> None:
    code = _file("k-national", reference=NATIONAL)
    text = "tra cứu hồ sơ 000.00.10.h12–251120–0003"
    tracker = make_tracker(
        text, "check_status", sender_id="owner-9", entities=[entity("dossier_code", NATIONAL)]
    )
    events = run(ActionCheckStatus(), dispatcher, tracker, domain)
    shown = texts(dispatcher)
    assert code in shown and f"Mã hồ sơ trên hệ thống một cửa: {NATIONAL}" in shown
    assert slot_events(events)["dossier_code"] == code


def test_unknown_national_code_without_integration(dispatcher, domain, monkeypatch) -> None:
    monkeypatch.delenv("TTHC_SUBMISSION_BACKEND", raising=False)
    tracker = make_tracker("000.00.10.H12-251120-0999", "check_status", sender_id="x")
    run(ActionCheckStatus(), dispatcher, tracker, domain)
    assert "Cổng dịch vụ công" in texts(dispatcher)


def test_unknown_national_code_asks_the_one_stop_shop(
    dispatcher, domain, monkeypatch, tmp_path: Path
) -> None:
    shop = OneStopShop(tmp_path / "shop")
    try:
        reference = "000.00.10.H12-251101-0042"
        shop.state.data["dossiers"][reference] = {
            "dossier": {
                "procedure_name": "Cấp đổi giấy phép lái xe",
                "applicant": {"phone": "0987654321"},
            },
            "files": [],
            "status": "need_supplement",
            "updated_at": "2026-11-29T09:00:00+07:00",
            "note": "Thiếu ảnh chân dung",
        }
        monkeypatch.setenv("TTHC_SUBMISSION_BACKEND", "http")
        monkeypatch.setenv("TTHC_SUBMISSION_URL", shop.url)
        tracker = make_tracker(f"hồ sơ {reference} sao rồi", "check_status", sender_id="x")
        events = run(ActionCheckStatus(), dispatcher, tracker, domain)
        assert "4 số cuối" in texts(dispatcher)
        assert slot_events(events)["status_code_pending"] == reference
        slots = {"awaiting_phone_last4": True, "status_code_pending": reference}
        run(
            ActionCheckStatus(),
            dispatcher,
            make_tracker("1111", "inform", sender_id="x", slots=slots),
            domain,
        )
        assert "Không tìm thấy hồ sơ" in dispatcher.messages[-1]["text"]
        run(
            ActionCheckStatus(),
            dispatcher,
            make_tracker("4321", "inform", sender_id="x", slots=slots),
            domain,
        )
        answer = dispatcher.messages[-1]["text"]
        assert reference in answer and "Cần bổ sung hồ sơ" in answer
        assert "Thiếu ảnh chân dung" in answer and "giấy phép lái xe" in answer
        shop.close()  # down: a polite message, no crash
        run(
            ActionCheckStatus(),
            dispatcher,
            make_tracker("4321", "inform", sender_id="x", slots=slots),
            domain,
        )
        assert "tạm thời không trả lời" in dispatcher.messages[-1]["text"]
    finally:
        shop.close()


def test_thanks_is_not_a_code(dispatcher, domain) -> None:
    run(
        ActionCheckStatus(),
        dispatcher,
        make_tracker("cảm ơn bạn", "check_status", sender_id="nobody"),
        domain,
    )
    assert "chưa nộp hồ sơ nào" in texts(dispatcher)
