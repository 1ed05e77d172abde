"""`tthc`, the project's command line.

Each area registers its own subcommands (`catalog_cmd`, `nlu_cmd`, ...), so the
entry point stays small and every command lives next to the code it drives.
Heavy imports (Rasa, TensorFlow) happen inside the commands that need them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

# Modules under bot.cli that expose `register(subparsers)`.
COMMAND_MODULES: tuple[str, ...] = (
    "db_cmd", "catalog_cmd", "nlu_cmd", "dossier_cmd", "channels_cmd", "run_cmd"
)
COMMAND_MODULES += ("console_cmd",)  # officers' console and staff accounts (issue 11)
COMMAND_MODULES += ("integration_cmd",)  # one-stop-shop delivery and status API (issue 13)
COMMAND_MODULES += ("training_cmd",)  # maintainers' loop: inbox, training, models (issue 12)
COMMAND_MODULES += ("domain_cmd",)  # generated bot/domain files (issue 15)
COMMAND_MODULES += ("settings_cmd",)  # environment variables, .env.example (issue 15)


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status `status`."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def command_group(
    subparsers: argparse._SubParsersAction, name: str, help_text: str
) -> Callable[..., argparse.ArgumentParser]:
    """A `tthc NAME ...` group; returns `add(name, help, handler)` that adds a
    subcommand taking `--database-url`, the option every database command has."""
    group = subparsers.add_parser(name, help=help_text)
    sub = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    sub.required = True

    def add(command: str, command_help: str, handler: Callable[[argparse.Namespace], int]):
        parser = sub.add_parser(command, help=command_help)
        parser.add_argument("--database-url", help="default: TTHC_DATABASE_URL or var/tthc.db")
        parser.set_defaults(handler=handler)
        return parser

    return add


def configure_logging(verbose: bool) -> None:
    """Log lines with time, level and logger for the long-running commands
    (channel pollers, delivery workers); DEBUG with `--verbose`."""
    import logging

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def open_database_or_exit(args: argparse.Namespace) -> Any:
    """The session factory for `--database-url` (migrated), or a one-line error."""
    from core.db import DatabaseUnavailable, open_database

    try:
        return open_database(getattr(args, "database_url", None))
    except DatabaseUnavailable as exc:
        raise CommandError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tthc", description="tthc-bot: trợ lý thủ tục hành chính (maintainer CLI)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"bot.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bot.cli.{name}":
                continue  # an area that is not part of this checkout
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from core.settings import SettingsError, get_settings

    try:
        if args.command != "settings":
            get_settings()  # an invalid variable fails here, before any work, naming it
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"tthc: {exc}", file=sys.stderr)
        return exc.status
    except SettingsError as exc:
        print(f"tthc: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
