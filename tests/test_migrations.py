"""The Alembic history creates exactly the tables the models declare, on both
databases, and upgrading twice is harmless."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import bot.channels.orm  # noqa: F401
import catalog.orm  # noqa: F401
import console.orm  # noqa: F401
import core.ratelimit  # noqa: F401
import dossiers.handoff_orm
import dossiers.integration_orm
import dossiers.orm  # noqa: F401
import training.orm  # noqa: F401
from core.db import Base, upgrade_database
from tests.conftest import DATABASE_KINDS, isolated_database


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_migrations_match_models(kind: str, tmp_path: Path) -> None:
    with isolated_database(kind, tmp_path) as database:
        upgrade_database(database.url)  # second run: a no-op
        with database.new_engine().connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
