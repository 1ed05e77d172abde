"""Starting the assistant: settings, Rasa endpoint files, and a supervisor.

`tthc run` starts the action server, the Rasa server (REST, web chat,
socket.io, and Zalo when configured), the Telegram bot when a token is set, and
the notification dispatcher, each as a child process, and stops them all on
Ctrl-C. State that must survive or be shared lives outside these processes:
conversations in Rasa's tracker store, locks in its lock store, everything else
in the tthc database.

The Rasa endpoint and credential files are generated under `var/` from
environment variables, so one set of variables configures every process and
nothing secret is written into the repository.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from core.db import PROJECT_ROOT, DatabaseUnavailable, check_reachable, make_engine
from core.settings import SettingsError, settings_for

VAR_DIR = PROJECT_ROOT / "var"
MODELS_DIR = PROJECT_ROOT / "models"


class ConfigurationError(RuntimeError):
    """A setting is missing or a service it names is unreachable."""


@dataclass(frozen=True)
class Settings:
    rasa_port: int
    action_port: int
    host: str
    tracker_store_url: str
    lock_store_url: str | None
    telegram_token: str | None = field(repr=False)  # a secret: never in a repr or log
    zalo_configured: bool
    # Rasa server processes (Sanic workers). More than one needs the Redis lock
    # store: Rasa's in-memory locks cannot serialise a conversation across them.
    rasa_workers: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """This run's settings from core.settings (the process environment, or
        the mapping `env`). Raises ConfigurationError naming the variable."""
        try:
            config = settings_for(env)
        except SettingsError as exc:
            raise ConfigurationError(str(exc)) from None
        rasa = config.rasa
        if rasa.workers > 1 and not rasa.lock_store_url:
            raise ConfigurationError(
                "TTHC_RASA_WORKERS > 1 needs TTHC_LOCK_STORE_URL (redis://...): "
                "workers must share conversation locks"
            )
        if config.zalo.configured and config.zalo.missing_for_webhooks:
            # A token without the webhook's keys: every Zalo event would get 403.
            raise ConfigurationError(
                "Zalo is configured (ZALO_ACCESS_TOKEN or ZALO_REFRESH_TOKEN) but its webhook "
                f"needs {', '.join(config.zalo.missing_for_webhooks)}"
            )
        token = config.telegram.bot_token.get_secret_value()
        return cls(
            rasa_port=rasa.port,
            action_port=rasa.action_port,
            host=rasa.host,
            tracker_store_url=rasa.tracker_store,
            lock_store_url=rasa.lock_store_url or None,
            telegram_token=token or None,
            zalo_configured=config.zalo.configured,
            rasa_workers=rasa.workers,
        )


def tracker_store_config(url: str) -> dict[str, Any]:
    """Rasa's SQL tracker store settings for a SQLAlchemy URL."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return {"type": "SQL", "dialect": "sqlite", "db": parsed.database}
    config: dict[str, Any] = {
        "type": "SQL",
        "dialect": parsed.drivername,
        "url": parsed.host or "localhost",  # Rasa's key for the host (it passes host=url)
        "db": parsed.database,
    }
    if parsed.port:
        config["port"] = parsed.port
    if parsed.username:
        config["username"] = parsed.username
    if parsed.password:
        config["password"] = parsed.password
    return config


def lock_store_config(url: str | None) -> dict[str, Any] | None:
    """Redis lock store for several Rasa processes; None keeps Rasa's in-memory
    lock store, which is correct for the single embedded process."""
    if not url:
        return None
    parsed = make_url(url)
    if not parsed.drivername.startswith("redis"):
        raise ConfigurationError(f"TTHC_LOCK_STORE_URL must be redis://..., got {url!r}")
    config: dict[str, Any] = {
        "type": "redis",
        "url": parsed.host or "localhost",
        "port": parsed.port or 6379,
        "db": int(parsed.database or 1),
    }
    if parsed.password:
        config["password"] = parsed.password
    return config


def check_services(settings: Settings) -> None:
    """Fail fast and clearly: Rasa's SQLTrackerStore retries forever when its
    database is down, and a missing Redis only shows on the first message."""
    if not settings.tracker_store_url.startswith("sqlite"):
        try:
            check_reachable(make_engine(settings.tracker_store_url))
        except DatabaseUnavailable as exc:
            raise ConfigurationError(f"tracker store: {exc}") from exc
    lock = lock_store_config(settings.lock_store_url)
    if lock is not None:
        try:
            with socket.create_connection((lock["url"], lock["port"]), timeout=3):
                pass
        except OSError as exc:
            raise ConfigurationError(
                f"lock store: cannot reach Redis at {lock['url']}:{lock['port']} ({exc})"
            ) from exc


def keep_private(directory: Path = VAR_DIR) -> None:
    """Make `directory` (the databases, tracker store, attachments and logs of
    the embedded default: citizens' personal data) readable by this user only,
    and have every file this process and its children create from now on be
    owner-only too (umask 077). Without it `var/tthc.db` and `var/tracker.db`
    were world-readable (mode 644) on a shared host."""
    os.umask(0o077)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)


def busy_listeners(listeners: Mapping[str, tuple[str, int]]) -> list[str]:
    """The listeners among `listeners` ({name: (host, port)}) whose address
    cannot be bound right now, as "name host:port" strings, in the given order.

    Checked before anything starts: a process left over from a killed run
    holds its port, and without this check the new run died halfway with a
    bare "address already in use" traceback from one of its children.
    SO_REUSEADDR is set as the servers set it, so a port in TIME_WAIT is free."""
    busy: list[str] = []
    for name, (host, port) in listeners.items():
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(f"{name} {host}:{port}")
    return busy


def write_rasa_files(
    settings: Settings, directory: Path = VAR_DIR, *, model_store_url: str | None = None
) -> tuple[Path, Path]:
    """Write endpoints.yml and credentials.yml for this run; return their paths.
    `model_store_url`: every Rasa worker pulls its model from there (issue 12's
    model bank, training/model_server.py) instead of loading `--model`."""
    directory.mkdir(parents=True, exist_ok=True)
    endpoints: dict[str, Any] = {
        "action_endpoint": {"url": f"http://127.0.0.1:{settings.action_port}/webhook"},
        "tracker_store": tracker_store_config(settings.tracker_store_url),
    }
    if model_store_url:
        endpoints["models"] = {"url": model_store_url, "wait_time_between_pulls": 10}
    lock = lock_store_config(settings.lock_store_url)
    if lock is not None:
        endpoints["lock_store"] = lock
    credentials: dict[str, Any] = {
        "bot.web.channel.RestChannel": None,
        "bot.web.channel.WebChatChannel": None,
        "bot.web.channel.SocketIOChannel": {  # Rasa's socketio + outbox push
            "user_message_evt": "user_uttered",
            "bot_message_evt": "bot_uttered",
            "session_persistence": True,
        },
    }
    if settings.zalo_configured:
        credentials["bot.channels.zalo.ZaloInput"] = None
    endpoints_path = directory / "endpoints.yml"
    credentials_path = directory / "credentials.yml"
    header = "# Generated by `tthc run` from environment variables; edits are overwritten.\n"
    endpoints_path.write_text(header + yaml.safe_dump(endpoints, sort_keys=False))
    credentials_path.write_text(header + yaml.safe_dump(credentials, sort_keys=False))
    return endpoints_path, credentials_path


def latest_model(models_dir: Path = MODELS_DIR) -> Path | None:
    """The newest model archive in `models_dir` (or `models_dir` itself when it
    is a model file); None when there is none."""
    if models_dir.is_file():
        return models_dir
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen) -> bool:
    """True once something listens on host:port; False if `process` died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def stop_children_on_sigterm() -> None:
    """Make SIGTERM raise SystemExit in this (main-thread) process, so its
    `with loopback_stack(...)`/`Supervisor` clean-ups stop the servers it
    started. Those servers run in sessions of their own (so that Ctrl-C reaches
    the parent first); without this a terminated parent left them running.
    Found when `tthc run` was stopped during a console training's dialogue
    evaluation: its action and Rasa servers stayed up."""

    def _exit(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


class Supervisor:
    """Child processes started in their own process groups, stopped together."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(
        self, name: str, argv: list[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen:
        process = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=dict(env or os.environ),
            start_new_session=True,  # Ctrl-C reaches us; we stop children in order
        )
        self.children.append((name, process))
        return process

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.children:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop(self, timeout: float = 15.0) -> None:
        for _, process in reversed(self.children):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, process in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def rasa_argv(*args: str) -> list[str]:
    """Rasa's command line, started through bot.rasa_server (our per-message fixes)."""
    return [sys.executable, "-m", "bot.rasa_server", *args]


def action_server_argv(settings: Settings) -> list[str]:
    port = str(settings.action_port)
    return [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", port]


def action_server_env(env: Mapping[str, str]) -> dict[str, str]:
    """The action server's environment: `env` plus its bind address.

    Only the Rasa server started beside it calls the action server, at
    127.0.0.1 (the `action_endpoint` of the generated endpoints), so it
    listens on loopback alone; rasa-sdk 3.6's command line has no host option
    and binds 0.0.0.0 unless `SANIC_HOST` says otherwise."""
    return {**env, "SANIC_HOST": "127.0.0.1"}


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQLALCHEMY_WARN_20", "0")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def start_servers(
    supervisor: Supervisor,
    settings: Settings,
    model: Path,
    endpoints: Path,
    credentials: Path,
    env: Mapping[str, str],
    *,
    api_token: str | None = None,
) -> None:
    """Start the action server, then the Rasa server, and wait until both
    listen. `api_token` enables Rasa's HTTP API (tests read trackers with it).
    Raises ConfigurationError when either does not come up."""
    actions = supervisor.start(
        "action server", action_server_argv(settings), action_server_env(env)
    )
    if not wait_for_port("127.0.0.1", settings.action_port, 120, actions):
        raise ConfigurationError(f"the action server did not start on port {settings.action_port}")
    argv = rasa_argv(
        "run",
        "--model", str(model),
        "--endpoints", str(endpoints),
        "--credentials", str(credentials),
        "--port", str(settings.rasa_port),
        "--interface", settings.host,
    )
    if api_token:
        argv += ["--enable-api", "--auth-token", api_token]
    rasa_env = dict(env)
    rasa_env["SANIC_WORKERS"] = str(settings.rasa_workers)  # Rasa's own variable
    rasa = supervisor.start("rasa server", argv, rasa_env)
    if not wait_for_port(settings.host, settings.rasa_port, 300, rasa):
        raise ConfigurationError(f"the Rasa server did not start on port {settings.rasa_port}")


def free_port() -> int:
    """A TCP port free on the loopback interface right now (tests, benchmarks)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def loopback_stack(
    workdir: Path,
    database_url: str,
    model: Path,
    *,
    api_token: str | None = None,
    tracker_store_url: str | None = None,
    lock_store_url: str | None = None,
    rasa_workers: int = 1,
) -> Iterator[str]:
    """The action server and Rasa server on free loopback ports, over the tthc
    database at `database_url`, conversations in a SQLite tracker store under
    `workdir` unless `tracker_store_url` names another; yields Rasa's base URL
    and stops both on exit. For end-to-end tests and benchmarks, which must not
    touch the `make run` ports or data."""
    settings = Settings(
        rasa_port=free_port(),
        action_port=free_port(),
        host="127.0.0.1",
        tracker_store_url=tracker_store_url or f"sqlite:///{workdir / 'tracker.db'}",
        lock_store_url=lock_store_url,
        telegram_token=None,
        zalo_configured=False,
        rasa_workers=rasa_workers,
    )
    check_services(settings)
    endpoints, credentials = write_rasa_files(settings, workdir)
    env = child_env()
    env["TTHC_DATABASE_URL"] = database_url
    supervisor = Supervisor()
    try:
        start_servers(
            supervisor, settings, model, endpoints, credentials, env, api_token=api_token
        )
        yield f"http://127.0.0.1:{settings.rasa_port}"
    finally:
        supervisor.stop()
