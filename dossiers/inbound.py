"""Status events from the one-stop-shop: authentication and application.

The HTTP layer (`bot.status_api`) hands this module the raw body and
headers; everything that decides something lives here, testable without a
server.

Authentication (per `IntegrationClient`), either:
- HMAC: `X-TTHC-Client: <name>`, `X-TTHC-Timestamp: <unix seconds>`,
  `X-TTHC-Signature: sha256=<hex>` where hex = HMAC-SHA256(secret,
  "<timestamp>.<raw body>"); timestamps more than `REPLAY_WINDOW` (5 min)
  away from our clock are refused, so a captured request cannot be replayed
  later (and within the window the event id makes a replay a no-op); or
- bearer token: `Authorization: Bearer <token>` (stored as SHA-256 only).

Application (`apply_event`), in ONE transaction:
- the (client, event id) pair is recorded first; a second delivery of the same
  event (duplicate, replay) changes nothing and gets the first outcome back;
- the dossier is found by our code or by the one-stop-shop's reference;
- an event older than the newest applied one for the dossier, or one for a
  status behind the current one, is recorded as "stale" and changes nothing:
  out-of-order events never move a dossier backwards;
- a forward jump (one-stop-shop says "processing" while we hold "submitted")
  walks the transition table with `change_status`, notifying the citizen only
  for the final status: once;
- "need_supplement" opens a supplement request with the missing documents
  (`supplements.request_supplement`), so the citizen gets the list and can
  answer in the chat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, Field, ValidationError, validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.wording import say
from dossiers.codes import normalize_code, normalize_national_code
from dossiers.integration_orm import InboundStatusEvent, IntegrationClient
from dossiers.orm import Dossier, utcnow
from dossiers.validation import clean_free_text

log = logging.getLogger(__name__)

REPLAY_WINDOW = timedelta(minutes=5)
MAX_BODY_BYTES = 64 * 1024
REMOTE_STATUSES = ("received", "processing", "need_supplement", "completed", "rejected")
# How far along a dossier is; need_supplement and processing alternate, so
# they share a rank and only timestamps order them.
_RANK = {
    "submitted": 0,
    "received": 1,
    "processing": 2,
    "need_supplement": 2,
    "completed": 3,
    "rejected": 3,
    "cancelled": 3,
}


class InboundError(Exception):
    """A refused request: `status` is the HTTP status, `code` a stable
    machine-readable word, `message` a human explanation (English, for the
    one-stop-shop's developers)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message}


# ---------------------------------------------------------------------------
# Clients and authentication
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientCredentials:
    """Shown once when a client is registered; only hashes/secrets are kept."""

    name: str
    token: str
    hmac_secret: str


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def register_client(session: Session, name: str) -> ClientCredentials:
    """Create (or re-key) the client `name` with a fresh bearer token and HMAC
    secret. Raises ValueError for a bad name."""
    name = (name or "").strip()
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise ValueError("client name: 1-64 letters, digits, '-', '_' or '.'")
    token = secrets.token_urlsafe(32)
    secret = secrets.token_hex(32)
    client = session.execute(
        select(IntegrationClient).where(IntegrationClient.name == name)
    ).scalar_one_or_none()
    if client is None:
        client = IntegrationClient(name=name, created_at=utcnow())
        session.add(client)
    client.token_sha256 = _sha256(token)
    client.hmac_secret = secret
    client.active = 1
    session.flush()
    return ClientCredentials(name, token, secret)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `X-TTHC-Signature` value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def authenticate(session: Session, headers: Any, body: bytes, *, now: float | None = None) -> str:
    """The name of the authenticated client, or `InboundError(401)`.

    `headers`: any case-insensitive mapping (Sanic's, httpx's) or a dict.
    """
    get = headers.get
    authorization = (get("authorization") or get("Authorization") or "").strip()
    client_name = (get("x-tthc-client") or get("X-TTHC-Client") or "").strip()
    if authorization.lower().startswith("bearer "):
        digest = _sha256(authorization[7:].strip())
        for client in session.execute(
            select(IntegrationClient).where(IntegrationClient.active == 1)
        ).scalars():
            if client.token_sha256 and hmac.compare_digest(client.token_sha256, digest):
                return client.name
        raise InboundError(401, "unauthorized", "unknown bearer token")
    if not client_name:
        raise InboundError(
            401,
            "unauthorized",
            "send Authorization: Bearer <token>, or X-TTHC-Client, X-TTHC-Timestamp "
            "and X-TTHC-Signature",
        )
    timestamp = (get("x-tthc-timestamp") or get("X-TTHC-Timestamp") or "").strip()
    signature = (get("x-tthc-signature") or get("X-TTHC-Signature") or "").strip()
    if not timestamp.isdigit() or not signature:
        raise InboundError(401, "unauthorized", "X-TTHC-Timestamp and X-TTHC-Signature required")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > REPLAY_WINDOW.total_seconds():
        raise InboundError(
            401, "stale_timestamp", "X-TTHC-Timestamp is more than 5 minutes from our clock"
        )
    client = session.execute(
        select(IntegrationClient).where(
            IntegrationClient.name == client_name, IntegrationClient.active == 1
        )
    ).scalar_one_or_none()
    expected = sign(client.hmac_secret, timestamp, body) if client and client.hmac_secret else ""
    # Compare even for an unknown client, so timing does not reveal names.
    if not hmac.compare_digest(expected or "sha256=", signature) or client is None:
        raise InboundError(401, "bad_signature", "signature does not match")
    return client.name


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


class StatusEvent(BaseModel):
    """The body of POST /api/v1/status-events (see docs/openapi-tthc-inbound.yaml)."""

    class Config:
        extra = "ignore"
        anystr_strip_whitespace = True

    event_id: str = Field(min_length=1, max_length=128)
    code: str | None = Field(default=None, max_length=64)
    reference: str | None = Field(default=None, max_length=80)
    status: str
    occurred_at: datetime
    note: str = Field(default="", max_length=2000)
    missing_documents: list[str] = Field(default_factory=list, max_items=20)
    result_pickup: str = Field(default="", max_length=1000)
    reason: str = Field(default="", max_length=1000)

    @validator("status")
    def _known_status(cls, value: str) -> str:
        if value not in REMOTE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(REMOTE_STATUSES)}")
        return value

    @validator("occurred_at")
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at needs a time zone (e.g. +07:00 or Z)")
        return value.astimezone(timezone.utc)


def parse_event(body: bytes) -> StatusEvent:
    """Validate the JSON body; `InboundError(400/413)` with the reason."""
    if len(body) > MAX_BODY_BYTES:
        raise InboundError(413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InboundError(400, "invalid_json", "body is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise InboundError(400, "invalid_json", "body must be a JSON object")
    try:
        event = StatusEvent.parse_obj(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise InboundError(400, "invalid_event", problems) from None
    if not event.code and not event.reference:
        raise InboundError(400, "invalid_event", "give code (ours) or reference (yours)")
    if event.status == "need_supplement" and not (event.missing_documents or event.note):
        raise InboundError(
            400, "invalid_event", "need_supplement needs missing_documents or a note"
        )
    return event


@dataclass(frozen=True)
class EventResult:
    """What the API answers: `outcome` is applied | duplicate | stale | unchanged."""

    event_id: str
    outcome: str
    code: str
    status: str

    def body(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "outcome": self.outcome,
            "dossier": {"code": self.code, "status": self.status},
        }


def _find(session: Session, event: StatusEvent) -> Dossier:
    dossier = None
    if event.code:
        code = normalize_code(event.code)
        if code is None:
            raise InboundError(400, "invalid_code", "code is not a HS-XXXX-XXXX dossier code")
        dossier = session.execute(
            select(Dossier).where(Dossier.code == code).with_for_update()
        ).scalar_one_or_none()
    if dossier is None and event.reference:
        reference = normalize_national_code(event.reference) or event.reference.strip()
        dossier = session.execute(
            select(Dossier).where(Dossier.backend_reference == reference).with_for_update()
        ).scalar_one_or_none()
    if dossier is None:
        raise InboundError(404, "unknown_dossier", "no dossier with this code or reference")
    return dossier


def _path(current: str, target: str) -> list[str] | None:
    """Shortest chain of allowed transitions from current to target (BFS)."""
    from dossiers.service import TRANSITIONS

    queue: deque[list[str]] = deque([[current]])
    seen = {current}
    while queue:
        path = queue.popleft()
        for nxt in sorted(TRANSITIONS[path[-1]]):
            if nxt in seen or nxt == "cancelled":
                continue
            if nxt == target:
                return [*path[1:], nxt]
            seen.add(nxt)
            queue.append([*path, nxt])
    return None


def _note(event: StatusEvent) -> str:
    parts = []
    if event.status == "completed" and event.result_pickup:
        parts.append(say("one_stop.result_pickup", pickup=event.result_pickup))
    if event.status == "rejected" and event.reason:
        parts.append(say("one_stop.reason", reason=event.reason))
    if event.note:
        parts.append(event.note)
    return clean_free_text("\n".join(parts), max_chars=2000)


def apply_event(session: Session, client: str, event: StatusEvent) -> EventResult:
    """Record and apply one event in the caller's transaction (see module doc).
    Raises `InboundError` 404 (unknown dossier) or 409 (transition not allowed)."""
    from dossiers import supplements
    from dossiers.service import change_status

    previous = session.execute(
        select(InboundStatusEvent).where(
            InboundStatusEvent.client_name == client,
            InboundStatusEvent.event_id == event.event_id,
        )
    ).scalar_one_or_none()
    if previous is not None:
        dossier = session.get(Dossier, previous.dossier_id) if previous.dossier_id else None
        return EventResult(
            event.event_id,
            "duplicate",
            dossier.code if dossier else "",
            dossier.status if dossier else "",
        )
    dossier = _find(session, event)
    record = InboundStatusEvent(
        client_name=client,
        event_id=event.event_id,
        dossier_id=dossier.id,
        status=event.status,
        occurred_at=event.occurred_at,
        outcome="pending",
        payload=json.loads(event.json()),
        received_at=utcnow(),
    )
    try:
        with session.begin_nested():  # a concurrent duplicate loses here
            session.add(record)
            session.flush()
    except IntegrityError:
        return EventResult(event.event_id, "duplicate", dossier.code, dossier.status)
    if event.reference and not dossier.backend_reference:
        dossier.backend_reference = (
            normalize_national_code(event.reference) or event.reference.strip()
        )[:200]

    newest = session.execute(
        select(func.max(InboundStatusEvent.occurred_at)).where(
            InboundStatusEvent.dossier_id == dossier.id,
            InboundStatusEvent.outcome == "applied",
        )
    ).scalar_one_or_none()
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=timezone.utc)
    current = dossier.status
    if (newest is not None and event.occurred_at < newest) or _RANK[event.status] < _RANK[current]:
        record.outcome = "stale"
        log.info("inbound event %s for %s is stale (%s)", event.event_id, dossier.code, current)
        return EventResult(event.event_id, "stale", dossier.code, current)
    if event.status == current:
        record.outcome = "unchanged"
        return EventResult(event.event_id, "unchanged", dossier.code, current)
    path = _path(current, event.status)
    if path is None:
        record.outcome = "rejected:transition"
        raise InboundError(
            409,
            "invalid_transition",
            f"dossier is {current}; {event.status} cannot follow it",
        )
    actor = f"one-stop-shop:{client}"[:128]
    for step in path[:-1]:
        change_status(session, dossier.code, step, actor=actor, notify=False)
    if event.status == "need_supplement":
        supplements.request_supplement(
            session,
            dossier.code,
            event.missing_documents,
            note=event.note,
            actor=actor,
        )
    else:
        if current == "need_supplement":
            supplements.cancel_open_supplements(session, dossier)
        change_status(session, dossier.code, event.status, actor=actor, note=_note(event))
    record.outcome = "applied"
    session.flush()
    log.info("inbound event %s: %s %s -> %s", event.event_id, dossier.code, current, event.status)
    return EventResult(event.event_id, "applied", dossier.code, event.status)
