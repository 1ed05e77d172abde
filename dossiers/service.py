"""Dossier workflow: submission, status changes, look-up, hand-off.

Functions take a SQLAlchemy `Session` and never commit: the caller owns the
unit of work (`core.db.session_scope`), so a status change, its event
and its notification commit or roll back together.

Status changes: `change_status` is the ONLY place a dossier's status changes
(cancellation included, via `cancel_dossier`): it checks the transition,
appends the event and enqueues the citizen's notification in the same
transaction. Officer tools and backend sync must call it too.

Access control decision: `get_dossier` answers "not found" and "not yours"
with the same `AccessDenied` and the same message, so a code cannot be used
to probe whether a dossier exists. A malformed code gets its own error
(`InvalidDossierCode`): that reveals nothing and helps the citizen retype.
Codes carry 40 random bits and the second factor (last 4 phone digits) only
10^4 values, so the chat layer should also rate-limit failed look-ups per
sender.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.vietnamese import mask_citizen_id, mask_identifier, mask_phone
from core.wording import say
from dossiers import forms
from dossiers.backends import SubmissionBackend
from dossiers.codes import new_code, normalize_code
from dossiers.orm import (
    DOSSIER_STATUSES,
    Attachment,
    Dossier,
    DossierEvent,
    HandoffRequest,
    Notification,
    utcnow,
)
from dossiers.rating_buttons import RATED_STATUSES, rating_buttons
from dossiers.validation import (
    VIETNAM_TZ,
    ValidationError,
    clean_free_text,
    mask_address,
    mask_date,
    mask_name,
    validate_address,
    validate_citizen_id,
    validate_full_name,
    validate_phone,
)

log = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = DOSSIER_STATUSES
STATUS_LABELS: dict[str, str] = {
    "submitted": say("dossier_status.label.submitted"),
    "received": say("dossier_status.label.received"),
    "processing": say("dossier_status.label.processing"),
    "need_supplement": say("dossier_status.label.need_supplement"),
    "completed": say("dossier_status.label.completed"),
    "rejected": say("dossier_status.label.rejected"),
    "cancelled": say("dossier_status.label.cancelled"),
}
TRANSITIONS: dict[str, frozenset[str]] = {
    # submitted/received -> rejected: the one-stop-shop refused the dossier at
    # intake (permanent 4xx on delivery, or a "rejected" status callback).
    "submitted": frozenset({"received", "cancelled", "rejected"}),
    "received": frozenset({"processing", "cancelled", "rejected"}),
    "processing": frozenset({"need_supplement", "completed", "rejected"}),
    "need_supplement": frozenset({"processing"}),
    "completed": frozenset(),
    "rejected": frozenset(),
    "cancelled": frozenset(),
}
TERMINAL_STATUSES: frozenset[str] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class DossierError(Exception):
    """Base of the workflow errors; `message_vi` can be shown to the citizen."""

    message_vi = say("dossier_status.error.generic")

    def __init__(self, message_vi: str | None = None, *, detail: str = "") -> None:
        if message_vi:
            self.message_vi = message_vi
        super().__init__(detail or self.message_vi)


class DossierNotFound(DossierError):
    message_vi = say("dossier_status.error.not_found")


class InvalidDossierCode(DossierError):
    message_vi = say("dossier_status.error.bad_code")


class AccessDenied(DossierError):
    message_vi = say("dossier_status.error.access_denied")


class InvalidTransition(DossierError):
    message_vi = say("dossier_status.error.invalid_transition")


class IdempotencyConflict(DossierError):
    """The idempotency key belongs to another sender's dossier: never hand it out."""


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def new_idempotency_key() -> str:
    """A key for one form session. Generate it when the form starts, keep it in
    the conversation state and reuse it for every retry of the confirmation."""
    return secrets.token_urlsafe(18)


# ---------------------------------------------------------------------------
# Submission
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionRequest:
    idempotency_key: str
    procedure_code: str
    procedure_name: str
    sender_id: str
    channel: str
    applicant_name: str
    applicant_dob: date | None = None
    applicant_citizen_id: str | None = None
    applicant_phone: str | None = None
    applicant_address: str | None = None
    # Procedure-specific answers (field name -> value; dates may be `date`).
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_form(
        cls,
        *,
        idempotency_key: str,
        procedure_code: str,
        procedure_name: str,
        sender_id: str,
        channel: str,
        values: Mapping[str, Any],
    ) -> SubmissionRequest:
        """Build from collected form values (names of `forms.fields_for`)."""
        dob = values.get("date_of_birth")
        if isinstance(dob, str) and dob:
            dob = date.fromisoformat(dob)
        specific = {
            spec.name: values.get(spec.name)
            for spec in forms.fields_for(procedure_code)
            if spec.name not in forms.COMMON_FIELD_NAMES
        }
        return cls(
            idempotency_key=idempotency_key,
            procedure_code=procedure_code,
            procedure_name=procedure_name,
            sender_id=sender_id,
            channel=channel,
            applicant_name=values.get("full_name") or "",
            applicant_dob=dob or None,
            applicant_citizen_id=values.get("citizen_id"),
            applicant_phone=values.get("phone"),
            applicant_address=values.get("address"),
            extra=specific,
        )


def _checked_request(request: SubmissionRequest) -> dict[str, Any]:
    """Re-validate the applicant data (the form validated it already, but a
    slot can be set by other code paths) and return column values."""
    for attr, limit in (
        ("idempotency_key", 128),
        ("sender_id", 128),
        ("channel", 32),
        ("procedure_code", 32),
    ):
        value = getattr(request, attr)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ValueError(f"SubmissionRequest.{attr} must be a non-empty string <= {limit}")
    dob = request.applicant_dob
    if dob is not None and not isinstance(dob, date):
        raise ValidationError(say("dossier_status.error.bad_birth_date"))
    extra = {
        str(key): forms.serialize_value(value)
        for key, value in dict(request.extra or {}).items()
        if value is not None
    }
    return {
        "procedure_code": request.procedure_code.strip(),
        "procedure_name": clean_free_text(request.procedure_name, max_chars=1000),
        "sender_id": request.sender_id,
        "channel": request.channel,
        "applicant_name": validate_full_name(request.applicant_name),
        "applicant_dob": dob,
        "applicant_citizen_id": (
            validate_citizen_id(request.applicant_citizen_id, dob)
            if request.applicant_citizen_id
            else None
        ),
        "applicant_phone": (
            validate_phone(request.applicant_phone) if request.applicant_phone else None
        ),
        "applicant_address": (
            validate_address(request.applicant_address) if request.applicant_address else None
        ),
        "extra": extra,
        "idempotency_key": request.idempotency_key,
    }


def dossier_payload(columns: Mapping[str, Any], code: str, submitted_at: datetime) -> dict:
    """The JSON document sent to a submission backend (full, unmasked data)."""
    dob = columns["applicant_dob"]
    return {
        "code": code,
        "idempotency_key": columns["idempotency_key"],
        "procedure_code": columns["procedure_code"],
        "procedure_name": columns["procedure_name"],
        "channel": columns["channel"],
        "submitted_at": submitted_at.isoformat(),
        "applicant": {
            "full_name": columns["applicant_name"],
            "date_of_birth": dob.isoformat() if dob else None,
            "citizen_id": columns["applicant_citizen_id"],
            "phone": columns["applicant_phone"],
            "address": columns["applicant_address"],
        },
        "fields": dict(columns["extra"]),
        "source": "tthc-bot",
    }


def _by_idempotency_key(session: Session, key: str) -> Dossier | None:
    return session.execute(
        select(Dossier).where(Dossier.idempotency_key == key)
    ).scalar_one_or_none()


def _same_owner(dossier: Dossier, request: SubmissionRequest) -> Dossier:
    if dossier.sender_id != request.sender_id or dossier.channel != request.channel:
        raise IdempotencyConflict(detail="idempotency key reused by another sender")
    return dossier


def submit_dossier(
    session: Session,
    request: SubmissionRequest,
    *,
    backend: SubmissionBackend | None = None,
    deliver: bool | None = None,
    max_code_attempts: int = 5,
) -> Dossier:
    """Store a dossier with its "submitted" event; idempotent on
    `request.idempotency_key`.

    A repeated confirmation or a redelivered message returns the existing
    dossier. Two concurrent submissions with one key are resolved by the
    unique constraint: the loser gets IntegrityError, rolls back and returns
    the winner's row. Because of that rollback, call this on a session with no
    other pending work (the usual `session_scope` around one action).

    `backend` (see `dossiers.backends`) is called BEFORE the insert, outside
    any write lock, with the same idempotency key, so a slow one-stop-shop
    endpoint never blocks other writers; if it raises, nothing is stored.
    Raises `ValidationError` for bad applicant data and `IdempotencyConflict`
    when the key belongs to another sender.

    Production delivery to the one-stop-shop is NOT `backend` but the durable
    job of `dossiers.delivery`, written in this same transaction when
    `deliver` (default: `TTHC_SUBMISSION_BACKEND=http`) is true, so the
    citizen is acknowledged at once and an outage loses nothing.
    """
    existing = _by_idempotency_key(session, request.idempotency_key)
    if existing is not None:
        return _same_owner(existing, request)
    columns = _checked_request(request)
    code = new_code()
    now = utcnow()
    reference = None
    if backend is not None:
        receipt = backend.submit(dossier_payload(columns, code, now))
        reference = getattr(receipt, "reference", None)
    for _attempt in range(max_code_attempts):
        dossier = Dossier(
            code=code,
            status="submitted",
            backend_reference=reference,
            created_at=now,
            updated_at=now,
            **columns,
        )
        dossier.events.append(DossierEvent(status="submitted", actor="citizen", created_at=now))
        session.add(dossier)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            existing = _by_idempotency_key(session, request.idempotency_key)
            if existing is not None:
                log.info("dossier submission deduplicated: %s", existing.code)
                return _same_owner(existing, request)
            taken = session.execute(select(Dossier.id).where(Dossier.code == code)).first()
            if taken is None:
                raise  # some other constraint: a bug, not a race
            code = new_code()  # 40-bit collision: astronomically rare, just draw again
            continue
        # Files the citizen sent during the form (Telegram photos/PDFs wait with
        # no dossier) belong to this dossier: linked in the same transaction.
        session.execute(
            update(Attachment)
            .where(Attachment.sender_id == dossier.sender_id, Attachment.dossier_id.is_(None))
            .values(dossier_id=dossier.id)
            .execution_options(synchronize_session=False)
        )
        from dossiers import delivery  # late: delivery imports this module

        if delivery.delivery_enabled() if deliver is None else deliver:
            delivery.enqueue_dossier(session, dossier)
        log.info(
            "dossier %s submitted: procedure=%s channel=%s sender=%s",
            dossier.code,
            dossier.procedure_code,
            dossier.channel,
            mask_identifier(dossier.sender_id),
        )
        return dossier
    raise RuntimeError("could not allocate a unique dossier code")


# ---------------------------------------------------------------------------
# Status changes
# ---------------------------------------------------------------------------


def notification_text(dossier: Dossier, note: str = "") -> str:
    """The citizen's message for the dossier's current status."""
    lines = [
        say(
            "dossier_status.notification.changed",
            code=dossier.code,
            name=dossier.procedure_name or dossier.procedure_code,
            status=status_label(dossier.status),
        )
    ]
    if note:
        lines.append(say("dossier_status.notification.agency_note", note=note))
    if dossier.status == "need_supplement":
        lines.append(say("dossier_status.notification.need_supplement"))
    elif dossier.status == "completed":
        lines.append(say("dossier_status.notification.completed"))
    lines.append(say("dossier_status.notification.details", code=dossier.code))
    return "\n".join(lines)


def _find_dossier(session: Session, code: str, *, for_update: bool = False) -> Dossier | None:
    """The dossier with `code` (any accepted spelling), or None.

    Raises `InvalidDossierCode` for text that is not a dossier code at all.
    """
    normalized = normalize_code(code)
    if normalized is None:
        raise InvalidDossierCode()
    query = select(Dossier).where(Dossier.code == normalized)
    if for_update:
        # FOR UPDATE (no SKIP LOCKED): concurrent changes to one dossier must
        # wait and then see the new status, not both pass the transition check.
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def _lock_dossier(session: Session, code: str) -> Dossier:
    dossier = _find_dossier(session, code, for_update=True)
    if dossier is None:
        raise DossierNotFound(detail=f"no dossier {normalize_code(code)}")
    return dossier


def change_status(
    session: Session,
    code: str,
    new_status: str,
    *,
    actor: str,
    note: str = "",
    notify: bool = True,
) -> Dossier:
    """Move a dossier to `new_status`, append the event and enqueue the
    citizen's notification, all in the caller's transaction. The notification
    of a finished dossier (`RATED_STATUSES`) carries the 👍/👎 rating buttons.

    `notify=False` records the step without a notification: only for the
    intermediate steps of one remote jump (the one-stop-shop reports
    "processing" for a dossier we still hold as "submitted"), so the citizen
    hears about the jump once.

    Raises `InvalidDossierCode`, `DossierNotFound` or `InvalidTransition`.
    """
    if new_status not in STATUSES:
        raise InvalidTransition(detail=f"unknown status {new_status!r}")
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError("actor is required (who changed the status)")
    dossier = _lock_dossier(session, code)
    old_status = dossier.status
    if new_status not in TRANSITIONS[old_status]:
        raise InvalidTransition(
            f"Không thể chuyển hồ sơ từ trạng thái “{status_label(old_status)}” "
            f"sang “{status_label(new_status)}”.",
            detail=f"{old_status} -> {new_status} not allowed",
        )
    note = clean_free_text(note, max_chars=2000)
    now = utcnow()
    # Compare-and-set on the old status. PostgreSQL already serialises us with
    # FOR UPDATE; SQLite ignores FOR UPDATE and reads outside a transaction, so
    # without this two concurrent changes could both pass the check above.
    result = session.execute(
        update(Dossier)
        .where(Dossier.id == dossier.id, Dossier.status == old_status)
        .values(status=new_status, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidTransition(
            "Hồ sơ vừa được cập nhật bởi người khác. Vui lòng tải lại và thử lại.",
            detail=f"concurrent change of {dossier.code} (expected {old_status})",
        )
    set_committed_value(dossier, "status", new_status)
    set_committed_value(dossier, "updated_at", now)
    dossier.events.append(
        DossierEvent(status=new_status, actor=actor.strip()[:128], note=note, created_at=now)
    )
    if notify:
        session.add(
            Notification(
                dossier_id=dossier.id,
                channel=dossier.channel,
                recipient=dossier.sender_id,
                text=notification_text(dossier, note),
                # A finished dossier (completed/rejected) asks for a one-tap
                # 👍/👎; the tap stores a "dossier" rating with this code.
                buttons=(
                    rating_buttons("dossier", dossier.code)
                    if new_status in RATED_STATUSES else None
                ),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    session.flush()
    log.info("dossier %s: %s -> %s by %s", dossier.code, old_status, new_status, actor)
    return dossier


def cancel_dossier(
    session: Session, code: str, *, sender_id: str, channel: str | None = None, reason: str = ""
) -> Dossier:
    """Citizen-initiated cancellation: only the submitter may cancel, and only
    while the transition table allows it (submitted/received)."""
    dossier = _find_dossier(session, code)
    if dossier is None or not _is_owner(dossier, sender_id, channel):
        raise AccessDenied()
    return change_status(
        session,
        dossier.code,
        "cancelled",
        actor="citizen",
        note=reason or say("dossier_status.cancelled_by_citizen"),
    )


# ---------------------------------------------------------------------------
# Look-up
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventView:
    status: str
    status_label: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class DossierView:
    """What the chat shows about a dossier. Personal data is masked unless
    built with `masked=False` (e.g. for an authenticated officer screen)."""

    code: str
    procedure_code: str
    procedure_name: str
    status: str
    status_label: str
    applicant_name: str
    applicant_dob: str
    applicant_citizen_id: str | None
    applicant_phone: str | None
    applicant_address: str | None
    # (label, value) of the procedure-specific answers, in form order.
    details: tuple[tuple[str, Any], ...]
    created_at: datetime
    updated_at: datetime
    events: tuple[EventView, ...]
    masked: bool = True
    # The one-stop-shop's own code (national format), once it accepted the dossier.
    backend_reference: str | None = None

    @classmethod
    def from_dossier(cls, dossier: Dossier, *, masked: bool = True) -> DossierView:
        specs = {spec.name: spec for spec in forms.fields_for(dossier.procedure_code)}
        extra = dict(dossier.extra or {})
        details: list[tuple[str, Any]] = []
        ordered = [name for name in specs if name in extra] + [
            name for name in extra if name not in specs
        ]
        for name in ordered:
            spec = specs.get(name)
            value = extra[name]
            if masked:
                # Unknown keys are masked completely: we cannot tell what they hold.
                value = forms.mask_value(spec.type, value) if spec else "***"
            details.append((spec.label if spec else name, value))
        dob = dossier.applicant_dob
        return cls(
            code=dossier.code,
            procedure_code=dossier.procedure_code,
            procedure_name=dossier.procedure_name,
            status=dossier.status,
            status_label=status_label(dossier.status),
            applicant_name=mask_name(dossier.applicant_name) if masked else dossier.applicant_name,
            applicant_dob=(mask_date(dob) if masked else (f"{dob:%d/%m/%Y}" if dob else "")),
            applicant_citizen_id=_masked_or(dossier.applicant_citizen_id, mask_citizen_id, masked),
            applicant_phone=_masked_or(dossier.applicant_phone, mask_phone, masked),
            applicant_address=_masked_or(dossier.applicant_address, mask_address, masked),
            details=tuple(details),
            created_at=dossier.created_at,
            updated_at=dossier.updated_at,
            events=tuple(
                EventView(e.status, status_label(e.status), e.note or "", e.created_at)
                for e in dossier.events
            ),
            masked=masked,
            backend_reference=dossier.backend_reference,
        )

    def summary_vi(self) -> str:
        """A short Vietnamese status message for chat."""
        local = self.updated_at.astimezone(VIETNAM_TZ)
        lines = [
            say(
                "dossier_status.summary.heading",
                code=self.code,
                name=self.procedure_name or self.procedure_code,
            ),
            say(
                "dossier_status.summary.status",
                status=self.status_label,
                when=f"{local:%H:%M %d/%m/%Y}",
            ),
            say("dossier_status.summary.applicant", name=self.applicant_name),
        ]
        if self.backend_reference:
            reference = self.backend_reference
            lines.insert(1, say("dossier_status.summary.one_stop_reference", reference=reference))
        latest_note = next((e.note for e in reversed(self.events) if e.note), "")
        if latest_note:
            lines.append(say("dossier_status.summary.note", note=latest_note))
        return "\n".join(lines)


def _masked_or(value: str | None, mask: Any, masked: bool) -> str | None:
    if value is None:
        return None
    return mask(value) if masked else value


def _is_owner(dossier: Dossier, sender_id: str, channel: str | None) -> bool:
    if not isinstance(sender_id, str) or not sender_id:
        return False
    same_sender = hmac.compare_digest(dossier.sender_id.encode(), sender_id.encode())
    return same_sender and (channel is None or channel == dossier.channel)


def _phone_matches(dossier: Dossier | None, phone_last4: str | None) -> bool:
    if phone_last4 is None:
        return False
    digits = "".join(ch for ch in str(phone_last4)[:32] if ch.isascii() and ch.isdigit())
    if len(digits) != 4:
        return False
    stored = (dossier.applicant_phone or "") if dossier is not None else ""
    # Compare even when there is nothing to compare with, so timing does not
    # tell "no such dossier" from "wrong digits".
    expected = stored[-4:] if len(stored) >= 4 else "\x00\x00\x00\x00"
    return hmac.compare_digest(expected.encode(), digits.encode()) and dossier is not None


def get_dossier(
    session: Session,
    code: str,
    *,
    sender_id: str,
    phone_last4: str | None = None,
    channel: str | None = None,
    masked: bool = True,
) -> DossierView:
    """Look a dossier up for a citizen.

    Allowed for the submitting sender (and channel, when given: sender ids of
    different channels could collide) or for anyone who gives the last 4
    digits of the phone number in the dossier. Otherwise `AccessDenied`,
    whether or not the code exists.
    """
    dossier = _find_dossier(session, code)
    owner = dossier is not None and _is_owner(dossier, sender_id, channel)
    if not owner and not _phone_matches(dossier, phone_last4):
        log.info(
            "dossier look-up denied: code=%s sender=%s",
            normalize_code(code),
            mask_identifier(sender_id),
        )
        raise AccessDenied()
    assert dossier is not None
    return DossierView.from_dossier(dossier, masked=masked)


def list_dossiers(
    session: Session,
    sender_id: str,
    *,
    channel: str | None = None,
    limit: int = 20,
    masked: bool = True,
) -> list[DossierView]:
    """The sender's dossiers, newest first."""
    query = select(Dossier).where(Dossier.sender_id == sender_id)
    if channel is not None:
        query = query.where(Dossier.channel == channel)
    query = query.order_by(Dossier.created_at.desc(), Dossier.id.desc()).limit(limit)
    return [DossierView.from_dossier(d, masked=masked) for d in session.execute(query).scalars()]


def officer_view(session: Session, code: str, *, masked: bool = True) -> DossierView:
    """A dossier for one-stop-shop staff (no owner check: the caller is an
    officer). Masked unless the officer's task needs the personal data."""
    dossier = _find_dossier(session, code)
    if dossier is None:
        raise DossierNotFound(detail=f"no dossier {normalize_code(code)}")
    return DossierView.from_dossier(dossier, masked=masked)


def officer_queue(
    session: Session, *, status: str | None = None, limit: int = 50
) -> list[DossierView]:
    """Dossiers for staff, oldest first (the order they should be handled in)."""
    query = select(Dossier)
    if status is not None:
        query = query.where(Dossier.status == status)
    query = query.order_by(Dossier.created_at, Dossier.id).limit(limit)
    return [DossierView.from_dossier(d) for d in session.execute(query).scalars()]


# ---------------------------------------------------------------------------
# Hand-off to a human
# ---------------------------------------------------------------------------


def record_handoff(
    session: Session, sender_id: str, channel: str, reason: str, last_message: str
) -> HandoffRequest:
    """Queue a request for a human officer (one active request per
    conversation: asking again updates it). The hand-off logic lives in
    `dossiers.handoff.request_handoff`, which also tells what to say to the
    citizen; this returns the row for callers that only need the record."""
    from dossiers import handoff

    ticket = handoff.request_handoff(session, sender_id, channel, reason, last_message)
    return session.get(HandoffRequest, ticket.handoff.id)
