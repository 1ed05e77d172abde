"""Settings of the maintainers' loop, from the environment (one place).

- TTHC_TRAINING_NLU_FILE   where labelled examples go (default nlu_data/nlu/from_console.yml)
- TTHC_OVERRIDES_FILE      the curation overlay aliases are added to (catalog/overrides.yml)
- TTHC_MODEL_BANK_DIR      model archives of the bank (default var/model_bank)
- TTHC_TRAINING_CONFIG     Rasa config for console-started training (default config.yml)
- TTHC_TRAINING_DATA       training data directory (default nlu_data)
- TTHC_GATE_MARGIN         largest allowed drop of any gated figure (default 0.02 = 2 points)
- TTHC_RASA_URLS           comma-separated Rasa base URLs to push an activated model to
                           with `PUT /model` (optional; workers also pull from the model store)
- RASA_AUTH_TOKEN / TTHC_RASA_TOKEN  token of Rasa's HTTP API (`--auth-token`)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from catalog.database import PROJECT_ROOT

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
    rasa_urls: tuple[str, ...] = field(default_factory=tuple)
    rasa_token: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TrainingSettings:
        """Read the environment; ValueError on a malformed margin."""
        env = os.environ if env is None else env

        def path(name: str, default: Path) -> Path:
            raw = env.get(name, "").strip()
            return Path(raw) if raw else default

        margin_raw = env.get("TTHC_GATE_MARGIN", "").strip()
        try:
            margin = float(margin_raw) if margin_raw else cls.gate_margin
        except ValueError as exc:
            raise ValueError(f"TTHC_GATE_MARGIN must be a number, got {margin_raw!r}") from exc
        if not 0 <= margin <= 1:
            raise ValueError(f"TTHC_GATE_MARGIN must be within 0..1, got {margin}")
        urls = tuple(
            u.strip().rstrip("/") for u in env.get("TTHC_RASA_URLS", "").split(",") if u.strip()
        )
        return cls(
            nlu_file=path("TTHC_TRAINING_NLU_FILE", cls.nlu_file),
            overrides_file=path("TTHC_OVERRIDES_FILE", cls.overrides_file),
            model_bank=path("TTHC_MODEL_BANK_DIR", cls.model_bank),
            config=path("TTHC_TRAINING_CONFIG", cls.config),
            data=path("TTHC_TRAINING_DATA", cls.data),
            gate_margin=margin,
            rasa_urls=urls,
            rasa_token=env.get("TTHC_RASA_TOKEN", "").strip()
            or env.get("RASA_AUTH_TOKEN", "").strip(),
        )
