"""Fixtures for the channel tests: throw-away databases migrated with the
project's Alembic history (SQLite for the end-to-end tests; SQLite and
PostgreSQL for the store, whose cross-process guarantees rest on the
database). See tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from bot.channels.store import ChannelStore
from tests.conftest import DATABASE_KINDS, isolated_database


@pytest.fixture()
def session_factory(tmp_path: Path) -> Iterator[sessionmaker]:
    with isolated_database("sqlite", tmp_path) as database:
        yield database.new_factory()


@pytest.fixture()
def store(session_factory: sessionmaker) -> ChannelStore:
    return ChannelStore(session_factory)


@pytest.fixture(params=DATABASE_KINDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChannelStore]:
    """A ChannelStore on each supported database (PostgreSQL in a fresh schema)."""
    with isolated_database(request.param, tmp_path) as database:
        yield ChannelStore(database.new_factory())
