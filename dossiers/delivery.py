"""Durable delivery of dossiers and supplements to the one-stop-shop.

Submission never calls the one-stop-shop: `service.submit_dossier` (and
`supplements.complete_supplement`) write a `DeliveryJob` in the SAME
transaction as the dossier, so the citizen is acknowledged at once and a
committed dossier is never left undelivered. `DeliveryWorker` (started by
`tthc run` as the "delivery" process, `tthc deliver`) sends the jobs.

The worker is the notification outbox's dispatcher driving another table
(`OutboxDispatcher.model = DeliveryJob`): the same lease/claim/backoff
mechanics, so several workers never send one job twice at the same time and a
worker killed mid-send (kill -9) leaves a job whose lease expires and is sent
again. Every request carries `Idempotency-Key: <job key>`, so a re-send after
a crash between "remote accepted" and "we recorded it" is answered with the
same reference instead of creating a second dossier: each dossier arrives
once.

Outcomes:
- accepted (2xx): the remote reference (national dossier code) is stored on
  the dossier and the citizen is told "Mã hồ sơ trên hệ thống một cửa: …";
- transient (timeouts, connection errors, 408/425/429/5xx): retried with
  exponential backoff (`TTHC_DELIVERY_*`), for hours, before "failed";
- permanent refusal (other 4xx, with a reason): the job is "rejected", the
  dossier moves to "rejected" through `change_status` (officers see it in
  their queue) and the citizen is told why in plain words.

Configuration: `TTHC_SUBMISSION_BACKEND=http` plus `dossiers.backends`
settings; `TTHC_DELIVERY_MAX_ATTEMPTS` (default 40), `TTHC_DELIVERY_BACKOFF`
(first retry delay in seconds, default 15), `TTHC_DELIVERY_MAX_BACKOFF`
(seconds, default 600), `TTHC_DELIVERY_INTERVAL` (poll, seconds, default 2).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import settings_for
from core.wording import say
from dossiers.backends import (
    BackendRejected,
    OutgoingFile,
    SupplementBackend,
    backend_from_env,
    backend_kind,
)
from dossiers.integration_orm import DeliveryJob, SupplementRequest
from dossiers.orm import Attachment, Dossier, utcnow
from dossiers.outbox import OutboxDispatcher, _aware, enqueue_notification
from dossiers.validation import clean_free_text

log = logging.getLogger(__name__)

ACTOR = "one-stop-shop"


def delivery_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when dossiers must be delivered to a one-stop-shop
    (`TTHC_SUBMISSION_BACKEND=http`)."""
    return backend_kind(environ) == "http"


def _insert_job(session: Session, job: DeliveryJob) -> DeliveryJob:
    existing = session.execute(
        select(DeliveryJob).where(DeliveryJob.idempotency_key == job.idempotency_key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    # A savepoint: a concurrent insert of the same key must not roll back the
    # caller's dossier.
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        return session.execute(
            select(DeliveryJob).where(DeliveryJob.idempotency_key == job.idempotency_key)
        ).scalar_one()
    return job


def enqueue_dossier(session: Session, dossier: Dossier) -> DeliveryJob:
    """The delivery job of a just-submitted dossier, in the caller's
    transaction; idempotent (one job per dossier, keyed by its idempotency key)."""
    now = utcnow()
    return _insert_job(
        session,
        DeliveryJob(
            kind="dossier",
            dossier_id=dossier.id,
            idempotency_key=f"dossier:{dossier.idempotency_key}"[:160],
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        ),
    )


def enqueue_supplement(
    session: Session, dossier: Dossier, request: SupplementRequest
) -> DeliveryJob:
    """The delivery job of a completed supplement (one per request)."""
    now = utcnow()
    return _insert_job(
        session,
        DeliveryJob(
            kind="supplement",
            dossier_id=dossier.id,
            supplement_id=request.id,
            idempotency_key=f"supplement:{dossier.code}:{request.id}",
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        ),
    )


def dossier_document(dossier: Dossier) -> dict[str, Any]:
    """The JSON sent for a dossier (full, unmasked data: the one-stop-shop
    needs it). Shape: `docs/openapi-one-stop-shop.yaml`, `Dossier`."""
    from dossiers.service import dossier_payload

    columns = {
        "idempotency_key": dossier.idempotency_key,
        "procedure_code": dossier.procedure_code,
        "procedure_name": dossier.procedure_name,
        "channel": dossier.channel,
        "applicant_name": dossier.applicant_name,
        "applicant_dob": dossier.applicant_dob,
        "applicant_citizen_id": dossier.applicant_citizen_id,
        "applicant_phone": dossier.applicant_phone,
        "applicant_address": dossier.applicant_address,
        "extra": dict(dossier.extra or {}),
    }
    return dossier_payload(columns, dossier.code, dossier.created_at)


def _files(attachments: list[Attachment]) -> tuple[list[dict[str, Any]], list[OutgoingFile]]:
    meta, files = [], []
    for attachment in attachments:
        meta.append(
            {
                "file_name": attachment.file_name,
                "content_type": attachment.content_type,
                "size_bytes": attachment.size_bytes,
                "sha256": attachment.sha256,
            }
        )
        files.append(
            OutgoingFile(
                attachment.file_name, attachment.content_type, Path(attachment.storage_path)
            )
        )
    return meta, files


class DossierNotDeliveredYet(RuntimeError):
    """A supplement waits for its dossier's own delivery (retried later)."""


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    token: str
    kind: str
    dossier_id: int
    supplement_id: int | None
    idempotency_key: str
    attempts: int  # including the current one


class DeliveryWorker(OutboxDispatcher):
    """Sends due `DeliveryJob`s through a `SupplementBackend`."""

    model = DeliveryJob

    def __init__(
        self,
        session_factory: sessionmaker,
        backend: SupplementBackend,
        *,
        max_attempts: int = 40,
        base_backoff: timedelta = timedelta(seconds=15),
        max_backoff: timedelta = timedelta(minutes=10),
        lease: timedelta = timedelta(minutes=2),
        batch_size: int = 20,
        jitter: float = 0.1,
    ) -> None:
        super().__init__(
            session_factory,
            {},
            max_attempts=max_attempts,
            base_backoff=base_backoff,
            max_backoff=max_backoff,
            lease=lease,
            batch_size=batch_size,
            jitter=jitter,
        )
        self.backend = backend

    @classmethod
    def from_env(
        cls, session_factory: sessionmaker, environ: Mapping[str, str] | None = None
    ) -> DeliveryWorker:
        """A worker configured by `TTHC_SUBMISSION_*` and `TTHC_DELIVERY_*`
        (core.settings; `environ`: a mapping instead of the process environment).
        Raises ValueError for a bad setting, naming the variable."""
        submission = settings_for(environ).submission
        return cls(
            session_factory,
            backend_from_env(environ),
            max_attempts=int(submission.delivery_max_attempts),
            base_backoff=timedelta(seconds=submission.delivery_backoff),
            max_backoff=timedelta(seconds=submission.delivery_max_backoff),
            lease=timedelta(seconds=submission.delivery_lease),
        )

    def _claimable(self, now: datetime):
        return self._due(now)

    def _claimed_item(self, session: Session, row_id: int, token: str) -> ClaimedJob:
        job = session.execute(
            select(
                DeliveryJob.kind,
                DeliveryJob.dossier_id,
                DeliveryJob.supplement_id,
                DeliveryJob.idempotency_key,
                DeliveryJob.attempts,
            ).where(DeliveryJob.id == row_id)
        ).one()
        return ClaimedJob(
            row_id,
            token,
            job.kind,
            job.dossier_id,
            job.supplement_id,
            job.idempotency_key,
            job.attempts,
        )

    # -- sending ------------------------------------------------------------

    def _send(self, job: ClaimedJob) -> Any:
        with session_scope(self._factory) as session:
            dossier = session.get(Dossier, job.dossier_id)
            if dossier is None:
                raise LookupError(f"dossier {job.dossier_id} is gone")
            if job.kind == "dossier":
                document = dossier_document(dossier)
                attachments = list(
                    session.execute(
                        select(Attachment)
                        .where(Attachment.dossier_id == dossier.id)
                        .order_by(Attachment.id)
                    ).scalars()
                )
                meta, files = _files(attachments)
                document["attachments"] = meta
                kind = "dossier"
                reference = None
            else:
                waiting = session.execute(
                    select(DeliveryJob.id).where(
                        DeliveryJob.dossier_id == dossier.id,
                        DeliveryJob.kind == "dossier",
                        DeliveryJob.status.in_(("pending", "sending")),
                    )
                ).first()
                if waiting is not None:  # the one-stop-shop must know the dossier first
                    raise DossierNotDeliveredYet(f"dossier {dossier.code} not delivered yet")
                request = session.get(SupplementRequest, job.supplement_id)
                if request is None:
                    raise LookupError(f"supplement {job.supplement_id} is gone")
                attachments = [p.attachment for p in request.parts if p.attachment is not None]
                meta, files = _files(attachments)
                document = {
                    "code": dossier.code,
                    "reference": dossier.backend_reference,
                    "supplement_id": request.id,
                    "items": list(request.items or []),
                    "note": request.note or "",
                    "answers": [p.text for p in request.parts if p.kind == "text"],
                    "attachments": meta,
                    "completed_at": request.completed_at.isoformat()
                    if request.completed_at
                    else None,
                    "source": "tthc-bot",
                }
                kind = "supplement"
                reference = dossier.backend_reference or dossier.code
        if kind == "dossier":
            return self.backend.submit(document, files=files, idempotency_key=job.idempotency_key)
        assert reference is not None  # set with kind = "supplement" above
        return self.backend.submit_supplement(
            reference, document, files=files, idempotency_key=job.idempotency_key
        )

    def _finish(self, job: ClaimedJob, values: dict[str, Any], session: Session) -> bool:
        """Record the job's outcome `values` if this worker still holds its
        claim; otherwise roll the session back (another worker owns the job
        now, so nothing else of this outcome may be written) and say False."""
        result = session.execute(
            update(DeliveryJob)
            .where(DeliveryJob.id == job.id, DeliveryJob.claim_token == job.token)
            .values(claimed_until=None, claim_token=None, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            return True
        log.warning("delivery job %d: claim lost before completion", job.id)
        session.rollback()
        return False

    @staticmethod
    def _submitted_dossier(job: ClaimedJob, session: Session) -> Dossier | None:
        """The dossier a "dossier" job submitted, whose status and reference
        follow the outcome; None for a supplement job or a dossier gone since."""
        if job.kind != "dossier":
            return None
        return session.get(Dossier, job.dossier_id)

    def _accepted(self, job: ClaimedJob, reference: str | None, now: datetime) -> None:
        with session_scope(self._factory) as session:
            if not self._finish(
                job,
                {
                    "status": "delivered",
                    "delivered_at": now,
                    "remote_reference": reference,
                    "last_error": None,
                },
                session,
            ):
                return
            dossier = self._submitted_dossier(job, session)
            if dossier is not None and reference and not dossier.backend_reference:
                dossier.backend_reference = reference
                enqueue_notification(
                    session,
                    dossier.channel,
                    dossier.sender_id,
                    say("one_stop.delivered", code=dossier.code, reference=reference),
                    dossier_id=dossier.id,
                    now=now,
                )
        log.info("delivery job %d (%s) delivered; reference=%s", job.id, job.kind, reference)

    def _rejected(self, job: ClaimedJob, exc: BackendRejected, now: datetime) -> None:
        from dossiers.service import TRANSITIONS, change_status

        reason = exc.reason or f"HTTP {exc.status}"
        with session_scope(self._factory) as session:
            if not self._finish(
                job,
                {"status": "rejected", "last_error": f"HTTP {exc.status}: {reason}"[:2000]},
                session,
            ):
                return
            dossier = self._submitted_dossier(job, session)
            if dossier is not None and "rejected" in TRANSITIONS.get(dossier.status, ()):
                change_status(
                    session,
                    dossier.code,
                    "rejected",
                    actor=ACTOR,
                    note=say("one_stop.rejected_note", reason=reason),
                )
        log.warning("delivery job %d (%s) rejected: HTTP %d", job.id, job.kind, exc.status)

    def dispatch_once(self, now: datetime | None = None) -> int:
        """Claim due jobs, send them, record the outcomes; returns how many
        were accepted by the one-stop-shop."""
        fixed_now = None if now is None else _aware(now)
        delivered = 0
        for job in self.claim_due(fixed_now):
            try:
                receipt = self._send(job)
            except BackendRejected as exc:
                self._rejected(job, exc, fixed_now or utcnow())
                continue
            except Exception as exc:  # transient: retried with backoff
                error = f"{type(exc).__name__}: {exc}"[:500]
                if not self._complete(job, fixed_now or utcnow(), error):
                    log.warning("delivery job %d: claim lost before completion", job.id)
                log.warning(
                    "delivery job %d (%s) failed (attempt %d/%d): %s",
                    job.id,
                    job.kind,
                    job.attempts,
                    self.max_attempts,
                    type(exc).__name__,
                )
                continue
            self._accepted(job, getattr(receipt, "reference", None), fixed_now or utcnow())
            delivered += 1
        return delivered


def delivery_state(session: Session, dossier_id: int) -> dict[str, Any] | None:
    """The dossier's delivery job for officer screens: status, attempts,
    last error, remote reference; None when it has none."""
    job = session.execute(
        select(DeliveryJob)
        .where(DeliveryJob.dossier_id == dossier_id, DeliveryJob.kind == "dossier")
        .limit(1)
    ).scalar_one_or_none()
    if job is None:
        return None
    return {
        "status": job.status,
        "attempts": job.attempts,
        "last_error": clean_free_text(job.last_error or "", max_chars=500),
        "remote_reference": job.remote_reference,
        "delivered_at": job.delivered_at,
    }


def code_for_reference(session: Session, reference: str) -> str | None:
    """Our code of the dossier the one-stop-shop knows as `reference`
    (national format, any spelling), or None."""
    from dossiers.codes import normalize_national_code

    normalized = normalize_national_code(reference) or (reference or "").strip()
    if not normalized:
        return None
    return session.execute(
        select(Dossier.code).where(Dossier.backend_reference == normalized)
    ).scalar_one_or_none()
