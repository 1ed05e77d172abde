"""The evaluation sets must stay out of the training data: none of their texts
(accent-folded, punctuation dropped) may appear in the training data,
hand-written (nlu_data/) or generated (bot/nlu/training_data.py).

Sets checked: the held-out NLU set (tests/nlu/test_set.yml, `examples`) and the
two dialogue sets of issue 9 (tests/nlu/bare_names.yml and
tests/nlu/real_messages.yml, `items`), scored by `tthc evaluate --dialogue`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.importers.importer import TrainingDataImporter

from bot.nlu import runtime
from core.vietnamese import fold

SETS_DIR = runtime.PROJECT_ROOT / "tests" / "nlu"
TEST_SET = SETS_DIR / "test_set.yml"
# file -> top-level key holding the list of {text: ...} items
EVALUATION_SETS = {
    TEST_SET: "examples",
    SETS_DIR / "bare_names.yml": "items",
    SETS_DIR / "real_messages.yml": "items",
}


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


def _texts(path: Path, key: str) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(item["text"]) for item in data[key]]


@pytest.fixture(scope="module", params=sorted(EVALUATION_SETS, key=str), ids=lambda p: p.name)
def held_out(request: pytest.FixtureRequest) -> list[str]:
    path: Path = request.param
    if not path.exists():
        pytest.skip(f"{path.relative_to(runtime.PROJECT_ROOT)} not written yet")
    return _texts(path, EVALUATION_SETS[path])


@pytest.fixture(scope="module")
def hand_written() -> set[str]:
    return _training_texts(runtime.DEFAULT_NLU_DATA)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    from bot.nlu.training_data import generate

    path = generate(tmp_path_factory.mktemp("generated") / "generated.yml")
    return _training_texts(path)


def test_held_out_not_in_hand_written_data(held_out: list[str], hand_written: set[str]) -> None:
    leaked = [text for text in held_out if _key(text) in hand_written]
    assert not leaked, f"{len(leaked)} evaluation texts found in nlu_data/: {leaked}"


def test_held_out_not_in_generated_data(held_out: list[str], generated: set[str]) -> None:
    leaked = [text for text in held_out if _key(text) in generated]
    assert not leaked, f"{len(leaked)} evaluation texts produced by the generator: {leaked}"


def test_key_ignores_case_accents_and_punctuation() -> None:
    # the comparison must catch a copy typed differently, or the test proves nothing
    assert _key("Sổ đỏ!") == _key("so do") == _key("  SO   ĐỎ ")
    assert _key("sổ đỏ") != _key("sổ hồng")
