"""Tables of the maintainers' loop (migration 0009).

- `training_inbox_items`: one row per group of near-identical citizen messages
  the assistant misunderstood (key: accent-folded, scrubbed, normalised text),
  with how often it was seen, why, and what the trainer decided.
- `training_cursor`: how far the collector has read Rasa's `events` table.
- `training_jobs`: the queue of training runs (one runs at a time).
- `training_models`: the model bank: every model trained from the console or
  registered by hand, what produced it, its evaluation and whether it is live.
- `ratings`: citizens' ratings of answers and finished dossiers.

Timestamps are aware UTC (`core.db.UTCDateTime`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from core.db import Base, UTCDateTime, utcnow

ITEM_STATUSES: tuple[str, ...] = ("new", "labelled", "ignored", "aliased")
JOB_STATUSES: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
MODEL_STATUSES: tuple[str, ...] = ("candidate", "active", "retired")
RATING_KINDS: tuple[str, ...] = ("answer", "dossier")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class InboxItem(Base):
    """A group of misunderstood citizen messages.

    `text` is the latest occurrence with personal data scrubbed
    (`training.scrub.scrub`); raw text is never stored here. `reasons` is the
    sorted list of reasons seen (fallback, low_confidence, low_procedure_score,
    choice_not_picked, handoff, bad_rating). `sender_id`/`event_id` point at the
    latest occurrence in the tracker store, for showing context (masked).
    An "ignored" item stays ignored: new occurrences only raise `count`."""

    __tablename__ = "training_inbox_items"
    __table_args__ = (
        UniqueConstraint("key", name="uq_training_inbox_key"),
        CheckConstraint(_in("status", ITEM_STATUSES), name="ck_training_inbox_status"),
        Index("ix_training_inbox_status", "status", "last_seen"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    key = Column(String(500), nullable=False)
    text = Column(Text, nullable=False)
    count = Column(Integer, nullable=False, default=1)
    reasons = Column(JSON, nullable=False, default=list)
    channel = Column(String(32), nullable=False, default="")
    predicted_intent = Column(String(100), nullable=True)
    confidence = Column(String(16), nullable=True)  # "0.42", display only
    predicted_procedure = Column(String(32), nullable=True)
    sender_id = Column(String(255), nullable=True)
    event_id = Column(Integer, nullable=True)
    first_seen = Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen = Column(UTCDateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="new")
    intent = Column(String(100), nullable=True)
    procedure = Column(String(32), nullable=True)
    alias = Column(String(200), nullable=True)
    decided_by = Column(String(64), nullable=True)
    decided_at = Column(UTCDateTime, nullable=True)


class Cursor(Base):
    """Last tracker-store event id a reader (`name`) has processed."""

    __tablename__ = "training_cursor"

    name = Column(String(64), primary_key=True)
    last_event_id = Column(Integer, nullable=False, default=0)


class TrainingJob(Base):
    """One training run. `progress` 0..100; `log` the tail of its output.
    Only one job is `running` at a time (the worker claims with compare-and-set)."""

    __tablename__ = "training_jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="ck_training_jobs_status"),
        Index("ix_training_jobs_status", "status", "id"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    status = Column(String(16), nullable=False, default="queued")
    requested_by = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    started_at = Column(UTCDateTime, nullable=True)
    finished_at = Column(UTCDateTime, nullable=True)
    progress = Column(Integer, nullable=False, default=0)
    stage = Column(String(64), nullable=False, default="")
    log = Column(Text, nullable=False, default="")
    error = Column(Text, nullable=True)
    worker = Column(String(100), nullable=True)
    model_id = Column(Integer, ForeignKey("training_models.id"), nullable=True)


class ModelVersion(Base):
    """A model of the bank. `path` is the model archive; `data_hash` and
    `config_hash` (sha256 of the training files and config) and `inputs` (file
    list with hashes, config text) say what produced it; `evaluation` holds the
    held-out figures (`training.gate.summarise`); `gate` the comparison with
    the model that was live when it was evaluated."""

    __tablename__ = "training_models"
    __table_args__ = (
        UniqueConstraint("name", name="uq_training_models_name"),
        CheckConstraint(_in("status", MODEL_STATUSES), name="ck_training_models_status"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(200), nullable=False)
    path = Column(String(1000), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="candidate")
    data_hash = Column(String(64), nullable=False, default="")
    config_hash = Column(String(64), nullable=False, default="")
    inputs = Column(JSON, nullable=False, default=dict)
    evaluation = Column(JSON, nullable=True)
    gate = Column(JSON, nullable=True)
    activated_at = Column(UTCDateTime, nullable=True)
    activated_by = Column(String(64), nullable=True)


class Rating(Base):
    """A citizen's rating: `score` 1..5 (👍 = 5, 👎 = 1), optional comment
    (scrubbed of personal data), about an answer (`procedure`) or a finished
    dossier (`dossier_code`)."""

    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint(_in("kind", RATING_KINDS), name="ck_ratings_kind"),
        CheckConstraint("score BETWEEN 1 AND 5", name="ck_ratings_score"),
        Index("ix_ratings_created", "created_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    sender_id = Column(String(255), nullable=False)
    channel = Column(String(32), nullable=False, default="")
    kind = Column(String(16), nullable=False, default="answer")
    score = Column(Integer, nullable=False)
    comment = Column(Text, nullable=False, default="")
    procedure = Column(String(32), nullable=True)
    dossier_code = Column(String(64), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
