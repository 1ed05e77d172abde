"""`tthc console` (the officers' web console) and `tthc staff ...` (accounts).

`tthc staff add admin1 --role admin` creates the first administrator from the
terminal; the password is asked twice (or read as one line from stdin when
stdin is not a terminal, for scripts). Every account change is audited with
the actor `cli:<os user>`.
"""

from __future__ import annotations

import argparse
import getpass
import importlib.util
import sys
from pathlib import Path
from typing import Any

from bot.cli import CommandError, command_group, open_database_or_exit


def _read_password(prompt: str = "Mật khẩu") -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line.strip():
            raise CommandError("no password on stdin")
        return line.rstrip("\n")
    first = getpass.getpass(f"{prompt}: ")
    second = getpass.getpass(f"{prompt} (nhập lại): ")
    if first != second:
        raise CommandError("the two passwords differ")
    return first


def check_console_tables(url: str | None) -> None:
    """A database migrated while migration 0006 was still an empty placeholder
    is stamped past it without the console tables: say how to repair it."""
    from sqlalchemy import inspect

    from core.db import make_engine

    engine = make_engine(url)
    try:
        present = inspect(engine).has_table("console_staff")
    finally:
        engine.dispose()
    if not present:
        raise CommandError(
            "the database has no console tables although it is at the newest migration "
            "(it was migrated while 0006 was an empty placeholder). Back it up, then: "
            ".venv/bin/python -c \"from alembic import command; from core.db import "
            "alembic_config; command.stamp(alembic_config(), '0005')\" && tthc db upgrade"
        )


def _checked_agency(factory: Any, typed: str) -> str:
    """The catalog's spelling of `typed`; CommandError (exit 2) listing the valid
    agencies/levels when no dossier can carry it (such an officer would see none)."""
    from console.dossier_queries import catalog_agencies, known_agency
    from core.db import session_scope

    with session_scope(factory) as db:
        found = known_agency(db, typed)
        if found is not None:
            return found
        valid = catalog_agencies(db)
    if not valid:
        raise CommandError(
            f"unknown agency {typed!r}: the catalog is empty (run `tthc catalog import` first)",
            status=2,
        )
    raise CommandError(
        f"unknown agency {typed!r}: an officer's agency must be one a dossier carries (the "
        "procedure's first implementing agency, else its competent authority, else its level; "
        "compared without diacritics). Valid values:\n  " + "\n  ".join(valid),
        status=2,
    )


def _staff_add(args: argparse.Namespace) -> int:
    from console.audit import cli_actor
    from console.auth import StaffError, add_staff
    from core.db import session_scope

    factory = open_database_or_exit(args)
    check_console_tables(getattr(args, "database_url", None))
    agency = _checked_agency(factory, args.agency) if args.agency is not None else None
    password = _read_password()
    try:
        with session_scope(factory) as db:
            member = add_staff(
                db, cli_actor(), args.username, password, args.role,
                display_name=args.display_name or "", agency=agency,
            )
            name, role = member.username, member.role
    except StaffError as exc:
        raise CommandError(str(exc)) from exc
    print(f"added {name} ({role})")
    return 0


def _staff_active(active: bool):
    def handler(args: argparse.Namespace) -> int:
        from console.audit import cli_actor
        from console.auth import StaffError, set_active
        from core.db import session_scope

        factory = open_database_or_exit(args)
        try:
            with session_scope(factory) as db:
                set_active(db, cli_actor(), args.username, active)
        except StaffError as exc:
            raise CommandError(str(exc)) from exc
        print(f"{'enabled' if active else 'disabled'} {args.username.strip().lower()}")
        return 0

    return handler


def _staff_reset(args: argparse.Namespace) -> int:
    from console.audit import cli_actor
    from console.auth import StaffError, reset_password
    from core.db import session_scope

    factory = open_database_or_exit(args)
    password = _read_password("Mật khẩu mới")
    try:
        with session_scope(factory) as db:
            reset_password(db, cli_actor(), args.username, password, must_change=not args.keep)
    except StaffError as exc:
        raise CommandError(str(exc)) from exc
    print(f"password reset for {args.username.strip().lower()}; sessions ended")
    return 0


def _staff_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from console.orm import StaffMember
    from core.db import session_scope

    factory = open_database_or_exit(args)
    with session_scope(factory) as db:
        rows = db.execute(select(StaffMember).order_by(StaffMember.username)).scalars().all()
        for member in rows:
            state = "active" if member.active else "disabled"
            print(f"{member.username}\t{member.role}\t{state}\t{member.agency or ''}")
    return 0


def _console(args: argparse.Namespace) -> int:
    from console.app import create_app
    from console.settings import ConsoleConfigurationError, ConsoleSettings
    from core.db import DatabaseUnavailable, upgrade_database

    try:
        settings = ConsoleSettings.from_env()
    except ConsoleConfigurationError as exc:
        raise CommandError(str(exc)) from exc
    overrides = {
        key: value
        for key, value in {
            "host": args.host, "port": args.port, "workers": args.workers,
            "database_url": args.database_url,
        }.items()
        if value is not None
    }
    settings = type(settings)(**{**settings.__dict__, **overrides})
    try:
        upgrade_database(settings.database_url)
    except DatabaseUnavailable as exc:
        raise CommandError(str(exc)) from exc
    check_console_tables(settings.database_url)
    app = create_app(settings, name="tthc_console")
    print(f"console: http://{settings.host}:{settings.port}/", flush=True)
    app.run(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        debug=False,
    )
    return 0


def _ensure_console_importable() -> None:
    """`console/` sits beside `bot/`; an editable install made before the
    package existed does not map it, so fall back to the checkout root."""
    if importlib.util.find_spec("console") is None:
        sys.path.append(str(Path(__file__).resolve().parents[2]))


def register(subparsers: argparse._SubParsersAction) -> None:
    _ensure_console_importable()
    from console.orm import ROLES

    console = subparsers.add_parser("console", help="run the officers' web console")
    console.add_argument("--host", help="default: TTHC_CONSOLE_HOST or 127.0.0.1")
    console.add_argument("--port", type=int, help="default: TTHC_CONSOLE_PORT or 5080")
    console.add_argument("--workers", type=int, help="default: TTHC_CONSOLE_WORKERS or 1")
    console.add_argument("--database-url", help="default: TTHC_DATABASE_URL or var/tthc.db")
    console.set_defaults(handler=_console)

    add = command_group(subparsers, "staff", "console accounts (officers, admins, ...)")
    parser = add("add", "create an account (password asked, or one line on stdin)", _staff_add)
    parser.add_argument("username")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument(
        "--agency",
        help="officers: the agency whose dossiers they work, as the catalog names it "
        '(e.g. "Cấp xã"; an unknown one is refused with the valid values)',
    )
    parser.add_argument("--display-name", help="name shown in the console")
    parser = add("disable", "disable an account and end its sessions", _staff_active(False))
    parser.add_argument("username")
    parser = add("enable", "re-enable an account (clears a lockout)", _staff_active(True))
    parser.add_argument("username")
    parser = add("reset-password", "set a new password, clear lockout, end sessions", _staff_reset)
    parser.add_argument("username")
    parser.add_argument("--keep", action="store_true", help="do not force a change at next login")
    add("list", "list accounts", _staff_list)
