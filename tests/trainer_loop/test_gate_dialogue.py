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
DATA = Path(__file__).parent / "data"


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


def test_other_data_with_its_own_domain_trains_a_full_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for source, target in (("tiny_nlu_a", "nlu"), ("tiny_rules", "rules"),
                           ("tiny_domain", "domain")):
        (data / f"{target}.yml").write_bytes((DATA / f"{source}.yml").read_bytes())
    console_file = tmp_path / "from_console.yml"
    console_file.write_text('version: "3.1"\nnlu: []\n', encoding="utf-8")
    settings = TrainingSettings(data=data, nlu_file=console_file, config=DATA / "tiny_config.yml")
    assert jobs.full_model(settings) and jobs.dialogue_wanted(settings)
    inputs, _, _ = jobs.training_inputs(settings)
    # Recorded relative to the project when inside it (pytest's basetemp may be), else absolute.
    recorded = [(PROJECT_ROOT / name).resolve() for name in inputs["domain_files"]]
    assert recorded == [(data / "domain.yml").resolve()]  # not bot/domain/
    work = tmp_path / "work"
    work.mkdir()
    command = jobs.training_command(settings, work, "m", inputs)
    assert command[1:5] == ["-m", "rasa", "train", "--domain"] and "nlu" not in command
    assert command[5] == str(data / "domain.yml")
    copied = Path(command[command.index("--data") + 1])
    assert sorted(p.name for p in copied.iterdir()) == ["from_console.yml", "nlu.yml",
                                                       "rules.yml"]
    assert str(console_file) in inputs["data_files"]
    # Switched off, or NLU-only by argument: no dialogue level; NLU-only trains `rasa train nlu`.
    off = TrainingSettings.from_env({"TTHC_TRAINING_DATA": str(data),
                                     "TTHC_GATE_DIALOGUE": "off"})
    assert jobs.full_model(off) and not jobs.dialogue_wanted(off)
    nlu_only = TrainingSettings(data=data, nlu_file=console_file, train_args=("--nlu-only",))
    assert not jobs.full_model(nlu_only) and not jobs.dialogue_wanted(nlu_only)
    work2 = tmp_path / "work2"
    work2.mkdir()
    assert jobs.training_command(nlu_only, work2, "m", inputs)[3:5] == ["train", "nlu"]
