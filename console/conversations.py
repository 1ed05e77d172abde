"""Conversations as officers read them, from Rasa's SQL tracker store.

Rasa writes every event of every conversation into one `events` table
(sender_id, type_name, timestamp, intent_name, action_name, data JSON); `tthc
run` points it at `TTHC_TRACKER_STORE_URL` (default sqlite:///var/tracker.db,
see bot/runtime.py). This module only READS that table (own MetaData, not part
of the tthc migrations) and turns it into:

- `ConversationSummary` per sender (channel, first/last time, intents,
  procedures, lowest confidence, fallback, hand-off, dossier codes), kept in a
  per-process cache that is brought up to date incrementally (events with an
  id above the last one read), so listing stays cheap as conversations grow;
- `Transcript`: each citizen message with intent, confidence and procedure;
  each bot reply with its buttons.

Personal data: citizen ID numbers, phone numbers, addresses and person names
(the applicant's, the child's, the parents'... every field of type "name" of
the dossier form) and dates of birth (every date field `*date_of_birth`, to
"**/**/1990") are masked in every text unless the caller passes
`reveal=True` (routes allow that only to roles with `personal.reveal` and
audit it). Masking uses the values the dossier form stored in slots and the
citizen's messages answering those fields (exact values, wherever they
reappear; names as whole words, reduced to initials) plus patterns for
ID/phone-like digit runs typed anywhere.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time as time_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from console.filters import FilterParams, day_bounds
from core.db import PROJECT_ROOT, get_engine
from core.vietnamese import fold, mask_citizen_id, mask_numbers, mask_phone
from dossiers.forms import COMMON_FIELDS, load_form_fields
from dossiers.validation import (
    VIETNAM_TZ,
    ValidationError,
    mask_address,
    mask_date,
    mask_name,
    parse_date,
)
from training.tracker_events import (
    EVENTS,
    FALLBACK_ACTIONS,
    FALLBACK_INTENTS,
    HANDOFF_ACTIONS,
    HANDOFF_INTENTS,
)

DEFAULT_TRACKER_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"
LOW_CONFIDENCE = 0.6
REREAD_WINDOW = 1000  # event ids re-read below the highest seen (out-of-order commits)
REFRESH_EVERY = 1.0  # seconds: at most one look at the tracker store per process per second
# Slots whose values are personal data of the kinds masked here.
ID_SLOTS = frozenset({"citizen_id"})
PHONE_SLOTS = frozenset({"phone"})
ADDRESS_SLOTS = frozenset({"address", "temporary_address", "permanent_address"})
PII_SLOTS = ID_SLOTS | PHONE_SLOTS | ADDRESS_SLOTS
# Form field types that are personal data -> the kind `mask_text` masks them as.
_FIELD_KINDS = {"citizen_id": "id", "phone": "phone", "address": "address", "name": "name"}
MARKED_ACTIONS = HANDOFF_ACTIONS | FALLBACK_ACTIONS  # shown as events in transcripts
# Dates as citizens type them (day first, or ISO), on the original text (not folded, so the
# spans are the text's own): 15/3/1990, 15-03-1990, 15.03.1990, 1990-03-15, "15 tháng 3 năm 1990".
_SEP = r"\s*[-/.]\s*"
_DATES_IN_TEXT: tuple[tuple[re.Pattern[str], tuple[int, int, int]], ...] = (
    (re.compile(rf"(?<!\d)(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})(?!\d)"), (3, 2, 1)),
    (re.compile(rf"(?<!\d)(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}})(?!\d)"), (1, 2, 3)),
    (re.compile(r"(?<!\d)(\d{1,2})\s*(?:tháng|thang|thg|th)\s*(\d{1,2})\s*,?\s*"
                r"(?:(?:năm|nam)\s*)?(\d{4})(?!\d)", re.IGNORECASE), (1, 2, 3)),
)


def _mask_known_date(text: str, value: str) -> str:
    """`text` with every spelling of the date in `value` (a slot value or the
    citizen's answer) masked to "**/**/<year>"; `text` unchanged when `value`
    holds no single date."""
    try:
        known = parse_date(value, allow_future=True)
    except ValidationError:
        return text

    def one(match: re.Match[str], groups: tuple[int, int, int]) -> str:
        day, month, year = (int(match.group(g)) for g in groups)
        return mask_date(known) if (day, month, year) == (
            known.day, known.month, known.year) else match.group(0)

    for pattern, groups in _DATES_IN_TEXT:
        text = pattern.sub(functools.partial(one, groups=groups), text)
    return text


def mask_text(text: str, known: Iterable[tuple[str, str]] = ()) -> str:
    """`text` with personal data masked. `known` holds (kind, value) pairs
    from the conversation's slots (kind: "id", "phone", "address", "name",
    "dob"), masked wherever they appear (names as whole words, any letter case, to
    initials: "Nguyễn Văn An" -> "N. V. A."; dates of birth in any spelling to
    "**/**/1990" as on the dossier page); ID- and phone-like digit runs
    are masked anyway."""
    for kind, value in known:
        value = value.strip() if value else ""
        if kind == "dob":
            text = _mask_known_date(text, value) if value else text
            continue
        if kind == "name":
            # Whole words only, so a short given name ("An") does not eat "Anh".
            if len(value) >= 2:
                pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
                text = pattern.sub(lambda m: mask_name(m.group(0)), text)
            continue
        if value and len(value) >= 4 and value in text:
            masker = {"id": mask_citizen_id, "phone": mask_phone}.get(kind, mask_address)
            text = text.replace(value, masker(value))
    return mask_numbers(text)  # phone numbers, then 9/12-digit ID numbers


@lru_cache(maxsize=1)
def _form_slot_kinds() -> dict[str, str]:
    """Slot name -> masking kind for every personal-data field of the dossier
    form (common applicant fields and every procedure's own, from
    dossiers/form_fields.yml), e.g. "father_name" -> "name"."""
    kinds = {spec.name: _FIELD_KINDS[spec.type] for spec in COMMON_FIELDS
             if spec.type in _FIELD_KINDS}
    try:
        specs = [spec for fields in load_form_fields().values() for spec in fields]
    except Exception:  # a broken form file must not hide transcripts; commons still mask
        specs = []
    for spec in specs:
        if spec.type in _FIELD_KINDS:
            kinds.setdefault(spec.name, _FIELD_KINDS[spec.type])
    # Dates of birth (date fields named *date_of_birth: the applicant's, the child's,
    # the spouse's...); other dates (of death, licence expiry) are not masked.
    for spec in (*COMMON_FIELDS, *specs):
        if spec.type == "date" and spec.name.endswith("date_of_birth"):
            kinds.setdefault(spec.name, "dob")
    return kinds


def _slot_kind(slot: str) -> str | None:
    if slot in ID_SLOTS:
        return "id"
    if slot in PHONE_SLOTS:
        return "phone"
    if slot in ADDRESS_SLOTS:
        return "address"
    return _form_slot_kinds().get(slot)


@dataclass
class ConversationSummary:
    """One conversation (all events of one sender id)."""

    sender_id: str
    channel: str = ""
    started_at: datetime | None = None
    last_at: datetime | None = None
    user_messages: int = 0
    intents: set[str] = field(default_factory=set)
    procedures: set[str] = field(default_factory=set)
    min_confidence: float | None = None
    fallback: bool = False
    handoff: bool = False
    last_text: str = ""  # the citizen's last message, masked
    folded_text: str = ""  # every citizen message, diacritics folded, for search
    folded_masked: str = ""  # the same, personal data masked (search without reveal right)
    known_pii: list[tuple[str, str]] = field(default_factory=list)

    @property
    def low_confidence(self) -> bool:
        return self.min_confidence is not None and self.min_confidence < LOW_CONFIDENCE


@dataclass(frozen=True)
class Message:
    """One transcript line. `kind`: "user" (citizen), "bot", or "event" (hand-off etc.)."""

    kind: str
    at: datetime
    text: str
    intent: str | None = None
    confidence: float | None = None
    procedure: str | None = None
    buttons: tuple[str, ...] = ()
    answered_slot: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class Transcript:
    sender_id: str
    channel: str
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class ConversationFilter:
    """List filters; empty / None means "any". Dates are Vietnam calendar days."""

    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    channel: str = ""
    procedure: str = ""
    intent: str = ""
    low_confidence: bool = False
    fallback: bool = False
    handoff: bool = False
    has_dossier: bool = False

    def as_query(self) -> dict[str, str]:
        """The filter as URL query parameters (for links and export forms)."""
        out: dict[str, str] = {}
        for name in ("q", "channel", "procedure", "intent"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        for name in ("date_from", "date_to"):
            if getattr(self, name):
                out[name] = getattr(self, name).isoformat()
        for name in ("low_confidence", "fallback", "handoff", "has_dossier"):
            if getattr(self, name):
                out[name] = "1"
        return out

    @classmethod
    def from_params(cls, params: Any) -> ConversationFilter:
        """From request args/form (`.get(name)`); malformed dates are ignored."""
        p = FilterParams(params)
        text, day, flag = p.text, p.day, p.flag

        return cls(
            q=text("q"), date_from=day("date_from"), date_to=day("date_to"),
            channel=text("channel"), procedure=text("procedure"), intent=text("intent"),
            low_confidence=flag("low_confidence"), fallback=flag("fallback"),
            handoff=flag("handoff"), has_dossier=flag("has_dossier"),
        )


def _at(timestamp: float | None) -> datetime:
    return datetime.fromtimestamp(timestamp or 0, tz=timezone.utc)


class TrackerReader:
    """Read-only access to Rasa's SQL tracker store at `url` (thread-safe)."""

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        self.url = url or DEFAULT_TRACKER_URL
        if engine is None and self.url.startswith("sqlite:///"):
            # Do not create an empty tracker file: Rasa creates it on first start.
            path = Path(self.url.removeprefix("sqlite:///"))
            self._missing_file = not path.exists()
        else:
            self._missing_file = False
        self.engine = engine or (None if self._missing_file else get_engine(self.url))
        self._lock = threading.Lock()
        self._summaries: dict[str, ConversationSummary] = {}
        self._available = False
        self._refreshed = -REFRESH_EVERY
        self._last_id = 0
        self._folded: set[int] = set()
        self._requested: dict[str, str | None] = {}

    def available(self) -> bool:
        """False while the tracker store has no events table (Rasa never ran).
        Once the table exists the answer is remembered (it is never dropped)."""
        if self._available:
            return True
        if self.engine is None:
            path = Path(self.url.removeprefix("sqlite:///"))
            if not path.exists():
                return False
            self.engine = get_engine(self.url)
        self._available = bool(inspect(self.engine).has_table("events"))
        return self._available

    def refresh(self) -> None:
        """Fold events newer than the last one read into the summaries."""
        if not self.available():
            return
        assert self.engine is not None  # available() opened it
        with self._lock:
            now = time_module.monotonic()
            if now - self._refreshed < REFRESH_EVERY:
                return
            self._refreshed = now
            with self.engine.connect() as connection:
                # Ids from a PostgreSQL sequence may commit out of order (several
                # Rasa workers): look again at the ids of a window below the highest
                # one seen and read the rows not folded yet, so a late commit is
                # not lost.
                floor = self._last_id - REREAD_WINDOW
                ids = connection.execute(
                    select(EVENTS.c.id).where(EVENTS.c.id > floor)
                ).scalars().all()
                missing = sorted(i for i in ids if i not in self._folded)
                for start in range(0, len(missing), 500):
                    rows = connection.execute(
                        select(EVENTS).where(EVENTS.c.id.in_(missing[start:start + 500]))
                        .order_by(EVENTS.c.id)
                    ).all()
                    for row in rows:
                        self._fold(row)
                        self._folded.add(row.id)
                        self._last_id = max(self._last_id, row.id)
            floor = self._last_id - REREAD_WINDOW
            self._folded = {i for i in self._folded if i > floor}

    def _fold(self, row: Any) -> None:
        summary = self._summaries.get(row.sender_id)
        if summary is None:
            summary = self._summaries[row.sender_id] = ConversationSummary(row.sender_id)
        at = _at(row.timestamp)
        if row.type_name == "slot":
            data = _json(row.data)
            name, value = data.get("name"), data.get("value")
            if name == "requested_slot":
                self._requested[row.sender_id] = value if isinstance(value, str) else None
            elif name == "procedure" and isinstance(value, str) and value:
                summary.procedures.add(value)
            kind = _slot_kind(str(name))
            if kind and isinstance(value, str) and value:
                summary.known_pii.append((kind, value))
            return
        if row.type_name == "action":
            if row.action_name in FALLBACK_ACTIONS:
                summary.fallback = True
            if row.action_name in HANDOFF_ACTIONS:
                summary.handoff = True
            return
        if row.type_name != "user":
            return
        data = _json(row.data)
        text = str(data.get("text") or "")
        parse = data.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name") or row.intent_name
        confidence = (parse.get("intent") or {}).get("confidence")
        summary.user_messages += 1
        summary.channel = summary.channel or str(data.get("input_channel") or "")
        summary.started_at = summary.started_at or at
        summary.last_at = at
        if intent:
            summary.intents.add(intent)
            if intent in FALLBACK_INTENTS:
                summary.fallback = True
            if intent in HANDOFF_INTENTS:
                summary.handoff = True
        if isinstance(confidence, (int, float)) and not text.startswith("/"):
            value = float(confidence)
            if summary.min_confidence is None or value < summary.min_confidence:
                summary.min_confidence = value
        for entity in parse.get("entities") or []:
            if entity.get("entity") == "procedure" and isinstance(entity.get("value"), str):
                summary.procedures.add(entity["value"])
        requested = self._requested.get(row.sender_id)
        kind = _slot_kind(requested or "")
        if kind and text:
            summary.known_pii.append((kind, text))
        summary.last_text = text
        summary.folded_text += " " + fold(text)
        summary.folded_masked += " " + fold(mask_text(text, summary.known_pii))

    def summaries(self) -> list[ConversationSummary]:
        """Every conversation with at least one citizen message, newest first."""
        self.refresh()
        with self._lock:
            items = [s for s in self._summaries.values() if s.user_messages]
        return sorted(items, key=lambda s: s.last_at or _at(0), reverse=True)

    def search(
        self,
        filters: ConversationFilter,
        *,
        dossier_senders: set[str] | None = None,
        handoff_senders: set[str] | None = None,
        procedure_names: dict[str, str] | None = None,
        reveal: bool = False,
    ) -> list[ConversationSummary]:
        """Conversations matching `filters`, newest first. `dossier_senders`
        (sender ids with a dossier) and `handoff_senders` (with a hand-off
        request) come from the tthc database; `procedure_names` (code -> name)
        lets the procedure filter match names as well as codes. Without
        `reveal` the text search runs over masked text, so a phone number or
        ID typed in the search box finds nothing (no probing for personal data)."""
        start, end = day_bounds(filters.date_from, filters.date_to)
        query = fold(filters.q) if filters.q else ""
        procedure = fold(filters.procedure) if filters.procedure else ""
        names = procedure_names or {}
        out = []
        for summary in self.summaries():
            if start and (summary.last_at is None or summary.last_at < start):
                continue
            if end and (summary.started_at is None or summary.started_at >= end):
                continue
            if filters.channel and summary.channel != filters.channel:
                continue
            if filters.intent and filters.intent not in summary.intents:
                continue
            if filters.low_confidence and not summary.low_confidence:
                continue
            if filters.fallback and not summary.fallback:
                continue
            handed = summary.handoff or summary.sender_id in (handoff_senders or set())
            if filters.handoff and not handed:
                continue
            if filters.has_dossier and summary.sender_id not in (dossier_senders or set()):
                continue
            if procedure and not any(
                procedure in fold(code) or procedure in fold(names.get(code, ""))
                for code in summary.procedures
            ):
                continue
            searched = summary.folded_text if reveal else summary.folded_masked
            if query and query not in searched and query not in fold(summary.sender_id):
                continue
            out.append(summary)
        return out

    def summary(self, sender_id: str) -> ConversationSummary | None:
        self.refresh()
        with self._lock:
            return self._summaries.get(sender_id)

    def transcript(self, sender_id: str, *, reveal: bool = False) -> Transcript | None:
        """The conversation of `sender_id` (None if unknown), masked unless `reveal`."""
        if not self.available():
            return None
        assert self.engine is not None  # available() opened it
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(EVENTS).where(EVENTS.c.sender_id == sender_id).order_by(EVENTS.c.id)
            ).all()
        if not rows:
            return None
        known: list[tuple[str, str]] = []
        requested: str | None = None
        procedure: str | None = None
        channel = ""
        messages: list[Message] = []
        pending_user: int | None = None  # index of the last user message (procedure after it)
        for row in rows:
            data = _json(row.data)
            at = _at(row.timestamp)
            if row.type_name == "slot":
                name, value = data.get("name"), data.get("value")
                if name == "requested_slot":
                    requested = value if isinstance(value, str) else None
                elif name == "procedure":
                    procedure = value if isinstance(value, str) and value else procedure
                    if pending_user is not None and procedure:
                        messages[pending_user] = _replace(
                            messages[pending_user], procedure=procedure
                        )
                kind = _slot_kind(str(name))
                if kind and isinstance(value, str) and value:
                    known.append((kind, value))
            elif row.type_name == "user":
                text = str(data.get("text") or "")
                parse = data.get("parse_data") or {}
                intent_info = parse.get("intent") or {}
                channel = channel or str(data.get("input_channel") or "")
                kind = _slot_kind(requested or "")
                if kind and text:
                    known.append((kind, text))
                messages.append(
                    Message(
                        kind="user", at=at, text=text,
                        intent=intent_info.get("name") or row.intent_name,
                        confidence=intent_info.get("confidence"),
                        procedure=procedure, answered_slot=requested,
                    )
                )
                pending_user = len(messages) - 1
            elif row.type_name == "bot":
                buttons = tuple(
                    str(b.get("title") or b.get("payload") or "")
                    for b in ((data.get("data") or {}).get("buttons") or [])
                    if isinstance(b, dict)
                )
                messages.append(Message(kind="bot", at=at, text=str(data.get("text") or ""),
                                        buttons=buttons))
            elif row.type_name == "action" and row.action_name in MARKED_ACTIONS:
                messages.append(Message(kind="event", at=at, text="", action=row.action_name))
        if not reveal:
            messages = [
                _replace(m, text=mask_text(m.text, known),
                         buttons=tuple(mask_text(b, known) for b in m.buttons))
                for m in messages
            ]
        return Transcript(sender_id, channel, tuple(messages))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def _replace(message: Message, **changes: Any) -> Message:
    from dataclasses import replace

    return replace(message, **changes)


def _json(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def masked_summary_text(summary: ConversationSummary, *, reveal: bool = False) -> str:
    """The summary's last citizen message for list pages (masked unless `reveal`)."""
    return summary.last_text if reveal else mask_text(summary.last_text, summary.known_pii)


def rows_for_export(
    reader: TrackerReader, senders: Sequence[str], procedure_names: dict[str, str]
) -> list[list[Any]]:
    """Export rows (masked, one per transcript line) for `senders`:
    sender, channel, time (Vietnam), speaker, text, intent, confidence, procedure, buttons."""
    out: list[list[Any]] = []
    for sender in senders:
        transcript = reader.transcript(sender, reveal=False)
        if transcript is None:
            continue
        for m in transcript.messages:
            if m.kind == "event":
                continue
            out.append([
                sender,
                transcript.channel,
                m.at.astimezone(VIETNAM_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                "citizen" if m.kind == "user" else "bot",
                m.text,
                m.intent or "",
                "" if m.confidence is None else round(float(m.confidence), 4),
                (f"{m.procedure} {procedure_names.get(m.procedure, '')}".strip()
                 if m.procedure else ""),
                " | ".join(m.buttons),
            ])
    return out


EXPORT_HEADER = [
    "sender_id", "channel", "time", "speaker", "text", "intent", "confidence", "procedure",
    "buttons",
]
