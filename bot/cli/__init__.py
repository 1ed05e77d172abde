"""`tthc`, the project's command line.

Each area registers its own subcommands (`catalog_cmd`, `nlu_cmd`, ...), so the
entry point stays small and every command lives next to the code it drives.
Heavy imports (Rasa, TensorFlow) happen inside the commands that need them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules under bot.cli that expose `register(subparsers)`.
COMMAND_MODULES = ("db_cmd", "catalog_cmd", "nlu_cmd", "dossier_cmd", "channels_cmd", "run_cmd")


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status `status`."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


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
    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"tthc: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
