"""Notification outbox: delivery, retries, crash recovery, concurrency."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from core.db import session_scope
from dossiers.orm import Notification
from dossiers.outbox import OutboxDispatcher, collect_for_recipient
from dossiers.service import SubmissionRequest, change_status, submit_dossier

T0 = datetime(2030, 1, 1, 8, 0, tzinfo=timezone.utc)  # after any row's created_at


class RecordingSender:
    """Fails the first `failures` sends, then records deliveries."""

    def __init__(self, failures: int = 0, delay: float = 0.0) -> None:
        self.failures = failures
        self.delay = delay
        self.calls = 0
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send(self, recipient: str, text: str) -> None:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise ConnectionError(f"telegram down (call {self.calls})")
            self.sent.append((recipient, text))


def make_dossier(factory: sessionmaker, key: str = "k") -> str:
    request = SubmissionRequest(
        idempotency_key=key,
        procedure_code="1.004194",
        procedure_name="Đăng ký tạm trú",
        sender_id="tg-1001",
        channel="telegram",
        applicant_name="Lê Thị Hoa",
        applicant_dob=date(1995, 7, 1),
        applicant_phone="0987654321",
    )
    with session_scope(factory) as session:
        return submit_dossier(session, request).code


def add_notifications(factory: sessionmaker, count: int, channel: str = "telegram") -> None:
    with session_scope(factory) as session:
        for index in range(count):
            session.add(
                Notification(
                    channel=channel,
                    recipient=f"user-{index}",
                    text=f"tin nhắn {index}",
                    next_attempt_at=T0 - timedelta(seconds=1),
                )
            )


def rows(factory: sessionmaker) -> list[Notification]:
    with session_scope(factory) as session:
        return list(session.execute(select(Notification).order_by(Notification.id)).scalars())


def dispatcher(factory: sessionmaker, sender: RecordingSender, **kwargs) -> OutboxDispatcher:
    kwargs.setdefault("jitter", 0.0)
    return OutboxDispatcher(factory, {"telegram": sender}, **kwargs)


def test_status_change_produces_exactly_one_delivery(factory: sessionmaker) -> None:
    code = make_dossier(factory)
    with session_scope(factory) as session:
        change_status(session, code, "received", actor="officer:1")
    sender = RecordingSender()
    outbox = dispatcher(factory, sender)
    assert outbox.dispatch_once(T0) == 1
    assert outbox.dispatch_once(T0 + timedelta(hours=1)) == 0
    assert len(sender.sent) == 1
    recipient, text = sender.sent[0]
    assert recipient == "tg-1001" and code in text and "Đã tiếp nhận" in text
    [row] = rows(factory)
    assert row.status == "delivered" and row.attempts == 1
    assert row.delivered_at == T0 and row.claim_token is None and row.claimed_until is None


def test_not_due_yet_is_not_sent(factory: sessionmaker) -> None:
    with session_scope(factory) as session:
        session.add(
            Notification(
                channel="telegram",
                recipient="u",
                text="t",
                next_attempt_at=T0 + timedelta(minutes=5),
            )
        )
    sender = RecordingSender()
    outbox = dispatcher(factory, sender)
    assert outbox.dispatch_once(T0) == 0
    assert outbox.dispatch_once(T0 + timedelta(minutes=5)) == 1


def test_fails_three_times_then_delivers_once(factory: sessionmaker) -> None:
    add_notifications(factory, 1)
    sender = RecordingSender(failures=3)
    base = timedelta(seconds=30)
    outbox = dispatcher(factory, sender, base_backoff=base)
    now = T0
    expected_delays = [base, base * 2, base * 4]
    for attempt, delay in enumerate(expected_delays, start=1):
        assert outbox.dispatch_once(now) == 0
        [row] = rows(factory)
        assert row.status == "pending" and row.attempts == attempt
        assert row.next_attempt_at == now + delay  # exponential backoff
        assert row.last_error == f"ConnectionError: telegram down (call {attempt})"
        # Not due before the backoff elapses.
        assert outbox.dispatch_once(now + delay - timedelta(seconds=1)) == 0
        now += delay
    assert outbox.dispatch_once(now) == 1
    assert outbox.dispatch_once(now + timedelta(days=1)) == 0
    assert sender.calls == 4 and len(sender.sent) == 1
    [row] = rows(factory)
    assert row.status == "delivered" and row.attempts == 4 and row.last_error is None


def test_gives_up_after_max_attempts(factory: sessionmaker) -> None:
    add_notifications(factory, 1)
    sender = RecordingSender(failures=100)
    outbox = dispatcher(factory, sender, max_attempts=3, base_backoff=timedelta(seconds=1))
    now = T0
    for _ in range(10):
        outbox.dispatch_once(now)
        now += timedelta(hours=1)
    assert sender.calls == 3
    [row] = rows(factory)
    assert row.status == "failed" and row.attempts == 3 and "ConnectionError" in row.last_error


def test_backoff_is_capped(factory: sessionmaker) -> None:
    outbox = dispatcher(
        factory,
        RecordingSender(),
        base_backoff=timedelta(seconds=30),
        max_backoff=timedelta(minutes=10),
    )
    assert outbox._backoff(1) == timedelta(seconds=30)
    assert outbox._backoff(20) == timedelta(minutes=10)


def test_channel_without_sender_waits_for_pull_delivery(factory: sessionmaker) -> None:
    """A web-chat notification is not the push dispatcher's: it stays pending,
    untouched, until the citizen's page collects it, exactly once."""
    add_notifications(factory, 2, channel="webchat")
    outbox = dispatcher(factory, RecordingSender())
    assert outbox.dispatch_once(T0) == 0
    assert [(r.status, r.attempts, r.last_error) for r in rows(factory)] == [
        ("pending", 0, None),
        ("pending", 0, None),
    ]
    assert collect_for_recipient(factory, "webchat", "user-0") == ["tin nhắn 0"]
    assert collect_for_recipient(factory, "webchat", "user-0") == []
    assert collect_for_recipient(factory, "telegram", "user-1") == []  # another channel
    assert collect_for_recipient(factory, "webchat", "user-1") == ["tin nhắn 1"]
    assert {r.status for r in rows(factory)} == {"delivered"}


def test_killed_dispatcher_is_recovered_after_lease(factory: sessionmaker) -> None:
    add_notifications(factory, 1)
    lease = timedelta(minutes=2)
    dead = dispatcher(factory, RecordingSender(), lease=lease)
    abandoned = dead.claim_due(T0)  # claimed and committed, then the process "dies"
    assert len(abandoned) == 1
    [row] = rows(factory)
    assert row.status == "sending" and row.claimed_until == T0 + lease

    sender = RecordingSender()
    survivor = dispatcher(factory, sender, lease=lease)
    assert survivor.dispatch_once(T0 + lease - timedelta(seconds=1)) == 0  # lease still held
    assert sender.calls == 0
    assert survivor.dispatch_once(T0 + lease + timedelta(seconds=1)) == 1
    assert survivor.dispatch_once(T0 + lease * 10) == 0
    assert len(sender.sent) == 1
    # The zombie wakes up and tries to record its outcome: its token is void.
    assert dead._complete(abandoned[0], T0 + lease * 3, None) is False
    [row] = rows(factory)
    assert row.status == "delivered" and row.attempts == 2 and row.delivered_at is not None


def test_crash_looping_message_ends_failed(factory: sessionmaker) -> None:
    add_notifications(factory, 1)
    lease = timedelta(minutes=1)
    outbox = dispatcher(factory, RecordingSender(), lease=lease, max_attempts=2)
    now = T0
    for _ in range(2):  # two dispatchers die holding the row
        assert len(outbox.claim_due(now)) == 1
        now += lease + timedelta(seconds=1)
    assert outbox.claim_due(now) == []
    [row] = rows(factory)
    assert row.status == "failed" and "lease expired" in row.last_error


def test_two_dispatchers_deliver_each_message_once(db, factory: sessionmaker) -> None:
    total = 40
    add_notifications(factory, total)
    sender = RecordingSender(delay=0.005)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)
    per_dispatcher: list[int] = []

    def run() -> None:
        # Own engine and pool, as a separate process would have.
        outbox = OutboxDispatcher(db.new_factory(), {"telegram": sender}, batch_size=5, jitter=0.0)
        try:
            barrier.wait()
            mine = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                mine += outbox.dispatch_once(T0)
                if all(r.status == "delivered" for r in rows(factory)):
                    break
            per_dispatcher.append(mine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not errors, errors
    delivered = Counter(recipient for recipient, _ in sender.sent)
    assert len(delivered) == total
    assert set(delivered.values()) == {1}, delivered
    assert all(r.status == "delivered" and r.attempts == 1 for r in rows(factory))
    assert sum(per_dispatcher) == total
    assert min(per_dispatcher) > 0, per_dispatcher  # both really took part


def test_run_forever_delivers_and_stops(factory: sessionmaker) -> None:
    code = make_dossier(factory)
    with session_scope(factory) as session:
        change_status(session, code, "received", actor="officer:1")
    sender = RecordingSender()
    outbox = dispatcher(factory, sender)
    stop = threading.Event()
    thread = threading.Thread(target=outbox.run_forever, args=(stop, 0.05))
    thread.start()
    deadline = time.monotonic() + 20
    while not sender.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(sender.sent) == 1


def test_run_forever_survives_errors(factory: sessionmaker) -> None:
    outbox = dispatcher(factory, RecordingSender())
    calls = []

    def broken(now=None):
        calls.append(1)
        raise RuntimeError("database down")

    outbox.dispatch_once = broken  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=outbox.run_forever, args=(stop, 0.01))
    thread.start()
    time.sleep(0.2)
    stop.set()
    thread.join(timeout=10)
    assert len(calls) >= 2


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError):
        OutboxDispatcher(None, {}, max_attempts=0)
    with pytest.raises(ValueError):
        OutboxDispatcher(None, {}, lease=timedelta(0))
