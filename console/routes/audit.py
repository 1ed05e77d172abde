"""The audit log (admin, auditor): read and filter; never edit."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from console.audit import AuditFilter, search
from console.web import NavItem, db_session, render, requires
from dossiers.validation import VIETNAM_TZ

bp = Blueprint("audit", url_prefix="/audit")
NAV = [NavItem("Nhật ký", "/audit", "audit.read", order=90)]
PAGE_SIZE = 100


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/")
@requires("audit.read")
async def audit_list(request: Request) -> HTTPResponse:
    """The audit log, newest first, filtered by actor, action prefix, target and dates."""
    args = request.args
    day_from, day_to = _day(args.get("date_from")), _day(args.get("date_to"))
    filters = AuditFilter(
        actor=(args.get("actor") or "").strip()[:64],
        action=(args.get("action") or "").strip()[:64],
        target=(args.get("target") or "").strip()[:128],
        since=(datetime.combine(day_from, time.min, tzinfo=VIETNAM_TZ).astimezone(timezone.utc)
               if day_from else None),
        until=(datetime.combine(day_to + timedelta(days=1), time.min, tzinfo=VIETNAM_TZ)
               .astimezone(timezone.utc) if day_to else None),
    )
    try:
        page = max(1, int(args.get("page") or 1))
    except ValueError:
        page = 1
    with db_session(request) as db:
        entries, total = search(db, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    query = {k: v for k, v in {
        "actor": filters.actor, "action": filters.action, "target": filters.target,
        "date_from": day_from.isoformat() if day_from else "",
        "date_to": day_to.isoformat() if day_to else "",
    }.items() if v}
    return render(
        request, "audit/list.html", entries=entries, total=total, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), query=query,
        page_query=lambda n: urlencode({**query, "page": str(n)}),
    )
