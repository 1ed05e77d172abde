"""Hand-off to a human officer, live (issue 11): plain domain code, no Rasa.

Life of a hand-off (`HandoffRequest`, table `handoff_requests`):

    open ──claim / assign──▶ taken ──hand back / citizen ends──▶ closed
      └────────────── dismiss / citizen ends ───────────────────▶ closed

- `request_handoff` queues a request (one active request per conversation:
  asking again updates it), alerts officers (console queue; an officers'
  Telegram group through the outbox when `TTHC_OFFICERS_TELEGRAM_CHAT` is
  set) and returns what to tell the citizen: queue position, or, outside
  office hours, when an officer will answer (the request is kept).
- `claim` (an officer) or `assign` (a supervisor) makes it "taken": from then
  on the assistant stays silent in that conversation (the Rasa side,
  `bot/handoff_gate.py`, reads `active_for` on every message) and the
  citizen's messages are stored with `record_citizen_message`.
- `reply` stores the officer's message and queues it in the notification
  outbox (`dossiers.outbox`) for the channel the citizen used, in one
  transaction; `hand_back` closes the hand-off and tells the citizen the
  assistant is back; `end_by_citizen` does the same when the citizen types
  "quay lại trợ lý" (`is_end_request`).
- Canned replies (`list_canned`, `save_canned`, `delete_canned`) are shared
  by all officers; `OfficeHours` comes from `dossiers/office_hours.yml`
  (or `TTHC_OFFICE_HOURS_FILE`).

State changes are compare-and-set UPDATEs re-checking the status, so two
officers (two console processes, SQLite or PostgreSQL) never both claim a
request. All functions work in the caller's session and transaction (use
`core.db.session_scope`); none commits. Errors raise `HandoffError`
subclasses carrying a Vietnamese message for staff screens.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.settings import get_settings
from core.vietnamese import fold, mask_identifier
from core.wording import say
from dossiers.handoff_orm import CannedReply, HandoffMessage
from dossiers.orm import HandoffRequest, utcnow
from dossiers.outbox import enqueue_notification
from dossiers.validation import clean_free_text

log = logging.getLogger(__name__)

OFFICE_HOURS_FILE_ENV = "TTHC_OFFICE_HOURS_FILE"
OFFICERS_TELEGRAM_CHAT_ENV = "TTHC_OFFICERS_TELEGRAM_CHAT"
DEFAULT_OFFICE_HOURS_FILE = Path(__file__).resolve().parent / "office_hours.yml"
ACTIVE_STATUSES = ("open", "taken")
MAX_REPLY_CHARS = 2000
MAX_CITIZEN_CHARS = 4000
END_PHRASE_VI = "quay lại trợ lý"
OFFICER_PREFIX_VI = say("handoff.officer_prefix")

# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class HandoffError(Exception):
    """A hand-off operation was refused; `message_vi` is for staff screens."""

    default_vi = "Không thực hiện được thao tác với yêu cầu hỗ trợ."

    def __init__(self, message_vi: str | None = None, *, detail: str = "") -> None:
        self.message_vi = message_vi or self.default_vi
        super().__init__(detail or self.message_vi)


class HandoffNotFound(HandoffError):
    default_vi = "Không tìm thấy yêu cầu hỗ trợ."


class HandoffConflict(HandoffError):
    """The request is no longer in a state that allows this (someone else
    claimed it, it was closed meanwhile)."""

    default_vi = "Yêu cầu hỗ trợ vừa được người khác xử lý. Vui lòng tải lại."


class NotAssigned(HandoffError):
    default_vi = "Bạn chưa nhận yêu cầu này nên chưa thể trả lời."


# ---------------------------------------------------------------------------
# Office hours
# ---------------------------------------------------------------------------

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_VI = (
    say("handoff.weekday.mon"),
    say("handoff.weekday.tue"),
    say("handoff.weekday.wed"),
    say("handoff.weekday.thu"),
    say("handoff.weekday.fri"),
    say("handoff.weekday.sat"),
    say("handoff.weekday.sun"),
)
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _zone(name: str) -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception as exc:  # unknown name or no tz database on the host
        if name in ("Asia/Ho_Chi_Minh", "Asia/Saigon"):
            return timezone(timedelta(hours=7), "ICT")  # no DST in Việt Nam
        raise ValueError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True)
class OfficeHours:
    """When officers answer: weekly periods in a local time zone, minus holidays.

    `weekly[i]` holds (start, end) local times for weekday i (0 = Monday);
    `annual_holidays` are (month, day) pairs closed every year, `holidays`
    one-off closed dates. Built with `OfficeHours.load()` from YAML (see
    dossiers/office_hours.yml) or directly in tests.
    """

    zone: tzinfo
    weekly: tuple[tuple[tuple[time, time], ...], ...]
    annual_holidays: frozenset[tuple[int, int]] = frozenset()
    holidays: frozenset[date] = frozenset()
    summary_vi: str = ""

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> OfficeHours:
        """Parse the YAML shape; ValueError names the bad field."""
        if not isinstance(data, dict):
            raise ValueError("office hours: expected a mapping")
        zone = _zone(str(data.get("timezone") or "Asia/Ho_Chi_Minh"))
        weekly_raw = data.get("weekly") or {}
        if not isinstance(weekly_raw, dict):
            raise ValueError("office hours: 'weekly' must map day names to periods")
        unknown = set(weekly_raw) - set(_DAYS)
        if unknown:
            raise ValueError(f"office hours: unknown day(s) {sorted(unknown)}")
        weekly: list[tuple[tuple[time, time], ...]] = []
        for day in _DAYS:
            periods = []
            for raw in weekly_raw.get(day) or []:
                match = _PERIOD.match(str(raw))
                if not match:
                    raise ValueError(f"office hours: {day} period {raw!r} is not HH:MM-HH:MM")
                h1, m1, h2, m2 = (int(g) for g in match.groups())
                start, end = time(h1, m1), time(h2, m2)
                if not start < end:
                    raise ValueError(f"office hours: {day} period {raw!r} ends before it starts")
                periods.append((start, end))
            weekly.append(tuple(sorted(periods)))
        holidays_raw = data.get("holidays") or {}
        annual = set()
        for raw in holidays_raw.get("annual") or []:
            try:
                # not `day`: that names the weekday (a str) in the loop above
                month, day_of_month = (int(part) for part in str(raw).split("-"))
                date(2000, month, day_of_month)  # leap year: 02-29 allowed
            except ValueError as exc:
                raise ValueError(f"office hours: annual holiday {raw!r} is not MM-DD") from exc
            annual.add((month, day_of_month))
        dates = set()
        for raw in holidays_raw.get("dates") or []:
            try:
                dates.add(raw if isinstance(raw, date) else date.fromisoformat(str(raw)))
            except ValueError as exc:
                raise ValueError(f"office hours: holiday {raw!r} is not YYYY-MM-DD") from exc
        if not any(weekly):
            raise ValueError("office hours: no open period in the week")
        return cls(
            zone,
            tuple(weekly),
            frozenset(annual),
            frozenset(dates),
            str(data.get("summary_vi") or ""),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> OfficeHours:
        """From `path`, else `TTHC_OFFICE_HOURS_FILE`, else the bundled file."""
        path = Path(path or get_settings().handoff.office_hours_file or DEFAULT_OFFICE_HOURS_FILE)
        # Parsed once per file version: the console's queue polls call this often.
        return _load_office_hours(str(path), path.stat().st_mtime_ns)

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.annual_holidays

    def is_open(self, now: datetime | None = None) -> bool:
        """True when `now` (aware; default: current time) is inside a period."""
        local = _aware(now).astimezone(self.zone)
        if self.is_holiday(local.date()):
            return False
        moment = local.time().replace(tzinfo=None)
        return any(start <= moment < end for start, end in self.weekly[local.weekday()])

    def next_opening(self, now: datetime | None = None) -> datetime:
        """The next moment officers answer (aware, in the office time zone);
        `now` itself when open. Looks up to a year ahead (ValueError beyond)."""
        local = _aware(now).astimezone(self.zone)
        if self.is_open(local):
            return local
        for offset in range(0, 367):
            day = local.date() + timedelta(days=offset)
            if self.is_holiday(day):
                continue
            for start, _end in self.weekly[day.weekday()]:
                candidate = datetime.combine(day, start, tzinfo=self.zone)
                if candidate > local:
                    return candidate
        raise ValueError("office hours: no opening within a year")

    @staticmethod
    def describe_vi(moment: datetime) -> str:
        """ "7:30 thứ Hai, 01/12/2026" (local time of `moment`)."""
        return (
            f"{moment.hour}:{moment.minute:02d} {_WEEKDAY_VI[moment.weekday()]}, "
            f"{moment.day:02d}/{moment.month:02d}/{moment.year}"
        )


@functools.lru_cache(maxsize=8)
def _load_office_hours(path: str, mtime_ns: int) -> OfficeHours:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return OfficeHours.from_mapping(data)


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffView:
    """A hand-off request for screens and callers (no ORM object escapes).

    `waiting_seconds`: from the request until it was claimed (or until `now`
    while open); `position`: 1-based place in the open queue, 0 when not open.
    `sender_id` is the raw chat id: screens show `masked_sender`.
    """

    id: int
    sender_id: str
    channel: str
    reason: str
    last_message: str
    status: str
    assigned_to: str | None
    created_at: datetime
    updated_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    close_reason: str | None
    waiting_seconds: int
    position: int

    @property
    def masked_sender(self) -> str:
        return mask_identifier(self.sender_id)

    @property
    def waiting_vi(self) -> str:
        """ "3 phút", "1 giờ 5 phút", "40 giây"."""
        return duration_vi(self.waiting_seconds)


@dataclass(frozen=True)
class MessageView:
    id: int
    handoff_id: int
    author: str  # "citizen" | "officer" | "system"
    officer: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class CannedView:
    id: int
    title: str
    text: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class Ticket:
    """What `request_handoff` did: the request, its queue position, whether
    officers are at work now, when they will be if not, and the reply for
    the citizen (`reply_vi`), which says exactly that."""

    handoff: HandoffView
    position: int
    office_open: bool
    next_opening: datetime
    created: bool
    reply_vi: str


def duration_vi(seconds: int) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds} giây"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} phút"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    return f"{hours // 24} ngày"


def _position(session: Session, request: HandoffRequest) -> int:
    if request.status != "open":
        return 0
    ahead = session.execute(
        select(func.count(HandoffRequest.id)).where(
            HandoffRequest.status == "open", HandoffRequest.id < request.id
        )
    ).scalar_one()
    return int(ahead) + 1


def _view(
    session: Session, request: HandoffRequest, now: datetime, *, position: int | None = None
) -> HandoffView:
    end = request.claimed_at or request.closed_at or now
    return HandoffView(
        id=request.id,
        sender_id=request.sender_id,
        channel=request.channel,
        reason=request.reason or "",
        last_message=request.last_message or "",
        status=request.status,
        assigned_to=request.assigned_to,
        created_at=request.created_at,
        updated_at=request.updated_at,
        claimed_at=request.claimed_at,
        closed_at=request.closed_at,
        closed_by=request.closed_by,
        close_reason=request.close_reason,
        waiting_seconds=int((end - request.created_at).total_seconds()),
        position=_position(session, request) if position is None else position,
    )


def _message_view(row: HandoffMessage) -> MessageView:
    return MessageView(row.id, row.handoff_id, row.author, row.officer, row.text, row.created_at)


def _load(session: Session, handoff_id: int, *, for_update: bool = False) -> HandoffRequest:
    if not isinstance(handoff_id, int) or isinstance(handoff_id, bool):
        raise HandoffNotFound(detail=f"bad hand-off id {handoff_id!r}")
    query = select(HandoffRequest).where(HandoffRequest.id == handoff_id)
    if for_update:
        query = query.with_for_update()
    request = session.execute(query).scalar_one_or_none()
    if request is None:
        raise HandoffNotFound(detail=f"no hand-off {handoff_id}")
    return request


def _refresh(session: Session, request: HandoffRequest) -> HandoffRequest:
    session.refresh(request)
    return request


def _staff(name: str, what: str = "officer") -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{what} is required (the staff account acting)")
    return name.strip()[:128]


def _add_message(
    session: Session,
    handoff_id: int,
    author: str,
    text: str,
    now: datetime,
    officer: str | None = None,
) -> HandoffMessage:
    row = HandoffMessage(
        handoff_id=handoff_id, author=author, officer=officer, text=text, created_at=now
    )
    session.add(row)
    session.flush()
    return row


# ---------------------------------------------------------------------------
# Citizen side
# ---------------------------------------------------------------------------


def _officers_chat(value: str | None) -> str | None:
    if value is not None:
        return value.strip() or None
    return get_settings().handoff.officers_telegram_chat or None


def request_handoff(
    session: Session,
    sender_id: str,
    channel: str,
    reason: str,
    last_message: str,
    *,
    now: datetime | None = None,
    hours: OfficeHours | None = None,
    officers_chat: str | None = None,
) -> Ticket:
    """Queue a request for a human, or refresh the conversation's active one.

    A new request alerts the officers' Telegram group (`officers_chat`, else
    `TTHC_OFFICERS_TELEGRAM_CHAT`; "" disables) through the outbox, with the
    request number, channel and reason only (no personal data in a group).
    Raises ValueError without sender or channel.
    """
    if (
        not isinstance(sender_id, str)
        or not sender_id
        or not isinstance(channel, str)
        or not channel
    ):
        raise ValueError("sender_id and channel are required")
    now = _aware(now)
    hours = hours or OfficeHours.load()
    reason = clean_free_text(reason, max_chars=200)
    last_message = clean_free_text(last_message, max_chars=2000)
    existing = session.execute(
        _active_query(sender_id, channel).with_for_update()
    ).scalar_one_or_none()
    created = existing is None
    if existing is not None:
        existing.reason = reason or existing.reason
        existing.last_message = last_message or existing.last_message
        existing.updated_at = now
        request = existing
        session.flush()
    else:
        request = HandoffRequest(
            sender_id=sender_id,
            channel=channel,
            reason=reason,
            last_message=last_message,
            status="open",
            created_at=now,
            updated_at=now,
        )
        session.add(request)
        session.flush()
        log.info(
            "handoff %d requested: channel=%s sender=%s",
            request.id,
            channel,
            mask_identifier(sender_id),
        )
        chat = _officers_chat(officers_chat)
        if chat:
            enqueue_notification(
                session,
                "telegram",
                chat,
                f"🔔 Yêu cầu hỗ trợ mới số {request.id} (kênh {channel}): "
                f"{reason or 'người dân cần gặp cán bộ'}. Mở bảng điều khiển để nhận.",
                now=now,
            )
    view = _view(session, request, now)
    office_open = hours.is_open(now)
    opening = hours.next_opening(now)
    return Ticket(
        view,
        view.position,
        office_open,
        opening,
        created,
        _request_reply_vi(view, created, office_open, opening, hours),
    )


def _request_reply_vi(
    view: HandoffView, created: bool, office_open: bool, opening: datetime, hours: OfficeHours
) -> str:
    if view.status == "taken":
        return say("handoff.already_taken", id=view.id, end=END_PHRASE_VI)
    first = (
        say("handoff.requested", id=view.id)
        if created
        else say("handoff.requested_before", id=view.id)
    )
    if office_open:
        where = (
            say("handoff.next_in_queue")
            if view.position <= 1
            else say("handoff.queue_position", position=view.position)
        )
        when = say("handoff.open_now", where=where)
    else:
        schedule = say("handoff.hours", summary=hours.summary_vi) if hours.summary_vi else ""
        when = say(
            "handoff.closed_now", hours=schedule, opening=OfficeHours.describe_vi(opening)
        )
    return f"{first}\n{when}\n{say('handoff.while_waiting', end=END_PHRASE_VI)}"


def _active_query(sender_id: str, channel: str) -> Any:
    """SELECT of the conversation's newest open or taken hand-off request."""
    return (
        select(HandoffRequest)
        .where(
            HandoffRequest.sender_id == sender_id,
            HandoffRequest.channel == channel,
            HandoffRequest.status.in_(ACTIVE_STATUSES),
        )
        .order_by(HandoffRequest.id.desc())
        .limit(1)
    )


def active_for(session: Session, sender_id: str, channel: str) -> HandoffView | None:
    """The conversation's open or taken hand-off, or None (one indexed query;
    the Rasa gate calls this for every citizen message)."""
    request = session.execute(_active_query(sender_id, channel)).scalar_one_or_none()
    return None if request is None else _view(session, request, utcnow(), position=0)


_END_PHRASES = frozenset(
    {
        "quay lai tro ly",
        "quay ve tro ly",
        "tro lai tro ly",
        "quay lai voi tro ly",
        "toi muon quay lai tro ly",
        "cho toi quay lai tro ly",
        "ket thuc gap can bo",
        "khong can gap can bo nua",
        "huy gap can bo",
        "huy yeu cau gap can bo",
        "noi chuyen voi tro ly",
        "quay lai bot",
        "quay lai chatbot",
    }
)


def is_end_request(text: str, intent: str | None = None) -> bool:
    """True when the citizen asks to leave the officer and return to the
    assistant: the intent `end_handoff` (once the model has learnt it) or a
    known phrase ignoring case, diacritics and punctuation, so it works with
    any model ("Quay lại trợ lý!", "quay lai tro ly")."""
    if intent == "end_handoff":
        return True
    if not isinstance(text, str):
        return False
    # Punctuation counts as a space: "Quay lại trợ lý!" is "quay lai tro ly".
    folded = " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())
    return folded in _END_PHRASES or folded.removeprefix("/") in ("end_handoff",)


def record_citizen_message(
    session: Session, handoff_id: int, text: str, *, now: datetime | None = None
) -> MessageView:
    """Store what the citizen typed while the request waits or an officer
    holds the conversation (the console shows it live). Empty texts are
    stored as "(tin nhắn trống)"."""
    now = _aware(now)
    clean = clean_free_text(text, max_chars=MAX_CITIZEN_CHARS).strip() or "(tin nhắn trống)"
    row = _add_message(session, handoff_id, "citizen", clean, now)
    session.execute(
        update(HandoffRequest)
        .where(HandoffRequest.id == handoff_id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _message_view(row)


CITIZEN_ENDED_REPLY_VI = say("handoff.ended_by_citizen")
CITIZEN_CANCELLED_REPLY_VI = say("handoff.cancelled_by_citizen")


def end_by_citizen(session: Session, handoff_id: int, *, now: datetime | None = None) -> str:
    """Close the hand-off because the citizen asked for the assistant; returns
    the reply for the citizen (sent by the caller, in the chat itself).
    Raises HandoffConflict when it was already closed."""
    now = _aware(now)
    request = _load(session, handoff_id)
    was_taken = request.status == "taken"
    _close(session, request, "citizen", "citizen_ended", now)
    _add_message(session, handoff_id, "system", "Người dân đã quay lại trợ lý.", now)
    return CITIZEN_ENDED_REPLY_VI if was_taken else CITIZEN_CANCELLED_REPLY_VI


# ---------------------------------------------------------------------------
# Officer side
# ---------------------------------------------------------------------------


def queue(
    session: Session,
    *,
    now: datetime | None = None,
    statuses: tuple[str, ...] = ACTIVE_STATUSES,
    assigned_to: str | None = None,
    limit: int = 200,
) -> list[HandoffView]:
    """Hand-offs in `statuses`: open ones first, oldest first (the order to
    handle them), then taken ones; `assigned_to` keeps one officer's.
    Positions count the whole open queue (two queries in all)."""
    now = _aware(now)
    query = select(HandoffRequest).where(HandoffRequest.status.in_(statuses))
    if assigned_to is not None:
        query = query.where(HandoffRequest.assigned_to == assigned_to)
    rows = (
        session.execute(query.order_by(HandoffRequest.created_at, HandoffRequest.id).limit(limit))
        .scalars()
        .all()
    )
    order = {"open": 0, "taken": 1, "closed": 2}
    rows = sorted(rows, key=lambda r: (order.get(r.status, 3), r.created_at, r.id))
    open_ids = (
        session.execute(
            select(HandoffRequest.id)
            .where(HandoffRequest.status == "open")
            .order_by(HandoffRequest.id)
        )
        .scalars()
        .all()
    )
    positions = {ident: index + 1 for index, ident in enumerate(open_ids)}
    return [_view(session, r, now, position=positions.get(r.id, 0)) for r in rows]


def recent_closed(
    session: Session, *, limit: int = 20, now: datetime | None = None
) -> list[HandoffView]:
    """The latest closed hand-offs, newest first (history on the queue page)."""
    now = _aware(now)
    rows = (
        session.execute(
            select(HandoffRequest)
            .where(HandoffRequest.status == "closed")
            .order_by(HandoffRequest.closed_at.desc(), HandoffRequest.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return [_view(session, r, now, position=0) for r in rows]


def open_count(session: Session) -> int:
    """How many requests wait for an officer (the console's alert badge)."""
    return int(
        session.execute(
            select(func.count(HandoffRequest.id)).where(HandoffRequest.status == "open")
        ).scalar_one()
    )


def latest_open_id(session: Session) -> int:
    """Id of the newest open request (0 when none): a console page that saw a
    smaller id knows a new hand-off arrived and alerts the officer."""
    value = session.execute(
        select(func.max(HandoffRequest.id)).where(HandoffRequest.status == "open")
    ).scalar_one()
    return int(value or 0)


def get_handoff(session: Session, handoff_id: int, *, now: datetime | None = None) -> HandoffView:
    """One hand-off; raises HandoffNotFound."""
    return _view(session, _load(session, handoff_id), _aware(now))


def messages(session: Session, handoff_id: int, *, after_id: int = 0) -> list[MessageView]:
    """The hand-off's messages with id > `after_id`, oldest first (the console
    polls with the last id it shows)."""
    rows = (
        session.execute(
            select(HandoffMessage)
            .where(HandoffMessage.handoff_id == handoff_id, HandoffMessage.id > after_id)
            .order_by(HandoffMessage.id)
        )
        .scalars()
        .all()
    )
    return [_message_view(r) for r in rows]


# Templates with "{id}" left in (filled by .format(id=...) when the notice is queued).
CLAIMED_NOTICE_VI = say("handoff.claimed", id="{id}", end=END_PHRASE_VI)
HANDED_BACK_NOTICE_VI = say("handoff.handed_back", id="{id}")
DISMISSED_NOTICE_VI = say("handoff.dismissed", id="{id}")


def _take(
    session: Session,
    handoff_id: int,
    officer: str,
    now: datetime,
    *,
    allowed: tuple[str, ...],
    note: str,
) -> HandoffView:
    request = _load(session, handoff_id)
    was_open = request.status == "open"
    result = session.execute(
        update(HandoffRequest)
        .where(HandoffRequest.id == handoff_id, HandoffRequest.status.in_(allowed))
        .values(
            status="taken",
            assigned_to=officer,
            claimed_at=request.claimed_at or now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        current = _refresh(session, request)
        if current.status == "taken" and current.assigned_to:
            raise HandoffConflict(
                f"Yêu cầu này đã được cán bộ {current.assigned_to} nhận.",
                detail=f"hand-off {handoff_id} already taken",
            )
        raise HandoffConflict(detail=f"hand-off {handoff_id} is {current.status}")
    request = _refresh(session, request)
    _add_message(session, handoff_id, "system", note, now, officer)
    if was_open:
        enqueue_notification(
            session,
            request.channel,
            request.sender_id,
            CLAIMED_NOTICE_VI.format(id=handoff_id),
            now=now,
        )
    log.info("handoff %d taken by %s", handoff_id, officer)
    return _view(session, request, now, position=0)


def claim(
    session: Session, handoff_id: int, officer: str, *, now: datetime | None = None
) -> HandoffView:
    """`officer` takes an open request: the assistant goes silent in that
    conversation and the citizen is told an officer joined. Raises
    HandoffNotFound, or HandoffConflict when it is no longer open."""
    officer = _staff(officer)
    return _take(
        session,
        handoff_id,
        officer,
        _aware(now),
        allowed=("open",),
        note=f"{officer} đã nhận yêu cầu.",
    )


def assign(
    session: Session, handoff_id: int, officer: str, *, by: str, now: datetime | None = None
) -> HandoffView:
    """A supervisor (`by`) gives an open or taken request to `officer`
    (re-assigning a taken one). Role checks are the caller's (console).
    Raises HandoffNotFound, or HandoffConflict when it is closed."""
    officer = _staff(officer)
    by = _staff(by, "by")
    return _take(
        session,
        handoff_id,
        officer,
        _aware(now),
        allowed=ACTIVE_STATUSES,
        note=f"{by} đã giao yêu cầu cho {officer}.",
    )


def reply(
    session: Session, handoff_id: int, officer: str, text: str, *, now: datetime | None = None
) -> MessageView:
    """Store the officer's reply and queue it for the citizen's channel in the
    same transaction. Only the assigned officer may reply (NotAssigned
    otherwise, HandoffConflict when closed); ValueError on an empty text.
    Texts are cleaned and cut at `MAX_REPLY_CHARS`."""
    officer = _staff(officer)
    now = _aware(now)
    clean = clean_free_text(text, max_chars=MAX_REPLY_CHARS).strip()
    if not clean:
        raise ValueError("empty reply")
    request = _load(session, handoff_id, for_update=True)
    if request.status != "taken":
        raise HandoffConflict(
            "Yêu cầu này không còn do cán bộ xử lý (đã kết thúc hoặc chưa được nhận).",
            detail=f"hand-off {handoff_id} is {request.status}",
        )
    if request.assigned_to != officer:
        raise NotAssigned(detail=f"hand-off {handoff_id} is held by another officer")
    row = _add_message(session, handoff_id, "officer", clean, now, officer)
    enqueue_notification(
        session, request.channel, request.sender_id, OFFICER_PREFIX_VI + clean, now=now
    )
    request.updated_at = now
    session.flush()
    return _message_view(row)


def _close(session: Session, request: HandoffRequest, by: str, why: str, now: datetime) -> None:
    result = session.execute(
        update(HandoffRequest)
        .where(HandoffRequest.id == request.id, HandoffRequest.status.in_(ACTIVE_STATUSES))
        .values(status="closed", closed_at=now, closed_by=by, close_reason=why, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise HandoffConflict("Yêu cầu này đã kết thúc.", detail=f"hand-off {request.id} closed")
    _refresh(session, request)


def hand_back(
    session: Session, handoff_id: int, officer: str, *, now: datetime | None = None
) -> HandoffView:
    """Return the conversation to the assistant and tell the citizen.
    A request never claimed is closed as "dismissed" (the citizen is told it
    was closed and how to ask again). Raises HandoffNotFound / HandoffConflict."""
    officer = _staff(officer)
    now = _aware(now)
    request = _load(session, handoff_id)
    why = "handed_back" if request.status == "taken" else "dismissed"
    _close(session, request, officer, why, now)
    note = (
        f"{officer} đã trả cuộc trò chuyện cho trợ lý."
        if why == "handed_back"
        else f"{officer} đã đóng yêu cầu khi chưa nhận."
    )
    _add_message(session, handoff_id, "system", note, now, officer)
    enqueue_notification(
        session,
        request.channel,
        request.sender_id,
        (HANDED_BACK_NOTICE_VI if why == "handed_back" else DISMISSED_NOTICE_VI).format(
            id=handoff_id
        ),
        now=now,
    )
    log.info("handoff %d %s by %s", handoff_id, why, officer)
    return _view(session, request, now, position=0)


# ---------------------------------------------------------------------------
# Canned replies
# ---------------------------------------------------------------------------


def list_canned(session: Session) -> list[CannedView]:
    rows = session.execute(select(CannedReply).order_by(CannedReply.title)).scalars().all()
    return [CannedView(r.id, r.title, r.text, r.updated_by, r.updated_at) for r in rows]


def save_canned(
    session: Session,
    title: str,
    text: str,
    *,
    by: str,
    canned_id: int | None = None,
    now: datetime | None = None,
) -> CannedView:
    """Create (no `canned_id`) or update a canned reply. ValueError on an
    empty title/text or a title already used by another one; HandoffNotFound
    for an unknown `canned_id`."""
    by = _staff(by, "by")
    title = clean_free_text(title, max_chars=100).strip()
    text = clean_free_text(text, max_chars=MAX_REPLY_CHARS).strip()
    if not title or not text:
        raise ValueError("title and text are required")
    now = _aware(now)
    clash = session.execute(
        select(CannedReply.id).where(CannedReply.title == title)
    ).scalar_one_or_none()
    if clash is not None and clash != canned_id:
        raise ValueError(f"a canned reply titled {title!r} already exists")
    if canned_id is None:
        row = CannedReply(title=title, text=text, updated_by=by, updated_at=now)
        session.add(row)
    else:
        row = session.get(CannedReply, canned_id)
        if row is None:
            raise HandoffNotFound(
                "Không tìm thấy câu trả lời mẫu.", detail=f"no canned {canned_id}"
            )
        row.title, row.text, row.updated_by, row.updated_at = title, text, by, now
    session.flush()  # a concurrent twin fails on uq_handoff_canned_replies_title
    return CannedView(row.id, row.title, row.text, row.updated_by, row.updated_at)


def delete_canned(session: Session, canned_id: int) -> None:
    """Remove a canned reply; HandoffNotFound when there is none."""
    result = session.execute(delete(CannedReply).where(CannedReply.id == canned_id))
    if result.rowcount != 1:
        raise HandoffNotFound("Không tìm thấy câu trả lời mẫu.", detail=f"no canned {canned_id}")
