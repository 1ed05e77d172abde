"""action_answer_procedure_question, the greeting menu and catalog answers."""

from __future__ import annotations

from action_helpers import (
    entity,
    make_tracker,
    payloads,
    run,
    search_candidates,
    slot_events,
    texts,
)

import catalog
from actions.procedure_actions import ActionAnswerProcedureQuestion, ActionGreetMenu
from catalog import answers

ACTION = ActionAnswerProcedureQuestion()


def test_fee_answer_comes_from_catalog_with_buttons(dispatcher, domain):
    tracker = make_tracker(
        "lệ phí đổi bằng lái xe", "ask_fee", entities=[entity("procedure", "3.000347")]
    )
    events = run(ACTION, dispatcher, tracker, domain)
    text = texts(dispatcher)
    assert "Đổi giấy phép lái xe" in text and "135.000" in text  # the note is never hidden
    assert "⚠️" in text and "https://dichvucong.gov.vn/" in text
    assert '/submit_dossier{"procedure":"3.000347"}' in payloads(dispatcher)
    assert '/ask_documents{"procedure":"3.000347"}' in payloads(dispatcher)
    assert slot_events(events)["procedure"] == "3.000347"


def test_follow_up_uses_procedure_slot(dispatcher, domain):
    tracker = make_tracker(
        "còn thời gian thì sao", "ask_processing_time", slots={"procedure": "1.001193"},
        candidates=[],
    )
    run(ACTION, dispatcher, tracker, domain)
    assert "1 (Cổng DVC không ghi đơn vị)" in texts(dispatcher)


def test_close_candidates_are_disambiguated(dispatcher, domain):
    # "cấp thẻ căn cước" names the family, not the variant: one short question.
    tracker = make_tracker(
        "cấp thẻ căn cước cần gì", "ask_documents",
        candidates=search_candidates("cấp thẻ căn cước"),
    )
    events = run(ACTION, dispatcher, tracker, domain)
    slots = slot_events(events)
    assert slots["awaiting_procedure_choice"] is True
    assert slots["pending_intent"] == "ask_documents"
    assert 2 <= len(slots["procedure_options"]) <= 3
    assert any(p.startswith('/inform{"procedure":"1.01406') for p in payloads(dispatcher))
    titles = [b["title"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert "Cấp lại (bị mất)" in titles


def test_a_named_procedure_alone_gets_its_overview(dispatcher, domain):
    tracker = make_tracker("sổ đỏ", "inform", candidates=search_candidates("sổ đỏ"))
    events = run(ACTION, dispatcher, tracker, domain)
    assert "(mã 1.013978)" in texts(dispatcher).split("\n")[0]
    assert slot_events(events)["procedure"] == "1.013978"


def test_the_situation_picks_the_variant(dispatcher, domain):
    text = "Mình bị rách thẻ căn cước, làm lại hết bao nhiêu tiền?"
    tracker = make_tracker(text, "ask_fee", candidates=search_candidates("thẻ căn cước"))
    run(ACTION, dispatcher, tracker, domain)
    assert "Cấp lại thẻ căn cước (mã 1.014064)" in texts(dispatcher)


def test_every_facet_asked_is_answered_in_one_reply(dispatcher, domain):
    text = "Đổi thẻ căn cước thì hết bao nhiêu tiền, mấy ngày thì có?"
    tracker = make_tracker(text, "ask_fee", entities=[entity("procedure", "1.014063")])
    run(ACTION, dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 1
    lines = texts(dispatcher).split("\n")
    assert lines[0].startswith("📄 ") and lines[0].endswith("(mã 1.014063)")
    assert any(line.startswith("💰") for line in lines)
    assert any(line.startswith("⏱") for line in lines)
    assert sum(line.startswith("📄 ") for line in lines) == 1
    assert sum(line.startswith("🔗") for line in lines) == 1


def _awaiting(text: str, intent: str = "inform", **kw):
    options = [
        {"code": "1.014061", "name": "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên"},
        {"code": "1.014062", "name": "Cấp thẻ căn cước cho người dưới 14 tuổi"},
        {"code": "1.014064", "name": "Cấp lại thẻ căn cước"},
    ]
    return make_tracker(
        text,
        intent,
        slots={
            "awaiting_procedure_choice": True,
            "procedure_options": options,
            "pending_intent": "ask_fee",
        },
        **kw,
    )


def test_choice_by_number(dispatcher, domain):
    events = run(ACTION, dispatcher, _awaiting("số 2"), domain)
    assert slot_events(events)["procedure"] == "1.014062"
    assert slot_events(events)["awaiting_procedure_choice"] is False
    assert "Phí, lệ phí" in texts(dispatcher)


def test_choice_by_ordinal_word(dispatcher, domain):
    events = run(ACTION, dispatcher, _awaiting("cái thứ ba"), domain)
    assert slot_events(events)["procedure"] == "1.014064"


def test_choice_by_button_payload(dispatcher, domain):
    tracker = _awaiting(
        '/inform{"procedure":"1.014061"}', entities=[entity("procedure", "1.014061")]
    )
    events = run(ACTION, dispatcher, tracker, domain)
    assert slot_events(events)["procedure"] == "1.014061"


def test_choice_by_typed_name(dispatcher, domain):
    events = run(ACTION, dispatcher, _awaiting("cấp lại thẻ căn cước", "nlu_fallback"), domain)
    assert slot_events(events)["procedure"] == "1.014064"


def test_unresolvable_choice_reasks(dispatcher, domain):
    events = run(ACTION, dispatcher, _awaiting("số 9"), domain)
    assert events == []
    assert "chưa rõ bạn chọn" in texts(dispatcher)


def test_unknown_procedure_says_not_found_and_offers_human(dispatcher, domain):
    tracker = make_tracker(
        "lệ phí nuôi rồng", "ask_fee", slots={"procedure": "1.001193"},
        candidates=[{"code": "2.001263", "name": "x", "score": 30.0}],
    )
    run(ACTION, dispatcher, tracker, domain)
    assert "chưa tìm thấy" in texts(dispatcher)
    assert "/human_handoff" in payloads(dispatcher)


def test_no_procedure_at_all_asks_which(dispatcher, domain):
    run(ACTION, dispatcher, make_tracker("lệ phí bao nhiêu", "ask_fee", candidates=[]), domain)
    assert "thủ tục nào" in texts(dispatcher)


def test_every_question_type_answers(dispatcher, domain):
    for intent in answers.QUESTION_INTENTS:
        run(ACTION, dispatcher, make_tracker("?", intent, slots={"procedure": "1.014063"}), domain)
    text = texts(dispatcher)
    for marker in ("Thành phần hồ sơ", "Phí, lệ phí", "Thời gian", "Cơ quan", "Trực tuyến",
                   "Căn cứ pháp lý", "Hình thức nộp"):
        assert marker in text


def test_inside_form_no_submit_button(dispatcher, domain):
    tracker = make_tracker(
        "lệ phí bao nhiêu", "ask_fee", slots={"dossier_procedure": "1.001193"},
        active_loop="dossier_form", candidates=[],
    )
    run(ACTION, dispatcher, tracker, domain)
    assert "Phí, lệ phí" in texts(dispatcher)
    assert not any(p.startswith("/submit_dossier") for p in payloads(dispatcher))


def test_greet_menu_lists_popular_procedures(dispatcher, domain):
    run(ActionGreetMenu(), dispatcher, make_tracker("xin chào", "greet"), domain)
    assert "Xin chào" in texts(dispatcher)
    assert '/ask_procedure{"procedure":"1.001193"}' in payloads(dispatcher)
    assert "/human_handoff" in payloads(dispatcher)


def test_answers_documents_truncated_with_link():
    curated = catalog.get_curated_procedure("1.001193")
    answer = answers.answer_documents(curated, max_items=3)
    assert "xem đầy đủ tại https://dichvucong.gov.vn/" in answer.text
    assert "bản chính" in answer.text


def test_answers_online_and_legal_basis():
    curated = catalog.get_curated_procedure("1.001193")
    assert "VNeID" in answers.answer_online(curated).text
    legal = answers.answer_legal_basis(curated).text
    assert "/" in legal and "Căn cứ pháp lý" in legal
