"""Console settings, read from the environment (one set of variables
configures every console process behind a proxy)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConsoleConfigurationError(ValueError):
    """A console setting is malformed (message names the variable)."""


@dataclass(frozen=True)
class ConsoleSettings:
    """Console process settings.

    - host/port: where it listens (`TTHC_CONSOLE_HOST`, `TTHC_CONSOLE_PORT`, default 127.0.0.1:5080)
    - database_url: the tthc database (None: `TTHC_DATABASE_URL` / var/tthc.db)
    - tracker_store_url: Rasa's SQL tracker store (None: `TTHC_TRACKER_STORE_URL` / var/tracker.db)
    - idle_minutes: a session unused this long is gone (`TTHC_CONSOLE_IDLE_MINUTES`, 30)
    - max_failed_logins / lockout_minutes: an account locks after this many
      consecutive failures, for this long (5, 15)
    - ip_attempts_per_window: failed logins per client address per lockout
      window before the address is throttled (20)
    - secure_cookies: add `Secure` to cookies (`TTHC_CONSOLE_SECURE_COOKIES=1`
      when served over HTTPS by the proxy)
    - workers: Sanic worker processes (`TTHC_CONSOLE_WORKERS`, 1)
    """

    host: str = "127.0.0.1"
    port: int = 5080
    database_url: str | None = None
    tracker_store_url: str | None = None
    idle_minutes: int = 30
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    ip_attempts_per_window: int = 20
    secure_cookies: bool = False
    workers: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ConsoleSettings:
        """Settings from `env` (default os.environ). Raises ConsoleConfigurationError."""
        env = os.environ if env is None else env

        def number(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name, "").strip() or str(default)
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise ConsoleConfigurationError(
                    f"{name} must be a number from {low} to {high}, got {raw!r}"
                )
            return int(raw)

        return cls(
            host=env.get("TTHC_CONSOLE_HOST", "").strip() or "127.0.0.1",
            port=number("TTHC_CONSOLE_PORT", 5080, 1, 65535),
            database_url=env.get("TTHC_DATABASE_URL", "").strip() or None,
            tracker_store_url=env.get("TTHC_TRACKER_STORE_URL", "").strip() or None,
            idle_minutes=number("TTHC_CONSOLE_IDLE_MINUTES", 30, 1, 24 * 60),
            max_failed_logins=number("TTHC_CONSOLE_MAX_FAILED_LOGINS", 5, 1, 100),
            lockout_minutes=number("TTHC_CONSOLE_LOCKOUT_MINUTES", 15, 1, 24 * 60),
            ip_attempts_per_window=number("TTHC_CONSOLE_IP_ATTEMPTS", 20, 1, 10_000),
            secure_cookies=env.get("TTHC_CONSOLE_SECURE_COOKIES", "").strip() in {"1", "true"},
            workers=number("TTHC_CONSOLE_WORKERS", 1, 1, 64),
        )
