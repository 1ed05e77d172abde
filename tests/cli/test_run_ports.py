"""`tthc run` refuses to start when a port it needs is taken (fresh-user trial:
after a killed run the next one died halfway with a bare 'address already in
use' traceback from the model store)."""

from __future__ import annotations

import socket

import pytest

from bot.cli import run_cmd
from bot.runtime import Settings, busy_listeners, free_port


def test_a_taken_port_is_named_and_a_free_one_is_not() -> None:
    taken, free = free_port(), free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        busy = busy_listeners({"console": ("127.0.0.1", taken), "model store": ("127.0.0.1", free)})
    assert busy == [f"console 127.0.0.1:{taken}"]
    assert busy_listeners({"console": ("127.0.0.1", taken)}) == []  # released


def test_every_server_tthc_run_starts_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_PORT", "15005")
    monkeypatch.setenv("ACTION_PORT", "15055")
    monkeypatch.setenv("TTHC_CONSOLE_PORT", "15080")
    monkeypatch.setenv("TTHC_MODEL_STORE_PORT", "15056")
    monkeypatch.setenv("TTHC_SUBMISSION_BACKEND", "http")
    monkeypatch.setenv("TTHC_SUBMISSION_URL", "http://127.0.0.1:9/api/dossiers")
    monkeypatch.setenv("TTHC_INBOUND_PORT", "15010")
    ports = {name: port for name, (_, port) in run_cmd._listeners(Settings.from_env()).items()}
    assert ports == {
        "Rasa server": 15005,
        "action server": 15055,
        "console": 15080,
        "model store": 15056,
        "status API": 15010,
    }
    monkeypatch.setenv("TTHC_MODEL_STORE", "off")
    monkeypatch.delenv("TTHC_SUBMISSION_BACKEND")
    assert set(run_cmd._listeners(Settings.from_env())) == {
        "Rasa server", "action server", "console",
    }


def test_the_data_folder_is_kept_private(tmp_path) -> None:
    import os
    import stat

    from bot.runtime import keep_private

    folder = tmp_path / "var"
    folder.mkdir(mode=0o755)
    previous = os.umask(0o022)
    try:
        keep_private(folder)
        (folder / "tracker.db").write_text("x")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "tracker.db").stat().st_mode) == 0o600
    finally:
        os.umask(previous)
