"""Dossiers: list/filter/search, detail, status changes, supplement requests,
attachment download, export. Every change goes through dossiers.service
(`change_status`) or dossiers.supplements, with the audit row in the same
transaction."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.orm import ProcedureRow
from console import audit
from console.dossier_queries import (
    EXPORT_HEADER,
    DossierFilter,
    DueDates,
    agencies_in_use,
    agency_of,
    export_rows,
    may_see,
    received_times,
    search_dossiers,
)
from console.exports import FORMATS, export_response
from console.web import (
    NavItem,
    client_ip,
    db_session,
    error_page,
    form_value,
    form_values,
    redirect_to,
    render,
    requires,
)
from dossiers.codes import normalize_code
from dossiers.orm import DOSSIER_STATUSES, Attachment, Dossier, Notification
from dossiers.outbox import retry_notification
from dossiers.service import (
    STATUS_LABELS,
    TRANSITIONS,
    DossierError,
    DossierView,
    change_status,
)

bp = Blueprint("dossiers", url_prefix="/dossiers")
NAV = [NavItem("Hồ sơ", "/dossiers", "dossiers.read", order=30)]
PAGE_SIZE = 50
# Status changes an officer makes from the detail page ("need_supplement" has
# its own form; cancellation is the citizen's).
OFFICER_STATUSES = ("received", "processing", "completed", "rejected")
MESSAGES = {
    "status": "Đã cập nhật trạng thái hồ sơ; công dân sẽ được thông báo.",
    "supplement": "Đã gửi yêu cầu bổ sung cho công dân.",
    "retry": "Đã đặt gửi lại thông báo ngay.",
    "retry_none": "Thông báo này không còn ở trạng thái “không gửi được”.",
    "supplement_rejected": "Đã báo công dân giấy tờ bổ sung chưa đạt và lý do.",
}


def _supplements() -> ModuleType | None:
    """H4's dossiers.supplements (None in a checkout without it)."""
    try:
        return importlib.import_module("dossiers.supplements")
    except ModuleNotFoundError:
        return None


def _actor(request: Request) -> str:
    return f"officer:{request.ctx.staff.username}"


@bp.get("/")
@requires("dossiers.read")
async def dossier_list(request: Request) -> HTTPResponse:
    """Dossiers the member may see, filtered, newest first, overdue highlighted."""
    filters = DossierFilter.from_params(request.args)
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    with db_session(request) as db:
        rows = search_dossiers(db, request.ctx.staff, filters)
        agencies = agencies_in_use(db)
    query = filters.as_query()
    return render(
        request,
        "dossiers/list.html",
        filters=filters,
        rows=rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        total=len(rows),
        overdue_count=sum(1 for r in rows if r.overdue),
        page=page,
        pages=max(1, -(-len(rows) // PAGE_SIZE)),
        page_query=lambda n: urlencode({**query, "page": str(n)}),
        statuses=[(s, STATUS_LABELS[s]) for s in DOSSIER_STATUSES],
        agencies=agencies,
        query=query,
    )


@bp.post("/export")
@requires("dossiers.read", "dossiers.export")
async def dossier_export(request: Request) -> HTTPResponse:
    """CSV/XLSX of the filtered dossiers (applicant masked; audited)."""
    fmt = form_value(request, "format", "csv")
    if fmt not in FORMATS:
        return error_page(request, 400, "Định dạng xuất không hợp lệ.")
    filters = DossierFilter.from_params(request.form or {})
    with db_session(request) as db:
        rows = search_dossiers(db, request.ctx.staff, filters)
        audit.record(
            db, request.ctx.staff, "export.dossiers", "dossier", filters.code or "filtered",
            ip=client_ip(request), format=fmt, rows=len(rows), filters=filters.as_query(),
            masked=True,
        )
    return export_response(EXPORT_HEADER, export_rows(rows), fmt=fmt, basename="ho-so")


def _visible_dossier(
    request: Request, db: Session, code: str
) -> tuple[Dossier, ProcedureRow | None] | None:
    normalized = normalize_code(code)
    if normalized is None:
        return None
    dossier = db.execute(select(Dossier).where(Dossier.code == normalized)).scalar_one_or_none()
    if dossier is None:
        return None
    procedure = db.get(ProcedureRow, dossier.procedure_code)
    if not may_see(request.ctx.staff, agency_of(procedure)):
        return None  # same answer as "no such dossier"
    return dossier, procedure


def _detail(
    request: Request, code: str, *, reveal: bool = False, error: str = "", status: int = 200
) -> HTTPResponse:
    sup = _supplements()
    with db_session(request) as db:
        found = _visible_dossier(request, db, code)
        if found is None:
            return error_page(request, 404, "Không tìm thấy hồ sơ.")
        dossier, procedure = found
        if reveal:
            audit.record(
                db, request.ctx.staff, "personal.reveal", "dossier", dossier.code,
                ip=client_ip(request), fields=["applicant", "citizen_id", "phone", "address"],
            )
        view = DossierView.from_dossier(dossier, masked=not reveal)
        received_at = received_times(db, [dossier.id]).get(dossier.id)
        due, overdue, time_label = DueDates(db).for_dossier(
            dossier.procedure_code, dossier.status, received_at or dossier.created_at
        )
        notifications = db.execute(
            select(Notification).where(Notification.dossier_id == dossier.id)
            .order_by(Notification.id)
        ).scalars().all()
        attachments = db.execute(
            select(Attachment).where(Attachment.dossier_id == dossier.id).order_by(Attachment.id)
        ).scalars().all()
        events = list(dossier.events)
        documents: list[str] = []
        open_supplement = None
        if sup is not None:
            documents = sup.procedure_documents(db, dossier.procedure_code)
            open_supplement = sup.open_supplement(db, dossier.code)
        allowed = [s for s in OFFICER_STATUSES if s in TRANSITIONS[dossier.status]]
        return render(
            request,
            "dossiers/detail.html",
            status=status,
            dossier=dossier,
            view=view,
            agency=agency_of(procedure),
            received_at=received_at,
            due=due,
            overdue=overdue,
            time_label=time_label,
            notifications=notifications,
            attachments=attachments,
            events=events,
            labels=STATUS_LABELS,
            allowed=[(s, STATUS_LABELS[s]) for s in allowed],
            can_supplement=sup is not None and "need_supplement" in TRANSITIONS[dossier.status],
            documents=documents,
            open_supplement=open_supplement,
            revealed=reveal,
            error=error,
            message=MESSAGES.get(request.args.get("msg") or "", ""),
        )


@bp.get("/<code:str>")
@requires("dossiers.read")
async def dossier_detail(request: Request, code: str) -> HTTPResponse:
    """One dossier: applicant (masked), fields, due date, files, history, notifications."""
    return _detail(request, code)


@bp.post("/<code:str>/reveal")
@requires("dossiers.read", "personal.reveal")
async def dossier_reveal(request: Request, code: str) -> HTTPResponse:
    """The dossier with personal data shown (audited)."""
    return _detail(request, code, reveal=True)


def _change_dossier(
    request: Request, code: str, change: Callable[[Session, Dossier], None], *, msg: str
) -> HTTPResponse:
    """Apply an officer's `change(db, dossier)` to the visible dossier `code`
    in one unit of work (the change and its audit row commit together).

    404 when the officer may not see the dossier, the detail page with the
    refusal (409) on a DossierError, else back to the dossier showing `msg`."""
    try:
        with db_session(request) as db:
            found = _visible_dossier(request, db, code)
            if found is None:
                return error_page(request, 404, "Không tìm thấy hồ sơ.")
            dossier, _ = found
            change(db, dossier)
            target = dossier.code
    except DossierError as exc:
        return _detail(request, code, error=exc.message_vi, status=409)
    return redirect_to(f"/dossiers/{target}", msg=msg)


@bp.post("/<code:str>/status")
@requires("dossiers.read", "dossiers.change")
async def dossier_status(request: Request, code: str) -> HTTPResponse:
    """Change the status through dossiers.service.change_status; a note is required (audited)."""
    new_status = form_value(request, "status")
    note = form_value(request, "note")
    if new_status not in OFFICER_STATUSES:
        return _detail(request, code, error="Trạng thái không hợp lệ.", status=400)
    if not note:
        message = (
            "Từ chối phải có lý do." if new_status == "rejected"
            else "Vui lòng ghi nội dung xử lý (bắt buộc)."
        )
        return _detail(request, code, error=message, status=400)

    def change(db: Session, dossier: Dossier) -> None:
        old = dossier.status
        change_status(db, dossier.code, new_status, actor=_actor(request), note=note)
        audit.record(
            db, request.ctx.staff, "dossier.status", "dossier", dossier.code,
            ip=client_ip(request), old=old, new=new_status, note_chars=len(note),
        )

    return _change_dossier(request, code, change, msg="status")


@bp.post("/<code:str>/supplement")
@requires("dossiers.read", "dossiers.change")
async def dossier_supplement(request: Request, code: str) -> HTTPResponse:
    """Ask for missing documents (ticked + typed) through dossiers.supplements (audited)."""
    sup = _supplements()
    if sup is None:
        return error_page(request, 404, "Chức năng yêu cầu bổ sung chưa có.")
    ticked = form_values(request, "documents")
    typed = [line.strip() for line in form_value(request, "other_documents").splitlines()]
    documents = [d for d in [*ticked, *typed] if d]
    note = form_value(request, "note")
    if not documents and not note:
        return _detail(
            request, code, status=400,
            error="Chọn ít nhất một giấy tờ cần bổ sung hoặc ghi nội dung yêu cầu.",
        )

    def change(db: Session, dossier: Dossier) -> None:
        view = sup.request_supplement(db, dossier.code, documents, note=note, actor=_actor(request))
        audit.record(
            db, request.ctx.staff, "dossier.supplement", "dossier", dossier.code,
            ip=client_ip(request), supplement_id=view.id, documents=list(view.items),
            note_chars=len(note),
        )

    return _change_dossier(request, code, change, msg="supplement")


@bp.get("/<code:str>/attachments/<attachment_id:int>")
@requires("dossiers.read", "attachments.download")
async def attachment_download(request: Request, code: str, attachment_id: int) -> HTTPResponse:
    """Download one attachment of a visible dossier (audited)."""
    with db_session(request) as db:
        found = _visible_dossier(request, db, code)
        attachment = db.get(Attachment, attachment_id)
        if found is None or attachment is None or attachment.dossier_id != found[0].id:
            return error_page(request, 404, "Không tìm thấy tệp.")
        path = Path(attachment.storage_path)
        if not path.is_file():
            return error_page(request, 404, "Tệp không còn trên máy chủ.")
        audit.record(
            db, request.ctx.staff, "attachment.download", "dossier", found[0].code,
            ip=client_ip(request), attachment_id=attachment.id, bytes=attachment.size_bytes,
        )
        name, mime = attachment.file_name, attachment.content_type
    return await file(
        path, mime_type=mime or "application/octet-stream", filename=name,
        headers={"X-Content-Type-Options": "nosniff"},
    )


@bp.post("/<code:str>/notifications/<notification_id:int>/retry")
@requires("dossiers.read", "dossiers.change")
async def notification_retry(request: Request, code: str, notification_id: int) -> HTTPResponse:
    """Make a failed notification of a visible dossier due again now (audited
    with its attempts and last error); the outbox dispatcher (push channels)
    or the citizen's next pull (web chat, REST) delivers it."""
    with db_session(request) as db:
        found = _visible_dossier(request, db, code)
        row = db.get(Notification, notification_id)
        if found is None or row is None or row.dossier_id != found[0].id:
            return error_page(request, 404, "Không tìm thấy thông báo.")
        before = {"attempts": row.attempts, "last_error": (row.last_error or "")[:200]}
        retried = retry_notification(db, notification_id)
        if retried:
            audit.record(
                db, request.ctx.staff, "notification.retry", "dossier", found[0].code,
                ip=client_ip(request), notification_id=notification_id, channel=row.channel,
                **before,
            )
        target = found[0].code
    return redirect_to(f"/dossiers/{target}", msg="retry" if retried else "retry_none")


@bp.post("/<code:str>/supplement/<supplement_id:int>/reject")
@requires("dossiers.read", "dossiers.change")
async def supplement_reject(request: Request, code: str, supplement_id: int) -> HTTPResponse:
    """Refuse what the citizen sent for the open supplement request, with a
    mandatory reason the citizen receives through the outbox (audited)."""
    sup = _supplements()
    if sup is None:
        return error_page(request, 404, "Chức năng yêu cầu bổ sung chưa có.")
    reason = form_value(request, "reason")
    if not reason:
        return _detail(request, code, status=400,
                       error="Không chấp nhận giấy tờ bổ sung phải có lý do.")
    try:
        with db_session(request) as db:
            found = _visible_dossier(request, db, code)
            current = None if found is None else sup.open_supplement(db, found[0].code)
            if found is None or current is None or current.id != supplement_id:
                return error_page(request, 404, "Không tìm thấy yêu cầu bổ sung đang chờ.")
            view = sup.reject_supplement(db, supplement_id, reason, actor=_actor(request))
            audit.record(
                db, request.ctx.staff, "dossier.supplement_reject", "dossier", found[0].code,
                ip=client_ip(request), supplement_id=supplement_id, reopened_as=view.id,
                parts=len(current.parts), reason_chars=len(reason),
            )
            target = found[0].code
    except DossierError as exc:
        return _detail(request, code, error=exc.message_vi, status=409)
    return redirect_to(f"/dossiers/{target}", msg="supplement_rejected")
