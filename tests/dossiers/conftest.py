"""Shared fixtures: every database test runs on SQLite AND PostgreSQL.

PostgreSQL is not optional: when it is unreachable the tests FAIL with the
reason (never skip), because the scale-out path must stay tested. Each test
gets a fresh SQLite file or a fresh PostgreSQL schema (dropped afterwards),
so tests are isolated and can run against a shared server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from catalog.database import (
    Base,
    DatabaseUnavailable,
    check_reachable,
    make_engine,
    make_session_factory,
)
from dossiers.orm import TABLES

POSTGRES_URL = os.environ.get(
    "TTHC_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


@dataclass
class TestDatabase:
    """One isolated database for one test. `new_engine()` opens another
    engine on it, as a second process would."""

    __test__ = False  # not a test class

    url: str
    schema: str | None
    engines: list[Engine] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "postgresql" if self.schema else "sqlite"

    def new_engine(self) -> Engine:
        url = self.url
        if self.schema:
            # libpq option: every connection of this engine starts in the test
            # schema (a SET inside a DBAPI transaction could be rolled back).
            url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{self.schema}"
        engine = make_engine(url)
        self.engines.append(engine)
        return engine

    def new_factory(self) -> sessionmaker:
        return make_session_factory(self.new_engine())


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dossiers.db'}"
    return POSTGRES_URL


@pytest.fixture
def db(db_url: str) -> Iterator[TestDatabase]:
    schema = None
    if db_url.startswith("postgresql"):
        admin = make_engine(db_url)
        try:
            check_reachable(admin)
        except DatabaseUnavailable as exc:
            admin.dispose()
            pytest.fail(
                f"PostgreSQL is required for the dossier tests and is unreachable: {exc}. "
                "Start it or set TTHC_TEST_POSTGRES_URL.",
                pytrace=False,
            )
        schema = f"test_dossiers_{secrets.token_hex(6)}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = TestDatabase(db_url, schema)
    Base.metadata.create_all(database.new_engine(), tables=TABLES)
    try:
        yield database
    finally:
        for engine in database.engines:
            engine.dispose()
        if schema:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture
def factory(db: TestDatabase) -> sessionmaker:
    return make_session_factory(db.engines[0])
