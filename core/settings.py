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
import shlex
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BaseSettings, Field, SecretStr, ValidationError, validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_SQLITE_PATH = VAR_DIR / "tthc.db"
DEFAULT_TRACKER_PATH = VAR_DIR / "tracker.db"
DEFAULT_RASA_URL = "http://localhost:5005"
DEFAULT_TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_ZALO_API_BASE_URL = "https://openapi.zalo.me"
DEFAULT_ZALO_OAUTH_BASE_URL = "https://oauth.zaloapp.com"
# Same figure as bot/channels/inbound.LIMITS (core may not import bot/).
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
SUBMISSION_BACKENDS = ("local", "http")
RETENTION_MODES = ("anonymise", "delete")


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used. The message
    names each offending variable and why, so a process fails at start with it."""


def env_field(
    name: str | tuple[str, ...], default: Any, description: str, **constraints: Any
) -> Any:
    """A settings field read from environment variable `name` (the existing
    spelling; a tuple = several names, the first non-blank wins), `default`
    when unset or blank, `description` for `.env.example`."""
    return Field(default, env=name, description=description, **constraints)


def _sqlalchemy_url(value: str) -> str:
    if value:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL (e.g. postgresql+psycopg2://user@host/db)"
            ) from None
    return value


def _http_url(value: str) -> str:
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("not an http(s):// URL")
    return value


class _Group(BaseModel):
    """A group of related settings; immutable once read."""

    class Config:
        allow_mutation = False
        extra = "forbid"


class DatabaseSettings(_Group):
    """Database (shared by catalog, dossiers, outbox, console and the channels' tables)."""

    url: str = env_field(
        "TTHC_DATABASE_URL",
        "",
        "SQLAlchemy URL; empty = SQLite file var/tthc.db. "
        "e.g. postgresql+psycopg2://tthc:CHANGE_ME@127.0.0.1:5432/tthc",
    )
    _check_url = validator("url", allow_reuse=True)(_sqlalchemy_url)


class RasaSettings(_Group):
    """`tthc run` (make run): ports, stores and the scale-out path."""

    port: int = env_field("RASA_PORT", 5005, "Port of the Rasa server.", ge=1, le=65535)
    action_port: int = env_field("ACTION_PORT", 5055, "Port of the action server.", ge=1, le=65535)
    host: str = env_field(
        "TTHC_HOST", "127.0.0.1", "Host name printed in the URLs `tthc run` shows."
    )
    tracker_store_url: str = env_field(
        "TTHC_TRACKER_STORE_URL",
        "",
        "Rasa's conversations (SQLAlchemy URL); empty = SQLite file var/tracker.db. "
        "e.g. postgresql+psycopg2://tthc:CHANGE_ME@127.0.0.1:5432/tthc_tracker",
    )
    lock_store_url: str = env_field(
        "TTHC_LOCK_STORE_URL",
        "",
        "Rasa's conversation locks; empty = in-memory (one Rasa process only). "
        "e.g. redis://127.0.0.1:6379/1",
    )
    workers: int = env_field(
        "TTHC_RASA_WORKERS",
        1,
        "Rasa server processes; more than 1 needs TTHC_LOCK_STORE_URL.",
        ge=1,
        le=64,
    )
    url: str = env_field(
        "RASA_URL",
        DEFAULT_RASA_URL,
        "Base URL of the Rasa server for channel processes (`tthc telegram` posts to "
        "{RASA_URL}/webhooks/rest/webhook).",
    )
    token: SecretStr = env_field(
        "RASA_TOKEN",
        SecretStr(""),
        "Optional token of Rasa's HTTP API for channel processes (rasa run --enable-api "
        "--auth-token ...): with it the Telegram bot asks the tracker whether a dossier form "
        "is active before accepting an attachment.",
    )
    forwarder_secret: SecretStr = env_field(
        "TTHC_FORWARDER_SECRET",
        SecretStr(""),
        "Shared secret the Telegram process sends (X-TTHC-Forwarder-Secret) so that Rasa "
        'records its messages as channel "telegram"; set it on both processes whenever the '
        "REST channel is reachable from other hosts; empty = trust the claim (REST on localhost).",
    )
    _check_stores = validator("tracker_store_url", "lock_store_url", allow_reuse=True)(
        _sqlalchemy_url
    )
    _check_url = validator("url", allow_reuse=True)(_http_url)

    @property
    def tracker_store(self) -> str:
        """The tracker store URL, else the SQLite file var/tracker.db."""
        return self.tracker_store_url or f"sqlite:///{DEFAULT_TRACKER_PATH}"


class TelegramSettings(_Group):
    """Telegram (`tthc telegram`; outbox notifications via `tthc notify`)."""

    bot_token: SecretStr = env_field(
        "TELEGRAM_BOT_TOKEN",
        SecretStr(""),
        'Bot token from @BotFather ("123456:ABC..."); set = the Telegram channel is on.',
    )
    api_base_url: str = env_field(
        "TELEGRAM_API_BASE_URL",
        DEFAULT_TELEGRAM_API_BASE_URL,
        "Bot API base URL; the token is appended. Change for a local Bot API server.",
    )
    api_file_base_url: str = env_field(
        "TELEGRAM_API_FILE_BASE_URL",
        "",
        "File download base; empty = derived from the API base (.../file/bot).",
    )
    webhook_url: str = env_field(
        "TELEGRAM_WEBHOOK_URL",
        "",
        "Empty = long polling. The public HTTPS URL to use a webhook instead, "
        "e.g. https://bot.example.gov.vn/telegram/webhook (the local path is the same).",
    )
    webhook_secret: SecretStr = env_field(
        "TELEGRAM_WEBHOOK_SECRET",
        SecretStr(""),
        "Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (1-256 characters "
        "A-Z a-z 0-9 _ -). Requests without it get 403. Strongly recommended.",
    )
    webhook_listen: str = env_field(
        "TELEGRAM_WEBHOOK_LISTEN", "0.0.0.0", "Where the webhook server listens (behind the proxy)."
    )
    webhook_port: int = env_field(
        "TELEGRAM_WEBHOOK_PORT", 8443, "Port of the webhook server.", ge=1, le=65535
    )
    max_attachment_bytes: int = env_field(
        "TELEGRAM_MAX_ATTACHMENT_BYTES",
        DEFAULT_MAX_ATTACHMENT_BYTES,
        "Largest attachment accepted, in bytes (Telegram bots can download at most 20 MB).",
        ge=1,
    )
    _check_urls = validator("api_base_url", "api_file_base_url", "webhook_url", allow_reuse=True)(
        _http_url
    )

    @property
    def configured(self) -> bool:
        """THE definition of "Telegram is on": a bot token is set."""
        return bool(self.bot_token.get_secret_value())


class ZaloSettings(_Group):
    """Zalo Official Account (input channel bot.channels.zalo.ZaloInput; `tthc notify`)."""

    app_id: str = env_field("ZALO_APP_ID", "", "Zalo app id (developers.zalo.me).")
    app_secret: SecretStr = env_field(
        "ZALO_APP_SECRET",
        SecretStr(""),
        "Zalo app secret key, sent as `secret_key` when refreshing the OA access token.",
    )
    oa_secret_key: SecretStr = env_field(
        "ZALO_OA_SECRET_KEY",
        SecretStr(""),
        "OA secret key used to verify X-ZEvent-Signature on webhook events.",
    )
    access_token: SecretStr = env_field(
        "ZALO_ACCESS_TOKEN",
        SecretStr(""),
        "Initial OA access token; only seeds the database (after the first refresh the "
        "current pair lives in the table channel_oauth_tokens).",
    )
    refresh_token: SecretStr = env_field(
        "ZALO_REFRESH_TOKEN",
        SecretStr(""),
        "Initial OA refresh token (single-use; seeds the database).",
    )
    api_base_url: str = env_field(
        "ZALO_API_BASE_URL",
        DEFAULT_ZALO_API_BASE_URL,
        "OA API base (change only for tests or a proxy).",
    )
    oauth_base_url: str = env_field(
        "ZALO_OAUTH_BASE_URL",
        DEFAULT_ZALO_OAUTH_BASE_URL,
        "OAuth base (change only for tests or a proxy).",
    )
    _check_urls = validator("api_base_url", "oauth_base_url", allow_reuse=True)(_http_url)

    @property
    def configured(self) -> bool:
        """THE definition of "Zalo is on": an OA token (access or refresh) is
        set, so the OA can be messaged. Receiving webhooks also needs
        `missing_for_webhooks` empty; `tthc run` refuses a half configuration."""
        return bool(self.access_token.get_secret_value() or self.refresh_token.get_secret_value())

    @property
    def missing_for_webhooks(self) -> list[str]:
        """Variables the Zalo input channel still needs when Zalo is configured."""
        missing = []
        if not self.app_id:
            missing.append("ZALO_APP_ID")
        if not self.oa_secret_key.get_secret_value():
            missing.append("ZALO_OA_SECRET_KEY")
        return missing


class SubmissionSettings(_Group):
    """One-stop-shop integration (README "One-stop-shop integration")."""

    backend: str = env_field(
        "TTHC_SUBMISSION_BACKEND", "local", "Where dossiers go: local (this database) or http."
    )
    url: str = env_field(
        "TTHC_SUBMISSION_URL",
        "",
        "The one-stop-shop's submission endpoint (needed by backend http), "
        "e.g. https://motcua.example.gov.vn/api/dossiers",
    )
    token: SecretStr = env_field(
        "TTHC_SUBMISSION_TOKEN", SecretStr(""), "Bearer token for the one-stop-shop's API."
    )
    timeout: float = env_field(
        "TTHC_SUBMISSION_TIMEOUT", 10.0, "Seconds per submission request.", gt=0
    )
    retries: int = env_field(
        "TTHC_SUBMISSION_RETRIES", 2, "Retries of one request on a transient failure.", ge=0
    )
    delivery_interval: float = env_field(
        "TTHC_DELIVERY_INTERVAL", 2.0, "Seconds between delivery worker polls.", gt=0
    )
    delivery_max_attempts: float = env_field(
        "TTHC_DELIVERY_MAX_ATTEMPTS", 40, "Attempts before a delivery is given up.", gt=0
    )
    delivery_backoff: float = env_field(
        "TTHC_DELIVERY_BACKOFF", 15, "First retry delay of a failed delivery, in seconds.", gt=0
    )
    delivery_max_backoff: float = env_field(
        "TTHC_DELIVERY_MAX_BACKOFF", 600, "Longest retry delay, in seconds.", gt=0
    )
    delivery_lease: float = env_field(
        "TTHC_DELIVERY_LEASE", 120, "Seconds a worker holds a claimed delivery.", gt=0
    )
    inbound_host: str = env_field(
        "TTHC_INBOUND_HOST",
        "127.0.0.1",
        "Where the status API (status events from the one-stop-shop) listens.",
    )
    inbound_port: int = env_field(
        "TTHC_INBOUND_PORT", 5010, "Port of the status API.", ge=1, le=65535
    )
    _check_url = validator("url", allow_reuse=True)(_http_url)

    @validator("backend", allow_reuse=True)
    def _known_backend(cls, value: str) -> str:
        value = value.lower()
        if value not in SUBMISSION_BACKENDS:
            raise ValueError(f"must be 'local' or 'http', not {value!r}")
        return value


class HandoffSettings(_Group):
    """Hand-offs to officers (dossiers/handoff.py)."""

    office_hours_file: Path | None = env_field(
        "TTHC_OFFICE_HOURS_FILE",
        None,
        "Office hours and holidays, a YAML file shaped like dossiers/office_hours.yml; "
        "empty = that bundled file. e.g. /etc/tthc/office_hours.yml",
    )
    officers_telegram_chat: str = env_field(
        "TTHC_OFFICERS_TELEGRAM_CHAT",
        "",
        "Officers' Telegram group alerted on each new hand-off (chat id, e.g. -100123...; needs "
        "TELEGRAM_BOT_TOKEN and the bot in that group). Empty = console only.",
    )


class AttachmentSettings(_Group):
    """Files citizens upload."""

    dir: Path = env_field(
        "TTHC_ATTACHMENTS_DIR",
        VAR_DIR / "attachments",
        "Where files citizens upload (scans, photos) are stored.",
    )


class ConsoleSettings(_Group):
    """The officers' console (`tthc console`)."""

    host: str = env_field("TTHC_CONSOLE_HOST", "127.0.0.1", "Where the console listens.")
    port: int = env_field("TTHC_CONSOLE_PORT", 5080, "Port of the console.", ge=1, le=65535)
    idle_minutes: int = env_field(
        "TTHC_CONSOLE_IDLE_MINUTES", 30, "A session unused this long is gone.", ge=1, le=24 * 60
    )
    max_failed_logins: int = env_field(
        "TTHC_CONSOLE_MAX_FAILED_LOGINS",
        5,
        "Consecutive failures that lock an account.",
        ge=1,
        le=100,
    )
    lockout_minutes: int = env_field(
        "TTHC_CONSOLE_LOCKOUT_MINUTES",
        15,
        "How long a locked account stays locked.",
        ge=1,
        le=24 * 60,
    )
    ip_attempts: int = env_field(
        "TTHC_CONSOLE_IP_ATTEMPTS",
        20,
        "Failed logins per client address per lockout window before it is throttled.",
        ge=1,
        le=10_000,
    )
    secure_cookies: bool = env_field(
        "TTHC_CONSOLE_SECURE_COOKIES",
        False,
        "1 = cookies get `Secure` (console served over HTTPS).",
    )
    workers: int = env_field("TTHC_CONSOLE_WORKERS", 1, "Sanic worker processes.", ge=1, le=64)


def _split_urls(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(u.strip().rstrip("/") for u in value.split(",") if u.strip())
    return value


class TrainingSettings(_Group):
    """The maintainers' loop (training/): labelled data, the model bank and its gate."""

    nlu_file: Path = env_field(
        "TTHC_TRAINING_NLU_FILE",
        PROJECT_ROOT / "nlu_data" / "nlu" / "from_console.yml",
        "Where labelled examples from the console go.",
    )
    overrides_file: Path = env_field(
        "TTHC_OVERRIDES_FILE",
        PROJECT_ROOT / "catalog" / "overrides.yml",
        "The curation overlay aliases are added to.",
    )
    model_bank: Path = env_field(
        "TTHC_MODEL_BANK_DIR", VAR_DIR / "model_bank", "Model archives of the bank."
    )
    config: Path = env_field(
        "TTHC_TRAINING_CONFIG",
        PROJECT_ROOT / "config.yml",
        "Rasa config for console-started training.",
    )
    data: Path = env_field(
        "TTHC_TRAINING_DATA", PROJECT_ROOT / "nlu_data", "Training data directory."
    )
    gate_margin: float = env_field(
        "TTHC_GATE_MARGIN",
        0.02,
        "Largest allowed drop of any gated figure (0.02 = 2 points).",
        ge=0,
        le=1,
    )
    gate_intent_margin: float = env_field(
        "TTHC_GATE_INTENT_MARGIN", 0.10, "Largest allowed drop of one intent's F1.", ge=0, le=1
    )
    rasa_urls: tuple[str, ...] = env_field(
        "TTHC_RASA_URLS",
        (),
        "Comma-separated Rasa base URLs to push an activated model to with `PUT /model` "
        "(optional; workers also pull from the model store).",
    )
    rasa_token: SecretStr = env_field(
        ("TTHC_RASA_TOKEN", "RASA_AUTH_TOKEN"),
        SecretStr(""),
        "Token of Rasa's HTTP API (`--auth-token`) for model pushes; RASA_AUTH_TOKEN is read too.",
    )
    train_args: tuple[str, ...] = env_field(
        "TTHC_TRAINING_ARGS",
        (),
        'Extra `tthc train` arguments for console jobs (e.g. "--nlu-only").',
    )
    test_set: Path = env_field(
        "TTHC_TRAINING_TEST_SET",
        PROJECT_ROOT / "tests" / "nlu" / "test_set.yml",
        "Held-out set of the gate.",
    )
    real_messages: Path = env_field(
        "TTHC_TRAINING_REAL_MESSAGES",
        PROJECT_ROOT / "tests" / "nlu" / "real_messages.yml",
        "Real-message set of the gate.",
    )
    bootstrap_models: Path = env_field(
        "TTHC_BOOTSTRAP_MODELS",
        PROJECT_ROOT / "models",
        "Where the first live model comes from when the bank has none "
        "(the model `tthc train` shipped).",
    )
    model_store: bool = env_field(
        "TTHC_MODEL_STORE", True, "0/off = `tthc run` starts no model store and no training worker."
    )
    dialogue_eval: bool = env_field(
        "TTHC_GATE_DIALOGUE",
        True,
        "0/off = the gate evaluates full models on the parse level only (the dialogue level "
        "runs the real servers, ~4 min a model).",
    )
    dialogue_limit: int | None = env_field(
        "TTHC_GATE_DIALOGUE_LIMIT",
        None,
        "Only the first N messages of each dialogue set in the gate (default: all).",
        ge=1,
    )
    model_store_port: int = env_field(
        "TTHC_MODEL_STORE_PORT",
        5056,
        "Port of the model store the Rasa workers load from.",
        ge=1,
        le=65535,
    )
    inbox_low_confidence: float = env_field(
        "TTHC_INBOX_LOW_CONFIDENCE",
        0.6,
        "Intent confidence below which a message goes to the inbox.",
    )
    inbox_low_procedure_score: float = env_field(
        "TTHC_INBOX_LOW_PROCEDURE_SCORE",
        60.0,
        "Procedure match score below which a message goes to the inbox.",
    )
    inbox_near_duplicate: float = env_field(
        "TTHC_INBOX_NEAR_DUPLICATE", 92.0, "Similarity from which two inbox messages are one group."
    )
    retention_days: int = env_field(
        "TTHC_RETENTION_DAYS",
        90,
        "Days conversations without a dossier are kept (0 = forever).",
        ge=0,
    )
    retention_days_with_dossier: int = env_field(
        "TTHC_RETENTION_DAYS_WITH_DOSSIER",
        730,
        "Days conversations with a dossier are kept (0 = forever).",
        ge=0,
    )
    retention_mode: str = env_field(
        "TTHC_RETENTION_MODE",
        "anonymise",
        "What retention does to old conversations: anonymise or delete.",
    )
    _urls = validator("rasa_urls", pre=True, allow_reuse=True)(_split_urls)

    @validator("rasa_urls", each_item=True, allow_reuse=True)
    def _each_url(cls, value: str) -> str:
        return _http_url(value)

    @validator("train_args", pre=True, allow_reuse=True)
    def _shell_words(cls, value: Any) -> Any:
        return tuple(shlex.split(value)) if isinstance(value, str) else value

    @validator("retention_mode", allow_reuse=True)
    def _known_mode(cls, value: str) -> str:
        value = value.lower()
        if value not in RETENTION_MODES:
            raise ValueError(f"must be one of {RETENTION_MODES}, got {value!r}")
        return value


RATE_LIMIT_STORES = ("", "database", "redis")


class RateLimitSettings(_Group):
    """Rate limits of the file upload endpoint and the inbound status API (core/ratelimit.py)."""

    store: str = env_field(
        "TTHC_RATE_LIMIT_STORE",
        "",
        "Where the counters every process shares live: database or redis; empty = redis when "
        "TTHC_LOCK_STORE_URL is set, else the database.",
    )
    window_seconds: int = env_field(
        "TTHC_RATE_LIMIT_WINDOW_SECONDS", 60, "Length of one counting window.", ge=1, le=86400
    )
    upload_per_sender: int = env_field(
        "TTHC_RATE_LIMIT_UPLOAD_PER_SENDER",
        10,
        "Files one chat sender may upload per window; 0 = no limit.",
        ge=0,
    )
    upload_per_dossier: int = env_field(
        "TTHC_RATE_LIMIT_UPLOAD_PER_DOSSIER",
        20,
        "Files one dossier's supplement may receive per window; 0 = no limit.",
        ge=0,
    )
    upload_per_address: int = env_field(
        "TTHC_RATE_LIMIT_UPLOAD_PER_ADDRESS",
        30,
        "Uploads from one remote address per window; 0 = no limit.",
        ge=0,
    )
    inbound_per_client: int = env_field(
        "TTHC_RATE_LIMIT_INBOUND_PER_CLIENT",
        120,
        "Status events one authenticated one-stop-shop client may send per window; 0 = no limit.",
        ge=0,
    )
    inbound_failed_per_address: int = env_field(
        "TTHC_RATE_LIMIT_INBOUND_FAILED_PER_ADDRESS",
        10,
        "Refused authentications of the status API from one remote address per window; "
        "0 = no limit.",
        ge=0,
    )

    @validator("store")
    def _known_store(cls, value: str) -> str:
        if value not in RATE_LIMIT_STORES:
            raise ValueError(f"must be 'database' or 'redis', not {value!r}")
        return value


class ClockSettings(_Group):
    """Clock (tests and demos)."""

    today: date | None = env_field(
        "TTHC_TODAY",
        None,
        "Fixes today's date (YYYY-MM-DD) for fee answers; empty = the real date in Vietnam.",
    )


# The groups, in the order `.env.example` lists them.
GROUPS: dict[str, type[_Group]] = {
    "database": DatabaseSettings,
    "rasa": RasaSettings,
    "telegram": TelegramSettings,
    "zalo": ZaloSettings,
    "submission": SubmissionSettings,
    "handoff": HandoffSettings,
    "attachments": AttachmentSettings,
    "console": ConsoleSettings,
    "training": TrainingSettings,
    "rate_limits": RateLimitSettings,
    "clock": ClockSettings,
}


def env_names(group: type[_Group], field: str) -> tuple[str, ...]:
    """The environment variable name(s) of `field` in `group`, the first preferred."""
    names = group.__fields__[field].field_info.extra["env"]
    return (names,) if isinstance(names, str) else tuple(names)


def _values_from(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Raw values per group from `env`; blank values count as unset."""
    values: dict[str, dict[str, str]] = {}
    for group_name, group in GROUPS.items():
        found: dict[str, str] = {}
        for field in group.__fields__:
            for name in env_names(group, field):
                raw = env.get(name)
                if raw is not None and raw.strip():
                    found[field] = raw.strip()
                    break
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
    """One line per bad variable: `NAME='raw': reason` (secrets never shown)."""
    lines = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        name = ".".join(loc)
        if len(loc) >= 2 and loc[0] in GROUPS and loc[1] in GROUPS[loc[0]].__fields__:
            group = GROUPS[loc[0]]
            names = env_names(group, loc[1])
            name = next((n for n in names if (env.get(n) or "").strip()), names[0])
            raw = env.get(name)
            if raw is not None:
                secret = group.__fields__[loc[1]].type_ is SecretStr
                name = f"{name}={'***' if secret else repr(raw.strip())}"
        lines.append(f"{name}: {item['msg']}")
    return SettingsError("invalid settings: " + "; ".join(lines))


class Settings(BaseSettings):
    """Every setting of every process, grouped by concern (see `GROUPS`).

    Build it with `get_settings()` (the process environment, cached) or
    `Settings.from_env(mapping, **overrides)`. Raises `SettingsError`.
    """

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    rasa: RasaSettings = Field(default_factory=RasaSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    zalo: ZaloSettings = Field(default_factory=ZaloSettings)
    submission: SubmissionSettings = Field(default_factory=SubmissionSettings)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    attachments: AttachmentSettings = Field(default_factory=AttachmentSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    clock: ClockSettings = Field(default_factory=ClockSettings)

    class Config:
        allow_mutation = False
        extra = "forbid"

        @classmethod
        def customise_sources(
            cls, init_settings: Any, env_settings: Any, file_secret_settings: Any
        ) -> tuple[Any, ...]:
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


def settings_for(env: Mapping[str, str] | None = None) -> Settings:
    """`get_settings()` for None, else settings read from the mapping `env`
    (the `from_env(env)` constructors of the layers take one for tests)."""
    return get_settings() if env is None else Settings.from_env(env)


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        return ""
    if isinstance(value, Path):
        try:
            return str(value.relative_to(PROJECT_ROOT))
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(value)
    return "" if value is None else str(value)


def env_example() -> str:
    """The text of `.env.example`: every variable, grouped, with its description
    and default (a blank value means the default). Generated; a test compares."""
    out = [
        "# tthc-bot — environment variables. GENERATED from core/settings.py by",
        "# `tthc settings example > .env.example`; edit the descriptions there, not here.",
        "# Copy to `.env` (git-ignored) and fill in. Never commit real tokens or keys.",
        "# Every variable is optional: empty = the default shown.",
    ]
    for group in GROUPS.values():
        out += ["", "# " + "-" * 75, f"# {(group.__doc__ or '').strip()}", "# " + "-" * 75]
        for field_name, field in group.__fields__.items():
            names = env_names(group, field_name)
            description = str(field.field_info.description or "")
            default = _shown(field.default)
            text = description + (f" Default: {default}." if default else "")
            if len(names) > 1:
                text += f" Also read as {', '.join(names[1:])}."
            out += _comment(text)
            out.append(f"{names[0]}=")
    return "\n".join(out) + "\n"


def _comment(text: str, width: int = 88) -> list[str]:
    import textwrap

    return ["# " + line for line in textwrap.wrap(text, width - 2, break_long_words=False)]
