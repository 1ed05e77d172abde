"""A process that started servers through bot.runtime.Supervisor stops them
when it is terminated (fresh-user trial: stopping `tthc run` during a console
training's dialogue evaluation left that evaluation's servers running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import sys, time
from bot.runtime import Supervisor, stop_children_on_sigterm
stop_children_on_sigterm()
supervisor = Supervisor()
try:
    server = supervisor.start("server", [sys.executable, "-c", "import time; time.sleep(120)"])
    print(server.pid, flush=True)
    time.sleep(120)
finally:
    supervisor.stop()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose (its parent, the Supervisor, reaps it).
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


def test_terminated_parent_stops_the_servers_it_started() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert parent.stdout is not None
    server = int(parent.stdout.readline())
    assert _alive(server)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(server):
        os.kill(server, signal.SIGKILL)
        raise AssertionError("the server outlived its terminated parent")
