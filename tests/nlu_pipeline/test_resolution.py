"""Candidate resolution, facet detection, lexical retrieval and the intent guard
(issue 9; issue 15 item 4): pure functions over the bundled catalog, no model."""

from __future__ import annotations

from typing import Any

import pytest

from bot.nlu.intent_guard import guarded_intent
from bot.nlu.procedure_extractor import ProcedureEntityExtractor, split_clauses
from catalog.facets import detect_facets, facets_of
from catalog.resolution import (
    MAX_OPTIONS,
    Outcome,
    resolve,
    situation_cues,
    variant_tags,
)
from catalog.retrieval import RetrievalDoc, RetrievalIndex, fuse

QUESTIONS = (
    "ask_procedure", "ask_documents", "ask_fee", "ask_processing_time", "ask_agency",
    "ask_online", "ask_legal_basis",
)


def cand(code: str, name: str, score: float) -> dict[str, Any]:
    return {"code": code, "name": name, "score": score}


CARD = [
    cand("1.014061", "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên", 80.0),
    cand("1.014063", "Cấp đổi thẻ căn cước", 78.0),
    cand("1.014064", "Cấp lại thẻ căn cước", 77.0),
    cand("2.001194", "Cấp lại thẻ căn cước (thực hiện tại cấp tỉnh)", 76.0),
]


# ------------------------------------------------------------------ resolution


def test_no_candidates_is_none_and_garbage_is_ignored() -> None:
    assert resolve([]).outcome is Outcome.NONE
    assert resolve([{"code": 3}, {"score": "x"}, None, "junk"]).outcome is Outcome.NONE
    assert resolve([cand("1.000001", "x", 20.0)]).outcome is Outcome.NONE


def test_an_exact_name_is_confident() -> None:
    result = resolve([cand("1.000656", "Đăng ký khai tử", 100.0), cand("1.000419", "x", 95.0)])
    assert result.outcome is Outcome.CONFIDENT and result.code == "1.000656"


def test_family_without_situation_asks_one_short_question() -> None:
    result = resolve(CARD, "cấp thẻ căn cước")
    assert result.outcome is Outcome.AMBIGUOUS
    assert 2 <= len(result.options) <= MAX_OPTIONS
    labels = {o.label for o in result.options}
    assert "Cấp lại (bị mất)" in labels
    assert "Cấp đổi (hư hỏng, hết hạn, đổi thông tin)" in labels
    assert result.question.startswith("Bạn cần ") and result.question.endswith("?")
    # level variants collapse: one "cấp lại" option, the one citizens file
    assert [o.code for o in result.options].count("2.001194") == 0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("tôi bị mất thẻ căn cước", "1.014064"),
        ("tháng sau tôi đủ 40 tuổi có phải đổi thẻ căn cước không", "1.014063"),
        ("căn cước hết hạn rồi", "1.014063"),
    ],
)
def test_the_situation_picks_the_variant(text: str, code: str) -> None:
    result = resolve(CARD, text)
    assert result.outcome is Outcome.CONFIDENT and result.code == code


def test_damage_offers_both_reissue_and_exchange() -> None:
    # The catalog calls it "cấp lại" for some documents and "đổi" for others.
    result = resolve(CARD, "thẻ căn cước bị rách, làm lại ở đâu")
    assert result.outcome is Outcome.AMBIGUOUS
    assert {o.code for o in result.options} == {"1.014063", "1.014064"}


def test_foreign_and_border_variants_only_when_asked() -> None:
    marriage = [
        cand("1.000894", "Thủ tục đăng ký kết hôn", 80.0),
        cand("2.000806", "Thủ tục đăng ký kết hôn có yếu tố nước ngoài", 74.0),
        cand("1.000094", "Đăng ký kết hôn có yếu tố nước ngoài tại khu vực biên giới", 72.0),
    ]
    assert resolve(marriage, "đăng ký kết hôn").code == "1.000894"
    assert resolve(marriage, "chồng tôi là người Hàn Quốc, đăng ký kết hôn").code == "2.000806"
    border = resolve(marriage, "tôi ở xã biên giới, cưới vợ người Trung Quốc")
    assert border.code == "1.000094"


def test_tags_and_cues() -> None:
    assert variant_tags("Cấp lại thẻ căn cước") == {"reissue"}
    assert "foreign" not in variant_tags(
        "Đăng ký đất đai ... cho người gốc Việt Nam định cư ở nước ngoài"
    )
    assert "lost" in situation_cues("Mình bị mất ví, trong đó có căn cước")
    assert "lost" not in situation_cues("bố tôi mới mất hôm qua")  # died, not lost
    assert "lost" not in situation_cues("sổ hồng")  # "hồng" folds to "hong"
    assert "under14" in situation_cues("con tôi 10 tuổi")


# ------------------------------------------------------------------ facets


def test_every_facet_is_found_in_order() -> None:
    assert detect_facets("Đổi thì hết bao nhiêu tiền, mấy ngày thì có?") == (
        "ask_fee", "ask_processing_time",
    )
    assert detect_facets("nộp ở đâu, có online được không") == ("ask_agency", "ask_online")
    assert detect_facets("sổ đỏ") == ()
    assert detect_facets('/ask_fee{"procedure":"1.001193"}') == ()


def test_facets_of_keeps_the_intent_first() -> None:
    assert facets_of("lệ phí và mấy ngày có", "ask_fee", QUESTIONS) == (
        "ask_fee", "ask_processing_time",
    )
    assert facets_of("sổ đỏ", "inform", QUESTIONS) == ("ask_procedure",)


# ------------------------------------------------------------------ retrieval


def test_bm25_finds_a_procedure_by_its_result_and_subjects() -> None:
    docs = [
        RetrievalDoc("1.001612", "Đăng ký thành lập hộ kinh doanh",
                     result="Giấy chứng nhận đăng ký hộ kinh doanh",
                     subjects="Cá nhân, hộ gia đình kinh doanh buôn bán tạp hóa"),
        RetrievalDoc("1.000656", "Đăng ký khai tử", result="Trích lục khai tử"),
        RetrievalDoc("1.004194", "Đăng ký tạm trú", documents=("Tờ khai thông tin cư trú",)),
    ]
    index = RetrievalIndex.build(docs)
    hits = index.search("Tôi muốn mở một tiệm tạp hóa nhỏ ở nhà")
    assert hits and hits[0][0] == "1.001612"
    assert index.search("") == [] and index.search("xyzzy qwerty") == []
    assert RetrievalIndex.build([]).search("tạp hóa") == []


def test_fusion_rewards_agreement_by_rank() -> None:
    fuzzy = [cand("A", "a", 70.0), cand("B", "b", 68.0)]
    fused = fuse(fuzzy, [("B", "b", 9.0), ("C", "c", 5.0)], limit=5)
    assert [c["code"] for c in fused][:2] == ["B", "A"]
    assert any(c["code"] == "C" for c in fused)  # found only lexically, still offered lower


# ------------------------------------------------------------------ extractor and guard


def test_clauses_of_a_story() -> None:
    assert split_clauses("sổ đỏ") == []
    story = "Nhà tôi bị lũ cuốn trôi hết giấy tờ, cả sổ đỏ cũng mất. Giờ làm lại thế nào?"
    assert len(split_clauses(story)) >= 2


def test_story_message_finds_the_reissue(search_index: Any) -> None:
    extractor = ProcedureEntityExtractor({"candidates": 8}, index=search_index)
    text = (
        "Nhà tôi ở vùng trũng, trận lũ vừa rồi cuốn trôi hết giấy tờ, cả sổ đỏ cũng mất. "
        "Giờ tôi muốn làm lại thì phải làm sao?"
    )
    candidates, _ = extractor.candidates_for(text)
    result = resolve(candidates, text)
    assert result.outcome in (Outcome.CONFIDENT, Outcome.AMBIGUOUS)
    assert "1.012786" in [o.code for o in result.options][:1] or result.code == "1.012786"


def test_chit_chat_never_becomes_a_hand_off() -> None:
    assert guarded_intent("human_handoff", "ai là người giàu nhất thế giới", []) == "out_of_scope"
    assert guarded_intent("human_handoff", "cho tôi gặp cán bộ", []) is None
    assert guarded_intent("human_handoff", "gap nguoi that", []) is None
    foreign = [cand("2.000806", "Thủ tục đăng ký kết hôn có yếu tố nước ngoài", 94.3)]
    assert guarded_intent("human_handoff", "kết hôn với người nước ngoài", foreign) == "inform"


def test_a_procedure_question_taken_for_faq_is_asked() -> None:
    confident = [cand("2.000815", "Chứng thực bản sao từ bản chính", 100.0)]
    assert guarded_intent("faq", "chứng thực bản sao làm ở đâu", confident) == "ask_agency"
    asked = guarded_intent("out_of_scope", "chứng thực bản sao thế nào", confident)
    assert asked == "ask_procedure"
    assert guarded_intent("inform", "chứng thực bản sao", confident) is None
    assert guarded_intent("faq", "nộp online thế nào", []) is None


def test_shorthand_requests_for_a_person_stay_hand_offs() -> None:
    # Held-out examples the guard used to turn into out_of_scope.
    assert guarded_intent("human_handoff", "cho e gặp nv tư vấn", []) is None
    assert guarded_intent("human_handoff", "cho mk nc vs ng thật", []) is None


def test_portal_questions_stay_faq() -> None:
    # "tài khoản định danh" is also a procedure's name; logging in is a portal FAQ.
    named = [cand("1.011941", "Cấp tài khoản định danh điện tử mức độ 2", 100.0)]
    assert guarded_intent("faq", "dang nhap bang vneid nhu the nao", named) is None
    assert guarded_intent("faq", "Làm sao để tạo tài khoản trên Cổng dịch vụ công?", named) is None


def test_shorthand_questions_and_status_look_ups() -> None:
    named = [cand("1.011941", "Cấp tài khoản định danh điện tử mức độ 2", 100.0)]
    assert guarded_intent("affirm", "tt cấp tk định danh điện tử mức 2 ntn ạ", named) == (
        "ask_procedure"
    )
    assert guarded_intent("faq", "tt cấp tk định danh điện tử mức 2 ntn ạ", named) == (
        "ask_procedure"
    )
    stay = [cand("1.004194", "Đăng ký tạm trú", 100.0)]
    assert guarded_intent("check_status", "hs đk tạm trú của mk sao r ad", stay) is None


def test_a_bare_name_taken_for_yes_or_submit_is_a_name() -> None:
    confident = [cand("1.013978", "Đăng ký đất đai, cấp Giấy chứng nhận lần đầu", 100.0)]
    assert guarded_intent("affirm", "sổ đỏ", confident) == "inform"
    assert guarded_intent("affirm", "ok", confident) is None
    assert guarded_intent("affirm", "Xác nhận", confident) is None  # the form's confirmation
    assert guarded_intent("affirm", "sổ đỏ", []) is None
    assert guarded_intent("submit_dossier", "làm sổ đỏ", confident) == "inform"
    assert guarded_intent("submit_dossier", "nộp hồ sơ làm sổ đỏ luôn", confident) is None
