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
"**/**/1990") are masked unless the caller passes `reveal=True` (routes allow
that only to roles with `personal.reveal` and audit it). Two passes:

- by value: the values the dossier form stored in slots and the citizen's
  answers to those fields (only answers the form accepts: "bỏ qua" or "hủy"
  typed at a name prompt is not a name), exact values wherever they reappear;
  names as whole words, reduced to initials;
- free text (citizen messages only): ID/phone-like digit runs, then
  `training.scrub.scrub`, the one definition of what personal data looks like
  in free text (names after "tên tôi là" or led by a family name, addresses,
  dates, e-mails...), so a citizen who types it all in one sentence without a
  form is masked too.

The bot's own texts (prompts, examples, buttons) are not masked, except where
they repeat what the citizen gave before them: the values known at that point
of the conversation and the spans the free-text pass masked in earlier citizen
messages (the confirmation summary, "Ngày 15/03/2026 ở trong tương lai", the
not-found reply quoting the question). A bot text can only echo what it was
told, so an example in a prompt ("ví dụ 15/03/1990") stays as written even
when the citizen then types the same value.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time as time_module
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from console.filters import FilterParams, day_bounds
from core.db import PROJECT_ROOT, get_engine
from core.vietnamese import (
    ID_NUMBER_PATTERN,
    PHONE_PATTERN,
    fold,
    mask_citizen_id,
    mask_phone,
)
from dossiers.forms import COMMON_FIELDS, FieldSpec, answers_field, is_skip_answer, load_form_fields
from dossiers.validation import (
    VIETNAM_TZ,
    ValidationError,
    mask_address,
    mask_date,
    mask_name,
    parse_date,
)
from training.scrub import PLACEHOLDERS, scrub
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
# Form field types that are personal data -> the kind `mask_text` masks them as. Free-text
# fields ("text": a purpose, a relationship...) are "text": where the bot echoes one, the
# echo is scrubbed like a citizen message.
_FIELD_KINDS = {"citizen_id": "id", "phone": "phone", "address": "address", "name": "name",
                "text": "text"}
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


# A masked text as pieces: (shown text, None) for clear text, (mask, original) for a masked
# span. Each pass only looks at the clear pieces, so a mask is never masked again
# ("N. V. A." is no name for the free-text pass) and the originals of the spans masked in
# a citizen message are known for masking the bot's echoes of them.
_Piece = tuple[str, str | None]
_PLACEHOLDER_SPLIT = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")")


def _split(pieces: list[_Piece], pattern: re.Pattern[str],
           replace: Callable[[re.Match[str]], str]) -> list[_Piece]:
    """`pieces` with every match of `pattern` in a clear piece replaced by
    `replace(match)` (a masked piece), unless the replacement is the match itself."""
    out: list[_Piece] = []
    for text, original in pieces:
        if original is not None or not text:
            out.append((text, original))
            continue
        last = 0
        for match in pattern.finditer(text):
            masked = replace(match)
            if masked == match.group(0):
                continue
            out.append((text[last:match.start()], None))
            out.append((masked, match.group(0)))
            last = match.end()
        out.append((text[last:], None))
    return [piece for piece in out if piece[0] or piece[1]]


def _known_date_pieces(pieces: list[_Piece], value: str) -> list[_Piece]:
    """Every spelling of the date in `value` (a slot value or the citizen's
    answer) masked to "**/**/<year>"; nothing when `value` holds no single date."""
    try:
        known = parse_date(value, allow_future=True)
    except ValidationError:
        return pieces

    def one(match: re.Match[str], groups: tuple[int, int, int]) -> str:
        day, month, year = (int(match.group(g)) for g in groups)
        return mask_date(known) if (day, month, year) == (
            known.day, known.month, known.year) else match.group(0)

    for pattern, groups in _DATES_IN_TEXT:
        pieces = _split(pieces, pattern, functools.partial(one, groups=groups))
    return pieces


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    return lambda match: text


def _matched(masker: Callable[[object], str]) -> Callable[[re.Match[str]], str]:
    return lambda match: masker(match.group(0))


def _value_pieces(pieces: list[_Piece], known: Iterable[tuple[str, str]]) -> list[_Piece]:
    """The by-value pass of `mask_text` (see there)."""
    for kind, value in known:
        value = value.strip() if value else ""
        if kind == "dob":
            pieces = _known_date_pieces(pieces, value) if value else pieces
            continue
        if kind == "name":
            # Whole words only, so a short given name ("An") does not eat "Anh".
            if len(value) >= 2:
                pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
                pieces = _split(pieces, pattern, lambda m: mask_name(m.group(0)))
            continue
        if len(value) < 4:
            continue
        if kind == "text":  # a free-text field: only what the scrubber finds in it
            scrubbed = scrub(value)
            if scrubbed != value:
                pieces = _split(pieces, re.compile(re.escape(value)), _constant(scrubbed))
            continue
        masker = {"id": mask_citizen_id, "phone": mask_phone}.get(kind, mask_address)
        pieces = _split(pieces, re.compile(re.escape(value)), _matched(masker))
    return pieces


def _number_pieces(pieces: list[_Piece]) -> list[_Piece]:
    """Phone numbers, then 9/12-digit ID numbers, masked in place (`mask_numbers`)."""
    pieces = _split(pieces, PHONE_PATTERN, lambda m: mask_phone(m.group(0)))
    return _split(pieces, ID_NUMBER_PATTERN, lambda m: mask_citizen_id(m.group(0)))


def _scrub_pieces(pieces: list[_Piece]) -> list[_Piece]:
    """The scrubber's free-text pass over the clear pieces. `scrub` only replaces
    spans by placeholders, so the spans it replaced are found again by matching
    its output, literal parts in order, against the input."""
    out: list[_Piece] = []
    for text, original in pieces:
        scrubbed = scrub(text) if original is None and text else text
        if scrubbed == text:
            out.append((text, original))
            continue
        parts = _PLACEHOLDER_SPLIT.split(scrubbed)  # literal, placeholder, literal, ...
        pattern = "".join(re.escape(part) if i % 2 == 0 else "(.+?)"
                          for i, part in enumerate(parts))
        match = re.fullmatch(pattern, text, re.DOTALL)
        if match is None:  # cannot happen with scrub as written; stay masked anyway
            out.append((scrubbed, text))
            continue
        for i, part in enumerate(parts):
            out.append((part, None) if i % 2 == 0 else (part, match.group(i // 2 + 1)))
    return [piece for piece in out if piece[0] or piece[1]]


def _joined(pieces: list[_Piece]) -> str:
    return "".join(text for text, _ in pieces)


def mask_text(text: str, known: Iterable[tuple[str, str]] = ()) -> str:
    """`text` with personal data masked by value and by digit pattern. `known`
    holds (kind, value) pairs from the conversation's slots (kind: "id",
    "phone", "address", "name", "dob", "text"), masked wherever they appear
    (names as whole words, any letter case, to initials: "Nguyễn Văn An" ->
    "N. V. A."; dates of birth in any spelling to "**/**/1990" as on the
    dossier page; a free-text field to its scrubbed form); ID- and phone-like
    digit runs are masked anyway. Citizen messages also get the free-text
    pass: `mask_message`."""
    return _joined(_number_pieces(_value_pieces([(text, None)], known)))


def _message_pieces(text: str, known: Iterable[tuple[str, str]]) -> list[_Piece]:
    return _scrub_pieces(_number_pieces(_value_pieces([(text, None)], known)))


def mask_message(text: str, known: Iterable[tuple[str, str]] = ()) -> str:
    """A citizen's message as shown without reveal: `mask_text`, then the
    scrubber's free-text pass (`training.scrub.scrub`: names, addresses, dates,
    e-mails, plates... typed anywhere) over what is still clear."""
    return _joined(_message_pieces(text, known))


def _mask_echo(text: str, known: Iterable[tuple[str, str]],
               echoes: Sequence[tuple[str, str]]) -> str:
    """A bot text masked only where it repeats the citizen's data: the `known`
    values given before it, and `echoes` ((original, mask) of the spans masked
    in earlier citizen messages), as whole words."""
    pieces = _value_pieces([(text, None)], known)
    for original, masked in sorted(echoes, key=lambda e: -len(e[0])):
        if len(original.strip()) >= 4 and original in text:
            pattern = re.compile(rf"(?<!\w){re.escape(original.strip())}(?!\w)")
            pieces = _split(pieces, pattern, _constant(masked))
    return _joined(pieces)


@lru_cache(maxsize=1)
def _form_specs() -> dict[str, FieldSpec]:
    """Slot name -> its field of the dossier form (common fields first, then
    every procedure's own; the first spec of a name wins)."""
    specs = {spec.name: spec for spec in COMMON_FIELDS}
    try:
        for fields in load_form_fields().values():
            for spec in fields:
                specs.setdefault(spec.name, spec)
    except Exception:  # a broken form file must not hide transcripts; commons still mask
        pass
    return specs


def _answer_value(requested: str | None, text: str) -> tuple[str, str] | None:
    """The (kind, value) the citizen's `text` gives to the personal-data field
    `requested` the form asked, or None. Only an answer the form accepts counts
    (`dossiers.forms.answers_field`, the form's own validators, without the
    cross-field context): a skip word ("bỏ qua", "không có"), a button payload,
    "hủy" or a question typed at the prompt is not a value, and masking it by
    value would garble every later "bỏ qua" into "b. q.", prompts and buttons
    included."""
    kind = _slot_kind(requested or "")
    if not kind or not text.strip() or text.startswith("/") or is_skip_answer(text):
        return None
    spec = _form_specs().get(requested or "")
    if spec is not None and not answers_field(spec, text):
        return None
    return kind, text


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
    last_text: str = ""  # the citizen's last message, as typed (list pages mask it)
    folded_text: str = ""  # every citizen message, diacritics folded, for search
    known_pii: list[tuple[str, str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # every citizen message, as typed
    _masked: tuple[int, int, str] = (0, 0, "")  # (texts, known values) it was made from

    @property
    def low_confidence(self) -> bool:
        return self.min_confidence is not None and self.min_confidence < LOW_CONFIDENCE

    @property
    def folded_masked(self) -> str:
        """Every citizen message as shown masked (`mask_message`), diacritics
        folded: what search runs over for a user who may not reveal this
        conversation. Made again when a message or a known value was added
        since, so a name the form learns later is masked in earlier messages too."""
        key = (len(self.texts), len(self.known_pii))
        if self._masked[:2] != key:
            folded = "".join(" " + fold(mask_message(t, self.known_pii)) for t in self.texts)
            self._masked = (*key, folded)
        return self._masked[2]


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
        answer = _answer_value(self._requested.get(row.sender_id), text)
        if answer is not None:
            summary.known_pii.append(answer)
        summary.last_text = text
        summary.texts.append(text)
        summary.folded_text += " " + fold(text)

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
        reveal: bool | Callable[[str], bool] = False,
    ) -> list[ConversationSummary]:
        """Conversations matching `filters`, newest first. `dossier_senders`
        (sender ids with a dossier) and `handoff_senders` (with a hand-off
        request) come from the tthc database; `procedure_names` (code -> name)
        lets the procedure filter match names as well as codes.

        The text search matches what the user could see: the masked text
        (`ConversationSummary.folded_masked`), and the text as typed only for a
        conversation the user may reveal — `reveal` is True/False for all, or
        a predicate on the sender id, asked only when the typed text alone
        matches. So a phone, ID, name or address typed in the search box finds
        no conversation the user may not reveal (no probing for personal data)."""
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
            if query and not (
                query in fold(summary.sender_id)
                or query in summary.folded_masked
                or (query in summary.folded_text
                    and (reveal(summary.sender_id) if callable(reveal) else reveal))
            ):
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
        # Per message: how many known values and citizen messages came before it (a bot
        # text is masked only with what it may echo: see the module docstring).
        before: list[tuple[int, int]] = []
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
                answer = _answer_value(requested, text)
                if answer is not None:
                    known.append(answer)
                before.append((len(known), len(messages)))
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
                before.append((len(known), len(messages)))
                messages.append(Message(kind="bot", at=at, text=str(data.get("text") or ""),
                                        buttons=buttons))
            elif row.type_name == "action" and row.action_name in MARKED_ACTIONS:
                before.append((len(known), len(messages)))
                messages.append(Message(kind="event", at=at, text="", action=row.action_name))
        if not reveal:
            messages = _masked_messages(messages, known, before)
        return Transcript(sender_id, channel, tuple(messages))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def _masked_messages(messages: list[Message], known: list[tuple[str, str]],
                     before: list[tuple[int, int]]) -> list[Message]:
    """`messages` as shown without reveal: citizen messages through
    `mask_message` with every value the conversation knows (a name typed
    before the form asked for it is masked too); bot texts and buttons only
    where they echo the values known before them or spans masked in the
    citizen messages before them."""
    out: list[Message] = []
    echoes: list[list[tuple[str, str]]] = []  # per message: spans masked in it
    for message, (known_count, earlier) in zip(messages, before, strict=True):
        if message.kind == "user":
            pieces = _message_pieces(message.text, known)
            echoes.append([(original, text) for text, original in pieces if original])
            out.append(_replace(message, text=_joined(pieces)))
            continue
        echoes.append([])
        said = [echo for spans in echoes[:earlier] for echo in spans]
        values = known[:known_count]
        out.append(_replace(
            message, text=_mask_echo(message.text, values, said),
            buttons=tuple(_mask_echo(b, values, said) for b in message.buttons),
        ))
    return out


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
    return summary.last_text if reveal else mask_message(summary.last_text, summary.known_pii)


def rows_for_export(
    reader: TrackerReader, senders: Sequence[str], procedure_names: dict[str, str],
    *, reveal: bool = False,
) -> list[list[Any]]:
    """Export rows (one per transcript line, masked as the transcript page is
    unless `reveal`) for `senders`: sender, channel, time (Vietnam), speaker,
    text, intent, confidence, procedure, buttons."""
    out: list[list[Any]] = []
    for sender in senders:
        transcript = reader.transcript(sender, reveal=reveal)
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
