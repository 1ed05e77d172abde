"""Analytics dashboard (issue 12): server-rendered SVG charts, date range and
channel filters, CSV of every chart's data. The numbers come from
`training.analytics.compute`, the same function `tthc stats` prints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sqlalchemy.orm import Session

from console.charts import PALETTE, hbar_chart, stacked_bars
from console.dossier_queries import DueDates, received_times
from console.exports import export_response
from console.web import NavItem, db_session, render, requires
from dossiers.orm import Dossier
from dossiers.service import status_label
from training.analytics import Dashboard, Filters, compute

bp = Blueprint("analytics", url_prefix="/analytics")
NAV = [NavItem("Thống kê", "/analytics", "analytics.read", order=70)]
MAX_DAYS = 366


def overdue_checker(db: Session) -> Callable[[Dossier], bool]:
    """A `Dossier -> bool` telling whether an open dossier is past its due date
    (working days from its receipt, console.duedates)."""
    due_dates = DueDates(db)
    cache: dict[int, datetime] = {}

    def overdue(dossier: Dossier) -> bool:
        if dossier.id not in cache:
            cache.update(received_times(db, [dossier.id]))
        start = cache.get(dossier.id) or dossier.created_at
        return due_dates.for_dossier(dossier.procedure_code, dossier.status, start)[1]

    return overdue


def filters_from(args: Any) -> tuple[Filters, str]:
    """Filters from query arguments `from`, `to` (YYYY-MM-DD), `channel`; the
    default is the last 30 days. Returns (filters, error message or "")."""
    default = Filters.last_days(30)
    error = ""

    def day(name: str, fallback: date) -> date:
        nonlocal error
        raw = (args.get(name) or "").strip()
        if not raw:
            return fallback
        try:
            return date.fromisoformat(raw)
        except ValueError:
            error = f"Ngày không hợp lệ: {raw}"
            return fallback

    start, end = day("from", default.date_from), day("to", default.date_to)
    if end < start:
        start, end, error = end, start, "Ngày bắt đầu sau ngày kết thúc: đã đổi chỗ."
    if (end - start).days >= MAX_DAYS:
        start, error = end.replace(year=end.year - 1), "Tối đa một năm."
    return Filters(start, end, (args.get("channel") or "").strip()[:32]), error


def _board(request: Request, filters: Filters) -> Dashboard:
    tracker = getattr(request.app.ctx, "tracker", None)
    engine = tracker.engine if tracker is not None and tracker.available() else None
    with db_session(request) as db:
        return compute(db, engine, filters, overdue=overdue_checker(db))


@bp.get("/")
@requires("analytics.read")
async def dashboard(request: Request) -> HTTPResponse:
    filters, error = filters_from(request.args)
    board = _board(request, filters)
    days = filters.days()
    charts = {
        "conversations": stacked_bars(
            "Hội thoại mỗi ngày theo kênh",
            days,
            {
                c: [board.conversations_by_day.get(d, {}).get(c, 0) for d in days]
                for c in board.channels
            },
        ),
        "messages": stacked_bars(
            "Tin nhắn mỗi ngày theo kênh",
            days,
            {c: [board.messages_by_day.get(d, {}).get(c, 0) for d in days] for c in board.channels},
        ),
        "procedures": hbar_chart(
            "Thủ tục được hỏi nhiều nhất",
            [(name or code, n) for code, name, n in board.top_procedures],
        ),
        "misunderstood": hbar_chart(
            "Câu chưa hiểu nhiều nhất", board.top_misunderstood, color=PALETTE[4]
        ),
        "dossiers": hbar_chart(
            "Hồ sơ theo trạng thái",
            [(status_label(s), n) for s, n in sorted(board.dossiers_by_status.items())]
            + [("Quá hạn (đang mở)", board.dossiers_overdue)],
            color=PALETTE[2],
        ),
        "ratings": hbar_chart(
            "Đánh giá",
            [(f"{k} ★", board.ratings.get(k, 0)) for k in range(5, 0, -1)],
            color=PALETTE[1],
            label_width=80,
        ),
    }
    tracker = getattr(request.app.ctx, "tracker", None)
    channels = (
        sorted({s.channel for s in tracker.summaries() if s.channel})
        if (tracker is not None and tracker.available())
        else board.channels
    )
    return render(
        request,
        "analytics/dashboard.html",
        board=board,
        charts=charts,
        filters=filters,
        error=error,
        channels=channels,
        query=f"from={filters.date_from}&to={filters.date_to}&channel={filters.channel}",
    )


@bp.get("/export.csv")
@requires("analytics.read")
async def export_csv(request: Request) -> HTTPResponse:
    filters, _ = filters_from(request.args)
    tables = _board(request, filters).tables()
    name = request.args.get("table") or "summary"
    if name not in tables:
        name = "summary"
    header, rows = tables[name]
    return export_response(header, rows, fmt="csv", basename=f"thong-ke-{name}")
