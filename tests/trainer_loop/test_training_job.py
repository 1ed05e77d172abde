"""A training job end to end, as the worker runs it: labelled inbox items are
exported, `tthc train` trains in a child process (tiny config), the archive
goes to the bank with what produced it, the candidate and the live model are
evaluated on the held-out set and compared; one job at a time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import isolated_database
from tests.trainer_loop.tracker import FakeTracker
from training import inbox, jobs
from training.orm import InboxItem, ModelVersion, TrainingJob
from training.settings import TrainingSettings

pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def job_settings(tmp_path: Path, bootstrap: Path) -> TrainingSettings:
    """Tiny config and data (tests/trainer_loop/data): seconds, not minutes, to train."""
    data = tmp_path / "data"
    if not data.exists():
        data.mkdir()
        shutil.copy2(DATA / "tiny_nlu_a.yml", data / "nlu.yml")
    return TrainingSettings(
        nlu_file=tmp_path / "from_console.yml",
        overrides_file=tmp_path / "overrides.yml",
        model_bank=tmp_path / "bank",
        config=DATA / "tiny_config.yml",
        data=data,
        train_args=("--nlu-only",),
        test_set=DATA / "tiny_test_set.yml",
        real_messages=tmp_path / "no-real-messages.yml",
        bootstrap_models=bootstrap,
    )


def test_job_trains_registers_evaluates_and_compares(
    tmp_path: Path, tiny_models: tuple[Path, Path]
) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy2(tiny_models[0], shipped / "tiny-a.tar.gz")
    settings = job_settings(tmp_path, shipped)
    tracker = FakeTracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    tracker.user("a", "giấy tờ nhà cháy hết cần làm gì", "nlu_fallback", 0.3)
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            inbox.collect(db, tracker.engine)
            item = db.execute(select(InboxItem)).scalar_one()
            inbox.label(db, item.id, "ask_documents", None, "trainer1")
            job = jobs.enqueue(db, "trainer1")
            job_id = job.id
            with pytest.raises(jobs.JobError):
                jobs.enqueue(db, "trainer2")  # one at a time
        assert jobs.run_next(factory, settings) == job_id
        assert jobs.run_next(factory, settings) is None  # queue empty
        with factory.begin() as db:
            job = db.get(TrainingJob, job_id)
            assert job.status == "succeeded", job.log[-3000:]
            assert job.progress == 100 and "rasa train nlu" in job.log
            models = {m.name: m for m in db.execute(select(ModelVersion)).scalars()}
            candidate = db.get(ModelVersion, job.model_id)
            live = models["tiny-a.tar.gz"]
            assert live.status == "active" and live.activated_by == "bootstrap"
            assert candidate.status == "candidate"
            assert Path(candidate.path).parent == settings.model_bank
            assert str(settings.nlu_file) in candidate.inputs["data_files"]
            assert any(name.endswith("data/nlu.yml") for name in candidate.inputs["data_files"])
            assert "LogisticRegressionClassifier" in candidate.inputs["config"]
            assert candidate.data_hash and candidate.config_hash
            assert candidate.evaluation["n"] == 8 and live.evaluation["n"] == 8
            assert candidate.gate["live_model"] == "tiny-a.tar.gz"
            assert {row["label"] for row in candidate.gate["overall"]} >= {
                "Độ chính xác ý định", "Macro-F1 ý định"}
            assert "ask_fee" in candidate.gate["per_intent"]
        assert "giấy tờ nhà cháy hết cần làm gì" in settings.nlu_file.read_text("utf-8")
    tracker.close()


def test_default_data_trains_like_make_train(tmp_path: Path) -> None:
    settings = TrainingSettings(
        nlu_file=tmp_path / "from_console.yml", config=PROJECT_ROOT / "config.yml",
        train_args=("--nlu-only",),
    )
    settings.nlu_file.write_text("version: \"3.1\"\nnlu: []\n", encoding="utf-8")
    inputs: dict = {"data_files": {}}
    command = jobs.training_command(settings, tmp_path, "m1", inputs)
    assert command[1:4] == ["-m", "bot.cli", "train"]
    assert command[command.index("--data") + 1] == str(settings.nlu_file)
    assert "--nlu-only" in command and str(settings.nlu_file) in inputs["data_files"]
    inside = TrainingSettings(nlu_file=PROJECT_ROOT / "nlu_data" / "nlu" / "from_console.yml")
    assert "--data" not in jobs.training_command(inside, tmp_path, "m2", {"data_files": {}})


def test_failed_training_is_reported_and_releases_the_queue(tmp_path: Path) -> None:
    settings = job_settings(tmp_path, tmp_path / "none")
    broken = tmp_path / "broken.yml"
    broken.write_text("pipeline: [{name: NoSuchComponent}]\n")
    settings = TrainingSettings(**{**settings.__dict__, "config": broken})
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            first = jobs.enqueue(db, "trainer1").id
        assert jobs.run_next(factory, settings) == first
        with factory.begin() as db:
            job = db.get(TrainingJob, first)
            assert job.status == "failed" and job.error and job.log
            second = jobs.enqueue(db, "trainer1").id  # the queue is free again
        assert second != first
