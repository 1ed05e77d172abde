"""Database configuration shared by the catalog and the dossier store.

One database holds procedures, dossiers and the notification outbox so that a
status change and its notification commit in one transaction. SQLite under
`var/` is the embedded default; `TTHC_DATABASE_URL` selects another database
(PostgreSQL for the scale-out path).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "tthc.db"
DATABASE_URL_ENV = "TTHC_DATABASE_URL"

Base = declarative_base()


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached. Raised at start-up so a
    process fails with a clear message instead of retrying forever."""


def database_url() -> str:
    """The configured database URL (`TTHC_DATABASE_URL`, else the SQLite file)."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    return url or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the action server read while another process writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """Create an engine for `url` (default: `database_url()`), 2.0 style."""
    url = url or database_url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, connect_args={"timeout": 10})
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def check_reachable(engine: Engine) -> None:
    """Fail fast with a readable message when the database is down."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable"
        raise DatabaseUnavailable(
            f"Cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from exc


def _on_postgres_server(url: str, *statements: str) -> None:
    """Run `statements` ({name} = the database named in `url`) on the server's
    `postgres` database, outside a transaction (CREATE/DROP DATABASE need it)."""
    from sqlalchemy.engine import make_url

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
    tests and benchmarks (Rasa's tracker store, say); dropped first if present."""
    _on_postgres_server(
        url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)", "CREATE DATABASE {name}"
    )


def drop_postgres_database(url: str) -> None:
    _on_postgres_server(url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on error."""
    session: Session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    """An Alembic config for the project's single migration history."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' must be doubled for ConfigParser interpolation (passwords may hold it).
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade_database(url: str | None = None) -> None:
    """Bring the database at `url` to the newest schema (idempotent)."""
    from alembic import command

    url = url or database_url()
    check_reachable(make_engine(url))
    command.upgrade(alembic_config(url), "head")


def open_database(url: str | None = None, *, migrate: bool = True) -> sessionmaker:
    """A session factory for a reachable database at the newest schema: what
    every command and server process starts with. Raises DatabaseUnavailable."""
    url = url or database_url()
    engine = make_engine(url)
    check_reachable(engine)
    if migrate:
        upgrade_database(url)
    return make_session_factory(engine)


_shared_lock = threading.Lock()
_shared_factories: dict[str, sessionmaker] = {}


def shared_session_factory(url: str | None = None) -> sessionmaker:
    """The process-wide session factory for `url` (default: the configured
    database). An engine is a connection pool: one per process and URL."""
    url = url or database_url()
    with _shared_lock:
        factory = _shared_factories.get(url)
        if factory is None:
            engine = make_engine(url)
            check_reachable(engine)
            factory = _shared_factories[url] = make_session_factory(engine)
        return factory


def dispose_shared() -> None:
    """Close the shared engines (tests switch databases; forked workers)."""
    with _shared_lock:
        for factory in _shared_factories.values():
            factory.kw["bind"].dispose()
        _shared_factories.clear()
