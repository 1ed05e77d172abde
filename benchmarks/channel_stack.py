"""The product's servers for the channel benchmarks (fuzz, crash): the action
server and the Rasa server started exactly as `tthc run` starts them
(`bot.runtime`: same argv, generated endpoints/credentials, SQL tracker store),
on free loopback ports, each one killable with SIGKILL and restartable, with
its output in a log file that can be searched for tracebacks afterwards.

The Zalo channel is enabled inside Rasa when `zalo_api_url` is given (the
OA API is then a loopback fake), the REST state endpoint is always there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from bot.runtime import (
    PROJECT_ROOT,
    Settings,
    action_server_argv,
    child_env,
    free_port,
    rasa_argv,
    wait_for_port,
    write_rasa_files,
)

ZALO_APP_ID = "1414"
ZALO_OA_SECRET = "fuzz-oa-secret"


class Stack:
    """Action server + Rasa server of one benchmark run (see module doc)."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        model: Path,
        *,
        api_token: str = "bench-token",
        zalo_api_url: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.model = model
        self.api_token = api_token
        self.settings = Settings(
            rasa_port=free_port(),
            action_port=free_port(),
            host="127.0.0.1",
            tracker_store_url=f"sqlite:///{workdir / 'tracker.db'}",
            lock_store_url=None,
            telegram_token=None,
            zalo_configured=zalo_api_url is not None,
        )
        self.endpoints, self.credentials = write_rasa_files(self.settings, workdir)
        self.env = child_env()
        self.env["TTHC_DATABASE_URL"] = database_url
        if zalo_api_url is not None:
            self.env.update(
                {
                    "ZALO_APP_ID": ZALO_APP_ID,
                    "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET,
                    "ZALO_ACCESS_TOKEN": "fuzz-access-token",
                    "ZALO_API_BASE_URL": zalo_api_url,
                }
            )
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _start(self, name: str, argv: list[str], port: int, timeout: float) -> None:
        log = self.log_path(name).open("ab")
        process = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        if not wait_for_port("127.0.0.1", port, timeout, process):
            raise RuntimeError(f"{name} did not start; see {self.log_path(name)}")

    def start_actions(self) -> None:
        self._start(
            "actions", action_server_argv(self.settings), self.settings.action_port, 120
        )

    def start_rasa(self) -> None:
        argv = rasa_argv(
            "run",
            "--model", str(self.model),
            "--endpoints", str(self.endpoints),
            "--credentials", str(self.credentials),
            "--port", str(self.settings.rasa_port),
            "--interface", "127.0.0.1",
            "--enable-api", "--auth-token", self.api_token,
        )
        self._start("rasa", argv, self.settings.rasa_port, 300)

    def start(self) -> None:
        self.start_actions()
        self.start_rasa()

    def kill9(self, name: str) -> None:
        """SIGKILL the whole process group of `name` (no clean-up runs)."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def rss_mb(self, name: str) -> float:
        """Resident memory of `name`'s main process, in MB (0 when gone)."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return 0.0
        try:
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return 0.0
        return 0.0

    def tracebacks(self) -> dict[str, int]:
        """How many tracebacks each server logged."""
        counts = {}
        for name in ("actions", "rasa"):
            path = self.log_path(name)
            text = path.read_text(errors="replace") if path.exists() else ""
            counts[name] = text.count("Traceback (most recent call last)")
        return counts

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
