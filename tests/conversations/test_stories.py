"""Rasa story evaluation of the dialogue (policies only: intents and entities
come from the test stories, actions are predicted, not executed — the actions
themselves are tested in tests/actions and end to end in tests/e2e).

Runs on the project's model in models/, which `make test` trains (or reuses
when nothing changed) before pytest; `TTHC_CONVERSATION_MODEL` points at
another model.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.runtime import latest_model

ROOT = Path(__file__).resolve().parents[2]
STORIES = Path(__file__).with_name("test_stories.yml")

pytestmark = pytest.mark.slow


def _rasa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )


@pytest.fixture(scope="module")
def core_model() -> Path:
    override = os.environ.get("TTHC_CONVERSATION_MODEL")
    model = Path(override) if override else latest_model()
    if model is None:
        pytest.fail("no trained model in models/: `make test` trains one first", pytrace=False)
    return model


def test_there_are_enough_stories() -> None:
    stories = yaml.safe_load(STORIES.read_text(encoding="utf-8"))["stories"]
    assert len(stories) >= 40


def test_no_story_fails(core_model: Path, tmp_path: Path) -> None:
    result = _rasa(
        "test", "core", "--model", str(core_model), "--stories", str(STORIES),
        "--out", str(tmp_path), "--fail-on-prediction-errors", "--no-plot",
    )
    output = result.stdout[-6000:] + result.stderr[-6000:]
    assert result.returncode == 0, output
    failed = tmp_path / "failed_test_stories.yml"
    text = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert "- story:" not in text, text
