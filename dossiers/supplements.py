"""Supplements (bổ sung hồ sơ): an officer or the one-stop-shop asks for
missing documents, the citizen sends them in the chat, the dossier goes back
to processing.

Flow (all functions take a `Session` and never commit, like `service`):

1. `request_supplement(session, code, documents, note=..., actor=...)`
   moves the dossier `processing -> need_supplement` through
   `service.change_status` (so the citizen gets ONE notification, and it lists
   the documents) and opens a `SupplementRequest`.
2. A channel that receives a file or a text from a citizen asks
   `waiting_supplement(session, sender_id, channel)`; when it returns a
   request, the file goes in with `attach_file` (an `Attachment` row already
   saved by the channel) or the text with `add_answer`.
3. `complete_supplement(session, supplement_id, actor=...)` closes the
   request, moves the dossier back to `processing` (citizen notified) and,
   when a one-stop-shop is configured, enqueues the supplement's delivery
   (`dossiers.delivery`) in the same transaction.
4. `reject_supplement(session, supplement_id, reason, actor=...)`: the officer
   does not accept what the citizen sent. The request is closed ("cancelled",
   its files stay on the dossier for the record), a new one with the same
   documents opens, the dossier stays "need_supplement", the history gets
   the reason and the citizen is told through the outbox (same transaction)
   why and what to send again.

Plain domain code: nothing here knows Rasa or a web framework.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.vietnamese import mask_identifier
from core.wording import say
from dossiers.integration_orm import SupplementPart, SupplementRequest
from dossiers.orm import Attachment, Dossier, DossierEvent, utcnow
from dossiers.outbox import enqueue_notification
from dossiers.service import (
    DossierError,
    DossierNotFound,
    InvalidTransition,
    _find_dossier,
    change_status,
)
from dossiers.validation import clean_free_text

log = logging.getLogger(__name__)

MAX_ITEMS = 20
MAX_ITEM_CHARS = 300
MAX_NOTE_CHARS = 1000
MAX_ANSWER_CHARS = 2000
MAX_PARTS = 30


class SupplementError(DossierError):
    """A supplement operation that cannot be done; `message_vi` is for the user."""

    message_vi = say("supplement_request.error")


class NothingToComplete(SupplementError):
    message_vi = say("supplement_request.nothing_sent")


class SupplementClosed(SupplementError):
    message_vi = say("supplement_request.closed")


@dataclass(frozen=True)
class PartView:
    kind: str  # "file" | "text"
    text: str  # the answer, or the file name
    attachment_id: int | None
    content_type: str | None
    size_bytes: int | None
    created_at: datetime


@dataclass(frozen=True)
class SupplementView:
    """A supplement request as callers see it (no ORM objects leak out)."""

    id: int
    dossier_code: str
    dossier_id: int
    status: str
    items: tuple[str, ...]
    note: str
    requested_by: str
    created_at: datetime
    parts: tuple[PartView, ...]

    @classmethod
    def of(cls, request: SupplementRequest, dossier: Dossier) -> SupplementView:
        parts = []
        for part in request.parts:
            attachment = part.attachment
            parts.append(
                PartView(
                    kind=part.kind,
                    text=part.text if part.kind == "text" else (attachment.file_name or ""),
                    attachment_id=part.attachment_id,
                    content_type=attachment.content_type if attachment else None,
                    size_bytes=attachment.size_bytes if attachment else None,
                    created_at=part.created_at,
                )
            )
        return cls(
            id=request.id,
            dossier_code=dossier.code,
            dossier_id=dossier.id,
            status=request.status,
            items=tuple(request.items or ()),
            note=request.note or "",
            requested_by=request.requested_by,
            created_at=request.created_at,
            parts=tuple(parts),
        )


def clean_items(documents: Sequence[str]) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively), non-empty document names.

    Raises `SupplementError` for a list that is not a list of strings or
    longer than `MAX_ITEMS`.
    """
    if isinstance(documents, str) or not isinstance(documents, Sequence):
        raise SupplementError(detail="documents must be a list of names")
    items: list[str] = []
    seen: set[str] = set()
    for raw in documents:
        if not isinstance(raw, str):
            raise SupplementError(detail="document names must be strings")
        name = " ".join(clean_free_text(raw, max_chars=MAX_ITEM_CHARS).split())
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            items.append(name)
    if len(items) > MAX_ITEMS:
        raise SupplementError(
            f"Tối đa {MAX_ITEMS} giấy tờ cho một lần yêu cầu bổ sung.",
            detail=f"{len(items)} items",
        )
    return items


def supplement_note(items: Sequence[str], note: str = "") -> str:
    """The status-change note (shown in the citizen's notification and in the
    history): the numbered list, then the officer's note."""
    lines = []
    if items:
        lines.append(say("supplement_request.items_heading"))
        lines += [f"{index}. {name}" for index, name in enumerate(items, 1)]
    if note:
        lines.append(note)
    return "\n".join(lines)


def procedure_documents(session: Session, procedure_code: str) -> list[str]:
    """Names of the procedure's "Thành phần hồ sơ" (catalog) a citizen can be
    asked to send, for the officer's pick list: declaration forms first, then
    documents to submit, case-only ones, documents to present; the portal's
    notes ("Lưu ý", kind `note`) are not documents and are left out (25 of
    the 33 rows of 1.001193, khai sinh). Empty when the procedure is not in
    the catalog."""
    from catalog.model import (
        KIND_CONDITIONAL,
        KIND_DECLARATION,
        KIND_NOTE,
        KIND_PRESENT,
        KIND_SUBMIT,
    )
    from catalog.repository import CatalogRepository

    procedure = CatalogRepository(session).get(procedure_code)
    if procedure is None:
        return []
    rank = {KIND_DECLARATION: 0, KIND_SUBMIT: 1, KIND_CONDITIONAL: 2, KIND_PRESENT: 3}
    askable = [d for d in procedure.documents if d.name and d.kind != KIND_NOTE]
    names = [d.name for d in sorted(askable, key=lambda d: rank.get(d.kind, 4))]
    return list(dict.fromkeys(names))  # one tick box per name


def request_supplement(
    session: Session,
    code: str,
    documents: Sequence[str],
    *,
    note: str = "",
    actor: str,
) -> SupplementView:
    """Ask the citizen for missing documents.

    `code`: our code (any accepted spelling). `documents`: names, from
    `procedure_documents` or free text; `note`: free text for the citizen.
    At least one document or a note is required. The dossier must be
    "processing" (the transition table decides). The citizen is notified once,
    with the list, through `change_status`.

    Raises `SupplementError` (empty/too long), `InvalidDossierCode`,
    `DossierNotFound`, `InvalidTransition`.
    """
    items = clean_items(documents)
    note = clean_free_text(note, max_chars=MAX_NOTE_CHARS)
    if not items and not note:
        raise SupplementError(
            "Vui lòng chọn ít nhất một giấy tờ cần bổ sung hoặc ghi chú cho người nộp.",
            detail="no items and no note",
        )
    dossier = change_status(
        session, code, "need_supplement", actor=actor, note=supplement_note(items, note)
    )
    request = SupplementRequest(
        dossier_id=dossier.id,
        status="open",
        items=items,
        note=note,
        requested_by=actor.strip()[:128],
        created_at=utcnow(),
    )
    session.add(request)
    session.flush()
    log.info(
        "supplement %d requested for %s by %s (%d items)",
        request.id,
        dossier.code,
        actor,
        len(items),
    )
    return SupplementView.of(request, dossier)


def _open_request_of(session: Session, dossier: Dossier) -> SupplementRequest | None:
    return session.execute(
        select(SupplementRequest)
        .where(SupplementRequest.dossier_id == dossier.id, SupplementRequest.status == "open")
        .order_by(SupplementRequest.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def waiting_supplement(session: Session, sender_id: str, channel: str) -> SupplementView | None:
    """The open supplement request of the newest dossier of `sender_id` on
    `channel` that is in "need_supplement", or None.

    Channels call this for every file or text a citizen sends: None means
    "not a supplement, handle as usual".
    """
    if not sender_id or not channel:
        return None
    rows = session.execute(
        select(SupplementRequest, Dossier)
        .join(Dossier, Dossier.id == SupplementRequest.dossier_id)
        .where(
            Dossier.sender_id == sender_id,
            Dossier.channel == channel,
            Dossier.status == "need_supplement",
            SupplementRequest.status == "open",
        )
        .order_by(SupplementRequest.id.desc())
        .limit(1)
    ).first()
    if rows is None:
        return None
    request, dossier = rows
    return SupplementView.of(request, dossier)


def open_supplement(session: Session, code: str) -> SupplementView | None:
    """The open request of dossier `code` (officer side), or None.
    Raises `InvalidDossierCode`, `DossierNotFound`."""
    dossier = _find_dossier(session, code)
    if dossier is None:
        raise DossierNotFound(detail=f"no dossier {code}")
    request = _open_request_of(session, dossier)
    return None if request is None else SupplementView.of(request, dossier)


def _load_open(session: Session, supplement_id: int) -> tuple[SupplementRequest, Dossier]:
    request = session.get(SupplementRequest, supplement_id, with_for_update=True)
    if request is None:
        raise SupplementError(detail=f"no supplement {supplement_id}")
    if request.status != "open":
        raise SupplementClosed(detail=f"supplement {supplement_id} is {request.status}")
    dossier = session.get(Dossier, request.dossier_id)
    assert dossier is not None  # FK
    return request, dossier


def _check_room(request: SupplementRequest) -> None:
    if len(request.parts) >= MAX_PARTS:
        raise SupplementError(
            say("supplement_request.too_many_parts", limit=MAX_PARTS),
            detail="too many parts",
        )


def attach_file(session: Session, supplement_id: int, attachment_id: int) -> SupplementView:
    """Attach an already stored file (`Attachment` row, saved by the channel
    with the usual type/size checks) to an open supplement request.

    The attachment must belong to the dossier's sender and not to another
    dossier; it is linked to the dossier. Raises `SupplementError`,
    `SupplementClosed`.
    """
    request, dossier = _load_open(session, supplement_id)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.sender_id != dossier.sender_id:
        raise SupplementError(detail=f"attachment {attachment_id} is not the sender's")
    if attachment.dossier_id not in (None, dossier.id):
        raise SupplementError(detail=f"attachment {attachment_id} belongs to another dossier")
    if any(part.attachment_id == attachment_id for part in request.parts):
        return SupplementView.of(request, dossier)  # redelivered message: once only
    _check_room(request)
    attachment.dossier_id = dossier.id
    request.parts.append(
        SupplementPart(kind="file", attachment_id=attachment.id, text="", created_at=utcnow())
    )
    session.flush()
    log.info(
        "supplement %d: file attached (%s, %d B) by %s",
        request.id,
        attachment.content_type,
        attachment.size_bytes,
        mask_identifier(dossier.sender_id),
    )
    return SupplementView.of(request, dossier)


def add_answer(session: Session, supplement_id: int, text: str) -> SupplementView:
    """Add a text answer (e.g. a corrected number) to an open request.
    Raises `SupplementError` for an empty text, `SupplementClosed`."""
    answer = clean_free_text(text, max_chars=MAX_ANSWER_CHARS)
    if not answer:
        raise SupplementError(say("supplement_request.empty_answer"), detail="empty answer")
    request, dossier = _load_open(session, supplement_id)
    _check_room(request)
    request.parts.append(SupplementPart(kind="text", text=answer, created_at=utcnow()))
    session.flush()
    return SupplementView.of(request, dossier)


def complete_supplement(
    session: Session,
    supplement_id: int,
    *,
    actor: str,
    require_parts: bool = True,
    deliver: bool | None = None,
) -> SupplementView:
    """Close the request and move the dossier back to "processing" (citizen
    notified once through `change_status`).

    With `require_parts` (the citizen's own confirmation) at least one file
    or answer must have been sent (`NothingToComplete` otherwise); an officer
    may close without parts. When the one-stop-shop integration is on
    (`deliver`, default: `delivery.delivery_enabled()`), a delivery job for
    the supplement is written in the same transaction.
    """
    request, dossier = _load_open(session, supplement_id)
    if require_parts and not request.parts:
        raise NothingToComplete()
    received = len(request.parts)
    note = (
        say("supplement_request.received_note", count=received)
        if received
        else say("supplement_request.closed_note")
    )
    try:
        change_status(session, dossier.code, "processing", actor=actor, note=note)
    except InvalidTransition:
        raise SupplementClosed(detail=f"dossier {dossier.code} is {dossier.status}") from None
    request.status = "completed"
    request.completed_by = actor.strip()[:128]
    request.completed_at = utcnow()
    session.flush()
    from dossiers import delivery

    if delivery.delivery_enabled() if deliver is None else deliver:
        delivery.enqueue_supplement(session, dossier, request)
    log.info("supplement %d completed by %s (%d parts)", request.id, actor, received)
    return SupplementView.of(request, dossier)


def cancel_open_supplements(session: Session, dossier: Dossier) -> int:
    """Close any open request of `dossier` (it left "need_supplement" another
    way, e.g. the one-stop-shop posted "processing"). Returns how many."""
    count = 0
    for request in session.execute(
        select(SupplementRequest).where(
            SupplementRequest.dossier_id == dossier.id, SupplementRequest.status == "open"
        )
    ).scalars():
        request.status = "cancelled"
        request.completed_at = utcnow()
        count += 1
    session.flush()
    return count


MAX_REASON_CHARS = 1000


def rejection_text(dossier: Dossier, items: Sequence[str], reason: str) -> str:
    """The citizen's message when an officer does not accept the supplement:
    the reason, the documents to send again, how to send them."""
    lines = [
        say(
            "supplement_request.refused",
            code=dossier.code,
            name=dossier.procedure_name or dossier.procedure_code,
        ),
        say("supplement_request.refused_reason", reason=reason),
    ]
    if items:
        lines.append(say("supplement_request.send_again"))
        lines += [f"{index}. {name}" for index, name in enumerate(items, 1)]
    lines.append(say("supplement_request.how_to_send"))
    return "\n".join(lines)


def reject_supplement(
    session: Session, supplement_id: int, reason: str, *, actor: str
) -> SupplementView:
    """The officer refuses what the citizen sent for an open request.

    `reason` is required (it is what the citizen reads). The request is
    closed as "cancelled" (completed_by = `actor`), a new open request with
    the same documents and the reason as its note takes its place, a history
    event records the reason (status stays "need_supplement") and the citizen
    is notified through the outbox, all in the caller's transaction. Returns
    the NEW request. Raises `SupplementError` (empty reason), `SupplementClosed`.
    """
    why = clean_free_text(reason, max_chars=MAX_REASON_CHARS).strip()
    if not why:
        raise SupplementError(
            "Vui lòng ghi lý do không chấp nhận giấy tờ bổ sung.", detail="empty reason"
        )
    old, dossier = _load_open(session, supplement_id)
    now = utcnow()
    actor = actor.strip()[:128]
    old.status = "cancelled"
    old.completed_by = actor
    old.completed_at = now
    items = list(old.items or ())
    new = SupplementRequest(
        dossier_id=dossier.id, status="open", items=items, note=why,
        requested_by=actor, created_at=now,
    )
    session.add(new)
    dossier.events.append(
        DossierEvent(
            status=dossier.status, actor=actor, created_at=now,
            note=say("supplement_request.refused_note", count=len(old.parts), reason=why),
        )
    )
    enqueue_notification(
        session, dossier.channel, dossier.sender_id, rejection_text(dossier, items, why),
        dossier_id=dossier.id, now=now,
    )
    session.flush()
    log.info("supplement %d rejected by %s; request %d opened", old.id, actor, new.id)
    return SupplementView.of(new, dossier)
