"""The evaluation harness's scoring rules, on hand-made predictions (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.nlu import evaluation as ev


def _ex(
    text: str, intent: str, procedures: tuple[str, ...] = (), style: str = "none"
) -> ev.Example:
    return ev.Example(text, intent, procedures, style)


def _parse(intent: str, candidates: list[str] = (), entity: str | None = None) -> dict:
    return {
        "text": "",
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": [{"name": intent, "confidence": 0.9}],
        "entities": [],
        "procedure": {"code": entity, "name": "", "score": 90.0} if entity else None,
        "procedure_candidates": [{"code": c, "name": c, "score": 80.0} for c in candidates],
    }


def test_macro_f1_and_accuracy() -> None:
    gold = ["a", "a", "b", "b"]
    assert ev.accuracy(gold, ["a", "a", "b", "a"]) == 0.75
    # a: P=2/3 R=1 F=0.8; b: P=1 R=0.5 F=2/3
    assert ev.macro_f1(gold, ["a", "a", "b", "a"]) == pytest.approx((0.8 + 2 / 3) / 2)
    assert ev.macro_f1(gold, gold) == 1.0


def test_fallback_counts_as_wrong_and_faq_subintents_compare_as_faq() -> None:
    examples = [_ex("x", "greet"), _ex("y", "faq")]
    parses = [_parse("nlu_fallback"), _parse("faq/vneid_login")]
    summary = ev.model_summary(examples, parses, with_procedures=False)
    assert summary["intent"]["accuracy"] == 0.5
    assert summary["intent"]["fallback_rate"] == 0.5


def test_procedure_metrics() -> None:
    examples = [
        _ex("a", "ask_fee", ("1.000001", "1.000002")),
        _ex("b", "ask_fee", ("1.000003",)),
        _ex("c", "ask_fee", ()),
        _ex("d", "thank", ()),
    ]
    parses = [
        _parse("ask_fee", ["1.000002", "9.999999"], entity="1.000002"),
        _parse("ask_fee", ["9.999999", "8.888888", "1.000003"]),
        _parse("ask_fee", ["1.000001"], entity="1.000001"),  # fired without a procedure
        _parse("thank"),
    ]
    metrics = ev.procedure_metrics(examples, parses)
    assert metrics["top1"] == 0.5
    assert metrics["top3"] == 1.0
    assert metrics["entity_accuracy"] == 0.5
    assert metrics["no_procedure_precision"] == 0.5


def _summary(ours_acc: float, base_acc: float, top1: float = 1.0) -> dict:
    examples = [_ex(str(i), "greet") for i in range(100)]
    ours = [_parse("greet" if i < ours_acc * 100 else "thank") for i in range(100)]
    base = [_parse("greet" if i < base_acc * 100 else "thank") for i in range(100)]
    summary = ev.summarize(examples, {"ours": ours, "baseline": base}, Path("t.yml"))
    summary["models"]["ours"]["procedure"]["top1"] = top1
    summary["models"]["ours"]["procedure"]["top3"] = 1.0
    summary["missed_targets"] = ev.check_targets(summary)
    return summary


def test_targets_met_and_missed() -> None:
    assert _summary(0.98, 0.90)["missed_targets"] == []
    missed = _summary(0.94, 0.90)["missed_targets"]
    assert any("intent accuracy" in m for m in missed)
    assert any("ratio" in m for m in missed)  # 0.06 / 0.10 > 0.5
    assert any("top-1" in m for m in _summary(0.98, 0.90, top1=0.5)["missed_targets"])


def test_error_ratio() -> None:
    summary = _summary(0.96, 0.90)
    assert summary["error_ratio_vs_baseline"] == pytest.approx(0.4)


def test_reports_are_written(tmp_path: Path) -> None:
    examples = [_ex("a", "greet", (), "none"), _ex("b", "ask_fee", ("1.000001",), "typos")]
    parses = {
        "ours": [_parse("greet"), _parse("ask_fee", ["1.000001"], entity="1.000001")],
        "baseline": [_parse("thank"), _parse("ask_fee")],
    }
    summary = ev.summarize(examples, parses, Path("t.yml"))
    ev.write_reports(summary, examples, parses, tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text())["n_examples"] == 2
    assert "## Intent" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 1000
    errors = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert errors == [
        {
            "model": "baseline",
            "text": "a",
            "style": "none",
            "intent": "greet",
            "kind": "intent",
            "predicted": "thank",
            "confidence": 0.9,
            "ranking": [{"name": "thank", "confidence": 0.9}],
        }
    ]


def test_load_test_set_validates(tmp_path: Path) -> None:
    path = tmp_path / "set.yml"
    path.write_text(yaml.safe_dump({"version": 2, "examples": []}))
    with pytest.raises(ValueError):
        ev.load_test_set(path)
    path.write_text(
        yaml.safe_dump(
            {"version": 1, "examples": [{"text": "hi", "intent": "faq/x", "style": "none"}]}
        )
    )
    [example] = ev.load_test_set(path)
    assert example.intent == "faq" and example.procedures == ()


def test_baseline_config_keeps_diet_hyperparameters(tmp_path: Path) -> None:
    out = ev.baseline_config(ev.runtime.DEFAULT_CONFIG, tmp_path / "baseline.yml")
    baseline = yaml.safe_load(out.read_text())
    ours = yaml.safe_load(ev.runtime.DEFAULT_CONFIG.read_text())
    [our_diet] = [c for c in ours["pipeline"] if c["name"] == "DIETClassifier"]
    names = [c["name"] for c in baseline["pipeline"]]
    assert names == ["WhitespaceTokenizer", "CountVectorsFeaturizer", "DIETClassifier"]
    assert baseline["pipeline"][2]["epochs"] == our_diet["epochs"]


def test_real_test_set_loads_if_present() -> None:
    if not ev.DEFAULT_TEST_SET.exists():
        pytest.skip("held-out set not written yet")
    examples = ev.load_test_set()
    assert {e.style for e in examples} <= {*ev.STYLES}
