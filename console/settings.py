"""Console settings: the console's view of core.settings (one set of
variables configures every console process behind a proxy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.settings import SettingsError, settings_for


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
        """Settings from core.settings (`env`: a mapping instead of the process
        environment). Raises ConsoleConfigurationError naming the variable."""
        try:
            settings = settings_for(env)
        except SettingsError as exc:
            raise ConsoleConfigurationError(str(exc)) from None
        console = settings.console
        return cls(
            host=console.host,
            port=console.port,
            database_url=settings.database.url or None,
            tracker_store_url=settings.rasa.tracker_store_url or None,
            idle_minutes=console.idle_minutes,
            max_failed_logins=console.max_failed_logins,
            lockout_minutes=console.lockout_minutes,
            ip_attempts_per_window=console.ip_attempts,
            secure_cookies=console.secure_cookies,
            workers=console.workers,
        )
