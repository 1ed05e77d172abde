"""`tthc run` wiring: with TTHC_SUBMISSION_BACKEND=http it starts the delivery
worker and the status API (real processes, loopback), and refuses a missing URL."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from bot.cli import CommandError
from bot.cli.run_cmd import _start_integration
from bot.runtime import Supervisor, free_port
from tests.conftest import isolated_database


def test_off_without_http_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TTHC_SUBMISSION_BACKEND", raising=False)
    supervisor = Supervisor()
    assert "off" in _start_integration(supervisor)[0]
    assert supervisor.children == []
    monkeypatch.setenv("TTHC_SUBMISSION_BACKEND", "http")
    monkeypatch.delenv("TTHC_SUBMISSION_URL", raising=False)
    with pytest.raises(CommandError, match="TTHC_SUBMISSION_URL"):
        _start_integration(supervisor)


@pytest.mark.slow
def test_starts_worker_and_status_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with isolated_database("sqlite", tmp_path) as database:
        port = free_port()
        monkeypatch.setenv("TTHC_DATABASE_URL", database.url)
        monkeypatch.setenv("TTHC_SUBMISSION_BACKEND", "http")
        monkeypatch.setenv("TTHC_SUBMISSION_URL", "http://127.0.0.1:9/api/dossiers")
        monkeypatch.setenv("TTHC_INBOUND_PORT", str(port))
        supervisor = Supervisor()
        try:
            lines = _start_integration(supervisor)
            assert [name for name, _ in supervisor.children] == ["delivery", "status API"]
            assert any(f":{port}/api/v1/status-events" in line for line in lines)
            deadline = time.monotonic() + 60
            while True:
                assert supervisor.first_exited() is None, supervisor.first_exited()
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline
                    time.sleep(0.3)
            assert health.json() == {"status": "ok"}
            unsigned = httpx.post(f"http://127.0.0.1:{port}/api/v1/status-events", content=b"{}")
            assert unsigned.status_code == 401 and unsigned.json()["error"] == "unauthorized"
            assert supervisor.first_exited() is None  # the worker keeps running
        finally:
            supervisor.stop()
