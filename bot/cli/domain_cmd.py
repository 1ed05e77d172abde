"""`tthc domain build [--check]`: write the generated files of `bot/domain/`.

The generator is `bot.domain_build` (today: `dossier_form.yml` from
`dossiers/form_fields.yml`). `--check` writes nothing and exits 1 naming the
stale files, for CI and reviews. `tthc train` builds stale files itself.
"""

from __future__ import annotations

import argparse

from bot.cli import CommandError


def _build(args: argparse.Namespace) -> int:
    from bot import domain_build

    if args.check:
        stale = domain_build.stale_files()
        if stale:
            names = ", ".join(str(path) for path in stale)
            raise CommandError(f"generated domain out of date: {names}; run `tthc domain build`")
        print("generated domain is current")
        return 0
    written = domain_build.build()
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("generated domain is current")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `tthc domain build [--check]`."""
    group = subparsers.add_parser("domain", help="the generated Rasa domain files")
    sub = group.add_subparsers(dest="domain_command", metavar="COMMAND")
    sub.required = True
    parser = sub.add_parser(
        "build", help="write bot/domain/dossier_form.yml from dossiers/form_fields.yml"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a generated file is stale"
    )
    parser.set_defaults(handler=_build)
