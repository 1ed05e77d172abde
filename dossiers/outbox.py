"""Delivery of the notification outbox.

`service.change_status` writes a `Notification` row in the same transaction
as the status change, so a committed change is never silently un-notified.
`OutboxDispatcher` delivers those rows to the chat channels.

Claiming is a lease: a dispatcher moves a due row to "sending", sets
`claimed_until = now + lease` and a random `claim_token`, and commits before
sending. The claim is a compare-and-set UPDATE that re-checks the row is
still claimable, so two dispatchers (threads or processes, SQLite or
PostgreSQL) never both win a row; on PostgreSQL the candidate SELECT also
uses FOR UPDATE SKIP LOCKED so they do not even contend. Only the token
holder can complete the row. A dispatcher that dies after claiming leaves a
row whose lease expires and is claimed again by anyone.

Guarantee: at-least-once, and exactly-once unless a dispatcher dies (or
stalls past its lease) between a successful send and recording it. Keep the
lease well above the senders' own timeouts. `attempts` is counted at claim
time, so a message that crashes its dispatcher every time still ends up
"failed" after `max_attempts` instead of looping forever.

Channels that cannot push (the web chat, REST clients) are served by pull:
`collect_for_recipient` hands a recipient its pending notifications and
marks them delivered in the same transaction, so each is shown once.

A notification may carry one-tap buttons (`Notification.buttons`, Rasa's
shape `[{"title", "payload"}]`, e.g. 👍/👎 when a dossier is finished): a
sender that accepts them gets `send(recipient, text, buttons=...)`, pull
channels get them in `collect_messages_for_recipient(s)`; a tapped payload
goes to Rasa like any button tap in the chat.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.vietnamese import mask_identifier
from dossiers.orm import Notification, utcnow

log = logging.getLogger(__name__)


class NotificationSender(Protocol):
    """Delivers one text to one recipient of a channel; raises on failure.

    `buttons` (`[{"title", "payload"}]`) are drawn under the text. The
    dispatcher passes them (keyword) only for notifications that have them, so
    an older text-only sender with `send(recipient, text)` still works for
    plain notifications."""

    def send(
        self, recipient: str, text: str, buttons: Sequence[Mapping[str, Any]] | None = None
    ) -> None: ...


Buttons = list[dict[str, str]]


def clean_buttons(buttons: Sequence[Mapping[str, Any]] | None) -> Buttons | None:
    """Rasa-style buttons reduced to `{"title", "payload"}` strings (entries
    without a title or payload dropped); None when nothing is left."""
    cleaned = [
        {"title": str(b.get("title") or "").strip(), "payload": str(b.get("payload") or "")}
        for b in buttons or ()
        if isinstance(b, Mapping)
    ]
    cleaned = [b for b in cleaned if b["title"] and b["payload"]]
    return cleaned or None


@dataclass(frozen=True)
class ClaimedNotification:
    id: int
    token: str
    channel: str
    recipient: str
    text: str
    attempts: int  # including the current one
    buttons: Buttons | None = None


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


class OutboxDispatcher:
    """Sends pending notifications through `senders[channel]`.

    The lease mechanics (claim, expiry, attempts, backoff) work on `model`;
    a subclass drives another outbox table with the same lease columns
    (status, attempts, next_attempt_at, claimed_until, claim_token,
    last_error, delivered_at) by setting `model` and overriding
    `_claimable`, `_claimed_item` and `dispatch_once`
    (`dossiers.delivery.DeliveryWorker` does, for the one-stop-shop).
    """

    model: Any = Notification

    def __init__(
        self,
        session_factory: sessionmaker,
        senders: Mapping[str, NotificationSender],
        *,
        max_attempts: int = 8,
        base_backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(minutes=2),
        batch_size: int = 50,
        jitter: float = 0.1,
    ) -> None:
        if max_attempts < 1 or batch_size < 1 or lease <= timedelta(0):
            raise ValueError("max_attempts >= 1, batch_size >= 1 and a positive lease required")
        self._factory = session_factory
        self._senders = dict(senders)
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.lease = lease
        self.batch_size = batch_size
        self.jitter = jitter

    # -- claiming ---------------------------------------------------------

    def _due(self, now: datetime):
        """Pending and due, or claimed with an expired lease (any `model`)."""
        model = self.model
        return or_(
            and_(model.status == "pending", model.next_attempt_at <= now),
            and_(model.status == "sending", model.claimed_until < now),
        )

    def _claimable(self, now: datetime):
        # Only channels this dispatcher can push to: notifications for pull
        # channels (web chat, REST clients) wait for `collect_for_recipient`.
        return and_(Notification.channel.in_(sorted(self._senders)), self._due(now))

    def _claimed_item(self, session: Session, row_id: int, token: str) -> Any:
        """What `claim_due` hands out for a row it just claimed."""
        row = session.execute(
            select(
                Notification.channel,
                Notification.recipient,
                Notification.text,
                Notification.attempts,
                Notification.buttons,
            ).where(Notification.id == row_id)
        ).one()
        return ClaimedNotification(
            row_id, token, row.channel, row.recipient, row.text, row.attempts,
            clean_buttons(row.buttons),
        )

    def claim_due(self, now: datetime | None = None) -> list[Any]:
        """Claim up to `batch_size` due notifications and commit the claim.

        Public so tools and tests can claim without sending (a test simulates
        a dispatcher killed right after claiming by abandoning the result).
        """
        now = _aware(now)
        model = self.model
        claimed: list[Any] = []
        with session_scope(self._factory) as session:
            self._fail_exhausted(session, now)
            candidates = (
                session.execute(
                    select(model.id)
                    .where(self._claimable(now), model.attempts < self.max_attempts)
                    .order_by(model.next_attempt_at, model.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            for notification_id in candidates:
                token = secrets.token_hex(16)
                # Compare-and-set: the WHERE re-checks claimability, so a row
                # another dispatcher claimed meanwhile updates 0 rows.
                result = session.execute(
                    update(model)
                    .where(
                        model.id == notification_id,
                        self._claimable(now),
                        model.attempts < self.max_attempts,
                    )
                    .values(
                        status="sending",
                        claim_token=token,
                        claimed_until=now + self.lease,
                        attempts=model.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:
                    continue
                claimed.append(self._claimed_item(session, notification_id, token))
        return claimed

    def _fail_exhausted(self, session: Session, now: datetime) -> None:
        """Rows whose lease expired after the last allowed attempt (their
        dispatcher died on every try) are given up as failed."""
        model = self.model
        session.execute(
            update(model)
            .where(
                model.status == "sending",
                model.claimed_until < now,
                model.attempts >= self.max_attempts,
            )
            .values(
                status="failed",
                claim_token=None,
                claimed_until=None,
                last_error="lease expired after the last attempt (dispatcher stopped)",
            )
            .execution_options(synchronize_session=False)
        )

    # -- completing -------------------------------------------------------

    def _backoff(self, attempts: int) -> timedelta:
        delay = self.base_backoff * (2 ** max(attempts - 1, 0))
        delay = min(delay, self.max_backoff)
        if self.jitter:
            delay += delay * random.uniform(0, self.jitter)
        return delay

    def _complete(
        self, item: Any, now: datetime, error: str | None, permanent: bool = False
    ) -> bool:
        """Record the outcome if we still hold the claim; False if we lost it
        (lease expired and another dispatcher took over). A `permanent` error
        (the sender's exception says no retry can help) fails the row at once."""
        if error is None:
            values = {
                "status": "delivered",
                "delivered_at": now,
                "claimed_until": None,
                "claim_token": None,
                "last_error": None,
            }
        elif item.attempts >= self.max_attempts or permanent:
            values = {
                "status": "failed",
                "claimed_until": None,
                "claim_token": None,
                "last_error": error,
            }
        else:
            values = {
                "status": "pending",
                "next_attempt_at": now + self._backoff(item.attempts),
                "claimed_until": None,
                "claim_token": None,
                "last_error": error,
            }
        with session_scope(self._factory) as session:
            result = session.execute(
                update(self.model)
                .where(self.model.id == item.id, self.model.claim_token == item.token)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    def dispatch_once(self, now: datetime | None = None) -> int:
        """Claim due notifications, send them, record the outcomes.

        Returns how many were delivered. `now` is for tests (time travel);
        sending and completion are stamped with the same `now` when given.
        """
        fixed_now = None if now is None else _aware(now)
        delivered = 0
        for item in self.claim_due(fixed_now):
            sender = self._senders.get(item.channel)
            error: str | None = None
            permanent = False
            # Exception texts of chat APIs may quote the recipient: the log gets
            # only the exception type, the row's last_error the full text.
            log_reason = ""
            if sender is None:
                error = log_reason = f"no sender configured for channel {item.channel!r}"
            else:
                try:
                    buttons = getattr(item, "buttons", None)
                    if buttons:
                        sender.send(item.recipient, item.text, buttons=buttons)
                    else:  # text-only senders keep the two-argument call
                        sender.send(item.recipient, item.text)
                except Exception as exc:  # retried later, unless the sender says it is final
                    # Senders mark errors no retry can fix (`permanent`, with a
                    # `reason_vi` for officers): the row fails now, "undeliverable".
                    permanent = bool(getattr(exc, "permanent", False))
                    reason = getattr(exc, "reason_vi", None) if permanent else None
                    error = (reason or f"{type(exc).__name__}: {exc}")[:500]
                    log_reason = type(exc).__name__ + (" (permanent)" if permanent else "")
            finished = fixed_now or utcnow()
            if not self._complete(item, finished, error, permanent):
                log.warning("notification %d: claim lost before completion", item.id)
            if error is None:
                delivered += 1
                log.info(
                    "notification %d delivered via %s to %s",
                    item.id,
                    item.channel,
                    mask_identifier(item.recipient),
                )
            else:
                log.warning(
                    "notification %d via %s failed (attempt %d/%d): %s",
                    item.id,
                    item.channel,
                    item.attempts,
                    self.max_attempts,
                    log_reason,
                )
        return delivered

    def run_forever(self, stop_event: threading.Event, interval: float = 5.0) -> None:
        """Dispatch until `stop_event` is set. Database or sender outages are
        logged and retried on the next tick instead of killing the loop."""
        while not stop_event.is_set():
            busy = False
            try:
                busy = self.dispatch_once() > 0
            except Exception:
                log.exception("outbox dispatch failed; retrying in %.1fs", interval)
            # A productive tick may have left more due rows: go again at once.
            if not busy:
                stop_event.wait(interval)


def enqueue_notification(
    session: Session,
    channel: str,
    recipient: str,
    text: str,
    *,
    dossier_id: int | None = None,
    buttons: Sequence[Mapping[str, Any]] | None = None,
    now: datetime | None = None,
) -> Notification:
    """Queue one message for `recipient` on `channel` in the caller's
    transaction (it is sent only if that transaction commits).

    `dossier_id` is optional: officers' hand-off replies and alerts belong to
    no dossier. `buttons` (Rasa shape `[{"title", "payload"}]`) are shown
    under the text where the channel can (stored NULL when empty). Push
    channels are delivered by `OutboxDispatcher`, pull channels (web chat,
    REST) by `collect_for_recipient`. Raises ValueError on an empty channel,
    recipient or text.
    """
    if not channel or not recipient or not text or not text.strip():
        raise ValueError("channel, recipient and text are required")
    now = _aware(now)
    notification = Notification(
        dossier_id=dossier_id,
        channel=channel,
        recipient=recipient,
        text=text,
        buttons=clean_buttons(buttons),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(notification)
    session.flush()
    return notification


def _message(text: str, buttons: Any) -> dict[str, Any]:
    """A pulled notification as Rasa writes a bot message: {"text", "buttons"?}."""
    message: dict[str, Any] = {"text": text}
    cleaned = clean_buttons(buttons)
    if cleaned:
        message["buttons"] = cleaned
    return message


def collect_messages_for_recipients(
    session_factory: sessionmaker, channel: str, recipients: Collection[str], *, limit: int = 200
) -> list[tuple[str, dict[str, Any]]]:
    """Pull delivery: the pending notifications of `recipients` on `channel`
    (a channel without server push, or one whose connections live in one
    process), oldest first, as (recipient, {"text", "buttons"?}) pairs, each
    marked delivered as it is handed out.

    The compare-and-set UPDATE makes two concurrent polls (two processes) hand
    each row out once."""
    wanted = sorted({r for r in recipients if r})
    if not wanted:
        return []
    now = _aware(None)
    out: list[tuple[str, dict[str, Any]]] = []
    with session_scope(session_factory) as session:
        for start in range(0, len(wanted), 500):
            rows = session.execute(
                select(
                    Notification.id,
                    Notification.recipient,
                    Notification.text,
                    Notification.buttons,
                )
                .where(
                    Notification.channel == channel,
                    Notification.recipient.in_(wanted[start:start + 500]),
                    Notification.status == "pending",
                )
                .order_by(Notification.created_at, Notification.id)
                .limit(limit)
            ).all()
            for notification_id, recipient, text, buttons in rows:
                result = session.execute(
                    update(Notification)
                    .where(Notification.id == notification_id, Notification.status == "pending")
                    .values(
                        status="delivered", delivered_at=now, attempts=Notification.attempts + 1
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:
                    out.append((recipient, _message(text, buttons)))
    return out


def collect_messages_for_recipient(
    session_factory: sessionmaker, channel: str, recipient: str, *, limit: int = 20
) -> list[dict[str, Any]]:
    """`collect_messages_for_recipients` for one recipient: its pending
    notifications as Rasa-style messages {"text", "buttons"?}, oldest first."""
    return [
        message
        for _, message in collect_messages_for_recipients(
            session_factory, channel, [recipient], limit=limit
        )
    ]


def collect_for_recipient(
    session_factory: sessionmaker, channel: str, recipient: str, *, limit: int = 20
) -> list[str]:
    """Pull delivery, texts only: the pending notification texts of one
    recipient on a channel, oldest first, marked delivered as they are handed
    out (buttons are dropped: use `collect_messages_for_recipient` for them)."""
    return [m["text"] for m in collect_messages_for_recipient(
        session_factory, channel, recipient, limit=limit)]


def collect_for_recipients(
    session_factory: sessionmaker, channel: str, recipients: Collection[str], *, limit: int = 200
) -> list[tuple[str, str]]:
    """`collect_messages_for_recipients` as (recipient, text) pairs (buttons dropped)."""
    return [
        (recipient, message["text"])
        for recipient, message in collect_messages_for_recipients(
            session_factory, channel, recipients, limit=limit
        )
    ]


def retry_notification(
    session: Session, notification_id: int, *, now: datetime | None = None
) -> bool:
    """Make a failed notification due again at once (an officer's "retry
    now"), in the caller's transaction. Its attempts start again from 0 so
    the dispatcher may try it `max_attempts` more times; the last error is
    kept until the next attempt overwrites it. Returns False when the row is
    not (or no longer) "failed" — compare-and-set, so two clicks retry once."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=_aware(now),
                claimed_until=None, claim_token=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
