"""Citizens' ratings of answers and finished dossiers (issue 12).

A rating arrives as a button payload (see docs/maintainers-loop.md §5):
`/rate{"rating":"5","rating_kind":"answer"}` (👍 = 5, 👎 = 1, or 1..5), with an
optional `rating_comment`. `record_rating` validates and stores it; the
comment is scrubbed of personal data first. Ratings feed the dashboard
(training.analytics) and bad ones (1-2) the misunderstood inbox
(training.inbox, reason `bad_rating`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from training.orm import RATING_KINDS, Rating
from training.scrub import scrub

__all__ = ["COMMENT_WINDOW", "RatingError", "add_comment", "parse_score", "record_rating"]

# A comment typed after a bad rating belongs to it only this long after it.
COMMENT_WINDOW = timedelta(minutes=30)
_WORDS = {"👍": 5, "up": 5, "tot": 5, "tốt": 5, "👎": 1, "down": 1, "kem": 1, "kém": 1}


class RatingError(ValueError):
    """Not a rating (score outside 1..5, unknown kind)."""


def parse_score(value: object) -> int:
    """1..5 from "1".."5", 1..5, "👍"/"👎" (5/1). Raises RatingError otherwise."""
    # One scalar only: a typed `{"rating":[1,2]}` or `{"rating":{…}}` is no rating.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RatingError(f"not a rating: {value!r}")
    text = str(value).strip().lower()
    if text in _WORDS:
        return _WORDS[text]
    try:
        number = float(text)
    except ValueError as exc:
        raise RatingError(f"not a rating: {value!r}") from exc
    if not number.is_integer():
        raise RatingError(f"a rating is a whole number, got {value!r}")
    score = int(number)
    if not 1 <= score <= 5:
        raise RatingError(f"a rating is 1..5, got {score}")
    return score


def record_rating(
    db: Session,
    sender_id: str,
    channel: str,
    score: object,
    *,
    kind: str = "answer",
    comment: str = "",
    procedure: str | None = None,
    dossier_code: str | None = None,
) -> Rating:
    """Store one rating (flushed) and return it. Raises RatingError for a bad
    score or kind.

    One rating per target and sender: a sender (on a channel) rating the same
    thing again — an answer about the same `procedure`, or the same dossier —
    updates their earlier rating (score, time, comment) instead of adding one,
    so repeated taps do not weigh on the dashboard. The earlier comment is
    kept when both ratings are bad and no new comment comes."""
    if kind not in RATING_KINDS:
        raise RatingError(f"unknown rating kind {kind!r}")
    value = parse_score(score)
    sender, channel = sender_id[:255], (channel or "")[:32]
    procedure = (procedure or None) and str(procedure)[:32]
    dossier_code = (dossier_code or None) and str(dossier_code)[:64]
    text = scrub(comment or "")[:1000]
    earlier = db.execute(
        select(Rating)
        .where(
            Rating.sender_id == sender,
            Rating.channel == channel,
            Rating.kind == kind,
            _same(Rating.procedure, procedure),
            _same(Rating.dossier_code, dossier_code),
        )
        .order_by(Rating.id.desc())
        .limit(1)
    ).scalars().first()
    if earlier is not None:
        keep = earlier.score <= 2 and value <= 2
        earlier.comment = text or (earlier.comment if keep else "")
        earlier.score = value
        earlier.created_at = utcnow()
        db.flush()
        return earlier
    rating = Rating(
        sender_id=sender,
        channel=channel,
        kind=kind,
        score=value,
        comment=text,
        procedure=procedure,
        dossier_code=dossier_code,
    )
    db.add(rating)
    db.flush()
    return rating


def _same(column: Any, value: str | None) -> Any:
    return column.is_(None) if value is None else column == value


def add_comment(
    db: Session, sender_id: str, channel: str, comment: str, *, now: datetime | None = None
) -> Rating | None:
    """Attach `comment` (scrubbed, ≤ 1,000 characters) to the sender's latest
    bad rating (1-2) on `channel` given within COMMENT_WINDOW that has no
    comment yet; returns it, or None when there is none (nothing stored)."""
    now = now or datetime.now(timezone.utc)
    rows = db.execute(
        select(Rating)
        .where(Rating.sender_id == sender_id[:255], Rating.channel == (channel or "")[:32])
        # by time: a re-rating updates an older row (record_rating)
        .order_by(Rating.created_at.desc(), Rating.id.desc())
        .limit(1)
    ).scalars().all()
    if not rows:
        return None
    rating = rows[0]
    created = rating.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    expired = created is not None and now - created > COMMENT_WINDOW
    if rating.score > 2 or rating.comment or expired:
        return None
    text = scrub(comment or "").strip()[:1000]
    if not text:
        return None
    rating.comment = text
    db.flush()
    return rating
