"""Rasa story evaluation of the dialogue (policies only: intents and entities
come from the test stories, actions are predicted, not executed — the actions
themselves are tested in tests/actions).

A core model is trained from config.yml + bot/domain + nlu_data into
var/conversation-tests/ when none is newer than those inputs
(`TTHC_CONVERSATION_MODEL` points at an existing model instead). Training
takes a few minutes on 2 cores, so the test is marked slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STORIES = Path(__file__).with_name("test_stories.yml")
MODEL_DIR = ROOT / "var" / "conversation-tests"
MODEL = MODEL_DIR / "core.tar.gz"
INPUTS = [ROOT / "config.yml", ROOT / "bot" / "domain", ROOT / "nlu_data"]

pytestmark = pytest.mark.slow


def _newest_input() -> float:
    stamps = []
    for path in INPUTS:
        files = [path] if path.is_file() else [p for p in path.rglob("*.yml")]
        stamps += [p.stat().st_mtime for p in files]
    return max(stamps)


def _rasa(*args: str) -> subprocess.CompletedProcess[str]:
    rasa = Path(sys.executable).with_name("rasa")
    return subprocess.run(
        [str(rasa), *args], cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False
    )


@pytest.fixture(scope="module")
def core_model() -> Path:
    override = os.environ.get("TTHC_CONVERSATION_MODEL")
    if override:
        return Path(override)
    if not MODEL.exists() or MODEL.stat().st_mtime < _newest_input():
        result = _rasa(
            "train", "core", "-c", "config.yml", "-d", "bot/domain", "-s", "nlu_data",
            "--out", str(MODEL_DIR), "--fixed-model-name", "core",
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return MODEL


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
