"""`tthc run` and `tthc shell`: start the assistant on this machine."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import TYPE_CHECKING

from bot.cli import CommandError

if TYPE_CHECKING:
    from pathlib import Path

    from bot.runtime import Settings, Supervisor


def _prepare() -> tuple[Settings, Path, Path, Path]:
    """(settings, model, endpoints.yml, credentials.yml); CommandError when not ready."""
    from bot.runtime import (
        ConfigurationError,
        Settings,
        busy_listeners,
        check_services,
        keep_private,
        latest_model,
        write_rasa_files,
    )
    from catalog.repository import CatalogRepository
    from core.db import (
        DatabaseUnavailable,
        check_reachable,
        get_engine,
        open_database,
        session_scope,
    )

    try:
        settings = Settings.from_env()
        check_reachable(get_engine())
        check_services(settings)
    except (ConfigurationError, DatabaseUnavailable) as exc:
        raise CommandError(str(exc)) from exc
    keep_private()
    busy = busy_listeners(_listeners(settings))
    if busy:
        raise CommandError(
            "already in use: " + ", ".join(busy) + " (another `tthc run` still going, or left "
            "over from a killed one: stop it, or set the port variables in .env.example)"
        )
    # Every answer comes from the catalog: with an empty one the servers would
    # start and answer nothing, so refuse with the command that fixes it.
    with session_scope(open_database()) as session:
        if CatalogRepository(session).count() == 0:
            raise CommandError(
                "the procedure catalog is empty: run `tthc catalog import` "
                "(`make run` does it before starting)"
            )
    model = latest_model()
    if model is None:
        raise CommandError("no trained model in models/: run `make train` (or `tthc train`)")
    endpoints, credentials = write_rasa_files(settings)
    return settings, model, endpoints, credentials


def _listeners(settings: Settings) -> dict[str, tuple[str, int]]:
    """{name: (host, port)} of every server `tthc run` will start with these settings."""
    from core.settings import get_settings
    from dossiers.delivery import delivery_enabled

    every = get_settings()
    listeners = {
        "Rasa server": (settings.host, settings.rasa_port),
        "action server": ("127.0.0.1", settings.action_port),
        "console": (every.console.host, every.console.port),
    }
    if every.training.model_store:
        listeners["model store"] = ("127.0.0.1", every.training.model_store_port)
    if delivery_enabled():
        submission = every.submission
        listeners["status API"] = (submission.inbound_host, submission.inbound_port)
    return listeners


def _run(args: argparse.Namespace) -> int:
    from bot.runtime import ConfigurationError, Supervisor, child_env, start_servers

    settings, model, endpoints, credentials = _prepare()
    supervisor = Supervisor()
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        training = _start_training(supervisor, settings, model)  # issue 12: model bank
        try:
            start_servers(supervisor, settings, model, endpoints, credentials, child_env())
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        channels = ["REST", "web chat", "socket.io"]
        if settings.zalo_configured:
            channels.append("Zalo")
        if settings.telegram_token:
            supervisor.start("telegram", [sys.executable, "-m", "bot.cli", "telegram"], child_env())
            channels.append("Telegram")
        if settings.telegram_token or settings.zalo_configured:
            # Push channels get their status notifications from the outbox
            # dispatcher; web chat and REST clients pull theirs.
            notify = [sys.executable, "-m", "bot.cli", "notify"]
            supervisor.start("notifications", notify, child_env())
        integration = _start_integration(supervisor)
        console_line = _start_console(supervisor)
        base = f"http://{settings.host}:{settings.rasa_port}"
        print()
        print(f"tthc-bot is running (model {model.name}); channels: {', '.join(channels)}")
        print(f"  web chat:      {base}/webhooks/webchat/chat")
        print(f"  REST webhook:  {base}/webhooks/rest/webhook")
        print(f"  action server: http://127.0.0.1:{settings.action_port}/webhook")
        if settings.rasa_workers > 1:
            from sqlalchemy.engine import make_url

            locks = make_url(settings.lock_store_url or "").render_as_string(hide_password=True)
            print(f"  Rasa workers:  {settings.rasa_workers} (conversation locks in {locks})")
        for line in integration:
            print(line)
        print(console_line)
        for line in training:
            print(line)
        if not settings.telegram_token:
            print("  Telegram: off (set TELEGRAM_BOT_TOKEN to enable)")
        if not settings.zalo_configured:
            print(
                "  Zalo: off (set ZALO_ACCESS_TOKEN or ZALO_REFRESH_TOKEN, with ZALO_APP_ID and "
                "ZALO_OA_SECRET_KEY for its webhook, to enable)"
            )
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping:
            exited = supervisor.first_exited()
            if exited is not None:
                name, code = exited
                raise CommandError(f"{name} exited unexpectedly (status {code}); stopping")
            time.sleep(0.5)
        print("\nstopping...", flush=True)
        return 0
    finally:
        supervisor.stop()


def _start_console(supervisor: Supervisor) -> str:
    """The officers' console (issue 11) on TTHC_CONSOLE_PORT; returns the line to print."""
    from bot.cli.console_cmd import check_console_tables
    from bot.runtime import child_env
    from console.settings import ConsoleConfigurationError, ConsoleSettings

    try:
        settings = ConsoleSettings.from_env()
        check_console_tables(settings.database_url)
    except (ConsoleConfigurationError, CommandError) as exc:
        return f"  console:       off ({exc})"  # the assistant runs without it
    argv = [sys.executable, "-m", "bot.cli", "console"]
    supervisor.start("console", argv, child_env())
    url = f"http://{settings.host}:{settings.port}/"
    return f"  console:       {url}  (first admin: tthc staff add NAME --role admin)"


def _start_training(supervisor: Supervisor, settings: Settings, model: Path) -> list[str]:
    """Issue 12: the model store every Rasa worker pulls the live model from, the
    training worker, and the daily retention job. `TTHC_MODEL_STORE=off` keeps
    Rasa on `--model` (no console activation). Returns the lines to print."""
    from bot.cli.training_cmd import start_maintainers_loop
    from core.settings import get_settings

    if not get_settings().training.model_store:
        return ["  model store:   off (TTHC_MODEL_STORE=off: Rasa serves models/)"]
    return start_maintainers_loop(supervisor, settings, model)


def _start_integration(supervisor: Supervisor) -> list[str]:
    """With TTHC_SUBMISSION_BACKEND=http: the delivery worker and the inbound
    status API (issue 13). Returns the lines to print."""
    from bot.runtime import child_env
    from core.settings import get_settings
    from dossiers.delivery import delivery_enabled

    if not delivery_enabled():
        return ["  One-stop-shop: off (set TTHC_SUBMISSION_BACKEND=http and TTHC_SUBMISSION_URL)"]
    from dossiers.backends import backend_from_env

    try:
        backend_from_env()
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    deliver = [sys.executable, "-m", "bot.cli", "deliver"]
    supervisor.start("delivery", deliver, child_env())
    serve = [sys.executable, "-m", "bot.cli", "integration", "serve"]
    supervisor.start("status API", serve, child_env())
    submission = get_settings().submission
    host, port = submission.inbound_host, submission.inbound_port
    return [
        f"  one-stop-shop: delivering to {submission.url}",
        f"  status API:    http://{host}:{port}/api/v1/status-events",
    ]


def _shell(args: argparse.Namespace) -> int:
    from bot.runtime import (
        Supervisor,
        action_server_argv,
        child_env,
        rasa_argv,
        wait_for_port,
    )

    settings, model, endpoints, _ = _prepare()
    supervisor = Supervisor()
    try:
        actions = supervisor.start("action server", action_server_argv(settings), child_env())
        if not wait_for_port("127.0.0.1", settings.action_port, 120, actions):
            raise CommandError(f"the action server did not start on port {settings.action_port}")
        shell = subprocess.run(
            rasa_argv("shell", "--model", str(model), "--endpoints", str(endpoints)),
            env=child_env(),
            check=False,
        )
        return shell.returncode
    finally:
        supervisor.stop()


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="start the assistant (Ctrl-C stops everything)")
    run.set_defaults(handler=_run)
    shell = subparsers.add_parser("shell", help="chat with the assistant in the terminal")
    shell.set_defaults(handler=_shell)
