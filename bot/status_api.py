"""The inbound status API: a small Sanic app of its own, on its own port
(`TTHC_INBOUND_PORT`, default 5010), started by `tthc run` when the
one-stop-shop integration is on, or alone with `tthc integration serve`.

    POST /api/v1/status-events   one status event (docs/openapi-tthc-inbound.yaml)
    GET  /health                 {"status": "ok"} (no authentication, no data)

Put it behind the province's TLS reverse proxy; it binds to loopback unless
`TTHC_INBOUND_HOST` says otherwise. Every answer is JSON; errors carry
`{"error": <word>, "message": <explanation>}` with a 4xx status.

Rate limits (`core.ratelimit`, counters shared by every process): each
authenticated client may send `TTHC_RATE_LIMIT_INBOUND_PER_CLIENT` events per
window; refused authentications count per remote address
(`TTHC_RATE_LIMIT_INBOUND_FAILED_PER_ADDRESS`), so guessing tokens is slowed
without ever locking out a client that authenticates. Over a limit: 429,
`Retry-After` (seconds) and `{"error": "rate_limited", "message": ...,
"retry_after": <seconds>}`; the event is not applied (send it again later).
Behind a proxy the remote address is Sanic's `request.remote_addr`
(X-Forwarded-For / Forwarded, when the proxy is configured for Sanic), else
the peer address.
"""

from __future__ import annotations

import logging
import secrets

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json
from sqlalchemy.orm import sessionmaker

from core.db import session_scope
from core.ratelimit import Decision, RateLimiter, rate_limiter
from core.settings import get_settings
from dossiers.inbound import (
    MAX_BODY_BYTES,
    InboundError,
    apply_event,
    authenticate,
    parse_event,
)
from dossiers.service import DossierError

log = logging.getLogger(__name__)

DEFAULT_PORT = 5010


def _rate_limited(decision: Decision, who: str) -> HTTPResponse:
    seconds = decision.retry_after
    return json(
        {
            "error": "rate_limited",
            "message": f"more than {decision.limit} requests {who} in this window; "
            f"retry after {seconds} s",
            "retry_after": seconds,
        },
        status=429,
        headers={"Retry-After": str(seconds)},
    )


def create_app(
    factory: sessionmaker, name: str | None = None, *, limiter: RateLimiter | None = None
) -> Sanic:
    """The Sanic app over the database of `factory`. `name` must be unique in
    the process (Sanic keeps a registry); a random one by default. `limiter`:
    where rate-limit counters live (default: `core.ratelimit.rate_limiter`,
    Redis when configured, else the database of `factory`)."""
    limits = get_settings().rate_limits
    counters = limiter or rate_limiter(factory)
    app = Sanic(name or f"tthc-inbound-{secrets.token_hex(4)}")
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.config.FALLBACK_ERROR_FORMAT = "json"

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    @app.post("/api/v1/status-events")
    async def status_event(request: Request) -> HTTPResponse:
        body = request.body or b""
        try:
            with session_scope(factory) as session:
                client = authenticate(session, request.headers, body)
        except InboundError as exc:
            address = request.remote_addr or request.ip or "unknown"
            decision = counters.hit(
                "inbound-failed", address, limits.inbound_failed_per_address, limits.window_seconds
            )
            if not decision.allowed:
                log.warning("inbound: refused authentications over the limit from one address")
                return _rate_limited(decision, "with refused authentication from this address")
            log.warning("inbound request refused: %s", exc.code)
            return json(exc.body(), status=exc.status)
        decision = counters.hit("inbound", client, limits.inbound_per_client, limits.window_seconds)
        if not decision.allowed:
            log.warning("inbound: client %s over its rate limit", client)
            return _rate_limited(decision, "from this client")
        try:
            event = parse_event(body)
            with session_scope(factory) as session:
                result = apply_event(session, client, event)
        except InboundError as exc:
            if exc.status == 401:
                log.warning("inbound request refused: %s", exc.code)
            return json(exc.body(), status=exc.status)
        except DossierError as exc:  # e.g. a concurrent change won the race
            return json({"error": "conflict", "message": str(exc)}, status=409)
        return json(result.body(), status=200)

    return app


def serve(factory: sessionmaker, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Run the API in this process until SIGINT/SIGTERM."""
    app = create_app(factory, "tthc-inbound")
    app.run(host=host, port=port, access_log=False, motd=False, workers=1)
