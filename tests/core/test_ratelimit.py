"""core.ratelimit: limits enforced, windows expire, counters shared by processes
(database on SQLite and PostgreSQL, and Redis), identities never stored."""

from __future__ import annotations

import multiprocessing
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import make_engine, make_session_factory, session_scope
from core.ratelimit import (
    DatabaseRateLimiter,
    RateLimitCounter,
    RedisRateLimiter,
    bucket_name,
    rate_limiter,
)
from core.settings import Settings, SettingsError
from tests.conftest import DATABASE_KINDS, TestDatabase, isolated_database

NOW = 1_800_000_000.0  # a window boundary for 60 s windows (divisible by 60)
REDIS_URL = "redis://127.0.0.1:6379/6"


@pytest.fixture(params=DATABASE_KINDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with isolated_database(request.param, tmp_path) as database:
        yield database


def test_limit_enforced_and_window_expires(db: TestDatabase) -> None:
    limiter = DatabaseRateLimiter(db.new_factory())
    decisions = [limiter.hit("upload", "alice", 3, 60, now=NOW + i) for i in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4, 5]
    assert decisions[3].retry_after == 57  # the window ends at NOW + 60
    # Other buckets are independent: another identity, another scope.
    assert limiter.hit("upload", "bob", 3, 60, now=NOW + 5).allowed
    assert limiter.hit("inbound", "alice", 3, 60, now=NOW + 5).allowed
    # The next window starts afresh, and the finished one is purged.
    later = limiter.hit("upload", "alice", 3, 60, now=NOW + 61)
    assert later.allowed and later.count == 1 and later.retry_after == 59
    with session_scope(db.new_factory()) as session:
        rows = session.execute(select(RateLimitCounter)).scalars().all()
        assert {row.count for row in rows if row.bucket == bucket_name("upload", "alice")} == {1}
        assert all("alice" not in row.bucket and "bob" not in row.bucket for row in rows)


def test_zero_means_unlimited_and_stores_nothing(db: TestDatabase) -> None:
    factory = db.new_factory()
    limiter = DatabaseRateLimiter(factory)
    assert all(limiter.hit("upload", "a", 0, 60, now=NOW).allowed for _ in range(5))
    with session_scope(factory) as session:
        assert session.execute(select(RateLimitCounter)).first() is None


def test_two_engines_share_the_counters(db: TestDatabase) -> None:
    # Two pools on one database, as two processes have.
    first = DatabaseRateLimiter(db.new_factory())
    second = DatabaseRateLimiter(db.new_factory())
    allowed = [
        (first if i % 2 else second).hit("inbound", "tinh-x", 4, 60, now=NOW).allowed
        for i in range(8)
    ]
    assert allowed.count(True) == 4 and allowed[4:] == [False] * 4


def _hammer(url: str, hits: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine = make_engine(url)
    limiter = DatabaseRateLimiter(make_session_factory(engine))
    allowed = sum(limiter.hit("upload", "shared", 10, 60, now=NOW).allowed for _ in range(hits))
    engine.dispose()
    queue.put(allowed)


def test_two_processes_hitting_at_once_never_exceed_the_limit(db: TestDatabase) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_hammer, args=(db.url, 12, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    # 24 concurrent hits in one window: exactly the limit got through (no hit
    # lost by a race, none counted twice).
    assert sum(results) == 10


def test_redis_counters_are_shared_and_expire() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    identity = f"client-{secrets.token_hex(4)}"
    first, second = RedisRateLimiter(client), RedisRateLimiter(redis.Redis.from_url(REDIS_URL))
    decisions = [
        (first if i % 2 else second).hit("inbound", identity, 2, 60, now=NOW) for i in range(3)
    ]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].retry_after == 60
    key = f"tthc:ratelimit:{bucket_name('inbound', identity)}:{int(NOW)}"
    assert 0 < client.ttl(key) <= 61  # Redis forgets the window by itself
    assert first.hit("inbound", identity, 2, 60, now=NOW + 60).allowed
    client.delete(key, f"tthc:ratelimit:{bucket_name('inbound', identity)}:{int(NOW) + 60}")


def test_redis_down_lets_requests_through() -> None:
    import redis

    limiter = RedisRateLimiter(redis.Redis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.5))
    assert limiter.hit("inbound", "x", 1, 60).allowed


def test_the_store_follows_the_settings(tmp_path: Path) -> None:
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    assert isinstance(rate_limiter(factory, Settings.from_env({})), DatabaseRateLimiter)
    with_redis = Settings.from_env({"TTHC_LOCK_STORE_URL": REDIS_URL})
    assert isinstance(rate_limiter(factory, with_redis), RedisRateLimiter)
    forced = Settings.from_env(
        {"TTHC_LOCK_STORE_URL": REDIS_URL, "TTHC_RATE_LIMIT_STORE": "database"}
    )
    assert isinstance(rate_limiter(factory, forced), DatabaseRateLimiter)
    with pytest.raises(SettingsError, match="TTHC_LOCK_STORE_URL"):
        rate_limiter(factory, Settings.from_env({"TTHC_RATE_LIMIT_STORE": "redis"}))
    with pytest.raises(SettingsError, match="TTHC_RATE_LIMIT_STORE"):
        Settings.from_env({"TTHC_RATE_LIMIT_STORE": "memory"})
