"""Accounts (admin): list, add, disable/enable, reset password. Audited."""

from __future__ import annotations

import secrets

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sqlalchemy import select

from console import auth
from console.orm import ROLES, StaffMember
from console.roles import ROLE_LABELS_VI
from console.web import (
    NavItem,
    client_ip,
    db_session,
    form_value,
    redirect_to,
    render,
    requires,
)
from core.db import utcnow

bp = Blueprint("staff", url_prefix="/staff")
NAV = [NavItem("Tài khoản", "/staff", "staff.manage", order=80)]


def _page(request: Request, *, error: str = "", status: int = 200, **extra: object) -> HTTPResponse:
    with db_session(request) as db:
        members = db.execute(select(StaffMember).order_by(StaffMember.username)).scalars().all()
    return render(
        request, "staff/list.html", status=status, members=members, roles=ROLES,
        role_labels=ROLE_LABELS_VI, error=error, now_utc=utcnow(),
        done=request.args.get("done", ""), **extra,
    )


@bp.get("/")
@requires("staff.manage")
async def staff_list(request: Request) -> HTTPResponse:
    """Every account with its role, agency and state."""
    return _page(request)


@bp.post("/")
@requires("staff.manage")
async def staff_add(request: Request) -> HTTPResponse:
    """Create an account (audited)."""
    password = str((request.form or {}).get("password") or "")
    try:
        with db_session(request) as db:
            auth.add_staff(
                db, request.ctx.staff, form_value(request, "username"), password,
                form_value(request, "role"), display_name=form_value(request, "display_name"),
                agency=form_value(request, "agency") or None, ip=client_ip(request),
            )
    except auth.StaffError as exc:
        return _page(request, error=str(exc), status=400)
    return redirect_to("/staff", done="added")


@bp.post("/<username:str>/active")
@requires("staff.manage")
async def staff_active(request: Request, username: str) -> HTTPResponse:
    """Disable (ending its sessions) or re-enable an account (audited)."""
    active = form_value(request, "active") == "1"
    if not active and username == request.ctx.staff.username:
        return _page(request, error="Không thể tự khoá tài khoản của mình.", status=400)
    try:
        with db_session(request) as db:
            auth.set_active(db, request.ctx.staff, username, active, ip=client_ip(request))
    except auth.StaffError as exc:
        return _page(request, error=str(exc), status=404)
    return redirect_to("/staff", done="enabled" if active else "disabled")


@bp.post("/<username:str>/reset-password")
@requires("staff.manage")
async def staff_reset(request: Request, username: str) -> HTTPResponse:
    """Give an account a one-time password shown once; it must be changed at login."""
    # A one-time password shown once to the admin; the member must change it.
    temporary = f"{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"
    try:
        with db_session(request) as db:
            auth.reset_password(db, request.ctx.staff, username, temporary, ip=client_ip(request))
    except auth.StaffError as exc:
        return _page(request, error=str(exc), status=404)
    return _page(request, temporary=(username, temporary))
