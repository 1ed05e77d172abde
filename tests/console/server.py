"""Start the console on a loopback port and talk to it like a browser would.

Used by tests/console/* and by the hand-off tests (tests/handoff/*):

    from tests.console.server import ConsoleClient, console_server, add_staff

    with console_server(database.url, ports=range(18400, 18500)) as base:
        add_staff(database.url, "officer1", "officer")
        client = ConsoleClient(base)
        client.login("officer1")                 # password: PASSWORD
        page = client.get("/handoffs")           # httpx.Response
        client.post("/handoffs/3/claim", {"note": "..."})  # CSRF added

The server is the real thing (`python -m console`) in a child process: real
sockets, real cookies, real migrations; several servers may share a database.
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from core.db import make_engine, make_session_factory, session_scope

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Mat-khau-thu-1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port(ports: range, exclude: Collection[int] = ()) -> int:
    """A port of `ports` nothing listens on (tried in random order), other than
    `exclude` (ports already handed out to processes not yet listening)."""
    candidates = [port for port in ports if port not in exclude]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports}")


@contextmanager
def console_server(
    database_url: str,
    *,
    tracker_store_url: str | None = None,
    ports: range = range(18300, 18400),
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Iterator[str]:
    """Run `python -m console` on 127.0.0.1; yields its base URL; stops it after."""
    port = free_port(ports)
    child_env = {
        **os.environ,
        "TTHC_DATABASE_URL": database_url,
        "TTHC_CONSOLE_PORT": str(port),
        "TTHC_CONSOLE_HOST": "127.0.0.1",
        "PYTHONPATH": str(PROJECT_ROOT),
        **(env or {}),
    }
    if tracker_store_url:
        child_env["TTHC_TRACKER_STORE_URL"] = tracker_store_url
    process = subprocess.Popen(
        [sys.executable, "-m", "console"],
        cwd=PROJECT_ROOT,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"console exited with {process.returncode}:\n{output[-3000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("console did not start in time")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def add_staff(
    database_url: str,
    username: str,
    role: str,
    *,
    agency: str | None = None,
    password: str = PASSWORD,
) -> None:
    """Create an account directly in the database (as `tthc staff add` does)."""
    from console.audit import SystemActor
    from console.auth import add_staff as _add

    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            _add(db, SystemActor("tests"), username, password, role, agency=agency)
    finally:
        engine.dispose()


class ConsoleClient:
    """A cookie-keeping HTTP client that logs in and adds the CSRF token to posts."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def _remember_csrf(self, response: httpx.Response) -> None:
        match = CSRF_RE.search(response.text or "")
        if match:
            self.csrf = match.group(1)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        """Log in through the form; raises AssertionError unless it succeeded."""
        response = self.try_login(username, password)
        assert response.status_code == 303, (response.status_code, response.text[:500])
        self._remember_csrf(self.http.get("/account/password"))
        return response

    def try_login(self, username: str, password: str) -> httpx.Response:
        page = self.http.get("/login")
        self._remember_csrf(page)
        return self.http.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": self.csrf},
        )

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = self.http.get(path, **kwargs)  # type: ignore[arg-type]
        if response.headers.get("content-type", "").startswith("text/html"):
            self._remember_csrf(response)
        return response

    def post(
        self, path: str, data: Mapping[str, object] | list | None = None, *, csrf: bool = True,
        **kwargs: object,
    ) -> httpx.Response:
        """POST a form; `data` may be a list of (name, value) pairs for repeated fields."""
        items = list(data.items()) if isinstance(data, Mapping) else list(data or [])
        if csrf:
            items.append(("csrf_token", self.csrf))
        body = "&".join(
            f"{httpx.QueryParams({k: str(v)})}" for k, v in items
        )
        return self.http.post(
            path, content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"}, **kwargs,  # type: ignore[arg-type]
        )
