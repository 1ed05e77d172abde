"""Per-client rate limits whose counters every process shares (fixed windows).

Used by the file upload endpoint (`bot.supplement_uploads`: per chat sender, per
dossier, per remote address) and the one-stop-shop's inbound status API
(`bot.status_api`: per authenticated client, failed authentications per
remote address). The counters are never kept in process memory: several Rasa
workers, or the status API started twice, count together.

Where the counters live (`core.settings` group `rate_limits`):
- the project database (`rate_limit_counters`, migration 0011): one row per
  (bucket, window), incremented with an atomic upsert, so two processes over
  one database never lose a hit; expired rows are purged when a bucket opens
  a new window;
- Redis, when one is configured (`TTHC_RATE_LIMIT_STORE=redis`, or empty and
  `TTHC_LOCK_STORE_URL` set, the Redis Rasa already needs for several
  workers): one key per (bucket, window), `INCR` + `EXPIRE` in a transaction.

Fixed windows of `TTHC_RATE_LIMIT_WINDOW_SECONDS` aligned to the Unix epoch:
a burst can reach twice the limit across a window boundary, which is fine for
abuse protection and keeps one row per bucket. A limit of 0 means unlimited.
Identities (sender ids, addresses, client names) are stored as SHA-256
prefixes only: the table holds no personal data.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Index, Integer, String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from core.db import Base, UTCDateTime, session_scope
from core.settings import Settings, SettingsError, get_settings

log = logging.getLogger(__name__)

REDIS_PREFIX = "tthc:ratelimit:"


class RateLimitCounter(Base):
    """Hits of one bucket (scope + hashed identity) in one fixed window."""

    __tablename__ = "rate_limit_counters"

    bucket = Column(String(120), primary_key=True)
    window_start = Column(UTCDateTime(), primary_key=True)
    count = Column(Integer, nullable=False)
    expires_at = Column(UTCDateTime(), nullable=False)

    __table_args__ = (Index("ix_rate_limit_counters_expires", "expires_at"),)


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: `allowed`, the bucket's `count` in this window
    (this hit included), the `limit`, and `retry_after` (whole seconds until
    the window ends, at least 1; what HTTP `Retry-After` carries)."""

    allowed: bool
    count: int
    limit: int
    retry_after: int


UNLIMITED = Decision(True, 0, 0, 0)


def bucket_name(scope: str, identity: str) -> str:
    """`scope:<sha256 prefix of identity>` (no personal data in the store)."""
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"{scope[:60]}:{digest}"


def _window(now: float, window_seconds: int) -> tuple[int, int]:
    start = int(now // window_seconds) * window_seconds
    retry_after = max(1, math.ceil(start + window_seconds - now))
    return start, retry_after


class RateLimiter:
    """Counts hits per bucket in fixed windows; shared by every process using
    the same store. `hit` checks the limit, names the bucket and the window,
    and asks the store (`_count`, one subclass per store) for the count."""

    def hit(
        self,
        scope: str,
        identity: str,
        limit: int,
        window_seconds: int,
        *,
        now: float | None = None,
    ) -> Decision:
        """Count one hit of (scope, identity) and say whether it is within
        `limit` hits per `window_seconds` (limit <= 0: always allowed, nothing
        stored). `now`: Unix seconds (tests)."""
        if limit <= 0:
            return UNLIMITED
        now = time.time() if now is None else now
        start, retry_after = _window(now, window_seconds)
        count = self._count(bucket_name(scope, identity), start, window_seconds, now)
        if count is None:  # the store is down: let the request through
            return Decision(True, 0, limit, 0)
        return Decision(count <= limit, count, limit, retry_after)

    def _count(self, bucket: str, start: int, window_seconds: int, now: float) -> int | None:
        """Count one hit of `bucket` in the window starting at `start` (Unix
        seconds) and return the window's count; None when the store is down."""
        raise NotImplementedError


class DatabaseRateLimiter(RateLimiter):
    """Counters in the project database (`rate_limit_counters`), SQLite or
    PostgreSQL: an atomic upsert per hit, then the count read back in the same
    transaction (the upsert holds the row's write lock until commit)."""

    def __init__(self, factory: sessionmaker) -> None:
        self.factory = factory

    def _count(self, bucket: str, start: int, window_seconds: int, now: float) -> int | None:
        window_start = datetime.fromtimestamp(start, timezone.utc)
        expires_at = datetime.fromtimestamp(start + window_seconds, timezone.utc)
        table = RateLimitCounter.__table__
        where = (table.c.bucket == bucket) & (table.c.window_start == window_start)
        with session_scope(self.factory) as session:
            dialect = session.get_bind().dialect.name
            if dialect in ("postgresql", "sqlite"):
                if dialect == "postgresql":
                    from sqlalchemy.dialects.postgresql import insert
                else:
                    from sqlalchemy.dialects.sqlite import insert
                statement = insert(table).values(
                    bucket=bucket, window_start=window_start, count=1, expires_at=expires_at
                )
                session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[table.c.bucket, table.c.window_start],
                        set_={"count": table.c.count + 1},
                    )
                )
            else:  # any other database: update, else insert (a lost race retries the update)
                done = session.execute(update(table).where(where).values(count=table.c.count + 1))
                if not done.rowcount:
                    try:
                        with session.begin_nested():
                            session.execute(
                                table.insert().values(
                                    bucket=bucket,
                                    window_start=window_start,
                                    count=1,
                                    expires_at=expires_at,
                                )
                            )
                    except IntegrityError:
                        session.execute(update(table).where(where).values(count=table.c.count + 1))
            count = int(session.execute(select(table.c.count).where(where)).scalar_one())
            if count == 1:
                # A bucket opened a new window: drop every finished window
                # (cheap, indexed; keeps the table at about one row per bucket).
                ended = datetime.fromtimestamp(now, timezone.utc)
                session.execute(delete(table).where(table.c.expires_at <= ended))
        return count


class RedisRateLimiter(RateLimiter):
    """Counters in Redis: key `tthc:ratelimit:<bucket>:<window start>`,
    `INCR` and `EXPIRE` (window + 1 s) in one MULTI/EXEC. Redis being down
    lets the request through (logged): a limit must not take the service down."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _count(self, bucket: str, start: int, window_seconds: int, now: float) -> int | None:
        import redis

        key = f"{REDIS_PREFIX}{bucket}:{start}"
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, window_seconds + 1)
            return int(pipe.execute()[0])
        except redis.RedisError as exc:
            log.warning("rate limit store unavailable, request let through: %s", exc)
            return None


@functools.lru_cache(maxsize=4)
def _redis_client(url: str) -> Any:
    # A connection pool per URL and process (holds no counters).
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def rate_limiter(
    factory: sessionmaker | None = None, settings: Settings | None = None
) -> RateLimiter:
    """The limiter the settings choose (`TTHC_RATE_LIMIT_STORE`): Redis at
    `TTHC_LOCK_STORE_URL`, else the database of `factory` (default: the
    configured database's process-wide factory). Raises SettingsError for
    `redis` without `TTHC_LOCK_STORE_URL`."""
    settings = settings or get_settings()
    store = settings.rate_limits.store
    redis_url = settings.rasa.lock_store_url
    if store == "redis" or (not store and redis_url):
        if not redis_url:
            raise SettingsError(
                "TTHC_RATE_LIMIT_STORE=redis needs TTHC_LOCK_STORE_URL (redis://...)"
            )
        return RedisRateLimiter(_redis_client(redis_url))
    if factory is None:
        from core.db import session_factory

        factory = session_factory()
    return DatabaseRateLimiter(factory)
