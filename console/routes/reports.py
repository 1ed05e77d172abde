"""Reports (supervisor, auditor): dossier workload and the assistant's conversations."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sqlalchemy import func, select

from console.dossier_queries import DossierFilter, search_dossiers
from console.web import NavItem, db_session, render, requires
from dossiers.orm import HandoffRequest, utcnow
from dossiers.service import STATUS_LABELS

bp = Blueprint("reports", url_prefix="/reports")
NAV = [NavItem("Báo cáo", "/reports", "reports.read", order=60)]


@bp.get("/")
@requires("reports.read")
async def report(request: Request) -> HTTPResponse:
    """Dossier workload by status/procedure/agency and the last 7 days of conversations."""
    since = utcnow() - timedelta(days=7)
    with db_session(request) as db:
        rows = search_dossiers(db, request.ctx.staff, DossierFilter())
        handoffs = dict(
            db.execute(
                select(HandoffRequest.status, func.count()).group_by(HandoffRequest.status)
            ).all()
        )
    by_status = Counter(r.status for r in rows)
    overdue = [r for r in rows if r.overdue]
    by_procedure = Counter(r.procedure_name for r in rows).most_common(10)
    recent = [s for s in request.app.ctx.tracker.summaries() if s.last_at and s.last_at >= since]
    return render(
        request,
        "reports.html",
        total=len(rows),
        by_status=[(STATUS_LABELS[s], by_status.get(s, 0)) for s in STATUS_LABELS],
        overdue=len(overdue),
        overdue_by_agency=Counter(r.agency for r in overdue).most_common(10),
        by_procedure=by_procedure,
        conversations=len(recent),
        messages=sum(s.user_messages for s in recent),
        fallback=sum(1 for s in recent if s.fallback),
        low_confidence=sum(1 for s in recent if s.low_confidence),
        handoff_conversations=sum(1 for s in recent if s.handoff),
        handoffs=handoffs,
    )
