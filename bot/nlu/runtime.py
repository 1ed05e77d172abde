"""Training and parsing with Rasa's Python API, shared by the CLI, the
evaluation harness, the benchmarks and the tests.

Rasa and TensorFlow are imported inside the functions: importing them costs
several seconds, and commands such as `tthc catalog ...` must not pay that.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "config.yml"
DEFAULT_NLU_DATA = PROJECT_ROOT / "nlu_data"
DEFAULT_DOMAIN = PROJECT_ROOT / "bot" / "domain"
DEFAULT_MODELS = PROJECT_ROOT / "models"
GENERATED_NLU = PROJECT_ROOT / "var" / "nlu" / "generated.yml"

PROCEDURE_ENTITY = "procedure"
# Modules whose code is part of a trained model's behaviour (graph components).
COMPONENT_MODULES = (
    "components", "tokenizer", "normalize", "entities", "procedure_extractor", "selectors",
)
FINGERPRINT_FILE = ".tthc-fingerprints.json"

logger = logging.getLogger(__name__)


def quiet_environment() -> None:
    """Silence TensorFlow/Rasa noise and keep Rasa off the network.

    Must run before TensorFlow is imported. Telemetry is disabled because the
    machines have no internet and a telemetry attempt only adds latency.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("LOG_LEVEL_LIBRARIES", "ERROR")
    for name in ("tensorflow", "absl", "rasa", "matplotlib", "h5py", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    import warnings

    try:  # Rasa logs every parse through structlog at debug level by default
        import structlog

        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
        )
    except ImportError:  # pragma: no cover - structlog ships with Rasa
        pass
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


# --------------------------------------------------------------------------- training


def generate_training_data(out_path: Path = GENERATED_NLU) -> Path:
    """Run the deterministic procedure-mention generator (bot.nlu.training_data)."""
    from bot.nlu.training_data import generate

    out_path.parent.mkdir(parents=True, exist_ok=True)
    return Path(generate(out_path))


def nlu_training_paths(generated: Path | None = GENERATED_NLU) -> list[Path]:
    """Hand-written NLU data plus the generated file (when present)."""
    paths = [DEFAULT_NLU_DATA]
    if generated is not None and generated.exists():
        paths.append(generated)
    return paths


def _files_under(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file())
        elif path.is_file():
            files.append(path)
    return files


def input_fingerprint(paths: Iterable[Path], extra: str = "", include_code: bool = True) -> str:
    """Content hash of every file under `paths` (plus, with `include_code`, the
    NLU code itself, whose changes also invalidate a model that uses our
    components), used by `--if-stale` and evaluation reuse."""
    digest = hashlib.sha256(extra.encode())
    code = [PROJECT_ROOT / "bot" / "nlu" / f"{name}.py" for name in COMPONENT_MODULES]
    # Lemmas come from catalog.text's folding and abbreviation tables.
    code.append(PROJECT_ROOT / "catalog" / "text.py")
    code = [path for path in code if path.exists()] if include_code else []
    for file in [*_files_under(paths), *code]:
        try:
            rel = file.resolve().relative_to(PROJECT_ROOT)
        except ValueError:
            rel = file
        digest.update(str(rel).encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def read_fingerprints(models_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((models_dir / FINGERPRINT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_fingerprint(models_dir: Path, key: str, fingerprint: str, model: Path) -> None:
    data = read_fingerprints(models_dir)
    data[key] = {"fingerprint": fingerprint, "model": model.name}
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / FINGERPRINT_FILE).write_text(json.dumps(data, indent=2), encoding="utf-8")


def fresh_model(models_dir: Path, key: str, fingerprint: str) -> Path | None:
    """The model trained last time from exactly these inputs, if still there."""
    entry = read_fingerprints(models_dir).get(key) or {}
    if entry.get("fingerprint") != fingerprint:
        return None
    model = models_dir / str(entry.get("model", ""))
    return model if model.is_file() else None


def train_nlu_model(
    config: Path,
    training_paths: Sequence[Path],
    out_dir: Path,
    fixed_model_name: str | None = None,
    domain: Path | None = None,
) -> Path:
    """Train an NLU-only model from several data paths (Rasa's `train_nlu`
    accepts a single path; the importer it uses accepts a list).

    `domain` is read for the retrieval-intent (`faq/...`) responses the
    ResponseSelector trains on; NLU files may also carry them.
    """
    quiet_environment()
    from rasa.model_training import _train_graph
    from rasa.shared.data import TrainingType
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_nlu_importer_from_config(
        str(config),
        str(domain) if domain and domain.exists() else None,
        training_data_paths=[str(p) for p in training_paths],
    )
    if importer.get_nlu_data().contains_no_pure_nlu_data():
        raise ValueError(f"no NLU training data found in {', '.join(map(str, training_paths))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = _train_graph(
        importer,
        training_type=TrainingType.NLU,
        output_path=str(out_dir),
        fixed_model_name=fixed_model_name,
    )
    if not result.model:
        raise RuntimeError("Rasa NLU training produced no model")
    return Path(result.model)


def train_full_model(
    config: Path,
    domain: Path,
    training_paths: Sequence[Path],
    out_dir: Path,
    fixed_model_name: str | None = None,
) -> Path:
    """Train NLU + Core (falls back to NLU-only when there are no stories yet)."""
    quiet_environment()
    from rasa.model_training import train

    out_dir.mkdir(parents=True, exist_ok=True)
    result = train(
        domain=str(domain),
        config=str(config),
        training_files=[str(p) for p in training_paths],
        output=str(out_dir),
        fixed_model_name=fixed_model_name,
    )
    if result.code != 0 or not result.model:
        raise RuntimeError(f"Rasa training failed (code {result.code})")
    return Path(result.model)


# --------------------------------------------------------------------------- parsing


def latest_model(models_dir: Path = DEFAULT_MODELS) -> Path:
    """Newest model archive in `models_dir` (or `models_dir` itself if a file);
    FileNotFoundError when there is none."""
    from bot.runtime import latest_model as newest

    model = newest(models_dir)
    if model is None:
        raise FileNotFoundError(f"no model in {models_dir}: run `tthc train`")
    return model


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _jsonable(value: Any) -> Any:
    """numpy scalars -> Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def to_contract(parse_data: dict[str, Any]) -> dict[str, Any]:
    """Rasa's parse result -> the `tthc parse --json` contract:

    {"text", "intent": {"name", "confidence"}, "intent_ranking": [{"name", "confidence"}],
     "entities": [...], "procedure": {"code", "name", "score"} | null,
     "procedure_candidates": [{"code", "name", "score"}, ...]}

    `procedure` is the candidate chosen by the ProcedureEntityExtractor (null
    when it did not fire, even if there are weak candidates).
    """
    intent = parse_data.get("intent") or {}
    ranking = [
        {"name": item.get("name"), "confidence": _float(item.get("confidence"))}
        for item in parse_data.get("intent_ranking") or []
    ]
    candidates = [
        {"code": str(c.get("code")), "name": str(c.get("name")), "score": _float(c.get("score"))}
        for c in parse_data.get("procedure_candidates") or []
    ]
    entities = _jsonable(list(parse_data.get("entities") or []))
    procedure = None
    for entity in entities:
        if entity.get("entity") == PROCEDURE_ENTITY:
            code = str(entity.get("value"))
            match = next((c for c in candidates if c["code"] == code), None)
            procedure = match or {
                "code": code,
                "name": "",
                "score": round(_float(entity.get("confidence_entity")) * 100, 2),
            }
            break
    return {
        "text": parse_data.get("text", ""),
        "intent": {"name": intent.get("name"), "confidence": _float(intent.get("confidence"))},
        "intent_ranking": ranking,
        "entities": entities,
        "procedure": procedure,
        "procedure_candidates": candidates,
    }


class NLUParser:
    """A loaded model that parses messages into the contract; load once, parse many."""

    def __init__(self, model_path: Path) -> None:
        quiet_environment()
        from rasa.core.agent import Agent

        self.model_path = Path(model_path)
        self._agent = Agent.load(str(self.model_path))
        self._loop = asyncio.new_event_loop()

    @classmethod
    def latest(cls, models_dir: Path = DEFAULT_MODELS) -> NLUParser:
        return cls(latest_model(models_dir))

    def parse_raw(self, text: str) -> dict[str, Any]:
        return self._loop.run_until_complete(self._agent.parse_message(text))

    def parse(self, text: str) -> dict[str, Any]:
        return to_contract(self.parse_raw(text))

    def close(self) -> None:
        self._loop.close()
