"""Shared fixtures of the maintainers' loop tests: two tiny full models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.runtime import child_env

DATA = Path(__file__).parent / "data"


def _train_tiny(data: Path, out: Path, name: str) -> subprocess.Popen:
    # Each training in its own working folder: Rasa creates its cache under
    # ./.rasa/cache with a check-then-mkdir, which two trainings started
    # together in one folder race on (FileExistsError).
    workdir = out / f"work-{name}"
    workdir.mkdir()
    return subprocess.Popen(
        [sys.executable, "-m", "rasa", "train", "--config", str(DATA / "tiny_config.yml"),
         "--domain", str(DATA / "tiny_domain.yml"), "--data", str(data),
         str(DATA / "tiny_rules.yml"), "--out", str(out), "--fixed-model-name", name],
        cwd=workdir, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two tiny full models (tests/trainer_loop/data/tiny_config.yml: bag of words +
    logistic regression, RulePolicy; tiny_domain.yml: one response per intent;
    tiny_rules.yml: intent → response), seconds to train: A does not know the
    intent `report_lost`, B does. Trained in parallel, ≈1 min on a busy machine."""
    out = tmp_path_factory.mktemp("tiny-models")
    jobs = [_train_tiny(DATA / f"tiny_nlu_{x}.yml", out, f"tiny-{x}") for x in "ab"]
    for job in jobs:
        output, _ = job.communicate(timeout=600)
        assert job.returncode == 0, output[-2000:]
    return out / "tiny-a.tar.gz", out / "tiny-b.tar.gz"
