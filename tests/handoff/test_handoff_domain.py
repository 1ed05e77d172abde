"""dossiers.handoff on SQLite AND PostgreSQL (fresh migrated databases):
queue, claim/assign races, replies through the outbox, hand back, the
citizen ending it, canned replies, office hours."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from core.db import make_session_factory, session_scope
from dossiers import handoff
from dossiers.handoff import OfficeHours
from dossiers.orm import Notification
from dossiers.outbox import collect_for_recipient
from tests.conftest import DATABASE_KINDS, TestDatabase, isolated_database

VN = timezone(timedelta(hours=7))
# Monday 1 December 2026, 09:00 in Hà Nội: office open.
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=VN) + timedelta(days=1)
FRIDAY_EVENING = datetime(2026, 12, 4, 18, 0, tzinfo=VN)
HOURS = OfficeHours.load()


@pytest.fixture(params=DATABASE_KINDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with isolated_database(request.param, tmp_path) as database:
        database.new_engine()
        yield database


@pytest.fixture
def factory(db: TestDatabase) -> sessionmaker:
    return make_session_factory(db.engines[0])


def ask(factory: sessionmaker, sender: str, channel: str = "rest", now: datetime = MONDAY_9,
        **kwargs) -> handoff.Ticket:
    with session_scope(factory) as session:
        return handoff.request_handoff(
            session, sender, channel, "Người dân yêu cầu gặp cán bộ", "thủ tục nuôi rồng",
            now=now, hours=HOURS, officers_chat=kwargs.pop("officers_chat", ""), **kwargs,
        )


def notifications(factory: sessionmaker) -> list[tuple[str, str, str]]:
    with session_scope(factory) as session:
        rows = session.execute(select(Notification).order_by(Notification.id)).scalars()
        return [(n.channel, n.recipient, n.text) for n in rows]


def test_queue_positions_and_wording_in_office_hours(factory: sessionmaker) -> None:
    first = ask(factory, "citizen-a")
    second = ask(factory, "citizen-b", now=MONDAY_9 + timedelta(minutes=1))
    assert (first.position, second.position) == (1, 2)
    assert first.created and first.office_open
    assert "số yêu cầu" in first.reply_vi and "người tiếp theo" in first.reply_vi
    assert "vị trí thứ 2" in second.reply_vi
    assert "quay lại trợ lý" in second.reply_vi
    # Asking again keeps one request and says so.
    again = ask(factory, "citizen-a", now=MONDAY_9 + timedelta(minutes=2))
    assert again.handoff.id == first.handoff.id and not again.created
    assert "không cần gửi lại" in again.reply_vi
    with session_scope(factory) as session:
        rows = handoff.queue(session, now=MONDAY_9 + timedelta(minutes=5))
        assert [(r.id, r.position, r.waiting_seconds) for r in rows] == [
            (first.handoff.id, 1, 300),
            (second.handoff.id, 2, 240),
        ]
        assert rows[0].waiting_vi == "5 phút"
        assert handoff.open_count(session) == 2
        assert handoff.latest_open_id(session) == second.handoff.id


def test_outside_office_hours_the_request_is_kept_and_the_time_told(
    factory: sessionmaker,
) -> None:
    ticket = ask(factory, "night-owl", now=FRIDAY_EVENING)
    assert not ticket.office_open
    assert ticket.next_opening == datetime(2026, 12, 7, 7, 30, tzinfo=HOURS.zone)
    assert "ngoài giờ làm việc" in ticket.reply_vi
    assert "7:30 thứ Hai, 07/12/2026" in ticket.reply_vi
    with session_scope(factory) as session:
        assert [r.id for r in handoff.queue(session)] == [ticket.handoff.id]


def test_new_request_alerts_the_officers_group_without_personal_data(
    factory: sessionmaker,
) -> None:
    ask(factory, "0912345678", channel="webchat", officers_chat="-100123")
    ask(factory, "0912345678", channel="webchat", officers_chat="-100123")  # same request
    assert len(notifications(factory)) == 1
    channel, recipient, text = notifications(factory)[0]
    assert (channel, recipient) == ("telegram", "-100123")
    assert "0912345678" not in text and "nuôi rồng" not in text and "webchat" in text


def test_claim_reply_hand_back_reach_the_citizen_through_the_outbox(
    factory: sessionmaker,
) -> None:
    asked = datetime.now(timezone.utc) - timedelta(minutes=3)
    ticket = ask(factory, "web-7", channel="webchat", now=asked)
    hid = ticket.handoff.id
    with session_scope(factory) as session:
        view = handoff.claim(session, hid, "officer.an", now=asked + timedelta(minutes=2))
        assert (view.status, view.assigned_to, view.waiting_seconds) == ("taken", "officer.an", 120)
        held = handoff.active_for(session, "web-7", "webchat")
        assert held is not None and held.status == "taken"
    with session_scope(factory) as session:
        handoff.record_citizen_message(session, hid, "Tôi cần hỏi về giấy khai sinh")
        message = handoff.reply(session, hid, "officer.an", "  Chào bạn, tôi xem ngay.\x00 ")
        assert message.text == "Chào bạn, tôi xem ngay."
    # The web chat pulls: claim notice, then the reply, each handed out once.
    pulled = collect_for_recipient(factory, "webchat", "web-7")
    assert "đã nhận cuộc trò chuyện" in pulled[0]
    assert pulled[1] == handoff.OFFICER_PREFIX_VI + "Chào bạn, tôi xem ngay."
    assert collect_for_recipient(factory, "webchat", "web-7") == []
    with session_scope(factory) as session:
        back = handoff.hand_back(session, hid, "officer.an")
        assert (back.status, back.close_reason, back.closed_by) == (
            "closed", "handed_back", "officer.an",
        )
        assert handoff.active_for(session, "web-7", "webchat") is None
        authors = [(m.author, m.officer) for m in handoff.messages(session, hid)]
        assert authors == [
            ("system", "officer.an"), ("citizen", None), ("officer", "officer.an"),
            ("system", "officer.an"),
        ]
        last_seen = handoff.messages(session, hid)[1].id
        assert [m.author for m in handoff.messages(session, hid, after_id=last_seen)] == [
            "officer", "system",
        ]
    assert "Trợ lý tiếp tục" in collect_for_recipient(factory, "webchat", "web-7")[0]


def test_only_one_officer_wins_a_claim_even_concurrently(
    factory: sessionmaker, db: TestDatabase
) -> None:
    hid = ask(factory, "contested").handoff.id
    winners: list[str] = []
    errors: list[str] = []
    barrier = threading.Barrier(4)

    def try_claim(officer: str) -> None:
        own = make_session_factory(db.new_engine())  # as another console process
        barrier.wait()
        try:
            with session_scope(own) as session:
                handoff.claim(session, hid, officer)
            winners.append(officer)
        except handoff.HandoffConflict as exc:
            errors.append(exc.message_vi)

    threads = [threading.Thread(target=try_claim, args=(f"officer{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(errors) == 3
    with session_scope(factory) as session:
        assert handoff.get_handoff(session, hid).assigned_to == winners[0]
    # Exactly one "officer joined" notice reached the citizen.
    assert sum("đã nhận" in text for _, _, text in notifications(factory)) == 1


def test_replies_need_the_holder_and_an_open_hand_off(factory: sessionmaker) -> None:
    hid = ask(factory, "c1").handoff.id
    with session_scope(factory) as session, pytest.raises(handoff.HandoffConflict):
        handoff.reply(session, hid, "officer.an", "chưa nhận")
    with session_scope(factory) as session:
        handoff.claim(session, hid, "officer.an")
    with session_scope(factory) as session, pytest.raises(handoff.NotAssigned):
        handoff.reply(session, hid, "officer.binh", "không phải của tôi")
    with session_scope(factory) as session, pytest.raises(ValueError):
        handoff.reply(session, hid, "officer.an", "   ")
    with session_scope(factory) as session:
        handoff.assign(session, hid, "officer.binh", by="supervisor.chi")
        handoff.reply(session, hid, "officer.binh", "Tôi tiếp nhận thay.")
    with session_scope(factory) as session, pytest.raises(handoff.HandoffNotFound):
        handoff.claim(session, 999_999, "officer.an")
    with session_scope(factory) as session:
        handoff.hand_back(session, hid, "officer.binh")
    with session_scope(factory) as session, pytest.raises(handoff.HandoffConflict):
        handoff.hand_back(session, hid, "officer.binh")
    with session_scope(factory) as session, pytest.raises(handoff.HandoffConflict):
        handoff.assign(session, hid, "officer.an", by="supervisor.chi")


@pytest.mark.parametrize(
    "text", ["quay lại trợ lý", "Quay lai tro ly!", "  QUAY LẠI TRỢ LÝ.", "/end_handoff"]
)
def test_end_phrases(text: str) -> None:
    assert handoff.is_end_request(text)


@pytest.mark.parametrize("text", ["trợ lý ơi", "quay lại", "gặp cán bộ", "", "tro ly la ai"])
def test_not_end_phrases(text: str) -> None:
    assert not handoff.is_end_request(text)


def test_citizen_ends_a_held_or_waiting_hand_off(factory: sessionmaker) -> None:
    held = ask(factory, "c-held").handoff.id
    waiting = ask(factory, "c-wait").handoff.id
    with session_scope(factory) as session:
        handoff.claim(session, held, "officer.an")
    with session_scope(factory) as session:
        assert handoff.end_by_citizen(session, held) == handoff.CITIZEN_ENDED_REPLY_VI
        assert handoff.end_by_citizen(session, waiting) == handoff.CITIZEN_CANCELLED_REPLY_VI
    with session_scope(factory) as session:
        assert handoff.get_handoff(session, held).close_reason == "citizen_ended"
        assert handoff.queue(session) == []
        closed = handoff.recent_closed(session)
        assert {c.id for c in closed} == {held, waiting}
    with session_scope(factory) as session, pytest.raises(handoff.HandoffConflict):
        handoff.end_by_citizen(session, held)
    # A new request after the end is a new hand-off.
    assert ask(factory, "c-held").handoff.id not in (held, waiting)


def test_canned_replies(factory: sessionmaker) -> None:
    with session_scope(factory) as session:
        greeting = handoff.save_canned(session, "Chào", "Xin chào, tôi là cán bộ.", by="an")
        handoff.save_canned(session, "Giờ làm việc", "Thứ Hai đến thứ Sáu.", by="an")
    with session_scope(factory) as session, pytest.raises(ValueError):
        handoff.save_canned(session, "Chào", "trùng tên", by="binh")
    with session_scope(factory) as session:
        handoff.save_canned(session, "Chào", "Xin chào bạn.", by="binh", canned_id=greeting.id)
    with session_scope(factory) as session:
        assert [(c.title, c.text, c.updated_by) for c in handoff.list_canned(session)] == [
            ("Chào", "Xin chào bạn.", "binh"),
            ("Giờ làm việc", "Thứ Hai đến thứ Sáu.", "an"),
        ]
        handoff.delete_canned(session, greeting.id)
    with session_scope(factory) as session:
        assert [c.title for c in handoff.list_canned(session)] == ["Giờ làm việc"]
        with pytest.raises(handoff.HandoffNotFound):
            handoff.delete_canned(session, greeting.id)


# -- office hours (no database) ------------------------------------------------


def test_office_hours_periods_weekends_and_holidays() -> None:
    hours = OfficeHours.from_mapping(
        {
            "timezone": "Asia/Ho_Chi_Minh",
            "weekly": {d: ["07:30-11:30", "13:30-17:00"] for d in ("mon", "tue", "wed")},
            "holidays": {"annual": ["09-02"], "dates": ["2026-12-02"]},
        }
    )
    zone = hours.zone
    assert hours.is_open(datetime(2026, 12, 1, 7, 30, tzinfo=zone))
    assert not hours.is_open(datetime(2026, 12, 1, 12, 0, tzinfo=zone))  # lunch
    assert hours.next_opening(datetime(2026, 12, 1, 12, 0, tzinfo=zone)) == datetime(
        2026, 12, 1, 13, 30, tzinfo=zone
    )
    # Tuesday evening -> Wednesday is a holiday -> next Monday.
    assert hours.next_opening(datetime(2026, 12, 1, 17, 0, tzinfo=zone)) == datetime(
        2026, 12, 7, 7, 30, tzinfo=zone
    )
    assert hours.is_holiday(date(2027, 9, 2))
    # UTC input: 01:00 UTC is 08:00 in Hà Nội.
    assert hours.is_open(datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc))
    assert time(7, 30) == HOURS.weekly[0][0][0]


@pytest.mark.parametrize(
    "bad",
    [
        {"weekly": {"mon": ["9-5"]}},
        {"weekly": {"mon": ["17:00-09:00"]}},
        {"weekly": {"funday": ["09:00-10:00"]}},
        {"weekly": {}},
        {"weekly": {"mon": ["09:00-10:00"]}, "holidays": {"annual": ["13-45"]}},
        {"weekly": {"mon": ["09:00-10:00"]}, "holidays": {"dates": ["mai"]}},
        {"timezone": "Mars/Olympus", "weekly": {"mon": ["09:00-10:00"]}},
    ],
)
def test_bad_office_hours_are_refused_clearly(bad: dict) -> None:
    with pytest.raises(ValueError, match=r"office hours|time zone"):
        OfficeHours.from_mapping(bad)


def test_closing_a_request_nobody_claimed_tells_the_citizen_how_to_ask_again(
    factory: sessionmaker,
) -> None:
    hid = ask(factory, "spam-or-solved", channel="webchat").handoff.id
    with session_scope(factory) as session:
        view = handoff.hand_back(session, hid, "supervisor.chi")
        assert (view.status, view.close_reason) == ("closed", "dismissed")
        assert [m.text for m in handoff.messages(session, hid)] == [
            "supervisor.chi đã đóng yêu cầu khi chưa nhận."
        ]
    assert collect_for_recipient(factory, "webchat", "spam-or-solved") == [
        handoff.DISMISSED_NOTICE_VI.format(id=hid)
    ]


def test_push_channels_get_replies_and_alerts_from_the_dispatcher(factory: sessionmaker) -> None:
    from dossiers.outbox import OutboxDispatcher

    class Recorder:  # stands for the Telegram Bot API / Zalo OA sender
        def __init__(self) -> None:
            self.sent: list[tuple[str, str]] = []

        def send(self, recipient: str, text: str) -> None:
            self.sent.append((recipient, text))

    telegram, zalo = Recorder(), Recorder()
    asked = datetime.now(timezone.utc)
    tg = ask(factory, "telegram:4242", channel="telegram", now=asked, officers_chat="-100777")
    za = ask(factory, "zalo-user-9", channel="zalo", now=asked, officers_chat="")
    with session_scope(factory) as session:
        handoff.claim(session, tg.handoff.id, "officer.an")
        handoff.reply(session, tg.handoff.id, "officer.an", "Chào bạn trên Telegram")
        handoff.claim(session, za.handoff.id, "officer.binh")
        handoff.reply(session, za.handoff.id, "officer.binh", "Chào bạn trên Zalo")
    dispatcher = OutboxDispatcher(factory, {"telegram": telegram, "zalo": zalo})
    assert dispatcher.dispatch_once() == 5
    assert [r for r, _ in telegram.sent] == ["-100777", "telegram:4242", "telegram:4242"]
    assert telegram.sent[2] == (
        "telegram:4242",
        handoff.OFFICER_PREFIX_VI + "Chào bạn trên Telegram",
    )
    assert zalo.sent[-1] == ("zalo-user-9", handoff.OFFICER_PREFIX_VI + "Chào bạn trên Zalo")
