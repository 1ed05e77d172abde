"""The first-reply classifier of `tthc evaluate --dialogue` on replies built by
the real reply code (catalog/answers.py, actions/procedure_actions.py, the
domain's responses) and on replies recorded from the REST channel — no
servers, seconds. If a reply format changes, these tests say which rule of
the contract (bot/nlu/dialogue_eval.py docstring) no longer holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions import procedure_actions
from bot.nlu import dialogue_eval as de
from catalog import answers
from catalog.model import Procedure
from catalog.parser import parse_record
from catalog.source import iter_raw_records

ROOT = Path(__file__).resolve().parents[2]
BIRTH, MARRIAGE, LICENCE = "1.001193", "1.000894", "3.000347"


@pytest.fixture(scope="module")
def procedures() -> dict[str, Procedure]:
    wanted = {BIRTH, MARRIAGE, LICENCE}
    return {
        str(raw["ma_thu_tuc"]): parse_record(raw)
        for raw in iter_raw_records()
        if raw.get("ma_thu_tuc") in wanted
    }


@pytest.fixture(scope="module")
def responses() -> dict[str, Any]:
    domain = yaml.safe_load((ROOT / "bot" / "domain" / "responses.yml").read_text(encoding="utf-8"))
    return domain["responses"]


def _rest(text: str, buttons: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """One bot message as the REST channel returns it."""
    message: dict[str, Any] = {"recipient_id": "t", "text": text}
    if buttons:
        message["buttons"] = buttons
    return message


def _answer(intent: str, procedure: Procedure) -> dict[str, Any]:
    answer = answers.answer_for_intent(intent, procedure)
    payload = f'/ask_fee{{"procedure":"{procedure.code}"}}'
    return _rest(answer.text, [{"title": "Lệ phí", "payload": payload}])


def _choice(procedures: dict[str, Procedure], codes: list[str]) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    options = [{"code": c, "name": procedures[c].name if c in procedures else c} for c in codes]
    procedure_actions.utter_choice(dispatcher, options, "Bạn muốn hỏi thủ tục nào?")
    return dispatcher.messages


# --------------------------------------------------------------------------- direct / wrong


def test_answer_about_an_acceptable_procedure_is_direct(procedures: dict[str, Procedure]) -> None:
    reply = [_answer("ask_fee", procedures[BIRTH])]
    result = de.classify_reply(reply, [BIRTH, "2.000986"])
    assert (result.kind, result.code, result.bucket) == ("direct", BIRTH, "direct")
    assert result.facets == {"fee"}


def test_answer_about_another_procedure_is_wrong(procedures: dict[str, Procedure]) -> None:
    result = de.classify_reply([_answer("ask_documents", procedures[MARRIAGE])], [BIRTH])
    assert (result.kind, result.code) == ("wrong", MARRIAGE)
    assert result.facets == frozenset()  # facets count only about an acceptable procedure


@pytest.mark.parametrize(
    ("intent", "facet"),
    [
        ("ask_documents", "documents"),
        ("ask_fee", "fee"),
        ("ask_processing_time", "time"),
        ("ask_agency", "office"),
        ("ask_online", "online"),
        ("ask_legal_basis", "legal_basis"),
        ("ask_procedure", "overview"),
    ],
)
def test_every_answer_shows_its_facet_marker(
    procedures: dict[str, Procedure], intent: str, facet: str
) -> None:
    for code in (BIRTH, LICENCE):
        shown = de.classify_reply([_answer(intent, procedures[code])], [code]).facets
        assert facet in shown, (intent, code, answers.answer_for_intent(intent, procedures[code]))


def test_overview_shows_steps_when_the_record_has_them(procedures: dict[str, Procedure]) -> None:
    procedure = procedures[LICENCE]
    assert procedure.steps  # the portal record has a "Trình tự thực hiện"
    assert "steps" in de.classify_reply([_answer("ask_procedure", procedure)], [LICENCE]).facets


def test_several_facets_over_several_messages(procedures: dict[str, Procedure]) -> None:
    birth = procedures[BIRTH]
    reply = [_answer("ask_fee", birth), _answer("ask_processing_time", birth)]
    result = de.classify_reply(reply, [BIRTH])
    assert result.kind == "direct" and result.facets == {"fee", "time"}


def test_several_facets_in_one_message(procedures: dict[str, Procedure]) -> None:
    fee = answers.answer_fee(procedures[LICENCE]).text
    office = answers.answer_agency(procedures[LICENCE]).text.split("\n", 1)[1]  # no 2nd header
    result = de.classify_reply([_rest(fee + "\n" + office)], [LICENCE])
    assert result.facets == {"fee", "office"}


def test_online_marker_also_accepts_a_globe_section() -> None:
    text = "📄 Đổi giấy phép lái xe (mã 3.000347)\n🌐 Nộp trực tuyến: có"
    assert de.classify_reply([_rest(text)], [LICENCE]).facets == {"online"}


def test_header_needs_the_answer_form() -> None:
    assert de.header_code("📄 Thủ tục đăng ký khai sinh (mã 1.001193)\n💰 ...") == BIRTH
    # a numbered option line names a code but is not an answer header
    assert de.header_code("1. Thủ tục đăng ký khai sinh (mã 1.001193)") is None
    assert de.header_code("") is None


# --------------------------------------------------------------------------- choices


def test_choice_of_two_containing_an_acceptable_code_is_short(
    procedures: dict[str, Procedure],
) -> None:
    result = de.classify_reply(_choice(procedures, [MARRIAGE, BIRTH]), [BIRTH])
    assert (result.kind, result.options, result.bucket) == (
        "short_choice", (MARRIAGE, BIRTH), "short_choice",
    )  # fmt: skip


def test_choice_of_five_is_long_and_one_without_acceptable_code_is_wrong(
    procedures: dict[str, Procedure],
) -> None:
    five = [BIRTH, MARRIAGE, LICENCE, "1.004884", "2.000635"]
    assert de.classify_reply(_choice(procedures, five), [LICENCE]).kind == "long_choice"
    assert de.classify_reply(_choice(procedures, [MARRIAGE, LICENCE]), [BIRTH]).kind == "wrong"


def test_variant_question_with_inform_buttons_counts_as_a_choice() -> None:
    # recorded from the REST channel (short labels, code in the payload)
    reply = [_rest(
        "Thẻ căn cước của bạn bị mất hay đã hết hạn?",
        [
            {"title": "Bị mất", "payload": '/inform{"procedure": "1.014064"}'},
            {"title": "Hết hạn / đổi", "payload": '/inform{"procedure":"1.014063"}'},
            {"title": "👤 Gặp cán bộ", "payload": "/human_handoff"},
        ],
    )]  # fmt: skip
    result = de.classify_reply(reply, ["1.014063", "2.001195"])
    assert (result.kind, result.options) == ("short_choice", ("1.014064", "1.014063"))
    assert de.choice_payload(reply, ["1.014063"]) == '/inform{"procedure":"1.014063"}'


def test_buttons_of_other_intents_are_not_options(procedures: dict[str, Procedure]) -> None:
    dispatcher = CollectingDispatcher()
    candidates = [{"code": BIRTH, "name": procedures[BIRTH].name, "score": 60.0}]
    procedure_actions.utter_not_found(dispatcher, "ask_fee", candidates, "khai sjnh")
    reply = dispatcher.messages
    assert de.choice_options(reply) == []
    # "not found" even though its closest match is the right procedure
    assert de.classify_reply(reply, [BIRTH]).kind == "not_found"


# --------------------------------------------------------------------------- no procedure


def test_fallbacks_are_not_understood(responses: dict[str, Any]) -> None:
    default = responses["utter_default"][0]["text"]
    assert de.classify_reply([_rest(default)], [BIRTH]).kind == "not_understood"
    second_miss = "Xin lỗi, tôi vẫn chưa hiểu ý bạn. Bạn có muốn gặp cán bộ hỗ trợ không?"
    assert de.classify_reply([_rest(second_miss)], [BIRTH]).bucket == "not_understood"
    assert de.classify_reply([], [BIRTH]).kind == "not_understood"


def test_which_procedure_question_is_not_understood() -> None:
    text = "Bạn muốn hỏi về thủ tục nào? Hãy gõ tên thủ tục, ví dụ “đăng ký khai sinh”."
    reply = [_rest(text, [{"title": "x", "payload": "/ask_procedure"}])]
    result = de.classify_reply(reply, [BIRTH])
    assert (result.kind, result.bucket) == ("which_procedure", "not_understood")


def test_out_of_scope_answer(responses: dict[str, Any]) -> None:
    text = responses["utter_out_of_scope"][0]["text"]
    reply = [_rest(text, [{"title": "📋 Tôi làm được gì", "payload": "/help"}])]
    result = de.classify_reply(reply, [])
    assert (result.kind, result.bucket) == ("out_of_scope", "not_understood")


def test_handoff_and_other_replies() -> None:
    handoff = "Tôi đã chuyển yêu cầu của bạn tới cán bộ hỗ trợ (số yêu cầu 7).\nTiếp theo: ..."
    assert de.classify_reply([_rest(handoff)], []).kind == "handoff"
    greeting = "Xin chào! Tôi là trợ lý thủ tục hành chính của Cổng Dịch vụ công."
    assert de.classify_reply([_rest(greeting)], [BIRTH]).kind == "other"
    # recorded: "tạm vắng" alone started the dossier form instead of answering
    form = "Mình cùng nộp hồ sơ “Khai báo tạm vắng” (mã 1.003677) nhé. Bạn có thể gõ “hủy”…"
    started = de.classify_reply([_rest(form)], ["1.003677"])
    assert (started.kind, started.code, started.bucket) == (
        "form_started", "1.003677", "not_understood",
    )  # fmt: skip


def test_form_picker_buttons_are_not_a_choice() -> None:
    # recorded 22:37 ("Trợ cấp thất nghiệp nộp hồ sơ ở trung tâm việc làm nào?"): the dossier
    # form began and ended with its procedure picker of /inform buttons
    reply = [
        _rest("Mình cùng nộp hồ sơ nhé. Bạn có thể gõ “hủy” bất cứ lúc nào để dừng."),
        _rest("Bạn chưa nhập họ và tên. Vui lòng nhập lại giúp tôi."),
        _rest(
            "Bạn muốn nộp hồ sơ cho thủ tục nào? Chọn bên dưới hoặc gõ tên thủ tục.",
            [
                {"title": "Đăng ký khai sinh", "payload": '/inform{"procedure":"1.001193"}'},
                {"title": "Đăng ký kết hôn", "payload": '/inform{"procedure":"1.000894"}'},
            ],
        ),
    ]
    result = de.classify_reply(reply, [BIRTH])
    assert (result.kind, result.options, result.bucket) == ("form_started", (), "not_understood")


def test_out_of_scope_item_answered_with_a_procedure_is_wrong(
    procedures: dict[str, Procedure],
) -> None:
    assert de.classify_reply([_answer("ask_fee", procedures[LICENCE])], []).kind == "wrong"


# --------------------------------------------------------------------------- one item, scoring


def _item(
    procedures: tuple[str, ...], facets: tuple[str, ...] = (), set_name: str = de.REAL
) -> de.Item:
    text = "lệ phí đăng ký khai sinh"
    return de.Item(set_name, "rm999", text, procedures, facets, ("plain",), "x")


def test_choice_is_pressed_to_judge_the_facets(procedures: dict[str, Procedure]) -> None:
    sent: list[tuple[str, str]] = []

    def send(sender: str, text: str) -> list[dict[str, Any]]:
        sent.append((sender, text))
        if len(sent) == 1:
            return _choice(procedures, [MARRIAGE, BIRTH])
        return [_answer("ask_fee", procedures[BIRTH])]

    result = de.evaluate_item(_item((BIRTH,), ("fee",)), send)
    assert result.kind == "short_choice" and result.followed_up
    assert sent[1] == (sent[0][0], '/inform{"procedure":"1.001193"}')  # same sender, the button
    assert result.facets_shown == ("fee",) and result.facets_ok is True


def test_missing_facet_and_transport_error() -> None:
    def send(sender: str, text: str) -> list[dict[str, Any]]:
        return [_rest("📄 Thủ tục đăng ký khai sinh (mã 1.001193)\n💰 Phí: miễn phí")]

    result = de.evaluate_item(_item((BIRTH,), ("fee", "time")), send)
    assert result.kind == "direct" and result.facets_ok is False

    def broken(sender: str, text: str) -> list[dict[str, Any]]:
        raise ConnectionError("refused")

    failed = de.evaluate_item(_item((BIRTH,), ("fee",)), broken)
    assert (failed.kind, failed.bucket, failed.facets_ok) == ("error", "not_understood", False)
    assert "ConnectionError" in (failed.error or "")


def _result(kind: str, facets_ok: bool | None = None, set_name: str = de.REAL) -> de.Result:
    item = _item((BIRTH,), ("fee",) if facets_ok is not None else (), set_name)
    bucket = kind if kind in de.BUCKETS else "not_understood"
    return de.Result(item, kind, bucket, facets_ok=facets_ok)


def test_score_and_targets() -> None:
    results = [_result("direct", True)] * 16 + [_result("short_choice", True)] * 3 + [
        _result("not_found", False)
    ]
    summary = de.score(results)
    real = summary[de.REAL]
    assert real["n"] == 20 and real["counts"]["direct"] == 16
    assert real["rates"]["acceptable"] == pytest.approx(0.95)
    assert real["rates"]["facets"] == pytest.approx(0.95)
    assert real["kinds"] == {"direct": 16, "short_choice": 3, "not_found": 1}
    misses = de.check_targets(summary)
    assert misses == ["real_messages: not_understood 5.0% (target ≤ 3%)"]
    bare = de.score([_result("direct", set_name=de.BARE), _result("long_choice", set_name=de.BARE)])
    assert de.check_targets(bare) == ["bare_names: acceptable 50.0% (target ≥ 100%)"]


def test_out_of_scope_items_are_reported_not_targeted() -> None:
    outside = de.Item(de.REAL, "rm998", "ai giàu nhất", (), (), ("plain",), "out_of_scope")
    results = [_result("direct", True), de.Result(outside, "handoff", "not_understood")]
    summary = de.score(results)[de.REAL]
    assert summary["n"] == 1 and summary["rates"]["direct"] == 1.0
    assert summary["out_of_scope"]["handoff_filed"] == 1


def test_reports_are_written(tmp_path: Path) -> None:
    results = [_result("direct", True), _result("wrong", False)]
    summary = de.score(results)
    md, js = de.write_reports(results, summary, tmp_path, {"model": "m.tar.gz", "messages": 2})
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["ok"] is False and len(data["items"]) == 2 and data["items"][1]["kind"] == "wrong"
    text = md.read_text(encoding="utf-8")
    assert "| wrong procedure |" in text and "rm999" in text


def test_the_published_sets_load() -> None:
    bare = de.load_items(de.DEFAULT_BARE_NAMES, de.BARE)
    real = de.load_items(de.DEFAULT_REAL_MESSAGES, de.REAL)
    assert len(bare) == 80 and all(item.in_scope for item in bare)
    assert sum(item.in_scope for item in real) >= 200
    assert len({item.id for item in real}) == len(real)


def test_cli_without_a_model_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from bot.cli import nlu_cmd

    status = nlu_cmd.main(["evaluate", "--dialogue", "--model", str(tmp_path)])
    assert status == 1
    assert "no model" in capsys.readouterr().err
