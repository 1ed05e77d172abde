"""`tthc db upgrade`: bring the database schema to the newest migration."""

from __future__ import annotations

import argparse

from bot.cli import command_group, open_database_or_exit


def _upgrade(args: argparse.Namespace) -> int:
    open_database_or_exit(args)  # migrates
    print("database schema is up to date")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    add = command_group(subparsers, "db", "database schema")
    add("upgrade", "apply migrations (idempotent)", _upgrade)
