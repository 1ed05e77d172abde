"""The whole trained pipeline (small model, see conftest) and the CLI commands."""

from __future__ import annotations

import argparse
import io
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from bot.cli import nlu_cmd

# Trains (or reuses) the small model of conftest.py: minutes on a fresh clone.
pytestmark = pytest.mark.slow

CONTRACT_KEYS = {
    "text", "intent", "intent_ranking", "entities", "procedure", "procedure_candidates",
}

HOSTILE = [
    "",
    "   ",
    "😀😀😀",
    "???!!!...",
    "\u200b\u200c\ufeff",
    "Привет 你好 đăng ký",
    unicodedata.normalize("NFD", "Đăng ký khai sinh cần giấy tờ gì?"),
    "đăng\u200b ký khai\u200d sinh",
    ("Tôi muốn đăng ký khai sinh cho con. " * 400)[:10_000],
    "x" * 10_000,
    "/greet",
    "<script>alert(1)</script>",
    "\x00\x01\x02 hộ chiếu",
]


def _check_contract(result: dict[str, Any]) -> None:
    assert set(result) == CONTRACT_KEYS
    assert set(result["intent"]) == {"name", "confidence"}
    assert all(set(r) == {"name", "confidence"} for r in result["intent_ranking"])
    assert all(set(c) == {"code", "name", "score"} for c in result["procedure_candidates"])
    if result["procedure"] is not None:
        assert set(result["procedure"]) == {"code", "name", "score"}
    json.dumps(result, ensure_ascii=False)  # serialisable (no numpy scalars)


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_through_the_pipeline(parser: Any, text: str) -> None:
    result = parser.parse(text)
    _check_contract(result)
    for entity in result["entities"]:
        span = result["text"][entity["start"] : entity["end"]]
        assert span, entity


def test_procedure_question(parser: Any) -> None:
    result = parser.parse("đăng ký khai sinh cần giấy tờ gì")
    _check_contract(result)
    assert result["procedure"] is not None
    assert result["procedure"]["code"] in {"1.001193", "2.000986", "2.001023"}
    assert result["procedure"]["name"]


def test_nfd_message_entities_point_into_the_original(parser: Any) -> None:
    text = unicodedata.normalize("NFD", "hồ sơ HS-7K2M-Q9XD của tôi, sinh ngày 15 tháng 3 năm 1990")
    result = parser.parse(text)
    by_type = {e["entity"]: e for e in result["entities"]}
    assert by_type["dossier_code"]["value"] == "HS-7K2M-Q9XD"
    date = by_type["date"]
    assert date["value"] == "1990-03-15"
    assert unicodedata.normalize("NFC", result["text"][date["start"] : date["end"]]) == (
        "ngày 15 tháng 3 năm 1990"
    )


def test_small_talk_has_no_procedure(parser: Any) -> None:
    for text in ("cảm ơn", "ok", "xin chào"):
        assert parser.parse(text)["procedure"] is None


def test_faq_gets_a_response_selection(parser: Any) -> None:
    raw = parser.parse_raw("quên mật khẩu tài khoản dịch vụ công thì làm sao")
    if raw["intent"]["name"] != "faq":
        pytest.skip("small test model did not classify this as faq")
    assert raw["response_selector"]["faq"]["response"]["intent_response_key"].startswith("faq/")


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tthc")
    sub = parser.add_subparsers(dest="command", required=True)
    nlu_cmd.register(sub)
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


def test_register_adds_commands() -> None:
    parser = argparse.ArgumentParser(prog="tthc")
    sub = parser.add_subparsers(dest="command")
    nlu_cmd.register(sub)
    assert {"train", "parse", "evaluate"} <= set(sub.choices)
    args = parser.parse_args(["train", "--nlu-only", "--out", "x"])
    assert args.nlu_only and args.out == "x"


def test_cli_parse_json(nlu_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["parse", "làm hộ chiếu ở đâu", "--json", "--model", str(nlu_model)]) == 0
    result = json.loads(capsys.readouterr().out)
    _check_contract(result)
    assert result["text"] == "làm hộ chiếu ở đâu"


def test_cli_parse_jsonl(
    nlu_model: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = ["xin chào", "", '{"text": "đổi gplx"}', "😀", "hs-7k2m-q9xd"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert _cli(["parse", "--jsonl", "--model", str(nlu_model)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == len(lines)
    for result in out:
        _check_contract(result)
    assert out[2]["text"] == "đổi gplx"
    assert out[4]["entities"][0]["value"] == "HS-7K2M-Q9XD"


def test_cli_parse_without_model(tmp_path: Path) -> None:
    with pytest.raises(nlu_cmd.CommandError):
        _cli(["parse", "xin chào", "--model", str(tmp_path)])
