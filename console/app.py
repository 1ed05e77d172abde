"""The console's Sanic app: one Blueprint per area, listed in ROUTE_MODULES.

A route module (console/routes/<area>.py) exposes
- `bp`: a `sanic.Blueprint` whose handlers are each guarded by
  `console.web.requires(...)` (or marked `console.web.public`), and
- optionally `NAV`: a list of `console.web.NavItem` for the top navigation.
Adding an area = one new module + one line in ROUTE_MODULES. A module that
is not in this checkout yet is skipped (like bot/cli's COMMAND_MODULES).

Per request the middleware loads the server-side session into
`request.ctx.staff` (StaffView or None) and `request.ctx.csrf`, and rejects any
POST/PUT/PATCH/DELETE that does not echo the CSRF token (403). Responses get
strict security headers (CSP without inline scripts, no framing, no caching of
pages that may show personal data).
"""

from __future__ import annotations

import importlib
import itertools
import logging
import secrets
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, redirect

from console import auth
from console.conversations import TrackerReader
from console.settings import ConsoleSettings
from console.web import (
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    STATIC_DIR,
    NavItem,
    build_templates,
    csrf_ok,
    error_page,
)
from core.db import session_factory, session_scope

log = logging.getLogger(__name__)

ROUTE_MODULES: tuple[str, ...] = (
    "console.routes.home",
    "console.routes.conversations",
    "console.routes.dossiers",
    "console.routes.handoffs",  # H6: hand-offs live
    "console.routes.reports",
    "console.routes.staff",
    "console.routes.audit",
    "console.routes.training",  # issue 12: inbox, training data, models
    "console.routes.analytics",  # issue 12: dashboard
)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_app_numbers = itertools.count(1)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def set_cookie(
    response: HTTPResponse, settings: ConsoleSettings, name: str, value: str, *, max_age: int
) -> None:
    """An HttpOnly, SameSite=Lax cookie for the whole console (Secure when configured)."""
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["path"] = "/"
    cookie["httponly"] = True
    cookie["samesite"] = "Lax"
    cookie["max-age"] = max_age
    if settings.secure_cookies:
        cookie["secure"] = True


def clear_cookie(response: HTTPResponse, settings: ConsoleSettings, name: str) -> None:
    set_cookie(response, settings, name, "", max_age=0)


def _load_route_modules() -> list[Any]:
    modules = []
    for name in ROUTE_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # an area not in this checkout
            raise
    return modules


def _check_guarded(app: Sanic) -> None:
    """Refuse to start with a route that is neither guarded nor marked public."""
    for route in app.router.routes:
        handler = route.handler
        if getattr(handler, "__console_public__", False):
            continue
        if getattr(handler, "__console_permissions__", None) is None and route.name and not (
            route.name.endswith("static") or "static" in route.name
        ):
            raise RuntimeError(f"console route {route.path} has no requires(...) / public guard")


def create_app(settings: ConsoleSettings | None = None, name: str | None = None) -> Sanic:
    """The console application (not started). `settings` default: from the environment."""
    settings = settings or ConsoleSettings.from_env()
    app = Sanic(name or f"tthc_console_{next(_app_numbers)}")
    app.config.MOTD = False
    app.config.REQUEST_MAX_SIZE = 30 * 1024 * 1024
    app.ctx.settings = settings
    app.ctx.templates = build_templates()
    app.ctx.nav = []
    app.ctx.db_factory = None
    app.static("/static", str(STATIC_DIR), name="static")
    for module in _load_route_modules():
        app.blueprint(module.bp)
        app.ctx.nav.extend(getattr(module, "NAV", []))
    app.ctx.nav.sort(key=lambda item: (item.order, item.label))

    @app.before_server_start
    async def open_database(app: Sanic, _loop: Any) -> None:
        # One engine per worker process (forked workers must not share pools).
        app.ctx.db_factory = session_factory(settings.database_url)
        app.ctx.tracker = TrackerReader(settings.tracker_store_url)
        with session_scope(app.ctx.db_factory) as db:
            auth.purge_expired(db, settings)

    @app.after_server_stop
    async def close_database(app: Sanic, _loop: Any) -> None:
        if app.ctx.db_factory is not None:
            app.ctx.db_factory.kw["bind"].dispose()
        if getattr(app.ctx, "tracker", None) is not None:
            app.ctx.tracker.close()

    @app.on_request
    async def without_trailing_slash(request: Request) -> HTTPResponse | None:
        # First, before the session look-up a redirect does not need.
        # "/dossiers/" typed or bookmarked is "/dossiers": Sanic would route it to
        # the detail page with an empty code ("Không tìm thấy hồ sơ"). A redirect
        # on this host only: the target never starts with "//".
        path = request.path
        if request.method != "GET" or len(path) < 2 or not path.endswith("/"):
            return None
        target = "/" + path.strip("/")
        if request.query_string:
            target += "?" + request.query_string
        return redirect(target, status=308)

    @app.on_request
    async def load_staff(request: Request) -> HTTPResponse | None:
        request.ctx.staff = None
        request.ctx.csrf = None
        if request.path.startswith("/static/"):
            return None
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            with session_scope(app.ctx.db_factory) as db:
                loaded = auth.load_session(db, settings, token)
            if loaded is not None:
                request.ctx.staff, request.ctx.csrf = loaded
        if request.method in UNSAFE_METHODS:
            expected = request.ctx.csrf or request.cookies.get(PRELOGIN_COOKIE)
            if not csrf_ok(request, expected):
                return error_page(
                    request, 403, "Yêu cầu không hợp lệ (thiếu mã CSRF). Hãy tải lại trang."
                )
        return None

    @app.on_response
    async def security_headers(request: Request, response: HTTPResponse) -> None:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")

    @app.exception(Exception)
    async def on_error(request: Request, exc: Exception) -> HTTPResponse:
        from sanic.exceptions import SanicException

        if isinstance(exc, SanicException):
            status = getattr(exc, "status_code", 500) or 500
            message = "Không tìm thấy trang." if status == 404 else "Yêu cầu không hợp lệ."
            if status >= 500:
                message = "Đã có lỗi. Vui lòng thử lại."
            if not hasattr(request.ctx, "staff"):
                request.ctx.staff = None
                request.ctx.csrf = None
            return error_page(request, status, message)
        log.exception("console error on %s %s", request.method, request.path)
        if not hasattr(request.ctx, "staff"):
            request.ctx.staff = None
            request.ctx.csrf = None
        return error_page(request, 500, "Đã có lỗi. Vui lòng thử lại.")

    _check_guarded(app)
    return app


def new_prelogin_token() -> str:
    """A fresh double-submit token for the login form."""
    return secrets.token_urlsafe(24)


__all__ = ["ROUTE_MODULES", "NavItem", "create_app", "set_cookie"]
