"""Settings of the maintainers' loop, from the environment (one place).

- TTHC_TRAINING_NLU_FILE   where labelled examples go (default nlu_data/nlu/from_console.yml)
- TTHC_OVERRIDES_FILE      the curation overlay aliases are added to (catalog/overrides.yml)
- TTHC_MODEL_BANK_DIR      model archives of the bank (default var/model_bank)
- TTHC_TRAINING_CONFIG     Rasa config for console-started training (default config.yml)
- TTHC_TRAINING_DATA       training data directory (default nlu_data)
- TTHC_GATE_MARGIN         largest allowed drop of any gated figure (default 0.02 = 2 points)
- TTHC_GATE_INTENT_MARGIN  largest allowed drop of one intent's F1 (default 0.10)
- TTHC_RASA_URLS           comma-separated Rasa base URLs to push an activated model to
                           with `PUT /model` (optional; workers also pull from the model store)
- RASA_AUTH_TOKEN / TTHC_RASA_TOKEN  token of Rasa's HTTP API (`--auth-token`)
- TTHC_TRAINING_ARGS       extra `tthc train` arguments for console jobs (e.g. "--nlu-only")
- TTHC_TRAINING_TEST_SET / TTHC_TRAINING_REAL_MESSAGES  evaluation sets of the gate
  (default tests/nlu/test_set.yml and tests/nlu/real_messages.yml)
- TTHC_BOOTSTRAP_MODELS    where the first live model comes from when the bank has none
  (default models/, the model `tthc train` shipped)
- TTHC_GATE_DIALOGUE       "on" (default) / "off": evaluate full models (NLU + dialogue) also
  on the dialogue level through the real servers (~4 min a model; training.jobs)
- TTHC_GATE_DIALOGUE_LIMIT only the first N messages of each dialogue set (default: all)
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.db import PROJECT_ROOT

__all__ = ["TrainingSettings"]


@dataclass(frozen=True)
class TrainingSettings:
    """Paths and knobs; see the module doc for the variables."""

    nlu_file: Path = PROJECT_ROOT / "nlu_data" / "nlu" / "from_console.yml"
    overrides_file: Path = PROJECT_ROOT / "catalog" / "overrides.yml"
    model_bank: Path = PROJECT_ROOT / "var" / "model_bank"
    config: Path = PROJECT_ROOT / "config.yml"
    data: Path = PROJECT_ROOT / "nlu_data"
    gate_margin: float = 0.02
    gate_intent_margin: float = 0.10
    rasa_urls: tuple[str, ...] = field(default_factory=tuple)
    rasa_token: str = ""
    train_args: tuple[str, ...] = ()
    test_set: Path = PROJECT_ROOT / "tests" / "nlu" / "test_set.yml"
    real_messages: Path = PROJECT_ROOT / "tests" / "nlu" / "real_messages.yml"
    bootstrap_models: Path = PROJECT_ROOT / "models"
    dialogue_eval: bool = True
    dialogue_limit: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TrainingSettings:
        """Read the environment; ValueError on a malformed margin."""
        env = os.environ if env is None else env

        def path(name: str, default: Path) -> Path:
            raw = env.get(name, "").strip()
            return Path(raw) if raw else default

        def margin(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            try:
                value = float(raw) if raw else default
            except ValueError as exc:
                raise ValueError(f"{name} must be a number, got {raw!r}") from exc
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be within 0..1, got {value}")
            return value

        urls = tuple(
            u.strip().rstrip("/") for u in env.get("TTHC_RASA_URLS", "").split(",") if u.strip()
        )
        return cls(
            nlu_file=path("TTHC_TRAINING_NLU_FILE", cls.nlu_file),
            overrides_file=path("TTHC_OVERRIDES_FILE", cls.overrides_file),
            model_bank=path("TTHC_MODEL_BANK_DIR", cls.model_bank),
            config=path("TTHC_TRAINING_CONFIG", cls.config),
            data=path("TTHC_TRAINING_DATA", cls.data),
            gate_margin=margin("TTHC_GATE_MARGIN", cls.gate_margin),
            gate_intent_margin=margin("TTHC_GATE_INTENT_MARGIN", cls.gate_intent_margin),
            rasa_urls=urls,
            rasa_token=env.get("TTHC_RASA_TOKEN", "").strip()
            or env.get("RASA_AUTH_TOKEN", "").strip(),
            train_args=tuple(shlex.split(env.get("TTHC_TRAINING_ARGS", ""))),
            test_set=path("TTHC_TRAINING_TEST_SET", cls.test_set),
            real_messages=path("TTHC_TRAINING_REAL_MESSAGES", cls.real_messages),
            bootstrap_models=path("TTHC_BOOTSTRAP_MODELS", cls.bootstrap_models),
            dialogue_eval=env.get("TTHC_GATE_DIALOGUE", "on").strip().lower()
            not in ("off", "0", "false", "no"),
            dialogue_limit=int(env["TTHC_GATE_DIALOGUE_LIMIT"])
            if env.get("TTHC_GATE_DIALOGUE_LIMIT", "").strip().isdigit()
            else None,
        )
