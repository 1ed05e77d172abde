"""Fixtures for the channel tests: a throw-away SQLite database with the
channel and dossier tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from bot.channels.orm import CHANNEL_TABLES
from bot.channels.store import ChannelStore
from catalog.database import Base, make_engine, make_session_factory


@pytest.fixture()
def session_factory(tmp_path: Path) -> sessionmaker:
    import dossiers.orm

    engine = make_engine(f"sqlite:///{tmp_path / 'channels.db'}")
    Base.metadata.create_all(engine, tables=[*dossiers.orm.TABLES, *CHANNEL_TABLES])
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture()
def store(session_factory: sessionmaker) -> ChannelStore:
    return ChannelStore(session_factory)
