"""`tthc settings example|check`: the settings model (core/settings.py) as
`.env.example`, and a start-up check of the current environment."""

from __future__ import annotations

import argparse

from core.settings import env_example, get_settings


def _example(_args: argparse.Namespace) -> int:
    print(env_example(), end="")
    return 0


def _check(_args: argparse.Namespace) -> int:
    settings = get_settings()  # SettingsError (naming the variable) is printed by main()
    on = [name for name in ("telegram", "zalo") if getattr(settings, name).configured]
    print(
        f"settings are valid; database {settings.database_url.split(':', 1)[0]}; "
        f"channels configured: {', '.join(on) or 'none (REST, web chat only)'}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("settings", help="environment variables (core/settings.py)")
    sub = group.add_subparsers(dest="settings_command", metavar="COMMAND")
    sub.required = True
    example = sub.add_parser("example", help="print .env.example (generated from the model)")
    example.set_defaults(handler=_example)
    check = sub.add_parser("check", help="validate the environment; exit 2 naming a bad variable")
    check.set_defaults(handler=_check)
