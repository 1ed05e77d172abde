"""Alembic environment: one migration history for the whole tthc database
(catalog and dossiers share it so a status change and its notification commit
together). The URL comes from the caller (`tthc db upgrade`) or
`TTHC_DATABASE_URL`."""

from __future__ import annotations

from alembic import context

# Every module declaring tables on `core.db.Base`, so autogenerate and
# `alembic check` compare against the whole schema.
import bot.channels.orm  # noqa: F401  (channel bookkeeping: callback ids, dedup, tokens)
import catalog.orm  # noqa: F401  (registers the catalog tables)
import console.orm  # noqa: F401  (staff, sessions, login attempts, audit)
import core.ratelimit  # noqa: F401  (rate-limit counters shared by every process)
import dossiers.handoff_orm
import dossiers.integration_orm
import dossiers.orm  # noqa: F401  (registers the dossier tables)
import training.orm  # noqa: F401  (maintainers' loop: inbox, jobs, model bank, ratings)
from core.db import Base, database_url, make_engine

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render the project's TypeDecorators (`core.db.UTCDateTime`) as their
    plain SQL types, so migrations do not import application code that may
    change later."""
    impl = getattr(obj, "impl", None)
    if type_ == "type" and impl is not None and type(obj).__module__.startswith("core."):
        return f"sa.{type(impl).__name__}()"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        target_metadata=target_metadata,
        render_item=render_item,
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
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
