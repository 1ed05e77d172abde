"""The model bank: model archives with what produced them, which one is live,
activation behind the gate, rollback, and pushing a model to Rasa workers.

Archives live in `TrainingSettings.model_bank` (default var/model_bank, never
models/). Exactly one model is `active` at a time; the model store
(`training.model_server`) serves it to every Rasa worker, which pulls it
(Rasa's `models:` endpoint, `wait_time_between_pulls`), so activation reaches
every worker process without a restart; `push_to_workers` additionally sends
`PUT /model` to the Rasa URLs configured in TTHC_RASA_URLS for an immediate
switch.

Gate: `activate` refuses a model whose stored comparison (`ModelVersion.gate`)
shows a regression unless `override=True` (an admin's decision the console
audits). Rolling back to a model that was live before skips the gate: it
already served citizens.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from training.orm import ModelVersion

__all__ = [
    "ActivationError",
    "PushResult",
    "activate",
    "active_model",
    "file_sha256",
    "push_to_workers",
    "register_model",
    "worker_status",
]


class ActivationError(RuntimeError):
    """A model cannot be activated (unknown, file missing, or blocked by the gate)."""


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def register_model(
    db: Session,
    archive: Path,
    bank_dir: Path,
    *,
    inputs: dict[str, Any] | None = None,
    data_hash: str = "",
    config_hash: str = "",
) -> ModelVersion:
    """Copy `archive` into `bank_dir` (unless already there) and record it as a
    candidate. `inputs` describes what produced it (files with hashes, config
    text, command); its sha256 is stored in `inputs["sha256"]`. Raises
    FileNotFoundError when `archive` does not exist, ValueError for a name
    already in the bank."""
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(archive)
    bank_dir.mkdir(parents=True, exist_ok=True)
    target = bank_dir / archive.name
    if archive.resolve() != target.resolve():
        if target.exists():
            raise ValueError(f"model {archive.name} is already in the bank")
        shutil.copy2(archive, target)
    if db.execute(select(ModelVersion).where(ModelVersion.name == archive.name)).first():
        raise ValueError(f"model {archive.name} is already registered")
    model = ModelVersion(
        name=archive.name,
        path=str(target.resolve()),
        status="candidate",
        data_hash=data_hash,
        config_hash=config_hash,
        inputs={**(inputs or {}), "sha256": file_sha256(target)},
    )
    db.add(model)
    db.flush()
    return model


def active_model(db: Session) -> ModelVersion | None:
    """The live model of the bank (None before the first activation)."""
    return db.execute(
        select(ModelVersion).where(ModelVersion.status == "active")
    ).scalar_one_or_none()


def activate(
    db: Session, model_id: int, actor: str, *, override: bool = False
) -> tuple[ModelVersion, ModelVersion | None]:
    """Make model `model_id` the live one; returns (new, previous or None).

    Raises ActivationError when the model does not exist, its file is gone,
    or its gate comparison shows a regression and `override` is False (a
    model that was live before is exempt: that is a rollback)."""
    model = db.get(ModelVersion, model_id)
    if model is None:
        raise ActivationError(f"Không có mô hình số {model_id}.")
    if not Path(model.path).is_file():
        raise ActivationError(f"Tệp mô hình {model.name} không còn trên đĩa.")
    gate = model.gate or {}
    was_live = model.activated_at is not None
    if not override and not was_live:
        if model.evaluation is None:
            raise ActivationError("Mô hình chưa được đánh giá; chưa thể kích hoạt.")
        if not gate.get("passed", False):
            regressions = ", ".join(gate.get("regressions") or []) or "chưa so sánh"
            raise ActivationError(f"Mô hình kém hơn mô hình đang chạy: {regressions}.")
    previous = active_model(db)
    if previous is not None and previous.id == model.id:
        return model, None
    db.execute(
        update(ModelVersion).where(ModelVersion.status == "active").values(status="retired")
    )
    model.status = "active"
    model.activated_at = utcnow()
    model.activated_by = actor
    db.flush()
    return model, previous


@dataclass(frozen=True)
class PushResult:
    """One Rasa worker's answer to `PUT /model`: `ok`, HTTP status (0: unreachable)."""

    url: str
    ok: bool
    status: int
    detail: str = ""


def push_to_workers(
    model_path: Path, urls: tuple[str, ...], token: str = "", timeout: float = 120.0
) -> list[PushResult]:
    """`PUT {url}/model {"model_file": model_path}` on each Rasa base URL (Rasa
    HTTP API, `--enable-api`; `token` = its `--auth-token`). Never raises: a
    worker that cannot be reached is reported (it still pulls from the store)."""
    results = []
    params = {"token": token} if token else None
    for url in urls:
        try:
            response = httpx.put(
                f"{url.rstrip('/')}/model",
                json={"model_file": str(model_path)},
                params=params,
                timeout=timeout,
            )
            results.append(
                PushResult(url, response.status_code == 204, response.status_code,
                           response.text[:200])
            )
        except httpx.HTTPError as exc:
            results.append(PushResult(url, False, 0, str(exc)[:200]))
    return results


def worker_status(url: str, token: str = "", timeout: float = 5.0) -> dict[str, Any] | None:
    """Rasa's `GET /status` of one worker (model_file, model_id), None when unreachable."""
    try:
        response = httpx.get(
            f"{url.rstrip('/')}/status", params={"token": token} if token else None,
            timeout=timeout,
        )
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None
