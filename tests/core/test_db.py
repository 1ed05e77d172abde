"""core.db: one engine per URL per process, one UTC convention, one unit of work."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, text
from sqlalchemy.orm import Session

from core import db
from core.settings import get_settings
from tests.conftest import DATABASE_KINDS, isolated_database


@pytest.fixture(autouse=True)
def _fresh_engines():
    db.dispose_engines()
    yield
    db.dispose_engines()
    get_settings.cache_clear()


def test_one_engine_and_one_factory_per_url(tmp_path: Path) -> None:
    first = f"sqlite:///{tmp_path / 'a.db'}"
    second = f"sqlite:///{tmp_path / 'b.db'}"
    assert db.get_engine(first) is db.get_engine(first)
    assert db.get_engine(first) is not db.get_engine(second)
    assert db.session_factory(first) is db.session_factory(first)
    assert db.session_factory(first).kw["bind"] is db.get_engine(first)
    # open_database hands out the same process-wide factory (one pool).
    assert db.open_database(first, migrate=False) is db.session_factory(first)


def test_default_url_is_the_configured_one(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'configured.db'}"
    monkeypatch.setenv(db.DATABASE_URL_ENV, url)
    get_settings.cache_clear()  # settings are read once per process
    assert db.database_url() == url
    assert db.get_engine() is db.get_engine(url)
    monkeypatch.setenv(db.DATABASE_URL_ENV, "  ")
    get_settings.cache_clear()
    assert db.database_url() == f"sqlite:///{db.DEFAULT_SQLITE_PATH}"


def test_dispose_engines_forgets_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = db.get_engine(url)
    db.dispose_engines()
    assert db.get_engine(url) is not engine


def test_sqlite_connections_are_pooled_and_set_up(tmp_path: Path) -> None:
    engine = db.get_engine(f"sqlite:///{tmp_path / 'sub' / 'pragmas.db'}")
    with engine.connect() as connection:
        first = connection.connection.dbapi_connection
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 10000
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection is first  # reused, not reopened


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_builds_its_own_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fork.db'}"
    parent_engine_id = id(db.get_engine(url))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report whether it got a new engine, then leave at once
        os.close(read)
        fresh = id(db.get_engine(url)) != parent_engine_id and len(db._engines) == 1
        os.write(write, b"1" if fresh else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert id(db.get_engine(url)) == parent_engine_id


def test_unreachable_database_is_loud() -> None:
    with pytest.raises(db.DatabaseUnavailable, match="Cannot reach the database"):
        db.session_factory("postgresql+psycopg2://nobody:secret@127.0.0.1:1/none")


def test_utcnow_is_aware_utc() -> None:
    now = db.utcnow()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


_metadata = MetaData()
_stamps = Table(
    "stamps",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("at", db.UTCDateTime, nullable=True),
)


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_utc_datetime_round_trip(kind: str, tmp_path: Path) -> None:
    hanoi = timezone(timedelta(hours=7))
    written = {
        1: datetime(2024, 5, 1, 15, 30, tzinfo=hanoi),  # any zone: converted
        2: datetime(2024, 5, 1, 8, 30, tzinfo=timezone.utc),
        3: datetime(2024, 5, 1, 8, 30),  # naive: taken as UTC already
        4: None,
    }
    with isolated_database(kind, tmp_path, migrate=False) as database:
        engine = database.new_engine()
        _metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                _stamps.insert(), [{"id": key, "at": value} for key, value in written.items()]
            )
            stored = connection.execute(
                text("SELECT at FROM stamps WHERE id = 1")
            ).scalar_one()
            read = dict(connection.execute(select(_stamps.c.id, _stamps.c.at)).all())
            # Comparisons bind through the type too (aware cut-off, naive column).
            later = connection.execute(
                select(_stamps.c.id).where(
                    _stamps.c.at > datetime(2024, 5, 1, 15, 0, tzinfo=hanoi)
                )
            ).scalars().all()
    expected = datetime(2024, 5, 1, 8, 30, tzinfo=timezone.utc)
    assert read == {1: expected, 2: expected, 3: expected, 4: None}
    for value in read.values():
        assert value is None or value.tzinfo is timezone.utc
    # Stored as naive UTC in a plain TIMESTAMP (the schema every table uses).
    if isinstance(stored, str):  # SQLite hands raw text back
        stored = datetime.fromisoformat(stored)
    assert stored.replace(tzinfo=None) == datetime(2024, 5, 1, 8, 30)
    assert sorted(later) == [1, 2, 3]


def test_every_timestamp_column_is_utc_datetime() -> None:
    from sqlalchemy import DateTime

    import bot.channels.orm  # noqa: F401
    import catalog.orm  # noqa: F401
    import console.orm  # noqa: F401
    import dossiers.handoff_orm
    import dossiers.integration_orm
    import dossiers.orm  # noqa: F401
    import training.orm  # noqa: F401

    plain = [
        f"{table.name}.{column.name}"
        for table in db.Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, DateTime)  # a bare DateTime, not the decorator
    ]
    assert plain == []
    assert any(
        isinstance(column.type, db.UTCDateTime)
        for column in db.Base.metadata.tables["channel_oauth_tokens"].columns
    )


def _scope_database(tmp_path: Path):
    factory = db.session_factory(f"sqlite:///{tmp_path / 'scope.db'}")
    with factory.kw["bind"].begin() as connection:
        connection.execute(text("CREATE TABLE items (name TEXT PRIMARY KEY)"))
    return factory


def _names(factory) -> list[str]:
    with factory() as session:
        return list(session.execute(text("SELECT name FROM items ORDER BY name")).scalars())


def test_session_scope_commits_on_success(tmp_path: Path) -> None:
    factory = _scope_database(tmp_path)
    with db.session_scope(factory) as session:
        assert isinstance(session, Session)
        session.execute(text("INSERT INTO items VALUES ('kept')"))
    assert _names(factory) == ["kept"]


def test_session_scope_rolls_back_and_reraises(tmp_path: Path) -> None:
    factory = _scope_database(tmp_path)
    with pytest.raises(RuntimeError, match="boom"), db.session_scope(factory) as session:
        session.execute(text("INSERT INTO items VALUES ('lost')"))
        raise RuntimeError("boom")
    assert _names(factory) == []


def test_session_scope_defaults_to_the_configured_database(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'scope.db'}"
    monkeypatch.setenv(db.DATABASE_URL_ENV, url)
    get_settings.cache_clear()
    factory = _scope_database(tmp_path)
    with db.session_scope() as session:
        assert session.get_bind() is db.get_engine(url)
        session.execute(text("INSERT INTO items VALUES ('default')"))
    assert _names(factory) == ["default"]
