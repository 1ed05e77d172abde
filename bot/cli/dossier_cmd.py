"""`tthc dossier ...`: the officers' terminal until the staff console exists.

`set-status` goes through `dossiers.service.change_status`, so the citizen's
notification is queued in the same transaction as the change.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli import CommandError, command_group, open_database_or_exit


def _view_dict(view: Any) -> dict[str, Any]:
    return {
        "code": view.code,
        "procedure_code": view.procedure_code,
        "procedure_name": view.procedure_name,
        "status": view.status,
        "status_label": view.status_label,
        "applicant_name": view.applicant_name,
        "applicant_dob": view.applicant_dob,
        "applicant_citizen_id": view.applicant_citizen_id,
        "applicant_phone": view.applicant_phone,
        "applicant_address": view.applicant_address,
        "details": [[label, str(value)] for label, value in view.details],
        "created_at": view.created_at.isoformat(timespec="seconds"),
        "updated_at": view.updated_at.isoformat(timespec="seconds"),
        "events": [
            {"status": e.status, "note": e.note, "at": e.created_at.isoformat(timespec="seconds")}
            for e in view.events
        ],
    }


def _print_view(view: Any) -> None:
    data = _view_dict(view)
    print(f"{data['code']}  {data['status_label']}  ({data['status']})")
    print(f"  thủ tục:   {data['procedure_code']} {data['procedure_name']}")
    print(f"  người nộp: {data['applicant_name']}, sinh {data['applicant_dob']}")
    print(f"  CCCD: {data['applicant_citizen_id']}  ĐT: {data['applicant_phone']}")
    print(f"  địa chỉ:   {data['applicant_address']}")
    for label, value in data["details"]:
        print(f"  {label}: {value}")
    print("  lịch sử:")
    for event in data["events"]:
        note = f" — {event['note']}" if event["note"] else ""
        print(f"    {event['at']}  {event['status']}{note}")


def _dossier_error(exc: Exception) -> CommandError:
    message = getattr(exc, "detail", "") or getattr(exc, "message_vi", "") or str(exc)
    return CommandError(message, status=2)


def _set_status(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from dossiers.service import DossierError, change_status, status_label

    try:
        with session_scope(open_database_or_exit(args)) as session:
            if args.status == "need_supplement":  # opens the request the chat answers
                from dossiers.supplements import request_supplement

                view = request_supplement(
                    session, args.code, args.document or [], note=args.note or "", actor=args.actor
                )
                code, status = view.dossier_code, "need_supplement"
            else:
                dossier = change_status(
                    session, args.code, args.status, actor=args.actor, note=args.note or ""
                )
                code, status = dossier.code, dossier.status
    except DossierError as exc:
        raise _dossier_error(exc) from exc
    print(f"{code}: {status_label(status)} ({status}); the citizen will be notified")
    return 0


def _show(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from dossiers.service import DossierError, officer_view

    try:
        with session_scope(open_database_or_exit(args)) as session:
            view = officer_view(session, args.code, masked=not args.unmask)
    except DossierError as exc:
        raise _dossier_error(exc) from exc
    if args.json:
        print(json.dumps(_view_dict(view), ensure_ascii=False, indent=2))
    else:
        _print_view(view)
    return 0


def _list(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from dossiers.service import officer_queue

    with session_scope(open_database_or_exit(args)) as session:
        views = officer_queue(session, status=args.status, limit=args.limit)
    if args.json:
        print(json.dumps([_view_dict(v) for v in views], ensure_ascii=False, indent=2))
        return 0
    for v in views:
        print(f"{v.code}  {v.status:<16} {v.created_at:%Y-%m-%d %H:%M}  {v.procedure_name[:60]}")
    if not views:
        print("no dossiers")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from dossiers.service import STATUSES

    add = command_group(subparsers, "dossier", "dossiers (officers)")

    p = add("set-status", "change a dossier's status and notify the citizen", _set_status)
    p.add_argument("code")
    p.add_argument("status", choices=STATUSES)
    p.add_argument("--note", help="shown to the citizen")
    p.add_argument("--actor", default="officer:cli", help="who made the change (audit trail)")
    p.add_argument(
        "--document",
        action="append",
        help="need_supplement: a missing document (repeat for several)",
    )

    p = add("show", "one dossier with its history (personal data masked)", _show)
    p.add_argument("code")
    p.add_argument("--unmask", action="store_true", help="show personal data in full")
    p.add_argument("--json", action="store_true")

    p = add("list", "dossiers, oldest first", _list)
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
