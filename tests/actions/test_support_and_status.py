"""Status look-up, hand-off and fallback."""

from __future__ import annotations

from action_helpers import entity, file_dossier, make_tracker, payloads, run, slot_events, texts

from actions import common
from actions.status_actions import ActionCheckStatus
from actions.support_actions import ActionHandleFallback, ActionHumanHandoff
from dossiers.orm import HandoffRequest


def test_owner_sees_status_and_history(dispatcher, domain):
    code = file_dossier(key="k-owner")
    tracker = make_tracker(f"tra cứu {code}", "check_status",
                           entities=[entity("dossier_code", code)], sender_id="owner-1")
    run(ActionCheckStatus(), dispatcher, tracker, domain)
    text = texts(dispatcher)
    assert code in text and "Lịch sử xử lý" in text and "Đã nộp" in text


def test_stranger_is_asked_for_phone_digits_then_sees_it(dispatcher, domain):
    code = file_dossier(key="k-stranger")
    tracker = make_tracker(code, "check_status", entities=[entity("dossier_code", code)],
                           sender_id="someone-else")
    events = run(ActionCheckStatus(), dispatcher, tracker, domain)
    assert slot_events(events)["awaiting_phone_last4"] is True
    assert "4 số cuối" in texts(dispatcher) and "Lịch sử" not in texts(dispatcher)

    wrong = make_tracker("1111", "inform", sender_id="someone-else",
                         slots={"awaiting_phone_last4": True, "status_code_pending": code})
    run(ActionCheckStatus(), dispatcher, wrong, domain)
    assert "Không tìm thấy hồ sơ" in dispatcher.messages[-1]["text"]

    right = make_tracker("5678", "inform", sender_id="someone-else",
                         slots={"awaiting_phone_last4": True, "status_code_pending": code})
    events = run(ActionCheckStatus(), dispatcher, right, domain)
    assert code in dispatcher.messages[-1]["text"]
    assert slot_events(events)["awaiting_phone_last4"] is False


def test_my_dossiers_lists_own_only(dispatcher, domain):
    code = file_dossier(sender="lister", key="k-list")
    file_dossier(sender="other", key="k-other")
    run(ActionCheckStatus(), dispatcher, make_tracker("hồ sơ của tôi", "check_status",
                                                      sender_id="lister"), domain)
    assert code in texts(dispatcher)
    assert len([p for p in payloads(dispatcher) if p.startswith("/check_status")]) == 1


def test_hostile_code_input(dispatcher, domain):
    tracker = make_tracker("x" * 5000, "check_status", entities=[entity("dossier_code", "\x00HS")],
                           sender_id="h")
    run(ActionCheckStatus(), dispatcher, tracker, domain)
    assert "định dạng" in texts(dispatcher)


def test_handoff_is_recorded(dispatcher, domain):
    tracker = make_tracker("cho tôi gặp cán bộ", "human_handoff", sender_id="needs-help",
                           events=[{"event": "user", "text": "thủ tục nuôi rồng",
                                    "parse_data": {"intent": {"name": "ask_procedure"}}}])
    run(ActionHumanHandoff(), dispatcher, tracker, domain)
    assert "cán bộ" in texts(dispatcher)
    with common.db_session() as session:
        rows = session.query(HandoffRequest).filter_by(sender_id="needs-help").all()
        assert len(rows) == 1 and rows[0].last_message == "thủ tục nuôi rồng"


def test_fallback_offers_human_on_second_miss(dispatcher, domain):
    first = make_tracker("asdf", "nlu_fallback")
    run(ActionHandleFallback(), dispatcher, first, domain)
    assert "/human_handoff" not in payloads(dispatcher)
    second = make_tracker("qwer", "nlu_fallback", events=[
        {"event": "user", "text": "asdf", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "bot", "text": "chưa hiểu"},
    ])
    run(ActionHandleFallback(), dispatcher, second, domain)
    assert "/human_handoff" in payloads(dispatcher)
