"""Conversations: list/search/filter, transcript, audited reveal, export."""

from __future__ import annotations

from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sqlalchemy import select

from catalog.orm import ProcedureRow
from console import audit
from console.catalog_names import procedure_names
from console.conversations import (
    EXPORT_HEADER,
    ConversationFilter,
    masked_summary_text,
    rows_for_export,
)
from console.dossier_queries import agency_from, may_reveal_conversation, may_see
from console.exports import FORMATS, export_response
from console.web import NavItem, client_ip, db_session, error_page, render, requires
from dossiers.orm import Dossier, HandoffRequest
from dossiers.service import status_label

bp = Blueprint("conversations", url_prefix="/conversations")
NAV = [NavItem("Hội thoại", "/conversations", "conversations.read", order=20)]
PAGE_SIZE = 50
MAX_EXPORT_CONVERSATIONS = 2000


def _context_sets(request: Request) -> tuple[set[str], set[str], dict[str, str]]:
    with db_session(request) as db:
        dossier_senders = set(db.execute(select(Dossier.sender_id).distinct()).scalars())
        handoff_senders = set(db.execute(select(HandoffRequest.sender_id).distinct()).scalars())
        names = procedure_names(db)
    return dossier_senders, handoff_senders, names


def _search(request: Request, filters: ConversationFilter):
    dossier_senders, handoff_senders, names = _context_sets(request)
    staff = request.ctx.staff
    with db_session(request) as db:
        # The text search sees a conversation as typed only where this user may reveal
        # it (the reveal route's own check), else as masked: an officer of one agency
        # cannot find another agency's citizen by phone, ID, name or address.
        may_reveal = staff.can("personal.reveal")
        found = request.app.ctx.tracker.search(
            filters,
            dossier_senders=dossier_senders,
            handoff_senders=handoff_senders,
            procedure_names=names,
            reveal=(lambda sender: may_reveal_conversation(db, staff, sender))
            if may_reveal else False,
        )
    return found, dossier_senders, handoff_senders, names


@bp.get("/")
@requires("conversations.read")
async def conversation_list(request: Request) -> HTTPResponse:
    """Conversations matching the filters in the query string, newest first, 50 per page."""
    filters = ConversationFilter.from_params(request.args)
    found, dossier_senders, handoff_senders, names = _search(request, filters)
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    tracker = request.app.ctx.tracker
    everything = tracker.summaries()
    intents = sorted({i for s in everything for i in s.intents})
    channels = sorted({s.channel for s in everything if s.channel})
    query = filters.as_query()
    return render(
        request,
        "conversations/list.html",
        filters=filters,
        rows=[
            {
                "summary": s,
                "last_text": masked_summary_text(s),
                "procedures": [(code, names.get(code, "")) for code in sorted(s.procedures)],
                "has_dossier": s.sender_id in dossier_senders,
                "handoff": s.handoff or s.sender_id in handoff_senders,
            }
            for s in shown
        ],
        total=len(found),
        page=page,
        pages=max(1, -(-len(found) // PAGE_SIZE)),
        page_query=lambda n: urlencode({**query, "page": str(n)}),
        intents=intents,
        channels=channels,
        available=tracker.available(),
        query=query,
    )


def _transcript_page(request: Request, sender_id: str, *, reveal: bool) -> HTTPResponse:
    tracker = request.app.ctx.tracker
    transcript = tracker.transcript(sender_id, reveal=reveal)
    if transcript is None:
        return error_page(request, 404, "Không tìm thấy hội thoại.")
    staff = request.ctx.staff
    with db_session(request) as db:
        names = procedure_names(db)
        dossiers = (
            db.execute(
                select(Dossier, ProcedureRow.agencies, ProcedureRow.competent_authority,
                       ProcedureRow.implementing_level)
                .outerjoin(ProcedureRow, ProcedureRow.code == Dossier.procedure_code)
                .where(Dossier.sender_id == sender_id).order_by(Dossier.id)
            ).all()
            if staff.can("dossiers.read")
            else []
        )
        # Dossiers of another agency stay out of sight, as on /dossiers.
        dossier_rows = [
            (d.code, d.procedure_name, status_label(d.status))
            for d, *agency in dossiers if may_see(staff, agency_from(*agency))
        ]
        may_reveal = staff.can("personal.reveal") and may_reveal_conversation(db, staff, sender_id)
    return render(
        request,
        "conversations/detail.html",
        transcript=transcript,
        names=names,
        dossiers=dossier_rows,
        revealed=reveal,
        may_reveal=may_reveal,
    )


@bp.get("/<sender_id:str>")
@requires("conversations.read")
async def conversation_detail(request: Request, sender_id: str) -> HTTPResponse:
    """One conversation's transcript, personal data masked."""
    return _transcript_page(request, sender_id, reveal=False)


@bp.post("/<sender_id:str>/reveal")
@requires("conversations.read", "personal.reveal")
async def conversation_reveal(request: Request, sender_id: str) -> HTTPResponse:
    """The transcript unmasked, for roles with personal.reveal (audited), within
    the officer's agency (`may_reveal_conversation`); otherwise 403."""
    if request.app.ctx.tracker.summary(sender_id) is None:
        return error_page(request, 404, "Không tìm thấy hội thoại.")
    with db_session(request) as db:
        if not may_reveal_conversation(db, request.ctx.staff, sender_id):
            # Same agency limit as dossiers (console/README.md, Roles).
            return error_page(
                request, 403, "Hội thoại này có hồ sơ của cơ quan khác: không được hiện "
                "thông tin cá nhân.",
            )
        audit.record(
            db, request.ctx.staff, "personal.reveal", "conversation", sender_id,
            ip=client_ip(request), fields=["citizen_id", "phone", "address", "names"],
        )
    return _transcript_page(request, sender_id, reveal=True)


@bp.post("/export")
@requires("conversations.read", "conversations.export")
async def conversation_export(request: Request) -> HTTPResponse:
    """CSV/XLSX of one conversation (`sender_id`) or of the filtered set (masked; audited)."""
    form = request.form or {}
    fmt = str(form.get("format") or "csv")
    if fmt not in FORMATS:
        return error_page(request, 400, "Định dạng xuất không hợp lệ.")
    sender = str(form.get("sender_id") or "").strip()
    with db_session(request) as db:
        names = procedure_names(db)
    if sender:
        if request.app.ctx.tracker.summary(sender) is None:
            return error_page(request, 404, "Không tìm thấy hội thoại.")
        senders = [sender]
        filters_used: dict[str, str] = {"sender_id": sender}
    else:
        filters = ConversationFilter.from_params(form)
        found, _, _, _ = _search(request, filters)
        senders = [s.sender_id for s in found[:MAX_EXPORT_CONVERSATIONS]]
        filters_used = filters.as_query()
    # Exports are never revealed (a file leaves the console's audit trail); the audit
    # entry's `masked` is the very flag the rows were made with.
    reveal = False
    rows = rows_for_export(request.app.ctx.tracker, senders, names, reveal=reveal)
    with db_session(request) as db:
        audit.record(
            db, request.ctx.staff, "export.conversations", "conversation",
            sender or "filtered", ip=client_ip(request), format=fmt,
            conversations=len(senders), rows=len(rows), filters=filters_used,
            masked=not reveal,
        )
    return export_response(EXPORT_HEADER, rows, fmt=fmt, basename="hoi-thoai")
