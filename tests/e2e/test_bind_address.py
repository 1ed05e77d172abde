"""The action server listens on loopback only, not on every interface.

rasa-sdk 3.6's command line has no host option and binds 0.0.0.0 unless
SANIC_HOST is set (fresh-user trial of issue 11): `tthc run` must set it,
whatever TTHC_HOST says (that is the Rasa server's address).
The listening address is read from the kernel's socket table (/proc/net/tcp).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.runtime import (
    Settings,
    Supervisor,
    action_server_argv,
    action_server_env,
    child_env,
    free_port,
    wait_for_port,
)

PROC_TCP = Path("/proc/net/tcp")
LISTEN = "0A"


def listening_addresses(port: int) -> set[str]:
    """IPv4 addresses with a socket listening on `port`, from /proc/net/tcp."""
    found: set[str] = set()
    for line in PROC_TCP.read_text().splitlines()[1:]:
        fields = line.split()
        address, port_hex = fields[1].split(":")
        if int(port_hex, 16) == port and fields[3] == LISTEN:
            # Little-endian hex of the IPv4 address.
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.mark.skipif(not PROC_TCP.exists(), reason="needs Linux /proc/net/tcp")
def test_action_server_binds_the_configured_host_only() -> None:
    port = free_port()
    settings = Settings.from_env({"ACTION_PORT": str(port), "TTHC_HOST": "0.0.0.0"})
    supervisor = Supervisor()
    try:
        process = supervisor.start(
            "action server", action_server_argv(settings), action_server_env(child_env())
        )
        assert wait_for_port("127.0.0.1", port, 120, process), "action server did not start"
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        supervisor.stop()
