"""Fixtures of the NLU pipeline tests.

`search_index` builds the catalog search index from the bundled portal
records once per session (no database needed). `nlu_model` trains a SMALL
model with our real pipeline (config.yml, few epochs, hand-written data only)
once and caches it under var/nlu/test-model/, keyed by a fingerprint of the
config, data and NLU code, so later runs reuse it; set TTHC_NLU_TEST_MODEL to a
model archive to use that instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.nlu import runtime

runtime.quiet_environment()

TEST_MODEL_DIR = runtime.PROJECT_ROOT / "var" / "nlu" / "test-model"
SMALL_EPOCHS = {"DIETClassifier": 8, "RetrievalIntentResponseSelector": 3, "ResponseSelector": 3}


@pytest.fixture(scope="session")
def search_index() -> Any:
    from bot.nlu.procedure_extractor import build_bundled_index, set_search_index

    index = build_bundled_index()
    set_search_index(index)
    return index


def _small_config(out: Path) -> Path:
    config = yaml.safe_load(runtime.DEFAULT_CONFIG.read_text(encoding="utf-8"))
    for component in config.get("pipeline") or []:
        name = str(component.get("name", "")).rsplit(".", 1)[-1]
        if name in SMALL_EPOCHS:
            component["epochs"] = SMALL_EPOCHS[name]
    config.pop("policies", None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def nlu_model(search_index: Any) -> Path:
    override = os.environ.get("TTHC_NLU_TEST_MODEL")
    if override:
        return Path(override)
    config = _small_config(TEST_MODEL_DIR / "config.yml")
    paths = [runtime.DEFAULT_NLU_DATA]
    fingerprint = runtime.input_fingerprint([config, *paths], extra="test-model")
    model = runtime.fresh_model(TEST_MODEL_DIR, "test", fingerprint)
    if model is None:
        model = runtime.train_nlu_model(config, paths, TEST_MODEL_DIR, fixed_model_name="test")
        runtime.write_fingerprint(TEST_MODEL_DIR, "test", fingerprint, model)
    return model


@pytest.fixture(scope="session")
def parser(nlu_model: Path) -> Any:
    nlu_parser = runtime.NLUParser(nlu_model)
    yield nlu_parser
    nlu_parser.close()
