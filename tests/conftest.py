"""Fixtures shared by every suite: isolated databases on SQLite AND PostgreSQL.

PostgreSQL is not optional: when it is unreachable the tests FAIL with the
reason (never skip), because the scale-out path must stay tested. Each
database is a fresh SQLite file or a fresh PostgreSQL schema (dropped
afterwards), so tests are isolated and can share one server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from core.db import (
    DatabaseUnavailable,
    check_reachable,
    make_engine,
    make_session_factory,
    upgrade_database,
)

POSTGRES_URL = os.environ.get(
    "TTHC_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
DATABASE_KINDS = ["sqlite", "postgresql"]


@dataclass
class TestDatabase:
    """One isolated database. `url` already points into the test schema, so
    every engine opened on it (as a second process would) sees the same data."""

    __test__ = False  # not a test class

    url: str
    schema: str | None
    engines: list[Engine] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "postgresql" if self.schema else "sqlite"

    def new_engine(self) -> Engine:
        engine = make_engine(self.url)
        self.engines.append(engine)
        return engine

    def new_factory(self) -> sessionmaker:
        return make_session_factory(self.new_engine())


@contextmanager
def isolated_database(
    kind: str, directory: Path, *, migrate: bool = True
) -> Iterator[TestDatabase]:
    """A fresh database of `kind`, migrated to the newest schema unless told not."""
    schema = None
    admin = None
    if kind == "sqlite":
        url = f"sqlite:///{directory / f'tthc-{secrets.token_hex(4)}.db'}"
    else:
        admin = make_engine(POSTGRES_URL)
        try:
            check_reachable(admin)
        except DatabaseUnavailable as exc:
            admin.dispose()
            pytest.fail(
                f"PostgreSQL is required by the test suite and is unreachable: {exc}. "
                "Start it (.ci/run does) or set TTHC_TEST_POSTGRES_URL.",
                pytrace=False,
            )
        schema = f"test_{secrets.token_hex(6)}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # libpq option: every connection starts in the test schema (a SET inside
        # a transaction could be rolled back).
        sep = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    database = TestDatabase(url, schema)
    try:
        if migrate:
            upgrade_database(url)
        yield database
    finally:
        for engine in database.engines:
            engine.dispose()
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(scope="session", params=DATABASE_KINDS)
def catalog_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestDatabase]:
    """A migrated database of each kind holding the full imported catalog
    (imported once per session: the import is the expensive part)."""
    from catalog.importer import import_catalog

    with isolated_database(request.param, tmp_path_factory.mktemp("catalog")) as database:
        summary = import_catalog(database.new_factory())
        assert not summary.failures, summary.failures[:5]
        yield database


@pytest.fixture(scope="session", autouse=True)
def _settings_follow_monkeypatched_env() -> Iterator[None]:
    """core.settings caches the environment once per process; in tests the
    environment changes, so every `monkeypatch.setenv/delenv` clears the cache."""
    from core.settings import get_settings

    def clearing(method):  # type: ignore[no-untyped-def]
        def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            method(self, *args, **kwargs)
            get_settings.cache_clear()

        return wrapper

    patch = pytest.MonkeyPatch()
    patch.setattr(pytest.MonkeyPatch, "setenv", clearing(pytest.MonkeyPatch.setenv))
    patch.setattr(pytest.MonkeyPatch, "delenv", clearing(pytest.MonkeyPatch.delenv))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Each test reads the environment afresh (and leaves no settings behind)."""
    from core.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
