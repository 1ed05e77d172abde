"""The gate sees the dialogue-level figures: the training job asks the
evaluation child for them on full models (not on NLU-only experiments or when
switched off), the child turns issue 9's dialogue summary into the figures
the gate compares, and a candidate that answers fewer real messages in the
dialogue is blocked even when its parse-level figures are as good."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bot import training_eval
from bot.nlu import dialogue_eval
from training import jobs
from training.gate import compare
from training.settings import TrainingSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _evaluation(direct: float, acceptable: float) -> dict:
    return {
        "n": 10,
        "intent": {"accuracy": 0.95, "macro_f1": 0.94, "per_intent": {}},
        "procedure": {"top1": 0.9, "top3": 0.97, "n": 8},
        "dialogue": {"direct": direct, "acceptable": acceptable, "bare_acceptable": 1.0,
                     "n": 255, "seconds": 250.0},
    }


def test_gate_blocks_a_dialogue_regression() -> None:
    live = _evaluation(0.83, 0.957)
    assert compare(live, _evaluation(0.84, 0.95)).passed  # within the 2-point margin
    worse = compare(live, _evaluation(0.83, 0.90))
    assert worse.regressions == ["Hội thoại: chấp nhận được"]
    labels = [row.label for row in worse.overall]
    assert {"Hội thoại: trả lời đúng", "Hội thoại: tên thủ tục gõ riêng"} <= set(labels)
    # A live model evaluated before the dialogue figures existed: shown, not a regression.
    older = {k: v for k, v in live.items() if k != "dialogue"}
    assert compare(older, _evaluation(0.5, 0.5)).passed


def test_job_asks_for_dialogue_figures_only_for_full_models(tmp_path: Path) -> None:
    out = tmp_path / "e.json"
    full = TrainingSettings()
    command = jobs.evaluation_command("m.tar.gz", out, full)
    assert command[1:3] == ["-m", "bot.training_eval"] and "--dialogue" in command
    assert "--dialogue-limit" not in command
    limited = TrainingSettings.from_env({"TTHC_GATE_DIALOGUE_LIMIT": "30"})
    assert jobs.evaluation_command("m", out, limited)[-2:] == ["--dialogue-limit", "30"]
    for settings in (
        TrainingSettings(train_args=("--nlu-only",)),
        TrainingSettings(data=tmp_path),  # an NLU-only experiment on other data
        TrainingSettings.from_env({"TTHC_GATE_DIALOGUE": "off"}),
    ):
        assert not jobs.dialogue_wanted(settings)
        assert "--dialogue" not in jobs.evaluation_command("m", out, settings)
    assert TrainingSettings.from_env({}).dialogue_eval


def test_dialogue_figures_from_the_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake(model: Path, **kwargs: object) -> SimpleNamespace:
        seen.update(kwargs, model=model)
        assert Path(str(kwargs["out_dir"])).is_dir()  # reports go to a temporary folder
        return SimpleNamespace(summary={
            dialogue_eval.REAL: {"n": 4, "rates": {"direct": 0.75, "acceptable": 1.0,
                                                   "wrong": 0.0, "not_understood": 0.0}},
            dialogue_eval.BARE: {"n": 2, "rates": {"acceptable": 0.5}},
        })

    monkeypatch.setattr(dialogue_eval, "evaluate_dialogue", fake)
    figures = training_eval.dialogue_figures(Path("x.tar.gz"), limit=3)
    assert seen["limit"] == 3 and seen["model"] == Path("x.tar.gz")
    assert {k: figures[k] for k in ("direct", "acceptable", "bare_acceptable", "n", "bare_n")} \
        == {"direct": 0.75, "acceptable": 1.0, "bare_acceptable": 0.5, "n": 4, "bare_n": 2}
    assert figures["seconds"] >= 0
