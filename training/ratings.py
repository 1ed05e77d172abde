"""Citizens' ratings of answers and finished dossiers (issue 12).

A rating arrives as a button payload (see /work/coord/ratings.md):
`/rate{"rating":"5","rating_kind":"answer"}` (👍 = 5, 👎 = 1, or 1..5), with an
optional `rating_comment`. `record_rating` validates and stores it; the
comment is scrubbed of personal data first. Ratings feed the dashboard
(training.analytics) and bad ones (1-2) the misunderstood inbox
(training.inbox, reason `bad_rating`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    text = str(value if value is not None else "").strip().lower()
    if text in _WORDS:
        return _WORDS[text]
    try:
        score = int(float(text))
    except ValueError as exc:
        raise RatingError(f"not a rating: {value!r}") from exc
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
    """Store one rating (flushed). Raises RatingError for a bad score or kind."""
    if kind not in RATING_KINDS:
        raise RatingError(f"unknown rating kind {kind!r}")
    rating = Rating(
        sender_id=sender_id[:255],
        channel=(channel or "")[:32],
        kind=kind,
        score=parse_score(score),
        comment=scrub(comment or "")[:1000],
        procedure=(procedure or None) and str(procedure)[:32],
        dossier_code=(dossier_code or None) and str(dossier_code)[:64],
    )
    db.add(rating)
    db.flush()
    return rating


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
        .order_by(Rating.id.desc())
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
