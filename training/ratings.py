"""Citizens' ratings of answers and finished dossiers (issue 12).

A rating arrives as a button payload (see /work/coord/ratings.md):
`/rate{"rating":"5","rating_kind":"answer"}` (👍 = 5, 👎 = 1, or 1..5), with an
optional `rating_comment`. `record_rating` validates and stores it; the
comment is scrubbed of personal data first. Ratings feed the dashboard
(training.analytics) and bad ones (1-2) the misunderstood inbox
(training.inbox, reason `bad_rating`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from training.orm import RATING_KINDS, Rating
from training.scrub import scrub

__all__ = ["RatingError", "parse_score", "record_rating"]

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
