"""Engines for the console process.

`catalog.database.make_engine` gives file-based SQLite SQLAlchemy 1.4's
default `NullPool`: a new connection (and its PRAGMAs) per session. That is
right for short CLI commands, but the console serves every poll of every
officer, so it keeps a small pool of SQLite connections instead (the same
PRAGMAs: foreign keys, WAL, busy timeout). Other databases use
`make_engine` unchanged (PostgreSQL already pools)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from catalog.database import (
    _enable_sqlite_foreign_keys,  # the project's SQLite connection set-up
    database_url,
    make_engine,
)


def console_engine(url: str | None = None, *, pool_size: int = 5) -> Engine:
    """An engine for `url` (default: the configured database) that pools SQLite connections."""
    url = url or database_url()
    if not url.startswith("sqlite:///"):
        return make_engine(url)
    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=10,
        # Connections move between Sanic's loop thread and none other, but the
        # pool may hand one to a different thread than the one that made it.
        connect_args={"timeout": 10, "check_same_thread": False},
    )
    event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine
