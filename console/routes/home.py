"""Login, logout, the start page, changing one's own password, health check."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from console import audit, auth
from console.app import clear_cookie, new_prelogin_token, set_cookie
from console.web import (
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    client_ip,
    db_session,
    form_value,
    public,
    redirect_to,
    render,
    requires,
    safe_next,
)

bp = Blueprint("home")
NAV: list = []


def _login_page(request: Request, *, error: str = "", status: int = 200) -> HTTPResponse:
    token = new_prelogin_token()
    request.ctx.csrf = token
    response = render(
        request,
        "login.html",
        status=status,
        error=error,
        next=safe_next(request.args.get("next") or form_value(request, "next") or None),
    )
    set_cookie(response, request.app.ctx.settings, PRELOGIN_COOKIE, token, max_age=3600)
    return response


@bp.get("/login")
@public
async def login_form(request: Request) -> HTTPResponse:
    """The login form (a fresh double-submit CSRF cookie each time)."""
    if request.ctx.staff is not None:
        return redirect_to("/")
    return _login_page(request)


@bp.post("/login")
@public
async def login(request: Request) -> HTTPResponse:
    """Check the password (throttling, lockout), start a server-side session, redirect to `next`."""
    settings = request.app.ctx.settings
    ip = client_ip(request)
    username = form_value(request, "username")
    password = (request.form or {}).get("password") or ""
    refused: auth.LoginRefused | None = None
    with db_session(request) as db:  # failures, counts and lockouts commit too
        try:
            member = auth.authenticate(db, settings, username, str(password), ip=ip)
        except auth.LoginRefused as exc:
            refused = exc
        else:
            token, _csrf = auth.start_session(
                db, member, ip=ip, user_agent=request.headers.get("user-agent", "")
            )
            audit.record(db, member, "auth.login", "staff", member.username, ip=ip)
    if refused is not None:
        return _login_page(request, error=refused.message, status=429 if refused.throttled else 401)
    response = redirect_to(safe_next(form_value(request, "next")))
    set_cookie(response, settings, SESSION_COOKIE, token, max_age=settings.idle_minutes * 60 * 48)
    clear_cookie(response, settings, PRELOGIN_COOKIE)
    return response


@bp.post("/logout")
@requires()
async def logout(request: Request) -> HTTPResponse:
    """End this session (audited) and clear the cookie."""
    with db_session(request) as db:
        auth.end_session(db, request.cookies.get(SESSION_COOKIE))
        audit.record(db, request.ctx.staff, "auth.logout", "staff", request.ctx.staff.username,
                     ip=client_ip(request))
    response = redirect_to("/login")
    clear_cookie(response, request.app.ctx.settings, SESSION_COOKIE)
    return response


@bp.get("/")
@requires()
async def start(request: Request) -> HTTPResponse:
    """The start page: links to what the member's role may open."""
    return render(request, "home.html")


@bp.get("/account/password")
@requires()
async def password_form(request: Request) -> HTTPResponse:
    """The form to change one's own password."""
    return render(request, "password.html", error="", done=request.args.get("done") == "1")


@bp.post("/account/password")
@requires()
async def change_password(request: Request) -> HTTPResponse:
    """Change one's own password (needs the current one; audited)."""
    old = str((request.form or {}).get("old_password") or "")
    new = str((request.form or {}).get("new_password") or "")
    again = str((request.form or {}).get("new_password_again") or "")
    if new != again:
        return render(request, "password.html", status=400, done=False,
                      error="Hai lần nhập mật khẩu mới không khớp.")
    try:
        with db_session(request) as db:
            auth.change_own_password(db, request.ctx.staff, old, new, ip=client_ip(request))
    except auth.StaffError as exc:
        return render(request, "password.html", status=400, done=False, error=str(exc))
    return redirect_to("/account/password", done="1")


@bp.get("/healthz")
@public
async def health(request: Request) -> HTTPResponse:
    """Liveness for proxies and tests: 200 {"status": "ok"}."""
    return json({"status": "ok"})
