"""The inbound status API: a small Sanic app of its own, on its own port
(`TTHC_INBOUND_PORT`, default 5010), started by `tthc run` when the
one-stop-shop integration is on, or alone with `tthc integration serve`.

    POST /api/v1/status-events   one status event (docs/openapi-tthc-inbound.yaml)
    GET  /health                 {"status": "ok"} (no authentication, no data)

Put it behind the province's TLS reverse proxy; it binds to loopback unless
`TTHC_INBOUND_HOST` says otherwise. Every answer is JSON; errors carry
`{"error": <word>, "message": <explanation>}` with a 4xx status.
"""

from __future__ import annotations

import logging
import secrets

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json
from sqlalchemy.orm import sessionmaker

from core.db import session_scope
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


def create_app(factory: sessionmaker, name: str | None = None) -> Sanic:
    """The Sanic app over the database of `factory`. `name` must be unique in
    the process (Sanic keeps a registry); a random one by default."""
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
