"""The one home of the project database (issue 15.1): `Base`, engines, sessions,
migrations and the UTC convention.

One database holds procedures, dossiers, the notification outbox, the channels'
bookkeeping, the console's staff tables and the maintainers' loop, so that a
status change and its notification commit in one transaction. SQLite under
`var/` is the embedded default; the configured URL (`TTHC_DATABASE_URL`)
selects another database (PostgreSQL for the scale-out path).

Conventions every package follows:

- **One engine per URL per process** (`get_engine`, `session_factory`): an
  engine is a connection pool, so the Rasa process serving Zalo, the action
  server and the console each hold one pool per database, not one per module.
  SQLite connections are pooled too, each set up with foreign keys, WAL and a
  busy timeout. A forked child forgets the parent's engines (a pooled
  connection must never be shared across processes).
- **One UTC convention**: `utcnow()` is aware UTC; every timestamp column is a
  `UTCDateTime`, stored as naive UTC in a plain `TIMESTAMP` (SQLite drops time
  zones; PostgreSQL `timestamptz` would convert to the session time zone) and
  always read back as aware UTC on both databases.
- **One migration history** (`migrations/`, Alembic), applied by
  `upgrade_database` / `open_database`.

This module imports nothing from the other project packages (it is the kernel).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import DateTime, TypeDecorator

# The project root and the default SQLite file are defined with the settings
# (which name the default URL); every package takes them from here.
from core.settings import DEFAULT_SQLITE_PATH as DEFAULT_SQLITE_PATH
from core.settings import PROJECT_ROOT as PROJECT_ROOT
from core.settings import get_settings

if TYPE_CHECKING:
    from alembic.config import Config

DATABASE_URL_ENV = "TTHC_DATABASE_URL"  # read by core.settings; tests set it
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"

# SQLite pool: enough for Sanic's loop plus the worker threads that run
# synchronous database calls; PostgreSQL uses SQLAlchemy's defaults (5 + 10).
SQLITE_POOL_SIZE = 5
SQLITE_MAX_OVERFLOW = 10

Base = declarative_base()


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached. Raised at start-up so a
    process fails with a clear message instead of retrying forever."""


def database_url() -> str:
    """The configured database URL (`core.settings`: `TTHC_DATABASE_URL` if set
    and not blank, else the SQLite file `var/tthc.db` under the project root).
    Raises `core.settings.SettingsError` when the environment is invalid."""
    return get_settings().database_url


# ---------------------------------------------------------------------------
# Time: one UTC convention
# ---------------------------------------------------------------------------


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the project's only clock
    for stored timestamps)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp column holding aware UTC datetimes.

    Stored as naive UTC in a plain `TIMESTAMP` (DDL: `sa.DateTime()`, which is
    how migrations render it); binds aware values of any zone converted to UTC
    and naive values taken as UTC already; always returns aware UTC, on SQLite
    and PostgreSQL alike.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# ---------------------------------------------------------------------------
# Engines and sessions
# ---------------------------------------------------------------------------


def _sqlite_connection_setup(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the action server read while another process writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str | None = None, *, pool_size: int | None = None) -> Engine:
    """A NEW engine (a pool of its own) for `url` (default: `database_url()`),
    2.0 style. Product code uses `get_engine` instead; this is for what must
    not share the process pool: a migration run, a test standing in for a
    second process.

    SQLite: the file's folder is created; connections are pooled (`pool_size`,
    default `SQLITE_POOL_SIZE`, plus `SQLITE_MAX_OVERFLOW`) and each is set up
    with foreign keys on, WAL and a 10 s busy timeout. Other databases:
    SQLAlchemy's pool (`pool_size` if given) with pre-ping, so a connection
    dropped by the server is replaced rather than failing a request."""
    url = url or database_url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            future=True,
            poolclass=QueuePool,
            pool_size=pool_size or SQLITE_POOL_SIZE,
            max_overflow=SQLITE_MAX_OVERFLOW,
            # A pooled connection may be handed to another thread than the one
            # that opened it (Sanic's loop vs. its worker threads); the pool
            # never gives one connection to two threads at once.
            connect_args={"timeout": 10, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_connection_setup)
        return engine
    options: dict[str, Any] = {"pool_pre_ping": True}
    if pool_size:
        options["pool_size"] = pool_size
    return create_engine(url, future=True, **options)


def make_session_factory(engine: Engine) -> sessionmaker:
    """Sessions on `engine` (2.0 style; objects stay readable after commit)."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker] = {}


def get_engine(url: str | None = None, *, pool_size: int | None = None) -> Engine:
    """The process-wide engine (connection pool) for `url` (default: the
    configured database), created on first use. `pool_size` only applies to
    that first creation (the console asks for its own). Does not connect."""
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url, pool_size=pool_size)
        return engine


def session_factory(url: str | None = None) -> sessionmaker:
    """The process-wide session factory for `url` (default: the configured
    database), on `get_engine(url)`. Raises `DatabaseUnavailable` when the
    database cannot be reached the first time it is asked for."""
    url = url or database_url()
    with _lock:
        factory = _factories.get(url)
    if factory is not None:
        return factory
    engine = get_engine(url)
    check_reachable(engine)
    with _lock:
        return _factories.setdefault(url, make_session_factory(engine))


@contextmanager
def session_scope(factory: sessionmaker | None = None) -> Iterator[Session]:
    """A unit of work on `factory` (default: the configured database's
    process-wide factory): commit on success, roll back on any error
    (re-raised), close always."""
    session: Session = (factory or session_factory())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Close and forget every process-wide engine (tests switch databases;
    the next call builds fresh ones)."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
        _factories.clear()
    for engine in engines:
        engine.dispose()


def _forget_engines_after_fork() -> None:
    # The child must not use (nor close) the parent's pooled connections.
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()
    _factories.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_engines_after_fork)


def check_reachable(engine: Engine) -> None:
    """Fail fast with a readable message (password hidden) when the database
    behind `engine` is down. Raises `DatabaseUnavailable`."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable"
        raise DatabaseUnavailable(
            f"Cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from exc


# ---------------------------------------------------------------------------
# Migrations
# ---------------------------------------------------------------------------


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for the project's single migration history."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' must be doubled for ConfigParser interpolation (passwords may hold it).
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade_database(url: str | None = None) -> None:
    """Bring the database at `url` to the newest schema (idempotent). Raises
    `DatabaseUnavailable` when it cannot be reached."""
    from alembic import command

    url = url or database_url()
    # A throwaway pool: migrating must not leave connections in the process
    # pool of a database this process may never use again (tests, `tthc db`).
    engine = make_engine(url)
    try:
        check_reachable(engine)
    finally:
        engine.dispose()
    command.upgrade(alembic_config(url), "head")


def open_database(url: str | None = None, *, migrate: bool = True) -> sessionmaker:
    """The process-wide session factory for a reachable database at the newest
    schema: what every command and server process starts with. Raises
    `DatabaseUnavailable`."""
    url = url or database_url()
    factory = session_factory(url)
    if migrate:
        upgrade_database(url)
    return factory


# ---------------------------------------------------------------------------
# PostgreSQL databases of their own (end-to-end tests, benchmarks)
# ---------------------------------------------------------------------------


def _on_postgres_server(url: str, *statements: str) -> None:
    """Run `statements` ({name} = the database named in `url`) on the server's
    `postgres` database, outside a transaction (CREATE/DROP DATABASE need it)."""
    target = make_url(url)
    name = target.database or ""
    if not target.drivername.startswith("postgresql") or not name.replace("_", "").isalnum():
        raise ValueError(f"expected a PostgreSQL URL with a plain database name, got {url!r}")
    admin = create_engine(
        target.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement.format(name=f'"{name}"')))
    finally:
        admin.dispose()


def recreate_postgres_database(url: str) -> None:
    """An empty PostgreSQL database of its own, named in `url`, for end-to-end
    tests and benchmarks (Rasa's tracker store, say); dropped first if present.
    Raises ValueError for a non-PostgreSQL URL or an unusual database name."""
    _on_postgres_server(
        url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)", "CREATE DATABASE {name}"
    )


def drop_postgres_database(url: str) -> None:
    """Drop the PostgreSQL database named in `url` if it exists (connections
    to it are ended). Raises ValueError as `recreate_postgres_database`."""
    _on_postgres_server(url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)")
