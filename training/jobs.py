"""Training jobs: a queue in the database, run one at a time by a worker.

`enqueue` adds a job (refused while another is queued or running: a second
request would train on the same data). `run_next` — called in a loop by
`tthc training worker` — claims the oldest queued job and runs it:

1. export: labelled inbox items → the console's NLU file (training.export);
2. train: `python -m bot.cli train --out <tmp> --fixed-model-name <name>
   --config <config> [TTHC_TRAINING_ARGS]` in a child process (another data
   directory: `rasa train`, full when it has its own domain, else `rasa train
   nlu`; see `training_command`), its output streamed into the job's log,
   epochs mapped to progress;
3. register the archive in the model bank (training.bank), with the hashes of
   every data file and of the config that produced it;
4. evaluate the candidate and (once, cached on its row) the live model with
   `python -m bot.training_eval` on the held-out and real-message sets and,
   for full models (NLU + dialogue, not `--nlu-only`) unless
   TTHC_GATE_DIALOGUE=off, on the dialogue level through the real action +
   Rasa servers (`--dialogue`, ~4 min a model: a background job can afford
   it, and the parse-level figures cannot see what the dialogue does with a
   parse: choices, facets, rules);
5. compare (training.gate) and store the verdict on the candidate.

Only one job runs at a time, across processes and hosts: the worker takes a
lock row (`training_cursor` name "training_lock") with a compare-and-set
UPDATE, which both SQLite and PostgreSQL execute atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import PROJECT_ROOT, session_scope, utcnow
from training import bank
from training.export import export_examples
from training.gate import Margins, compare
from training.orm import Cursor, ModelVersion, TrainingJob
from training.settings import TrainingSettings

__all__ = [
    "JobError",
    "dialogue_wanted",
    "enqueue",
    "evaluation_command",
    "full_model",
    "own_domain",
    "run_next",
    "training_command",
    "training_inputs",
]

LOCK = "training_lock"
DEFAULT_DATA = PROJECT_ROOT / "nlu_data"
LOG_LIMIT = 40_000
_EPOCHS = re.compile(r"Epochs:\s+(\d{1,3})%")


class JobError(RuntimeError):
    """A job cannot be queued (another is pending); message in Vietnamese."""


def enqueue(db: Session, requested_by: str) -> TrainingJob:
    """Queue a training job. Raises JobError while one is queued or running."""
    pending = db.execute(
        select(TrainingJob).where(TrainingJob.status.in_(("queued", "running")))
    ).first()
    if pending is not None:
        raise JobError(f"Đã có lượt huấn luyện số {pending[0].id} đang chờ hoặc đang chạy.")
    job = TrainingJob(requested_by=requested_by, status="queued", stage="Đang chờ", log="")
    db.add(job)
    db.flush()
    return job


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def own_domain(settings: TrainingSettings) -> Path | None:
    """The domain of a data directory other than the project's (TTHC_TRAINING_DATA):
    its `domain.yml` or `domain/` folder, or None (that data is NLU-only). The
    project's own data always trains with `bot/domain/` through `tthc train`."""
    if settings.data.resolve() == DEFAULT_DATA.resolve():
        return None
    for candidate in (settings.data / "domain.yml", settings.data / "domain"):
        if candidate.exists():
            return candidate
    return None


def full_model(settings: TrainingSettings) -> bool:
    """Whether this worker trains full models (NLU + dialogue policies): the
    project's data, or another data directory with its own domain, unless
    TTHC_TRAINING_ARGS has `--nlu-only`."""
    if "--nlu-only" in settings.train_args:
        return False
    return settings.data.resolve() == DEFAULT_DATA.resolve() or own_domain(settings) is not None


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def training_inputs(settings: TrainingSettings) -> tuple[dict[str, Any], str, str]:
    """(inputs, data_hash, config_hash): every training data file with its sha256,
    the config text, the domain files' hashes (the project's `bot/domain/`, or
    the data directory's own domain when it has one)."""
    files = {
        _display(path): _sha(path)
        for path in sorted(p for p in settings.data.rglob("*") if p.is_file())
    }
    domain_source = own_domain(settings)
    if domain_source is None:
        domain_paths = sorted((PROJECT_ROOT / "bot" / "domain").glob("*.yml"))
    elif domain_source.is_dir():
        domain_paths = sorted(p for p in domain_source.rglob("*.yml") if p.is_file())
    else:
        domain_paths = [domain_source]
    domain = {_display(p): _sha(p) for p in domain_paths}
    config_text = settings.config.read_text(encoding="utf-8") if settings.config.exists() else ""
    data_hash = hashlib.sha256(json.dumps([files, domain], sort_keys=True).encode()).hexdigest()
    config_hash = hashlib.sha256(config_text.encode()).hexdigest()
    inputs = {
        "data_files": files,
        "domain_files": domain,
        "config_path": str(settings.config),
        "config": config_text,
        "train_args": list(settings.train_args),
    }
    return inputs, data_hash, config_hash


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def training_command(
    settings: TrainingSettings, tmp: Path, name: str, inputs: dict[str, Any]
) -> list[str]:
    """The child process that trains archive `tmp/<name>.tar.gz`:

    - the project's data (`nlu_data/`): `python -m bot.cli train` (the same
      command as `make train`, generated examples included), plus `--data` for a
      console file kept elsewhere;
    - another data directory (TTHC_TRAINING_DATA), copied with the console's file
      added: `python -m rasa train --domain <its domain> --data <copy>` (a full
      model: NLU + dialogue) when it has its own `domain.yml` or `domain/`
      (`own_domain`) and TTHC_TRAINING_ARGS has no `--nlu-only`; otherwise
      `python -m rasa train nlu --nlu <copy>` (an NLU-only experiment).

    Adds the console file's hash to `inputs["data_files"]` when it is used."""
    console_file = settings.nlu_file
    extra = console_file.exists() and not _inside(console_file, settings.data)
    if extra:
        inputs["data_files"][str(console_file)] = _sha(console_file)
    if settings.data.resolve() == DEFAULT_DATA.resolve():
        command = [
            sys.executable,
            "-m",
            "bot.cli",
            "train",
            "--out",
            str(tmp),
            "--fixed-model-name",
            name,
            "--config",
            str(settings.config),
            *settings.train_args,
        ]
        return command + (["--data", str(console_file)] if extra else [])
    data_dir = tmp / "data"
    domain = own_domain(settings)
    # The domain stays out of the copy: Rasa would read a `domain/` folder of
    # the data paths as training data files.
    shutil.copytree(
        settings.data,
        data_dir,
        ignore=(lambda folder, names: [n for n in names if Path(folder) / n == domain])
        if domain is not None
        else None,
    )
    if extra:
        shutil.copy2(console_file, data_dir / "from_console.yml")
    common = ["--config", str(settings.config), "--out", str(tmp), "--fixed-model-name", name]
    if full_model(settings):
        assert domain is not None
        return [
            sys.executable,
            "-m",
            "rasa",
            "train",
            "--domain",
            str(domain),
            "--data",
            str(data_dir),
            *common,
        ]
    return [sys.executable, "-m", "rasa", "train", "nlu", "--nlu", str(data_dir), *common]


def _take_lock(db: Session, job_id: int) -> bool:
    if db.get(Cursor, LOCK) is None:
        db.add(Cursor(name=LOCK, last_event_id=0))
        db.flush()
    taken = db.execute(
        update(Cursor)
        .where(Cursor.name == LOCK, Cursor.last_event_id == 0)
        .values(last_event_id=job_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    return taken == 1


def _release_lock(db: Session, job_id: int) -> None:
    db.execute(
        update(Cursor)
        .where(Cursor.name == LOCK, Cursor.last_event_id == job_id)
        .values(last_event_id=0)
        .execution_options(synchronize_session=False)
    )


def _recover_stale(db: Session) -> None:
    """A job left `running` by a worker of this host that no longer exists is
    failed and its lock released (the worker crashed or was killed)."""
    host = socket.gethostname()
    for job in db.execute(select(TrainingJob).where(TrainingJob.status == "running")).scalars():
        owner = (job.worker or "").rsplit(":", 1)
        if len(owner) == 2 and owner[0] == host and owner[1].isdigit():
            try:
                os.kill(int(owner[1]), 0)
                continue
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            job.status = "failed"
            job.error = "Tiến trình huấn luyện đã dừng bất thường."
            job.finished_at = utcnow()
            _release_lock(db, job.id)


class _Progress:
    """Buffers a job's log and progress; writes them to the database every
    `interval` seconds (and on `flush`)."""

    def __init__(self, factory: sessionmaker, job_id: int, interval: float = 2.0) -> None:
        self.factory = factory
        self.job_id = job_id
        self.interval = interval
        self.lines: list[str] = []
        self.progress = 0
        self.stage = ""
        self._last = 0.0

    def set(self, progress: int, stage: str) -> None:
        self.progress, self.stage = progress, stage
        self.log(f"== {stage}")
        self.flush()

    def log(self, line: str) -> None:
        self.lines.append(line.rstrip("\n"))
        if time.monotonic() - self._last > self.interval:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        text = "\n".join(self.lines)[-LOG_LIMIT:]
        with session_scope(self.factory) as db:
            db.execute(
                update(TrainingJob)
                .where(TrainingJob.id == self.job_id)
                .values(log=text, progress=self.progress, stage=self.stage[:64])
            )


def _run(command: list[str], progress: _Progress, on_line: Callable[[str], None] | None) -> None:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    progress.log("$ " + " ".join(command))
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None
    for raw in process.stdout:
        for line in raw.replace("\r", "\n").splitlines():
            if line.strip():
                progress.log(line)
                if on_line:
                    on_line(line)
    code = process.wait()
    if code != 0:
        raise RuntimeError(f"lệnh kết thúc với mã {code}: {' '.join(command[:4])} ...")


def dialogue_wanted(settings: TrainingSettings) -> bool:
    """Whether models of this worker are evaluated on the dialogue level too:
    only full models (`full_model`) have the dialogue policies the REST round
    trip needs; TTHC_GATE_DIALOGUE=off switches it off (e.g. a domain of
    its own that does not answer the product's dialogue sets)."""
    return settings.dialogue_eval and full_model(settings)


def evaluation_command(model_path: str, out: Path, settings: TrainingSettings) -> list[str]:
    """The `python -m bot.training_eval` child process for one model."""
    command = [
        sys.executable,
        "-m",
        "bot.training_eval",
        "--model",
        model_path,
        "--out",
        str(out),
        "--test-set",
        str(settings.test_set),
        "--real-messages",
        str(settings.real_messages),
    ]
    if dialogue_wanted(settings):
        command.append("--dialogue")
        if settings.dialogue_limit:
            command += ["--dialogue-limit", str(settings.dialogue_limit)]
    return command


def _evaluate(model: ModelVersion, settings: TrainingSettings, progress: _Progress) -> dict:
    with tempfile.TemporaryDirectory(prefix="tthc-eval-") as tmp:
        out = Path(tmp) / "evaluation.json"
        _run(
            evaluation_command(model.path, out, settings),
            progress,
            None,
        )
        return json.loads(out.read_text(encoding="utf-8"))


def _bootstrap_live(db: Session, settings: TrainingSettings) -> ModelVersion | None:
    """The live model; when the bank has none, the newest model of
    `settings.bootstrap_models` (what `tthc train` shipped) becomes it."""
    live = bank.active_model(db)
    if live is not None:
        return live
    source = settings.bootstrap_models
    archives = (
        sorted(source.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        if (source.is_dir())
        else []
    )
    if not archives:
        return None
    existing = db.execute(
        select(ModelVersion).where(ModelVersion.name == archives[-1].name)
    ).scalar_one_or_none()
    model = existing or bank.register_model(
        db, archives[-1], settings.model_bank, inputs={"source": str(archives[-1])}
    )
    model.status = "active"
    model.activated_at = utcnow()
    model.activated_by = "bootstrap"
    db.flush()
    return model


def run_next(factory: sessionmaker, settings: TrainingSettings | None = None) -> int | None:
    """Claim and run the oldest queued job; returns its id, or None when there is
    none (or another job holds the lock). Never raises for a failing job: the
    job is marked failed with the error and the log kept."""
    settings = settings or TrainingSettings.from_env()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with session_scope(factory) as db:
        _recover_stale(db)
    with session_scope(factory) as db:
        job = (
            db.execute(
                select(TrainingJob).where(TrainingJob.status == "queued").order_by(TrainingJob.id)
            )
            .scalars()
            .first()
        )
        if job is None or not _take_lock(db, job.id):
            return None
        claimed = db.execute(
            update(TrainingJob)
            .where(TrainingJob.id == job.id, TrainingJob.status == "queued")
            .values(status="running", started_at=utcnow(), worker=worker, stage="Bắt đầu")
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            _release_lock(db, job.id)
            return None
        job_id = job.id
    progress = _Progress(factory, job_id)
    try:
        _execute(factory, job_id, settings, progress)
        status, error = "succeeded", None
    except Exception as exc:  # a failing job must not kill the worker
        progress.log(f"LỖI: {exc}")
        status, error = "failed", str(exc)[:2000]
    progress.progress = 100 if status == "succeeded" else progress.progress
    progress.stage = "Xong" if status == "succeeded" else "Lỗi"
    progress.flush()
    with session_scope(factory) as db:
        db.execute(
            update(TrainingJob)
            .where(TrainingJob.id == job_id)
            .values(status=status, error=error, finished_at=utcnow())
        )
        _release_lock(db, job_id)
    return job_id


def _execute(
    factory: sessionmaker, job_id: int, settings: TrainingSettings, progress: _Progress
) -> None:
    progress.set(3, "Ghi dữ liệu từ hộp thư")
    with session_scope(factory) as db:
        result = export_examples(db, settings.nlu_file)
    progress.log(
        f"{result.total} câu mẫu từ bảng điều khiển; {len(result.excluded)} bị loại "
        "(trùng bộ đánh giá)"
    )
    inputs, data_hash, config_hash = training_inputs(settings)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = f"console-{stamp}-job{job_id}"
    progress.set(8, "Huấn luyện")

    def on_line(line: str) -> None:
        match = _EPOCHS.search(line)
        if match:
            progress.progress = 10 + int(int(match.group(1)) * 0.6)

    with tempfile.TemporaryDirectory(prefix="tthc-train-") as tmp:
        command = training_command(settings, Path(tmp), name, inputs)
        _run(command, progress, on_line)
        archive = Path(tmp) / f"{name}.tar.gz"
        if not archive.exists():
            found = sorted(Path(tmp).glob("*.tar.gz"))
            if not found:
                raise RuntimeError("huấn luyện không tạo ra tệp mô hình")
            archive = found[-1]
        with session_scope(factory) as db:
            inputs["command"] = command[2:]
            model = bank.register_model(
                db,
                archive,
                settings.model_bank,
                inputs=inputs,
                data_hash=data_hash,
                config_hash=config_hash,
            )
            db.execute(
                update(TrainingJob).where(TrainingJob.id == job_id).values(model_id=model.id)
            )
            model_id = model.id
    progress.set(75, "Đánh giá mô hình mới")
    with session_scope(factory) as db:
        candidate = db.get(ModelVersion, model_id)
        evaluation = _evaluate(candidate, settings, progress)
        candidate.evaluation = evaluation
    with session_scope(factory) as db:
        live = _bootstrap_live(db, settings)
        live_id = live.id if live is not None else None
        # The live model's evaluation is cached on its row; evaluated again when
        # the dialogue figures are now wanted and it has none (older cache).
        needs_eval = live is not None and (
            live.evaluation is None
            or (dialogue_wanted(settings) and "dialogue" not in live.evaluation)
        )
    if needs_eval:
        progress.set(85, "Đánh giá mô hình đang chạy")
        with session_scope(factory) as db:
            live = db.get(ModelVersion, live_id)
            live.evaluation = _evaluate(live, settings, progress)
    progress.set(95, "So sánh")
    with session_scope(factory) as db:
        candidate = db.get(ModelVersion, model_id)
        live = db.get(ModelVersion, live_id) if live_id is not None else None
        verdict = compare(
            live.evaluation if live is not None else None,
            candidate.evaluation,
            Margins(overall=settings.gate_margin, per_intent=settings.gate_intent_margin),
        )
        candidate.gate = {**verdict.to_json(), "live_model": live.name if live else None}
        progress.log(
            "Kết quả: "
            + ("đạt" if verdict.passed else "KHÔNG đạt: " + ", ".join(verdict.regressions))
        )
