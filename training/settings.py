"""Settings of the maintainers' loop: its view of core.settings, where every
variable is declared (types, defaults, descriptions in .env.example).

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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.db import PROJECT_ROOT
from core.settings import settings_for

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
    rasa_token: str = field(default="", repr=False)  # a secret: never in a repr or log
    train_args: tuple[str, ...] = ()
    test_set: Path = PROJECT_ROOT / "tests" / "nlu" / "test_set.yml"
    real_messages: Path = PROJECT_ROOT / "tests" / "nlu" / "real_messages.yml"
    bootstrap_models: Path = PROJECT_ROOT / "models"
    dialogue_eval: bool = True
    dialogue_limit: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TrainingSettings:
        """The loop's view of core.settings (`env`: a mapping instead of the
        process environment); ValueError (SettingsError) naming a bad variable."""
        training = settings_for(env).training
        return cls(
            nlu_file=training.nlu_file,
            overrides_file=training.overrides_file,
            model_bank=training.model_bank,
            config=training.config,
            data=training.data,
            gate_margin=training.gate_margin,
            gate_intent_margin=training.gate_intent_margin,
            rasa_urls=training.rasa_urls,
            rasa_token=training.rasa_token.get_secret_value(),
            train_args=training.train_args,
            test_set=training.test_set,
            real_messages=training.real_messages,
            bootstrap_models=training.bootstrap_models,
            dialogue_eval=training.dialogue_eval,
            dialogue_limit=training.dialogue_limit,
        )
