"""`tthc db upgrade`: bring the database schema to the newest migration."""

from __future__ import annotations

import argparse

from bot.cli import CommandError


def _upgrade(args: argparse.Namespace) -> int:
    from catalog.database import DatabaseUnavailable, open_database

    try:
        open_database(args.database_url)
    except DatabaseUnavailable as exc:
        raise CommandError(str(exc)) from exc
    print("database schema is up to date")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND")
    db_sub.required = True
    upgrade = db_sub.add_parser("upgrade", help="apply migrations (idempotent)")
    upgrade.add_argument("--database-url", help="default: TTHC_DATABASE_URL or var/tthc.db")
    upgrade.set_defaults(handler=_upgrade)
