"""Fixtures for the channel tests: throw-away databases with the channel and
dossier tables (SQLite for the end-to-end tests; SQLite and PostgreSQL for
the store, whose cross-process guarantees rest on the database)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from bot.channels.orm import CHANNEL_TABLES
from bot.channels.store import ChannelStore
from catalog.database import (
    Base,
    DatabaseUnavailable,
    check_reachable,
    make_engine,
    make_session_factory,
)

POSTGRES_URL = os.environ.get(
    "TTHC_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def _create_tables(engine) -> None:  # type: ignore[no-untyped-def]
    import dossiers.orm

    # Until the lead's migration exists the tables are created directly.
    Base.metadata.create_all(engine, tables=[*dossiers.orm.TABLES, *CHANNEL_TABLES])


@pytest.fixture()
def session_factory(tmp_path: Path) -> Iterator[sessionmaker]:
    engine = make_engine(f"sqlite:///{tmp_path / 'channels.db'}")
    _create_tables(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture()
def store(session_factory: sessionmaker) -> ChannelStore:
    return ChannelStore(session_factory)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChannelStore]:
    """A ChannelStore on each supported database (PostgreSQL in a fresh schema)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'channels.db'}")
        _create_tables(engine)
        yield ChannelStore(make_session_factory(engine))
        engine.dispose()
        return
    admin = make_engine(POSTGRES_URL)
    try:
        check_reachable(admin)
    except DatabaseUnavailable as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL is required by the test suite: {exc}", pytrace=False)
    schema = f"test_ch_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    engine = make_engine(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        _create_tables(engine)
        yield ChannelStore(make_session_factory(engine))
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
