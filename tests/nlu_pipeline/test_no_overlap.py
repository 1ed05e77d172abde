"""The held-out NLU set must stay held out: none of its texts (accent-folded)
may appear in the training data, hand-written or generated."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.importers.importer import TrainingDataImporter

from bot.nlu import runtime
from catalog.text import fold

TEST_SET = runtime.PROJECT_ROOT / "tests" / "nlu" / "test_set.yml"


def _key(text: str) -> str:
    # fold + drop punctuation so "Cảm ơn!" and "cam on" are the same text
    return " ".join("".join(ch if ch.isalnum() else " " for ch in fold(text)).split())


def _training_texts(path: Path) -> set[str]:
    # The same importer as training, so exactly the examples a model learns from.
    importer = TrainingDataImporter.load_nlu_importer_from_config(
        str(runtime.DEFAULT_CONFIG), training_data_paths=[str(path)]
    )
    data = importer.get_nlu_data()
    return {_key(example.get("text") or "") for example in data.training_examples} - {""}


@pytest.fixture(scope="module")
def held_out() -> list[str]:
    if not TEST_SET.exists():
        pytest.skip("tests/nlu/test_set.yml not written yet")
    data = yaml.safe_load(TEST_SET.read_text(encoding="utf-8"))
    return [str(example["text"]) for example in data["examples"]]


def test_held_out_not_in_hand_written_data(held_out: list[str]) -> None:
    training = _training_texts(runtime.DEFAULT_NLU_DATA)
    leaked = [text for text in held_out if _key(text) in training]
    assert not leaked, f"{len(leaked)} held-out examples found in nlu_data/: {leaked}"


def test_held_out_not_in_generated_data(held_out: list[str], tmp_path: Path) -> None:
    from bot.nlu.training_data import generate

    generated = generate(tmp_path / "generated.yml")
    training = _training_texts(generated)
    leaked = [text for text in held_out if _key(text) in training]
    assert not leaked, f"{len(leaked)} held-out examples produced by the generator: {leaked}"
