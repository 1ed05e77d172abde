"""Dossier fixtures: every database test runs on SQLite AND PostgreSQL, on a
fresh database migrated with the project's Alembic history (see
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from core.db import make_session_factory
from tests.conftest import DATABASE_KINDS, TestDatabase, isolated_database


@pytest.fixture(params=DATABASE_KINDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with isolated_database(request.param, tmp_path) as database:
        database.new_engine()  # the engine behind `factory`
        yield database


@pytest.fixture
def factory(db: TestDatabase) -> sessionmaker:
    return make_session_factory(db.engines[0])
