"""The misunderstood inbox: fed from Rasa's SQL tracker store, decided by trainers.

`collect` reads the tracker store's `events` table from where it stopped last
time (`training_cursor`) and turns every citizen message the assistant handled
badly into an inbox occurrence. Reasons (`REASONS`):

- `fallback`: intent nlu_fallback/out_of_scope, or a fallback action followed;
- `low_confidence`: intent confidence below `InboxSettings.low_confidence`;
- `low_procedure_score`: procedure candidates were found but no procedure was
  recognised and the best score (0..100, catalog.resolution's scale) is below
  `InboxSettings.low_procedure_score`;
- `choice_not_picked`: the assistant offered procedures as buttons and the
  citizen typed something that named none of them;
- `handoff`: the citizen then asked for an officer (the message *before* the
  request is the one the assistant failed on);
- `bad_rating`: the citizen rated the answer 1 or 2 (intent `rate`, see
  docs/maintainers-loop.md §5; a tap, or a thumb typed after the buttons) —
  attached to the message that was answered. Only a stored rating counts:
  one that `action_save_rating` refused (`RATING_REFUSALS`: someone else's
  dossier, a malformed payload) is no rating.

Occurrences are grouped: the group key is the message scrubbed of personal
data (`training.scrub`), accent-folded (`core.vietnamese.fold`), with
punctuation dropped and spaces collapsed; a key within `near_duplicate` (rapidfuzz
ratio, 0..100) of an existing group joins it. Only scrubbed text is stored.

Decisions (each sets `decided_by`/`decided_at`):
- `label`: the intent (one of the domain's) and optionally the procedure (a
  catalog code); labelled items become training examples (training.export);
- `ignore`: permanent — later occurrences only raise the count;
- `add_alias`: a colloquial procedure name, appended to the curation overlay
  (training.aliases) — the item is then "aliased".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process
from sqlalchemy import (
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from catalog.orm import ProcedureRow
from core.db import PROJECT_ROOT, utcnow
from core.settings import settings_for
from core.vietnamese import fold
from dossiers.rating_buttons import RATING_REFUSALS
from training.orm import Cursor, InboxItem
from training.scrub import scrub
from training.tracker_events import (  # re-exported: analytics and retention read them here
    EVENTS,
    FALLBACK_ACTIONS,
    FALLBACK_INTENTS,
    HANDOFF_ACTIONS,
    HANDOFF_INTENTS,
)

__all__ = [
    "REASONS",
    "REASON_LABELS_VI",
    "CollectStats",
    "InboxError",
    "InboxSettings",
    "collect",
    "group_key",
    "ignore",
    "known_intents",
    "label",
    "list_items",
    "mark_aliased",
    "search_procedures",
]

REASONS: tuple[str, ...] = (
    "fallback",
    "low_confidence",
    "low_procedure_score",
    "choice_not_picked",
    "handoff",
    "bad_rating",
)
REASON_LABELS_VI: dict[str, str] = {
    "fallback": "Không hiểu",
    "low_confidence": "Độ tin cậy thấp",
    "low_procedure_score": "Thủ tục không rõ",
    "choice_not_picked": "Không chọn gợi ý",
    "handoff": "Chuyển cán bộ",
    "bad_rating": "Đánh giá thấp",
}
RATING_INTENT = "rate"
CURSOR_NAME = "inbox"
DOMAIN_DIR = PROJECT_ROOT / "bot" / "domain"
_PUNCT = re.compile(r"[^\w\s]|_")



class InboxError(ValueError):
    """A decision that cannot be taken (unknown item, intent or procedure); the
    message is Vietnamese, fit to show to the trainer."""


@dataclass(frozen=True)
class InboxSettings:
    """Thresholds. `low_confidence` 0..1 (intent confidence), `low_procedure_score`
    0..100 (catalog search score), `near_duplicate` 0..100 (rapidfuzz ratio of keys);
    `batch` events read per query."""

    low_confidence: float = 0.6
    low_procedure_score: float = 60.0
    near_duplicate: float = 92.0
    batch: int = 5000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> InboxSettings:
        """From TTHC_INBOX_LOW_CONFIDENCE, TTHC_INBOX_LOW_PROCEDURE_SCORE,
        TTHC_INBOX_NEAR_DUPLICATE (core.settings; `env`: a mapping instead of the
        process environment); ValueError (SettingsError) naming a non-number."""
        training = settings_for(env).training
        return cls(
            low_confidence=training.inbox_low_confidence,
            low_procedure_score=training.inbox_low_procedure_score,
            near_duplicate=training.inbox_near_duplicate,
        )


@dataclass
class CollectStats:
    """What one `collect` run did: events read, occurrences found, groups created."""

    events: int = 0
    occurrences: int = 0
    new_groups: int = 0
    last_event_id: int = 0


def group_key(text: str) -> str:
    """The grouping key of a message: scrubbed, folded, punctuation dropped,
    whitespace collapsed, at most 500 characters."""
    folded = fold(scrub(text))
    return " ".join(_PUNCT.sub(" ", folded).split())[:500]


@dataclass
class _Occurrence:
    event_id: int
    sender_id: str
    at: datetime
    text: str
    channel: str
    intent: str | None
    confidence: float | None
    procedure: str | None
    reasons: set[str] = field(default_factory=set)


@dataclass
class _SenderState:
    last_message: _Occurrence | None = None  # last substantive (typed) citizen message
    offered: tuple[str, ...] = ()  # procedure codes offered as buttons by the last bot turn
    # The message a bad rating was just given for, until the reply to the
    # rating shows whether it was stored (`_Scanner.feed`).
    rated: _Occurrence | None = None


def _json(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


_PAYLOAD_PROCEDURE = re.compile(r'"procedure"\s*:\s*"([^"]+)"')


def _offered_codes(bot_data: Mapping[str, Any]) -> tuple[str, ...]:
    buttons = (bot_data.get("data") or {}).get("buttons") or []
    codes = []
    for button in buttons:
        match = _PAYLOAD_PROCEDURE.search(str((button or {}).get("payload") or ""))
        if match:
            codes.append(match.group(1))
    return tuple(codes) if len(codes) >= 2 else ()


def _rating_score(parse: Mapping[str, Any], text: str) -> int | None:
    for entity in parse.get("entities") or []:
        if entity.get("entity") in {"rating", "score"}:
            try:
                return int(float(entity.get("value")))
            except (TypeError, ValueError):
                return None
    match = re.search(r'"(?:rating|score)"\s*:\s*"?(\d)', text)
    return int(match.group(1)) if match else None


class _Scanner:
    """Turns a stream of tracker events (ordered by id) into occurrences."""

    def __init__(self, settings: InboxSettings) -> None:
        self.settings = settings
        self.states: dict[str, _SenderState] = {}
        self.found: dict[int, _Occurrence] = {}  # event id -> occurrence with reasons

    def _flag(self, occurrence: _Occurrence | None, reason: str) -> None:
        if occurrence is None:
            return
        occurrence.reasons.add(reason)
        self.found[occurrence.event_id] = occurrence

    def _settle_rating(self, state: _SenderState, reply: str | None = None) -> None:
        """Flag the message of the sender's pending bad rating unless `reply`
        (the bot's answer to the rating) says it was refused."""
        rated, state.rated = state.rated, None
        if rated is not None and reply not in RATING_REFUSALS:
            self._flag(rated, "bad_rating")

    def finish(self) -> None:
        """Settle the bad ratings whose reply was not read (none came): no
        refusal was seen, so they count."""
        for state in self.states.values():
            self._settle_rating(state)

    def feed(self, row: Any, *, seed: bool = False) -> None:
        """One event. `seed=True` replays an already-collected event only to
        rebuild the sender's state (it never produces an occurrence)."""
        state = self.states.setdefault(row.sender_id, _SenderState())
        data = _json(row.data)
        if row.type_name == "bot":
            if state.rated is not None:
                self._settle_rating(state, str(data.get("text") or ""))
            state.offered = _offered_codes(data)
            return
        if row.type_name == "action":
            if seed:
                return
            if row.action_name in FALLBACK_ACTIONS:
                self._flag(state.last_message, "fallback")
            elif row.action_name in HANDOFF_ACTIONS:
                self._flag(state.last_message, "handoff")
            return
        if row.type_name != "user":
            return
        self._settle_rating(state)  # no reply between the rating and this message
        text = str(data.get("text") or "")
        parse = data.get("parse_data") or {}
        intent_data = parse.get("intent") or {}
        intent = intent_data.get("name") or row.intent_name
        if not seed and intent == RATING_INTENT:
            # A tap, or a typed thumb made one (bot.rating_comment); a
            # comment has no score. Decided by the reply that follows.
            score = _rating_score(parse, text if text.startswith("/") else "")
            if score is not None and score <= 2:
                state.rated = state.last_message
        if text.startswith("/"):  # a button: not a phrasing to learn from
            if not seed and intent in HANDOFF_INTENTS:
                self._flag(state.last_message, "handoff")
            state.offered = ()
            return
        confidence = intent_data.get("confidence")
        confidence = float(confidence) if isinstance(confidence, (int, float)) else None
        entities = parse.get("entities") or []
        procedure = next(
            (
                str(e.get("value"))
                for e in entities
                if e.get("entity") == "procedure" and e.get("value")
            ),
            None,
        )
        candidates = parse.get("procedure_candidates") or []
        at = datetime.fromtimestamp(float(row.timestamp or 0), tz=timezone.utc)
        occurrence = _Occurrence(
            event_id=row.id,
            sender_id=row.sender_id,
            at=at,
            text=text,
            channel=str(data.get("input_channel") or ""),
            intent=intent,
            confidence=confidence,
            procedure=procedure or (str(candidates[0].get("code")) if candidates else None),
        )
        offered, state.offered = state.offered, ()
        if intent in HANDOFF_INTENTS:
            # The request itself is fine; the message before it was not answered well.
            if not seed:
                self._flag(state.last_message, "handoff")
            return
        if intent == RATING_INTENT:
            return
        state.last_message = occurrence
        if seed:
            return
        if intent in FALLBACK_INTENTS:
            self._flag(occurrence, "fallback")
        if confidence is not None and confidence < self.settings.low_confidence:
            self._flag(occurrence, "low_confidence")
        if candidates and not procedure:
            top = max(float(c.get("score") or 0) for c in candidates)
            if top < self.settings.low_procedure_score:
                self._flag(occurrence, "low_procedure_score")
        if offered and procedure not in offered:
            self._flag(occurrence, "choice_not_picked")


def _tracker_has_events(engine: Engine) -> bool:
    return inspect(engine).has_table("events")


def _seed(scanner: _Scanner, connection: Any, senders: Iterable[str], before: int) -> None:
    """Replay each sender's last events before `before` so a turn split across
    two runs (choices offered in one, the answer in the next) is still seen."""
    for sender in senders:
        rows = connection.execute(
            select(EVENTS)
            .where(EVENTS.c.sender_id == sender, EVENTS.c.id <= before)
            .order_by(EVENTS.c.id.desc())
            .limit(30)
        ).all()
        for row in reversed(rows):
            scanner.feed(row, seed=True)


def collect(db: Session, tracker: Engine, settings: InboxSettings | None = None) -> CollectStats:
    """Read new tracker events into the inbox (see module doc). Idempotent:
    events are read once (cursor in `training_cursor`, advanced in the same
    transaction as the items). No tracker table yet → nothing to do."""
    settings = settings or InboxSettings()
    stats = CollectStats()
    cursor = db.get(Cursor, CURSOR_NAME, populate_existing=True)
    if cursor is None:
        cursor = Cursor(name=CURSOR_NAME, last_event_id=0)
        db.add(cursor)
        db.flush()
    stats.last_event_id = start = cursor.last_event_id
    if not _tracker_has_events(tracker):
        return stats
    scanner = _Scanner(settings)
    with tracker.connect() as connection:
        while True:
            rows = connection.execute(
                select(EVENTS)
                .where(EVENTS.c.id > stats.last_event_id)
                .order_by(EVENTS.c.id)
                .limit(settings.batch)
            ).all()
            if not rows:
                break
            unseen = {row.sender_id for row in rows} - set(scanner.states)
            _seed(scanner, connection, sorted(unseen), stats.last_event_id)
            for row in rows:
                scanner.feed(row)
            stats.events += len(rows)
            stats.last_event_id = rows[-1].id
    scanner.finish()
    if stats.last_event_id == start:
        return stats
    # Claim the range with a compare-and-set: two console workers collecting at
    # once must not count the same events twice (the loser records nothing).
    claimed = db.execute(
        update(Cursor)
        .where(Cursor.name == CURSOR_NAME, Cursor.last_event_id == start)
        .values(last_event_id=stats.last_event_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return CollectStats(last_event_id=start)
    for occurrence in sorted(scanner.found.values(), key=lambda o: o.event_id):
        stats.occurrences += 1
        if _record(db, occurrence, settings):
            stats.new_groups += 1
    return stats


def _record(db: Session, occurrence: _Occurrence, settings: InboxSettings) -> bool:
    """Add one occurrence to its group; True when a new group was created."""
    text = scrub(occurrence.text)
    key = group_key(occurrence.text)
    if not key:
        return False
    item = db.execute(select(InboxItem).where(InboxItem.key == key)).scalar_one_or_none()
    if item is None and settings.near_duplicate < 100:
        keys = db.execute(select(InboxItem.id, InboxItem.key)).all()
        if keys:
            best = process.extractOne(
                key,
                {row.id: row.key for row in keys},
                scorer=fuzz.ratio,
                score_cutoff=settings.near_duplicate,
            )
            if best is not None:
                item = db.get(InboxItem, best[2])
    fields = {
        "text": text,
        "channel": occurrence.channel,
        "predicted_intent": occurrence.intent,
        "confidence": None if occurrence.confidence is None else f"{occurrence.confidence:.2f}",
        "predicted_procedure": occurrence.procedure,
        "sender_id": occurrence.sender_id,
        "event_id": occurrence.event_id,
        "last_seen": occurrence.at,
    }
    if item is None:
        db.add(
            InboxItem(
                key=key,
                count=1,
                reasons=sorted(occurrence.reasons),
                first_seen=occurrence.at,
                status="new",
                **fields,
            )
        )
        db.flush()
        return True
    item.count = (item.count or 0) + 1
    item.reasons = sorted(set(item.reasons or ()) | occurrence.reasons)
    if _accents(item.text) > _accents(text):
        fields.pop("text")  # keep the spelling with diacritics: a better example
    for name, value in fields.items():
        setattr(item, name, value)
    return False


def _accents(text: str) -> int:
    return sum(1 for ch in text if not ch.isascii())


# ----------------------------------------------------------------------------------------
# Listing and decisions
# ----------------------------------------------------------------------------------------


def list_items(
    db: Session,
    *,
    status: str = "new",
    reason: str = "",
    q: str = "",
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[InboxItem], int]:
    """Items of `status` ("" = any), optionally with `reason` and whose key
    contains folded `q`; most frequent first. Returns (page, total)."""
    query = select(InboxItem)
    if status:
        query = query.where(InboxItem.status == status)
    if q.strip():
        query = query.where(InboxItem.key.contains(group_key(q)))
    items = db.execute(query.order_by(InboxItem.count.desc(), InboxItem.id)).scalars().all()
    if reason:
        items = [item for item in items if reason in (item.reasons or ())]
    return list(items[offset : offset + limit]), len(items)


@lru_cache(maxsize=4)
def _domain_intents(directory: str) -> frozenset[str]:
    names: set[str] = set()
    for path in sorted(Path(directory).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for intent in data.get("intents") or []:
            names.add(next(iter(intent)) if isinstance(intent, dict) else str(intent))
    return frozenset(names)


def known_intents(domain_dir: Path = DOMAIN_DIR) -> list[str]:
    """The intents declared in the Rasa domain files (sorted), read as plain YAML."""
    return sorted(_domain_intents(str(domain_dir)))


def _item(db: Session, item_id: int) -> InboxItem:
    item = db.get(InboxItem, item_id)
    if item is None:
        raise InboxError(f"Không có mục số {item_id}.")
    return item


def _decide(item: InboxItem, status: str, actor: str) -> None:
    item.status = status
    item.decided_by = actor
    item.decided_at = utcnow()


def label(db: Session, item_id: int, intent: str, procedure: str | None, actor: str) -> InboxItem:
    """Label item `item_id` with `intent` (a domain intent) and `procedure`
    (a catalog code or None/""). Raises InboxError for an unknown item, intent
    or procedure, or an ignored item (ignoring is permanent)."""
    item = _item(db, item_id)
    if item.status == "ignored":
        raise InboxError("Mục này đã bị bỏ qua vĩnh viễn.")
    intent = (intent or "").strip()
    if intent not in _domain_intents(str(DOMAIN_DIR)):
        raise InboxError(f"Ý định {intent!r} không có trong domain.")
    procedure = (procedure or "").strip() or None
    if procedure is not None and db.get(ProcedureRow, procedure) is None:
        raise InboxError(f"Không có thủ tục mã {procedure!r} trong danh mục.")
    item.intent = intent
    item.procedure = procedure
    _decide(item, "labelled", actor)
    return item


def ignore(db: Session, item_id: int, actor: str) -> InboxItem:
    """Ignore item `item_id` for good (InboxError when it does not exist)."""
    item = _item(db, item_id)
    _decide(item, "ignored", actor)
    item.intent = None
    return item


def mark_aliased(db: Session, item_id: int, procedure: str, alias: str, actor: str) -> InboxItem:
    """Record that `alias` (scrubbed) was added for `procedure` from item `item_id`.
    The overlay edit itself is `training.aliases.add_alias`."""
    item = _item(db, item_id)
    if item.status == "ignored":
        raise InboxError("Mục này đã bị bỏ qua vĩnh viễn.")
    item.procedure = procedure
    item.alias = alias
    _decide(item, "aliased", actor)
    return item


def search_procedures(db: Session, query: str, limit: int = 15) -> list[tuple[str, str]]:
    """(code, name) of catalog procedures whose folded name contains every
    folded word of `query`, or whose code starts with it; shortest names first."""
    words = fold(query).split()
    if not words:
        return []
    rows = db.execute(select(ProcedureRow.code, ProcedureRow.name)).all()
    hits = [
        (row.code, row.name)
        for row in rows
        if row.code.startswith(query.strip()) or all(w in fold(row.name) for w in words)
    ]
    hits.sort(key=lambda hit: (len(hit[1]), hit[0]))
    return hits[:limit]


def counts_by_status(db: Session) -> dict[str, int]:
    """status -> number of items."""
    rows = db.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status)).all()
    return {status: count for status, count in rows}


def occurrences_text(items: Sequence[InboxItem]) -> list[str]:
    """The stored (scrubbed) texts of `items`."""
    return [item.text for item in items]
