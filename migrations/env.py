"""Alembic environment: one migration history for the whole tthc database
(catalog and dossiers share it so a status change and its notification commit
together). The URL comes from the caller (`tthc db upgrade`) or
`TTHC_DATABASE_URL`."""

from __future__ import annotations

from alembic import context

import catalog.orm  # noqa: F401  (registers the catalog tables)
import dossiers.orm  # noqa: F401  (registers the dossier tables)
from catalog.database import Base, database_url, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or database_url())
    with engine.connect() as connection:
        # Batch mode lets later migrations alter columns on SQLite too.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
