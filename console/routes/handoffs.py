"""Hand-offs, live (issue 11, item 3): the queue, one conversation, replies.

Pages over `dossiers.handoff` (all state in the database, so any number of
console processes serve them):

- GET  /handoffs                 queue: waiting (position, waiting time,
                                 reason), held, recently closed; live (htmx
                                 polls /handoffs/queue every 3 s) with an
                                 alert when a new request arrives
- GET  /handoffs/queue           the queue fragment (`?seen=<newest id shown>`)
- GET  /handoffs/badge           "N đang chờ" fragment for other pages
- GET  /handoffs/<id>            one hand-off: facts, messages (live: htmx polls
                                 /handoffs/<id>/messages every 2 s), reply box
                                 with canned replies, hand back
- POST /handoffs/<id>/claim      take it (the assistant goes silent)
- POST /handoffs/<id>/assign     a supervisor gives it to an officer
- POST /handoffs/<id>/reply      text, or a canned reply (`canned_id`)
- POST /handoffs/<id>/handback   return the conversation to the assistant
- GET/POST /handoffs/canned, POST /handoffs/canned/<id>/delete

Every change is audited in its own transaction (`console.audit.record`,
actions handoff.claim / handoff.assign / handoff.reply / handoff.handback /
canned.add / canned.edit / canned.delete), with the masked sender and never
a message text. Citizen texts are unmasked only for the officer holding the
hand-off (the audited takeover gave them the conversation); masked for everyone else.
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sqlalchemy import select

from console import audit
from console.web import (
    NavItem,
    client_ip,
    db_session,
    error_page,
    form_value,
    redirect_to,
    render,
    requires,
)
from dossiers import handoff

bp = Blueprint("handoffs", url_prefix="/handoffs")
NAV = [NavItem("Hỗ trợ trực tiếp", "/handoffs", "handoffs.read", order=10)]



def mask_text(text: str) -> str:
    """Citizen text with personal data masked (the console's one masker of
    citizen messages, free-text pass included)."""
    from console.conversations import mask_message

    return mask_message(text)


def _shown(text: str, *, holder: bool) -> str:
    """Citizen text as this officer may see it: unmasked only for the officer
    who holds the hand-off (they need the phone or address the citizen gives
    to help, and the takeover that gave them the conversation is audited);
    masked for everyone else, whatever their role (a live view polled every
    few seconds cannot audit each look, so other roles reveal through the
    conversation page, which audits it)."""
    return text if holder else mask_text(text)


def _hours() -> handoff.OfficeHours | None:
    try:
        return handoff.OfficeHours.load()
    except (OSError, ValueError):
        return None


def _seen(request: Request) -> int | None:
    """The newest open id the page showed (None on a first render)."""
    raw = request.args.get("seen") or ""
    return int(raw) if raw.isdigit() else None


def _queue_context(request: Request) -> dict:
    seen = _seen(request)
    with db_session(request) as db:
        rows = handoff.queue(db)
        closed = handoff.recent_closed(db, limit=10)
        newest = handoff.latest_open_id(db)
    hours = _hours()
    waiting = [r for r in rows if r.status == "open"]
    return {
        "waiting": waiting,
        "held": [r for r in rows if r.status == "taken"],
        "closed": closed,
        "newest": newest,
        # Alert only on a poll that follows a page which had seen older ones.
        "new_ids": {r.id for r in waiting if seen is not None and r.id > seen},
        "office_open": hours.is_open() if hours else True,
        "next_opening": (
            handoff.OfficeHours.describe_vi(hours.next_opening()) if hours else ""
        ),
        "hours_summary": hours.summary_vi if hours else "",
    }


@bp.get("/")
@requires("handoffs.read")
async def queue_page(request: Request) -> HTTPResponse:
    return render(request, "handoffs/queue.html", **_queue_context(request))


@bp.get("/queue")
@requires("handoffs.read")
async def queue_fragment(request: Request) -> HTTPResponse:
    return render(request, "handoffs/_queue.html", **_queue_context(request))


@bp.get("/badge")
@requires("handoffs.read")
async def badge(request: Request) -> HTTPResponse:
    with db_session(request) as db:
        count = handoff.open_count(db)
    return render(request, "handoffs/_badge.html", count=count)


def _officers(request: Request) -> list[str]:
    from console.orm import StaffMember

    with db_session(request) as db:
        return list(
            db.execute(
                select(StaffMember.username)
                .where(
                    StaffMember.active.is_(True),
                    StaffMember.role.in_(("officer", "supervisor")),
                )
                .order_by(StaffMember.username)
            ).scalars()
        )


def _conversation(request: Request, handoff_id: int) -> dict | None:
    with db_session(request) as db:
        try:
            view = handoff.get_handoff(db, handoff_id)
        except handoff.HandoffNotFound:
            return None
        items = handoff.messages(db, handoff_id)
        canned = handoff.list_canned(db)
    staff = request.ctx.staff
    holder = view.status == "taken" and view.assigned_to == staff.username
    shown = [
        {"m": m, "text": _shown(m.text, holder=holder) if m.author == "citizen" else m.text}
        for m in items
    ]
    return {
        "h": view,
        "items": shown,
        "last_message": _shown(view.last_message, holder=holder),
        "canned": canned,
        "holder": holder,
    }


@bp.get("/<handoff_id:int>")
@requires("handoffs.read")
async def conversation(request: Request, handoff_id: int) -> HTTPResponse:
    context = _conversation(request, handoff_id)
    if context is None:
        return error_page(request, 404, "Không tìm thấy yêu cầu hỗ trợ.")
    officers = _officers(request) if request.ctx.staff.can("handoffs.assign") else []
    return render(
        request,
        "handoffs/conversation.html",
        officers=officers,
        msg=request.args.get("msg") or "",
        error=request.args.get("error") or "",
        **context,
    )


@bp.get("/<handoff_id:int>/messages")
@requires("handoffs.read")
async def messages_fragment(request: Request, handoff_id: int) -> HTTPResponse:
    context = _conversation(request, handoff_id)
    if context is None:
        return error_page(request, 404, "Không tìm thấy yêu cầu hỗ trợ.")
    return render(request, "handoffs/_messages.html", **context)


def _back(handoff_id: int, **query: str) -> HTTPResponse:
    return redirect_to(f"/handoffs/{handoff_id}", **query)


def _refused(request: Request, handoff_id: int, exc: handoff.HandoffError) -> HTTPResponse:
    """The answer to a refused hand-off action: 404 for a hand-off that is not
    there, else back to the conversation showing why."""
    if isinstance(exc, handoff.HandoffNotFound):
        return error_page(request, 404, "Không tìm thấy yêu cầu hỗ trợ.")
    return _back(handoff_id, error=exc.message_vi)


@bp.post("/<handoff_id:int>/claim")
@requires("handoffs.work")
async def claim(request: Request, handoff_id: int) -> HTTPResponse:
    staff = request.ctx.staff
    try:
        with db_session(request) as db:
            view = handoff.claim(db, handoff_id, staff.username)
            audit.record(db, staff, "handoff.claim", "handoff", handoff_id,
                         ip=client_ip(request), sender=view.masked_sender, channel=view.channel,
                         reveals="citizen messages of the held conversation, unmasked")
    except handoff.HandoffError as exc:
        return _refused(request, handoff_id, exc)
    return _back(handoff_id, msg="Bạn đã nhận yêu cầu; trợ lý tạm dừng trong cuộc trò chuyện này.")


@bp.post("/<handoff_id:int>/assign")
@requires("handoffs.assign")
async def assign(request: Request, handoff_id: int) -> HTTPResponse:
    staff = request.ctx.staff
    officer = form_value(request, "officer")
    if officer not in _officers(request):
        return _back(handoff_id, error="Hãy chọn một cán bộ đang hoạt động.")
    try:
        with db_session(request) as db:
            view = handoff.assign(db, handoff_id, officer, by=staff.username)
            audit.record(db, staff, "handoff.assign", "handoff", handoff_id,
                         ip=client_ip(request), officer=officer, sender=view.masked_sender)
    except handoff.HandoffError as exc:
        return _refused(request, handoff_id, exc)
    return _back(handoff_id, msg=f"Đã giao cho {officer}.")


@bp.post("/<handoff_id:int>/reply")
@requires("handoffs.work")
async def reply(request: Request, handoff_id: int) -> HTTPResponse:
    staff = request.ctx.staff
    text = form_value(request, "text")
    canned_id = form_value(request, "canned_id")
    try:
        with db_session(request) as db:
            if not text and canned_id.isdigit():
                text = next(
                    (c.text for c in handoff.list_canned(db) if c.id == int(canned_id)), ""
                )
            if not text:
                raise ValueError("empty")
            message = handoff.reply(db, handoff_id, staff.username, text)
            audit.record(db, staff, "handoff.reply", "handoff", handoff_id,
                         ip=client_ip(request), message_id=message.id, chars=len(message.text),
                         canned=bool(canned_id and not form_value(request, "text")))
    except handoff.HandoffError as exc:
        return _refused(request, handoff_id, exc)
    except ValueError:
        return _back(handoff_id, error="Hãy nhập nội dung trả lời hoặc chọn một câu trả lời mẫu.")
    return _back(handoff_id)


@bp.post("/<handoff_id:int>/handback")
@requires("handoffs.work")
async def hand_back(request: Request, handoff_id: int) -> HTTPResponse:
    staff = request.ctx.staff
    try:
        with db_session(request) as db:
            current = handoff.get_handoff(db, handoff_id)
            if (
                current.status == "taken"
                and current.assigned_to != staff.username
                and not staff.can("handoffs.assign")
            ):
                raise handoff.NotAssigned("Chỉ cán bộ đang giữ cuộc trò chuyện mới trả lại được.")
            view = handoff.hand_back(db, handoff_id, staff.username)
            audit.record(db, staff, "handoff.handback", "handoff", handoff_id,
                         ip=client_ip(request), close_reason=view.close_reason,
                         sender=view.masked_sender)
    except handoff.HandoffError as exc:
        return _refused(request, handoff_id, exc)
    return redirect_to("/handoffs")


# -- canned replies -------------------------------------------------------------


@bp.get("/canned")
@requires("handoffs.read")
async def canned_page(request: Request) -> HTTPResponse:
    with db_session(request) as db:
        items = handoff.list_canned(db)
    return render(
        request, "handoffs/canned.html", items=items,
        error=request.args.get("error") or "", msg=request.args.get("msg") or "",
    )


@bp.post("/canned")
@requires("canned.manage")
async def canned_save(request: Request) -> HTTPResponse:
    staff = request.ctx.staff
    raw_id = form_value(request, "id")
    canned_id = int(raw_id) if raw_id.isdigit() else None
    try:
        with db_session(request) as db:
            item = handoff.save_canned(
                db, form_value(request, "title"), form_value(request, "text"),
                by=staff.username, canned_id=canned_id,
            )
            audit.record(db, staff, "canned.edit" if canned_id else "canned.add", "canned",
                         item.id, ip=client_ip(request), title=item.title)
    except handoff.HandoffNotFound as exc:
        return redirect_to("/handoffs/canned", error=exc.message_vi)
    except ValueError:
        return redirect_to(
            "/handoffs/canned",
            error="Cần tiêu đề và nội dung; tiêu đề không được trùng với câu mẫu khác.",
        )
    return redirect_to("/handoffs/canned", msg="Đã lưu câu trả lời mẫu.")


@bp.post("/canned/<canned_id:int>/delete")
@requires("canned.manage")
async def canned_delete(request: Request, canned_id: int) -> HTTPResponse:
    staff = request.ctx.staff
    try:
        with db_session(request) as db:
            handoff.delete_canned(db, canned_id)
            audit.record(db, staff, "canned.delete", "canned", canned_id, ip=client_ip(request))
    except handoff.HandoffNotFound as exc:
        return redirect_to("/handoffs/canned", error=exc.message_vi)
    return redirect_to("/handoffs/canned", msg="Đã xoá câu trả lời mẫu.")
