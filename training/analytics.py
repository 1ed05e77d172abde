"""The numbers of the analytics dashboard and `tthc stats` (issue 12), one place.

`compute(db, tracker, filters, overdue=...)` returns a `Dashboard` for a date
range (Vietnam calendar days, inclusive) and optionally one channel:

- per day and channel: conversations (senders who wrote that day) and
  citizen messages (typed or tapped), from Rasa's tracker store `events`;
- share understood: typed messages not followed by a fallback (intent
  nlu_fallback/out_of_scope or a fallback action) over all typed messages;
- top procedures asked: messages naming a procedure (entity or button);
- top misunderstood: inbox groups seen in the range, most frequent first;
- hand-offs: requests created, still waiting, waiting time until an officer
  took them (median and 90th percentile, minutes);
- dossiers: created in the range by status, and open dossiers overdue now
  (`overdue(dossier) -> bool` is supplied by the caller, which knows due dates);
- ratings: count, average, distribution 1..5.

Every figure is also a table (`Dashboard.tables()`: name -> header + rows), which
the CSV export and the terminal print as they are.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from catalog.orm import ProcedureRow
from dossiers.orm import Dossier, HandoffRequest
from dossiers.validation import VIETNAM_TZ
from training.inbox import EVENTS, FALLBACK_ACTIONS, FALLBACK_INTENTS
from training.orm import InboxItem, Rating

__all__ = ["Dashboard", "Filters", "compute"]

OPEN_DOSSIER_STATUSES = frozenset({"submitted", "received", "processing", "need_supplement"})


@dataclass(frozen=True)
class Filters:
    """Inclusive date range (Vietnam days) and channel ("" = every channel)."""

    date_from: date
    date_to: date
    channel: str = ""

    @classmethod
    def last_days(cls, days: int = 30, channel: str = "", today: date | None = None) -> Filters:
        """The `days` days up to today (Vietnam time)."""
        today = today or datetime.now(VIETNAM_TZ).date()
        return cls(today - timedelta(days=days - 1), today, channel)

    def bounds(self) -> tuple[datetime, datetime]:
        """Aware UTC [start, end) of the range."""
        start = datetime.combine(self.date_from, time.min, VIETNAM_TZ)
        end = datetime.combine(self.date_to + timedelta(days=1), time.min, VIETNAM_TZ)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    def days(self) -> list[date]:
        count = (self.date_to - self.date_from).days + 1
        return [self.date_from + timedelta(days=i) for i in range(max(0, count))]


@dataclass
class Dashboard:
    """Every figure of the dashboard (see module doc)."""

    filters: Filters
    channels: list[str] = field(default_factory=list)
    conversations_by_day: dict[date, dict[str, int]] = field(default_factory=dict)
    messages_by_day: dict[date, dict[str, int]] = field(default_factory=dict)
    conversations: int = 0
    messages: int = 0
    typed_messages: int = 0
    understood_messages: int = 0
    top_procedures: list[tuple[str, str, int]] = field(default_factory=list)
    top_misunderstood: list[tuple[str, int]] = field(default_factory=list)
    handoffs: int = 0
    handoffs_waiting: int = 0
    wait_minutes_median: float | None = None
    wait_minutes_p90: float | None = None
    dossiers_by_status: dict[str, int] = field(default_factory=dict)
    dossiers_overdue: int = 0
    ratings: dict[int, int] = field(default_factory=dict)

    @property
    def understood_share(self) -> float | None:
        return self.understood_messages / self.typed_messages if self.typed_messages else None

    @property
    def rating_count(self) -> int:
        return sum(self.ratings.values())

    @property
    def rating_average(self) -> float | None:
        n = self.rating_count
        return sum(k * v for k, v in self.ratings.items()) / n if n else None

    def tables(self) -> dict[str, tuple[list[str], list[list[Any]]]]:
        """name -> (header, rows): the data of every chart, for CSV and the terminal."""
        share = self.understood_share
        average = self.rating_average
        return {
            "summary": (
                ["figure", "value"],
                [
                    ["date_from", self.filters.date_from.isoformat()],
                    ["date_to", self.filters.date_to.isoformat()],
                    ["channel", self.filters.channel or "all"],
                    ["conversations", self.conversations],
                    ["messages", self.messages],
                    ["typed_messages", self.typed_messages],
                    ["understood_share", "" if share is None else round(share, 4)],
                    ["handoffs", self.handoffs],
                    ["handoffs_waiting", self.handoffs_waiting],
                    ["wait_minutes_median", _r(self.wait_minutes_median)],
                    ["wait_minutes_p90", _r(self.wait_minutes_p90)],
                    ["dossiers", sum(self.dossiers_by_status.values())],
                    ["dossiers_overdue", self.dossiers_overdue],
                    ["ratings", self.rating_count],
                    ["rating_average", "" if average is None else round(average, 2)],
                ],
            ),
            "daily": (
                ["day", "channel", "conversations", "messages"],
                [
                    [
                        day.isoformat(),
                        channel,
                        self.conversations_by_day.get(day, {}).get(channel, 0),
                        self.messages_by_day.get(day, {}).get(channel, 0),
                    ]
                    for day in self.filters.days()
                    for channel in self.channels
                ],
            ),
            "procedures": (
                ["code", "name", "messages"],
                [list(row) for row in self.top_procedures],
            ),
            "misunderstood": (["text", "count"], [list(row) for row in self.top_misunderstood]),
            "dossiers": (
                ["status", "dossiers"],
                [[k, v] for k, v in sorted(self.dossiers_by_status.items())]
                + [["overdue (open)", self.dossiers_overdue]],
            ),
            "ratings": (["score", "ratings"], [[k, self.ratings.get(k, 0)] for k in range(1, 6)]),
        }


def _r(value: float | None) -> Any:
    return "" if value is None else round(value, 1)


def _json(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _tracker_figures(board: Dashboard, tracker: Engine | None) -> Counter:
    procedures: Counter = Counter()
    if tracker is None or not inspect(tracker).has_table("events"):
        return procedures
    start, end = board.filters.bounds()
    with tracker.connect() as connection:
        rows = connection.execute(
            select(
                EVENTS.c.sender_id,
                EVENTS.c.type_name,
                EVENTS.c.timestamp,
                EVENTS.c.action_name,
                EVENTS.c.data,
            )
            .where(
                EVENTS.c.type_name.in_(("user", "action")),
                EVENTS.c.timestamp >= start.timestamp(),
                EVENTS.c.timestamp < end.timestamp(),
            )
            .order_by(EVENTS.c.id)
        ).all()
    conversations: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    messages: dict[date, Counter] = defaultdict(Counter)
    channel_of: dict[str, str] = {}
    last_typed: dict[str, bool] = {}  # sender -> its last typed message is still "understood"
    typed = understood = 0
    senders: set[str] = set()
    for row in rows:
        if row.type_name == "action":
            if row.action_name in FALLBACK_ACTIONS and last_typed.get(row.sender_id):
                last_typed[row.sender_id] = False
                understood -= 1
            continue
        data = _json(row.data)
        channel = str(data.get("input_channel") or channel_of.get(row.sender_id) or "other")
        channel_of[row.sender_id] = channel
        if board.filters.channel and channel != board.filters.channel:
            continue
        day = datetime.fromtimestamp(row.timestamp, timezone.utc).astimezone(VIETNAM_TZ).date()
        conversations[day][channel].add(row.sender_id)
        messages[day][channel] += 1
        senders.add(row.sender_id)
        parse = data.get("parse_data") or {}
        for entity in parse.get("entities") or []:
            if entity.get("entity") == "procedure" and entity.get("value"):
                procedures[str(entity["value"])] += 1
                break
        text = str(data.get("text") or "")
        if text.startswith("/"):
            continue
        typed += 1
        intent = (parse.get("intent") or {}).get("name")
        ok = intent not in FALLBACK_INTENTS
        understood += ok
        last_typed[row.sender_id] = ok
    board.channels = sorted({c for per_day in conversations.values() for c in per_day})
    board.conversations_by_day = {
        day: {c: len(s) for c, s in per.items()} for day, per in conversations.items()
    }
    board.messages_by_day = {day: dict(per) for day, per in messages.items()}
    board.conversations = len(senders)
    board.messages = sum(sum(per.values()) for per in messages.values())
    board.typed_messages, board.understood_messages = typed, understood
    return procedures


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def compute(
    db: Session,
    tracker: Engine | None,
    filters: Filters,
    *,
    overdue: Callable[[Dossier], bool] | None = None,
    top: int = 10,
) -> Dashboard:
    """The dashboard for `filters` (module doc). `tracker`: the tracker store's
    engine (None: conversation figures stay empty)."""
    board = Dashboard(filters)
    procedures = _tracker_figures(board, tracker)
    names = (
        dict(
            db.execute(
                select(ProcedureRow.code, ProcedureRow.name).where(
                    ProcedureRow.code.in_(list(procedures))
                )
            ).all()
        )
        if procedures
        else {}
    )
    board.top_procedures = [
        (code, names.get(code, ""), n) for code, n in procedures.most_common(top)
    ]
    start, end = filters.bounds()
    board.top_misunderstood = [
        (text, count)
        for text, count in db.execute(
            select(InboxItem.text, InboxItem.count)
            .where(
                InboxItem.last_seen >= start,
                InboxItem.last_seen < end,
                InboxItem.status != "ignored",
                *([InboxItem.channel == filters.channel] if filters.channel else []),
            )
            .order_by(InboxItem.count.desc(), InboxItem.id)
            .limit(top)
        ).all()
    ]
    handoffs = (
        db.execute(
            select(HandoffRequest).where(
                HandoffRequest.created_at >= start,
                HandoffRequest.created_at < end,
                *([HandoffRequest.channel == filters.channel] if filters.channel else []),
            )
        )
        .scalars()
        .all()
    )
    board.handoffs = len(handoffs)
    board.handoffs_waiting = sum(1 for h in handoffs if h.status == "open")
    waits = [
        (h.claimed_at - h.created_at).total_seconds() / 60
        for h in handoffs
        if h.claimed_at is not None
    ]
    if waits:
        board.wait_minutes_median = statistics.median(waits)
        board.wait_minutes_p90 = _percentile(waits, 0.9)
    channel_clause = [Dossier.channel == filters.channel] if filters.channel else []
    board.dossiers_by_status = dict(
        db.execute(
            select(Dossier.status, func.count())
            .where(Dossier.created_at >= start, Dossier.created_at < end, *channel_clause)
            .group_by(Dossier.status)
        ).all()
    )
    if overdue is not None:
        open_dossiers = (
            db.execute(
                select(Dossier).where(Dossier.status.in_(OPEN_DOSSIER_STATUSES), *channel_clause)
            )
            .scalars()
            .all()
        )
        board.dossiers_overdue = sum(1 for d in open_dossiers if overdue(d))
    board.ratings = dict(
        db.execute(
            select(Rating.score, func.count())
            .where(
                Rating.created_at >= start,
                Rating.created_at < end,
                *([Rating.channel == filters.channel] if filters.channel else []),
            )
            .group_by(Rating.score)
        ).all()
    )
    return board
