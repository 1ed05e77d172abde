"""`tthc catalog ...`: import, show, search, lint and count the procedure catalog."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli import CommandError, command_group, open_database_or_exit


def _progress_bar() -> Callable[[int, int], None]:
    """An import progress callback drawing a tqdm bar on stderr (tqdm ships
    with Rasa); updated at most every 10 s when stderr is not a terminal."""
    from tqdm import tqdm

    bar: tqdm | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                total=total, unit="record", desc="import", file=sys.stderr,
                mininterval=0.1 if sys.stderr.isatty() else 10.0,
            )
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _import(args: argparse.Namespace) -> int:
    from catalog.importer import import_catalog
    from catalog.overrides import OverridesError

    factory = open_database_or_exit(args)
    source = Path(args.source) if args.source else None
    if source is not None and not source.exists():
        raise CommandError(f"no such source: {source}")
    try:
        summary = import_catalog(
            factory,
            source,
            Path(args.overrides) if args.overrides else None,
            if_changed=args.if_changed,
            progress=None if args.quiet else _progress_bar(),
        )
    except OverridesError as exc:
        raise CommandError(str(exc)) from exc
    if summary.skipped:
        print(f"catalog unchanged since the last import ({summary.unchanged} procedures)")
        return 0
    for failure in summary.failures:
        print(f"FAILED {failure.code} ({failure.source}): {failure.reason}", file=sys.stderr)
    print(
        f"{summary.records} records: {summary.inserted} inserted, {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.removed} removed, "
        f"{len(summary.failures)} failed"
    )
    return 1 if summary.failures and not summary.imported else 0


def _format_procedure(data: dict[str, Any]) -> str:
    lines = [f"{data['code']}  {data['name']}", ""]
    lines.append(f"Lĩnh vực: {data['field'] or '—'}")
    lines.append(f"Cấp thực hiện: {data['implementing_level'] or '—'}")
    lines.append(f"Cơ quan thực hiện: {'; '.join(data['agencies']) or '—'}")
    lines.append(f"Cổng DVC: {data['url'] or '—'}")
    lines.append("")
    lines.append("Cách thức thực hiện:")
    for m in data["methods"]:
        time_text = m["processing_time"]["text"] or "—"
        lines.append(f"  - {m['channel']}: thời hạn {time_text}; phí: {m['fee']['text'] or '—'}")
    lines.append("")
    lines.append(f"Thành phần hồ sơ ({len(data['documents'])}):")
    case = None
    for d in data["documents"]:
        if d["case"] != case:
            case = d["case"]
            if case:
                lines.append(f"  {case}")
        form = f" [mẫu: {d['form']}]" if d["form"] else ""
        lines.append(f"  - {d['name']} ({d['originals']} bản chính, {d['copies']} bản sao){form}")
    lines.append("")
    lines.append("Căn cứ pháp lý:")
    for lb in data["legal_basis"]:
        lines.append(f"  - {lb['number'] or '(không số)'}: {lb['title']}")
    if data.get("fee_correction"):
        fc = data["fee_correction"]
        lines.append("")
        lines.append(f"Phí đã hiệu chỉnh: {fc['text']} (nguồn: {fc['source']})")
    lines.append("")
    lines.append(f"Kết quả: {data['result'] or '—'}")
    return "\n".join(lines)


def _show(args: argparse.Namespace) -> int:
    from catalog.repository import CatalogRepository
    from core.db import session_scope

    with session_scope(open_database_or_exit(args)) as session:
        curated = CatalogRepository(session).get_curated(args.code)
    if curated is None:
        raise CommandError(f"unknown procedure code: {args.code}", status=2)
    data = curated.procedure.to_dict()
    data["aliases"] = list(curated.aliases)
    data["fee_correction"] = curated.fee_correction.__dict__ if curated.fee_correction else None
    # Registry status of every document the procedure cites (catalog/legal.py).
    data["legal_statuses"] = {n: e.to_dict() for n, e in sorted(curated.legal.items())}
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(_format_procedure(data))
    return 0


def _search(args: argparse.Namespace) -> int:
    import catalog
    from core.db import database_url

    if args.limit < 1:
        raise CommandError("--limit must be at least 1", status=2)
    open_database_or_exit(args)  # fail with a clear message when the database is down
    try:
        url = args.database_url or database_url()
        results = catalog.search(args.query, limit=args.limit, url=url)
    except catalog.CatalogEmpty as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        rows = [{"code": c.code, "name": c.name, "score": c.score} for c in results]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not results:
        print("no match")
    for c in results:
        print(f"{c.score:5.1f}  {c.code}  {c.name}")
    return 0


def _lint(args: argparse.Namespace) -> int:
    from catalog.lint import lint_catalog
    from catalog.repository import CatalogRepository
    from core.db import session_scope

    with session_scope(open_database_or_exit(args)) as session:
        findings = lint_catalog(CatalogRepository(session))
    if args.kind:
        findings = [f for f in findings if f.kind in args.kind]
    if args.json or args.format == "json":
        print(json.dumps([f.__dict__ for f in findings], ensure_ascii=False, indent=2))
    elif args.format == "csv":
        from catalog.lint import findings_csv

        sys.stdout.write(findings_csv(findings))
    else:
        for f in findings:
            print(f"{f.code}\t{f.kind}\t{f.message}")
        counts = Counter(f.kind for f in findings)
        summary = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items())) or "none"
        print(f"{len(findings)} findings ({summary})", file=sys.stderr)
    return 1 if args.strict and findings else 0


def _stats(args: argparse.Namespace) -> int:
    from catalog.repository import CatalogRepository
    from core.db import session_scope

    with session_scope(open_database_or_exit(args)) as session:
        stats = CatalogRepository(session).stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    for key, value in stats.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    add = command_group(subparsers, "catalog", "the procedure catalog")

    p = add("import", "import the portal records and the curation overlay", _import)
    p.add_argument("--source", help="a .tar.gz of raw records or a directory (default: bundled)")
    p.add_argument("--overrides", help="curation overlay (default: catalog/overrides.yml)")
    p.add_argument("--if-changed", action="store_true", help="skip when nothing changed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("show", "show one procedure", _show)
    p.add_argument("code")
    p.add_argument("--json", action="store_true")

    p = add("search", "search procedures as a citizen types", _search)
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=5)
    p.add_argument("--json", action="store_true")

    p = add("lint", "report stale legal bases, contradictory fees, missing data", _lint)
    p.add_argument("--json", action="store_true")
    p.add_argument("--kind", action="append", help="only this kind of finding (repeatable)")
    p.add_argument(
        "--format", choices=("text", "json", "csv"), default="text",
        help="csv: one row per finding (code, kind, number, status, replaced_by, source, message)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when anything is found")

    p = add("stats", "counts over the catalog", _stats)
    p.add_argument("--json", action="store_true")
