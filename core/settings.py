"""One typed settings object for every process (issue 15.2).

Every environment variable the product reads is declared here once, with its
type, default and a description; `get_settings()` reads the environment once
per process and caches the result (settings are immutable). The variable names
are the ones the README has always documented (`TTHC_DATABASE_URL`,
`RASA_PORT`, `TELEGRAM_BOT_TOKEN`, ...); `.env.example` is generated from this
model (`tthc settings example`) and a test keeps the committed file current.

Conventions kept from the code this replaces:
- an empty or blank variable counts as unset (the default applies);
- an invalid value fails at start with `SettingsError`, whose message names
  the variable (e.g. ``TTHC_CONSOLE_PORT='abc': value is not a valid integer``);
- secrets (tokens, passwords, shared secrets) are `SecretStr`: their repr and
  str are masked, so logging a settings object never prints them.

Tests either build a `Settings.from_env({...})` from a mapping, or set
environment variables and call `get_settings.cache_clear()` (tests/conftest.py
does it around every test and after every `monkeypatch.setenv`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, BaseSettings, Field, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "tthc.db"


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used. The message
    names each offending variable and why, so a process fails at start with it."""


def env_field(name: str, default: Any, description: str, **constraints: Any) -> Any:
    """A settings field read from environment variable `name` (exact, existing
    spelling), with `default` when unset/blank and `description` for `.env.example`."""
    return Field(default, env=name, description=description, **constraints)


class _Group(BaseModel):
    """A group of related settings; immutable once read."""

    class Config:
        allow_mutation = False
        extra = "forbid"


class DatabaseSettings(_Group):
    """The one database catalog, dossiers, console and training share."""

    url: str = env_field(
        "TTHC_DATABASE_URL",
        "",
        "SQLAlchemy URL of the shared database (e.g. postgresql+psycopg2://user@host/db); "
        "empty = the SQLite file var/tthc.db",
    )


# The groups, in the order `.env.example` lists them.
_GROUPS: dict[str, type[_Group]] = {
    "database": DatabaseSettings,
}


def _env_name(group: type[_Group], field: str) -> str:
    return str(group.__fields__[field].field_info.extra["env"])


def _values_from(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Raw values per group from `env`; blank values count as unset."""
    values: dict[str, dict[str, str]] = {}
    for group_name, group in _GROUPS.items():
        found: dict[str, str] = {}
        for field in group.__fields__:
            raw = env.get(_env_name(group, field))
            if raw is not None and raw.strip():
                found[field] = raw.strip()
        values[group_name] = found
    return values


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _readable(error: ValidationError, env: Mapping[str, str]) -> SettingsError:
    lines = []
    for item in error.errors():
        loc = item["loc"]
        name = ".".join(str(part) for part in loc)
        if len(loc) >= 2 and loc[0] in _GROUPS and loc[1] in _GROUPS[str(loc[0])].__fields__:
            name = _env_name(_GROUPS[str(loc[0])], str(loc[1]))
            raw = env.get(name)
            shown = "***" if "secret" in item.get("type", "") else repr(raw)
            name = f"{name}={shown}" if raw is not None else name
        lines.append(f"{name}: {item['msg']}")
    return SettingsError("invalid settings: " + "; ".join(lines))


class Settings(BaseSettings):
    """Every setting of every process, grouped by concern.

    Build it with `get_settings()` (the process environment, cached) or
    `Settings.from_env(mapping, **overrides)`. Raises `SettingsError`.
    """

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)

    class Config:
        allow_mutation = False
        extra = "forbid"

        @classmethod
        def customise_sources(cls, init_settings, env_settings, file_secret_settings):  # type: ignore[no-untyped-def]
            # The environment is read by `from_env` (exact variable names,
            # blank = unset), not by pydantic's own lower-cased env source.
            return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `env` (default: the process environment) with `overrides`
        ({group: {field: value}}) on top. Raises SettingsError naming the variable."""
        env = os.environ if env is None else env
        try:
            return cls(**_merge(_values_from(env), overrides))
        except ValidationError as exc:
            raise _readable(exc, env) from None

    @property
    def database_url(self) -> str:
        """The database URL: `TTHC_DATABASE_URL`, else the SQLite file under var/."""
        return self.database.url or f"sqlite:///{DEFAULT_SQLITE_PATH}"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once and cached.
    Raises SettingsError at first call when a variable is invalid."""
    return Settings.from_env()
