"""`tthc training ...` (issue 12): the maintainers' loop from the terminal.

- `collect`: read new tracker-store events into the misunderstood inbox;
- `export`: write labelled items to the console's NLU file;
- `enqueue`: queue a training job (as the console's "Huấn luyện" button);
- `worker [--once]`: run queued training jobs, one at a time;
- `model-store [--port]`: serve the live model to Rasa workers (they pull it);
- `models`: list the bank; `activate ID [--override]`: make a model live
  (the gate applies; `--override` is the admin's decision, audited);
- `register PATH`: add an existing archive (e.g. the shipped model) to the bank.

Every change of the live model is written to the console's audit log with the
actor `cli:<os user>`.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import CommandError, command_group, open_database_or_exit
from core.settings import get_settings

if TYPE_CHECKING:
    from training.retention import RetentionResult


def _ensure_importable() -> None:
    """`training/` and `console/` sit beside `bot/`; an editable install made
    before they existed does not map them, so fall back to the checkout root."""
    if importlib.util.find_spec("training") is None or importlib.util.find_spec("console") is None:
        sys.path.append(str(Path(__file__).resolve().parents[2]))


def _tracker_engine():
    from bot.runtime import Settings
    from core.db import make_engine

    return make_engine(Settings.from_env().tracker_store_url)


def _collect(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from training.inbox import InboxSettings, collect

    factory = open_database_or_exit(args)
    engine = _tracker_engine()
    try:
        with session_scope(factory) as db:
            stats = collect(db, engine, InboxSettings.from_env())
    finally:
        engine.dispose()
    print(f"{stats.events} events read, {stats.occurrences} misunderstood messages, "
          f"{stats.new_groups} new inbox items (cursor at event {stats.last_event_id})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from training.export import export_examples
    from training.settings import TrainingSettings

    settings = TrainingSettings.from_env()
    with session_scope(open_database_or_exit(args)) as db:
        result = export_examples(db, settings.nlu_file)
    print(f"{result.total} examples in {result.path}"
          f"{' (changed)' if result.changed else ''}; {len(result.excluded)} left out "
          "(evaluation texts)")
    return 0


def _enqueue(args: argparse.Namespace) -> int:
    from console import audit
    from core.db import session_scope
    from training.jobs import JobError, enqueue

    actor = audit.cli_actor()
    try:
        with session_scope(open_database_or_exit(args)) as db:
            job = enqueue(db, actor.username)
            audit.record(db, actor, "training.job", "training_job", job.id)
            print(f"training job {job.id} queued")
    except JobError as exc:
        raise CommandError(str(exc)) from exc
    return 0


def _worker(args: argparse.Namespace) -> int:
    from training.jobs import run_next
    from training.settings import TrainingSettings

    factory = open_database_or_exit(args)
    settings = TrainingSettings.from_env()
    print(f"training worker: polling every {args.poll} s", flush=True)
    while True:
        job = run_next(factory, settings)
        if job is not None:
            print(f"training job {job} finished", flush=True)
        if args.once:
            return 0
        if job is None:
            time.sleep(args.poll)


def _model_store(args: argparse.Namespace) -> int:
    from training.model_server import serve

    factory = open_database_or_exit(args)
    port = args.port or get_settings().training.model_store_port
    try:
        serve(factory, args.host, port)
    except KeyboardInterrupt:
        return 0
    return 0


def _models(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from core.db import session_scope
    from training.orm import ModelVersion

    with session_scope(open_database_or_exit(args)) as db:
        models = db.execute(select(ModelVersion).order_by(ModelVersion.id)).scalars().all()
        if not models:
            print("the model bank is empty")
        for m in models:
            accuracy = ((m.evaluation or {}).get("intent") or {}).get("accuracy")
            gate = m.gate or {}
            verdict = "" if not gate else ("gate ok" if gate.get("passed") else "REGRESSION")
            print(f"{m.id:>4}  {m.status:<9} {m.name:<48} "
                  f"{'' if accuracy is None else f'acc {accuracy:.3f}':<10} {verdict}")
    return 0


def _activate(args: argparse.Namespace) -> int:
    from console import audit
    from core.db import session_scope
    from training.bank import ActivationError, activate, push_to_workers
    from training.settings import TrainingSettings

    actor = audit.cli_actor()
    settings = TrainingSettings.from_env()
    try:
        with session_scope(open_database_or_exit(args)) as db:
            model, previous = activate(db, args.model_id, actor.username, override=args.override)
            audit.record(db, actor, "model.activate", "model", model.id,
                         previous=previous.name if previous else None, override=args.override)
            path = Path(model.path)
            print(f"model {model.name} is live (was: {previous.name if previous else '-'})")
    except ActivationError as exc:
        raise CommandError(str(exc)) from exc
    for result in push_to_workers(path, settings.rasa_urls, settings.rasa_token):
        print(f"  PUT /model {result.url}: {'ok' if result.ok else result.status}")
    return 0


def _register(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from training.bank import register_model
    from training.settings import TrainingSettings

    settings = TrainingSettings.from_env()
    try:
        with session_scope(open_database_or_exit(args)) as db:
            model = register_model(db, Path(args.path), settings.model_bank,
                                   inputs={"source": str(args.path)})
            print(f"registered model {model.id}: {model.name}")
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(f"cannot register {args.path}: {exc}") from exc
    return 0


def _stats(args: argparse.Namespace) -> int:
    import csv
    from datetime import date

    from console.routes.analytics import overdue_checker
    from core.db import session_scope
    from training.analytics import Filters, compute

    try:
        filters = Filters.last_days(args.days, args.channel or "")
        filters = Filters(
            date.fromisoformat(args.date_from) if args.date_from else filters.date_from,
            date.fromisoformat(args.date_to) if args.date_to else filters.date_to,
            args.channel or "",
        )
    except ValueError as exc:
        raise CommandError(f"dates are YYYY-MM-DD: {exc}") from exc
    engine = _tracker_engine()
    try:
        with session_scope(open_database_or_exit(args)) as db:
            tables = compute(db, engine, filters, overdue=overdue_checker(db)).tables()
    finally:
        engine.dispose()
    names = [args.table] if args.table else list(tables)
    for name in names:
        if name not in tables:
            raise CommandError(f"unknown table {name!r}; one of {', '.join(tables)}")
        header, rows = tables[name]
        if args.csv:
            writer = csv.writer(sys.stdout)
            writer.writerow(header)
            writer.writerows(rows)
            continue
        print(f"== {name}")
        widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
                  for i, h in enumerate(header)]
        print("  ".join(str(h).ljust(min(w, 60)) for h, w in zip(header, widths, strict=True)))
        for row in rows:
            print("  ".join(str(v)[:60].ljust(min(w, 60))
                            for v, w in zip(row, widths, strict=True)))
    return 0


def retention_once(factory, tracker, policy, actor) -> RetentionResult:
    """One retention pass; each kind's count goes to the audit log (action
    `retention.anonymise` or `retention.delete`) in the same unit of work."""
    from console import audit
    from core.db import session_scope
    from training.retention import run

    with session_scope(factory) as db:
        result = run(db, tracker, policy)
        for kind, conversations in result.conversations.items():
            audit.record(
                db, actor, f"retention.{result.mode}", "conversations", kind,
                conversations=conversations, events=result.events[kind],
                days=policy.days_with_dossier if kind == "with_dossier"
                else policy.days_without_dossier,
            )
    return result


def _retention(args: argparse.Namespace) -> int:
    from console.audit import cli_actor
    from training.retention import RetentionPolicy

    try:
        policy = RetentionPolicy.from_env()
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if args.mode:
        policy = RetentionPolicy(policy.days_without_dossier, policy.days_with_dossier, args.mode)
    factory = open_database_or_exit(args)
    actor = cli_actor() if not args.daily else _system("retention")
    while True:
        engine = _tracker_engine()
        try:
            result = retention_once(factory, engine, policy, actor)
        finally:
            engine.dispose()
        done = "anonymised" if result.mode == "anonymise" else "deleted"
        print(
            f"retention: {done} {result.conversations['without_dossier']} conversations "
            f"without a dossier (> {policy.days_without_dossier} days) and "
            f"{result.conversations['with_dossier']} with one "
            f"(> {policy.days_with_dossier} days); "
            f"{sum(result.events.values())} events", flush=True,
        )
        if not args.daily:
            return 0
        time.sleep(24 * 3600)


def _system(name: str):
    from console.audit import SystemActor

    return SystemActor(name)


def register(subparsers: argparse._SubParsersAction) -> None:
    _ensure_importable()
    add_retention = command_group(subparsers, "retention", "conversation retention")
    parser = add_retention("run", "anonymise or delete ended conversations", _retention)
    parser.add_argument("--daily", action="store_true", help="run now and then every 24 h")
    parser.add_argument("--mode", choices=("anonymise", "delete"),
                        help="default: TTHC_RETENTION_MODE or anonymise")
    stats = subparsers.add_parser("stats", help="the analytics dashboard's numbers")
    stats.add_argument("--from", dest="date_from", help="YYYY-MM-DD (default: 30 days ago)")
    stats.add_argument("--to", dest="date_to", help="YYYY-MM-DD (default: today)")
    stats.add_argument("--days", type=int, default=30, help="range length without --from")
    stats.add_argument("--channel", help="one channel (rest, webchat, telegram, zalo...)")
    stats.add_argument("--table", help="one table: summary, daily, procedures, ...")
    stats.add_argument("--csv", action="store_true", help="CSV instead of aligned text")
    stats.add_argument("--database-url", help="default: TTHC_DATABASE_URL or var/tthc.db")
    stats.set_defaults(handler=_stats)
    add = command_group(subparsers, "training", "misunderstood inbox, training jobs, model bank")
    add("collect", "read new conversations into the misunderstood inbox", _collect)
    add("export", "write labelled inbox items to the console's NLU file", _export)
    add("enqueue", "queue a training job", _enqueue)
    parser = add("worker", "run queued training jobs (one at a time)", _worker)
    parser.add_argument("--once", action="store_true", help="run at most one job, then exit")
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between queue checks")
    parser = add("model-store", "serve the live model to Rasa workers", _model_store)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="default: TTHC_MODEL_STORE_PORT or 5056")
    add("models", "list the model bank", _models)
    parser = add("activate", "make a model live (gate applies)", _activate)
    parser.add_argument("model_id", type=int)
    parser.add_argument("--override", action="store_true",
                        help="activate despite a regression (admin decision, audited)")
    parser = add("register", "add a model archive to the bank", _register)
    parser.add_argument("path")


def ensure_shipped_model(db, model_path: Path, bank_dir: Path) -> tuple[str, bool]:
    """Make the model `tthc run` found in models/ known to the bank: registered
    the first time it is seen and then made live (a fresh `tthc train` is what
    the maintainer asked for); a model seen before leaves the bank's choice
    (console activations survive restarts). Returns (live model name, changed)."""
    from sqlalchemy import select

    from training.bank import activate, active_model, register_model
    from training.orm import ModelVersion

    known = db.execute(
        select(ModelVersion).where(ModelVersion.name == model_path.name)
    ).scalar_one_or_none()
    if known is None:
        known = register_model(db, model_path, bank_dir, inputs={"source": str(model_path)})
        activate(db, known.id, "tthc run", override=True)
        return known.name, True
    live = active_model(db)
    if live is None or not Path(live.path).is_file():
        activate(db, known.id, "tthc run", override=True)
        return known.name, True
    return live.name, False


def start_maintainers_loop(supervisor, settings, model: Path) -> list[str]:
    """For `tthc run`: bank bootstrap, model store (Rasa workers pull from it),
    training worker, daily retention. Rewrites var/endpoints.yml. Returns the
    lines to print; raises CommandError when the model store does not start."""
    from bot.runtime import child_env, wait_for_port, write_rasa_files
    from core.db import session_scope
    from training.settings import TrainingSettings

    training = TrainingSettings.from_env()
    factory = open_database_or_exit(argparse.Namespace(database_url=None))
    with session_scope(factory) as db:
        live, changed = ensure_shipped_model(db, Path(model), training.model_bank)
    port = get_settings().training.model_store_port
    argv = [sys.executable, "-m", "bot.cli", "training", "model-store", "--port", str(port)]
    store = supervisor.start("model store", argv, child_env())
    if not wait_for_port("127.0.0.1", port, 60, store):
        raise CommandError(f"the model store did not start on port {port}")
    url = f"http://127.0.0.1:{port}/models/active"
    write_rasa_files(settings, model_store_url=url)
    worker = [sys.executable, "-m", "bot.cli", "training", "worker"]
    supervisor.start("training worker", worker, child_env())
    lines = [f"  model store:   {url} (live: {live}{', new from models/' if changed else ''})",
             "  training:      worker running (console: Huấn luyện)"]
    if importlib.util.find_spec("training.retention") is not None:
        retention = [sys.executable, "-m", "bot.cli", "retention", "run", "--daily"]
        supervisor.start("retention", retention, child_env())
        lines.append("  retention:     daily (tthc retention run)")
    return lines
