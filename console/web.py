"""What every console route module uses: the role guard, the database
session, the current staff member, rendering, CSRF, redirects.

    from console.web import requires, db_session, render, client_ip, redirect_to

    bp = Blueprint("dossiers", url_prefix="/dossiers")

    @bp.get("/")
    @requires("dossiers.read")
    async def dossier_list(request):
        staff = request.ctx.staff               # console.auth.StaffView
        with db_session(request) as db:          # commits on success
            rows = ...
        return render(request, "dossiers/list.html", rows=rows)

CSRF is enforced by the app for every POST/PUT/PATCH/DELETE (see
console/app.py): forms include `{{ csrf_field() }}`, htmx requests send the
`X-CSRF-Token` header (set once on <body> by the base template).

Database calls are synchronous SQLAlchemy inside async handlers: every query
the console runs is short and indexed, and the console scales by processes
(`TTHC_CONSOLE_WORKERS`) rather than by threads.
"""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sanic import Request
from sanic.request import RequestParameters
from sanic.response import HTTPResponse, html, redirect
from sqlalchemy.orm import Session

from core.db import session_scope
from dossiers.validation import VIETNAM_TZ

CONSOLE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = CONSOLE_DIR / "templates"
STATIC_DIR = CONSOLE_DIR / "static"
SESSION_COOKIE = "tthc_console"
PRELOGIN_COOKIE = "tthc_console_pre"  # double-submit CSRF token of the login form
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

# A coroutine function, not any awaitable: Sanic's route decorators are typed that way.
Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


@dataclass(frozen=True)
class NavItem:
    """One entry of the top navigation: shown when the staff member holds `permission`."""

    label: str
    path: str
    permission: str
    order: int = 50


def requires(*permissions: str) -> Callable[[Handler], Handler]:
    """Route guard. Not logged in -> 303 to /login?next=... (GET) or 401;
    logged in without ALL `permissions` -> 403 page; a member who must change
    their password is sent to /account/password first. Put it directly under
    the `@bp.get(...)` / `@bp.post(...)` decorator."""
    from console.roles import PERMISSIONS

    for name in permissions:
        if name not in PERMISSIONS:
            raise KeyError(f"unknown console permission {name!r}")

    def decorator(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            staff = request.ctx.staff
            if staff is None:
                if request.method == "GET" and not request.headers.get("HX-Request"):
                    query = request.query_string
                    target = request.path + (f"?{query}" if query else "")
                    return redirect("/login?" + urlencode({"next": target}), status=303)
                return error_page(
                    request, 401, "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."
                )
            if staff.must_change_password and request.path != "/account/password":
                return redirect("/account/password", status=303)
            if not all(staff.can(name) for name in permissions):
                return error_page(request, 403, "Vai trò của bạn không được phép xem trang này.")
            return await handler(request, *args, **kwargs)

        guarded.__console_permissions__ = tuple(permissions)  # type: ignore[attr-defined]  # route marker attribute
        return guarded

    return decorator


def public(handler: Handler) -> Handler:
    """Mark a route that needs no login (login page, health check). The app
    refuses to start with a route that is neither `requires(...)` nor `public`."""
    handler.__console_public__ = True  # type: ignore[attr-defined]  # route marker attribute
    return handler


@contextmanager
def db_session(request: Request) -> Iterator[Session]:
    """A unit of work on the tthc database: commit on success, roll back on error."""
    with session_scope(request.app.ctx.db_factory) as session:
        yield session


def client_ip(request: Request) -> str:
    """The client address for throttling and the audit log. Behind a proxy set
    Sanic's `FORWARDED_SECRET`/`REAL_IP_HEADER`/`PROXIES_COUNT` (env `SANIC_...`)
    so `request.remote_addr` is the real client; else the socket peer."""
    return (request.remote_addr or request.ip or "")[:64]


def form_value(request: Request, name: str, default: str = "") -> str:
    """One form field as a stripped string (default when absent)."""
    form = request.form or {}
    value = form.get(name)
    return default if value is None else str(value).strip()


def form_values(request: Request, name: str) -> list[str]:
    """Every value of a repeated form field (checkboxes)."""
    # An empty form is falsy: fall back to an empty RequestParameters, since a dict has
    # no getlist (this raised AttributeError on a form with no fields at all).
    form = request.form or RequestParameters()
    return [str(value) for value in form.getlist(name) or []]


def csrf_ok(request: Request, expected: str | None) -> bool:
    """True when the request echoes `expected` in the form field or header."""
    if not expected:
        return False
    sent = request.headers.get(CSRF_HEADER) or ""
    if not sent and request.form is not None:
        sent = request.form.get(CSRF_FIELD) or ""
    return hmac.compare_digest(str(sent), expected)


def _vn_time(value: datetime | date | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(VIETNAM_TZ)
        return value.strftime(fmt)
    return value.strftime("%d/%m/%Y")


def build_templates() -> Environment:
    """The Jinja2 environment: console/templates, autoescaped, with filters
    `vn_time` (Vietnam time), `urlq` (URL-quote) and `json_vi` (readable JSON)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["vn_time"] = _vn_time
    env.filters["urlq"] = lambda value: quote(str(value), safe="")
    # JSON for people: Vietnamese letters as they are (tojson escapes them to \uXXXX).
    env.filters["json_vi"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)
    return env


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTTPResponse:
    """Render `template` with `context` plus `staff`, `nav`, `csrf_token`,
    `csrf_field()` and `request`. A request from htmx (`HX-Request`) gets the
    same template; templates that serve fragments check `is_htmx`."""
    staff = getattr(request.ctx, "staff", None)
    csrf = getattr(request.ctx, "csrf", None) or ""
    nav = [item for item in request.app.ctx.nav if staff is not None and staff.can(item.permission)]
    body = request.app.ctx.templates.get_template(template).render(
        request=request,
        staff=staff,
        nav=nav,
        csrf_token=csrf,
        csrf_field=lambda: Markup(
            f'<input type="hidden" name="{CSRF_FIELD}" value="{Markup.escape(csrf)}">'
        ),
        is_htmx=bool(request.headers.get("HX-Request")),
        **context,
    )
    return html(body, status=status)


def error_page(request: Request, status: int, message: str) -> HTTPResponse:
    """The console's error page (no stack traces, no internals)."""
    return render(request, "error.html", status=status, status_code=status, message=message)


def redirect_to(path: str, **query: str) -> HTTPResponse:
    """303 See Other to a console path (after a POST), with an optional query."""
    if not path.startswith("/") or path.startswith("//"):
        path = "/"
    suffix = ("?" + urlencode(query)) if query else ""
    return redirect(path + suffix, status=303)


def safe_next(target: str | None) -> str:
    """A post-login redirect target limited to this site's paths."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
