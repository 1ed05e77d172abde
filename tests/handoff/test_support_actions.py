"""actions/support_actions.py (hand-off part) and the Rasa gate's decisions,
on a fresh migrated database of each kind: exact events, exact wording."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.support_actions import (
    HANDOFF_FAILED_VI,
    NO_HANDOFF_VI,
    ActionEndHandoff,
    ActionHumanHandoff,
)
from bot import handoff_gate
from core.db import DATABASE_URL_ENV, dispose_engines
from dossiers import handoff
from tests.actions.action_helpers import make_tracker, run
from tests.conftest import DATABASE_KINDS, TestDatabase, isolated_database

ALWAYS_OPEN = """
timezone: Asia/Ho_Chi_Minh
weekly: {mon: ["00:00-23:59"], tue: ["00:00-23:59"], wed: ["00:00-23:59"], thu: ["00:00-23:59"],
         fri: ["00:00-23:59"], sat: ["00:00-23:59"], sun: ["00:00-23:59"]}
summary_vi: "mọi ngày"
"""
# Open one minute a week: closed at almost any moment the test runs.
ALMOST_NEVER = """
timezone: Asia/Ho_Chi_Minh
weekly: {mon: ["03:00-03:01"]}
summary_vi: "thứ Hai 3:00–3:01"
"""


@pytest.fixture(params=DATABASE_KINDS)
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    with isolated_database(request.param, tmp_path) as database:
        monkeypatch.setenv(DATABASE_URL_ENV, database.url)
        monkeypatch.setenv(handoff.OFFICERS_TELEGRAM_CHAT_ENV, "")
        hours = tmp_path / "hours.yml"
        hours.write_text(ALWAYS_OPEN, encoding="utf-8")
        monkeypatch.setenv(handoff.OFFICE_HOURS_FILE_ENV, str(hours))
        common.reset_caches()
        dispose_engines()
        yield database
        dispose_engines()
        common.reset_caches()


def ask(sender: str, text: str = "cho tôi gặp cán bộ") -> tuple[list, list[str]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text, "human_handoff", sender_id=sender, channel="rest",
        events=[{"event": "user", "text": "thủ tục nuôi rồng",
                 "parse_data": {"intent": {"name": "ask_procedure"}}}],
    )
    events = run(ActionHumanHandoff(), dispatcher, tracker, {})
    return events, [m["text"] for m in dispatcher.messages]


def test_request_in_office_hours_tells_the_queue_position(db: TestDatabase) -> None:
    events, said = ask("first")
    assert events == []
    with common.db_session() as session:
        first = handoff.active_for(session, "first", "rest")
    assert first is not None and first.last_message == "thủ tục nuôi rồng"
    assert said == [
        f"Tôi đã chuyển yêu cầu của bạn tới cán bộ hỗ trợ (số yêu cầu {first.id}).\n"
        "Bạn là người tiếp theo trong hàng chờ. Cán bộ sẽ trả lời bạn ngay trong cuộc trò "
        "chuyện này khi nhận yêu cầu.\n"
        "Trong lúc chờ, bạn vẫn có thể hỏi tôi về thủ tục. "
        "Nếu không cần gặp cán bộ nữa, hãy gõ “quay lại trợ lý”."
    ]
    events, said = ask("second")
    assert events == [] and "Bạn đang ở vị trí thứ 2 trong hàng chờ." in said[0]
    events, said = ask("first")
    assert events == [] and said[0].startswith(
        f"Tôi đã chuyển yêu cầu gặp cán bộ của bạn (số {first.id}) từ trước; yêu cầu vẫn "
        "đang chờ, bạn không cần gửi lại."
    )


def test_request_outside_office_hours_says_when(
    db: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = tmp_path / "closed.yml"
    closed.write_text(ALMOST_NEVER, encoding="utf-8")
    monkeypatch.setenv(handoff.OFFICE_HOURS_FILE_ENV, str(closed))
    hours = handoff.OfficeHours.load()
    before = datetime.now(timezone.utc)
    events, said = ask("late")
    assert events == []
    if hours.is_open(before):  # the one open minute: nothing to check this time
        return
    opening = handoff.OfficeHours.describe_vi(hours.next_opening(before))
    assert (
        "Hiện đang ngoài giờ làm việc (giờ làm việc: thứ Hai 3:00–3:01). Yêu cầu của bạn được "
        f"giữ lại; cán bộ sẽ trả lời bạn trong cuộc trò chuyện này từ {opening}."
    ) in said[0]


def test_database_down_is_said_plainly(
    db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql+psycopg2://nobody@127.0.0.1:9/none")
    common.reset_caches()
    dispose_engines()
    events, said = ask("unlucky")
    assert (events, said) == ([], [HANDOFF_FAILED_VI])


def test_end_handoff_action(db: TestDatabase) -> None:
    ask("changes-mind")
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("quay lại trợ lý", "end_handoff", sender_id="changes-mind",
                           channel="rest")
    assert run(ActionEndHandoff(), dispatcher, tracker, {}) == []
    assert [m["text"] for m in dispatcher.messages] == [handoff.CITIZEN_CANCELLED_REPLY_VI]
    dispatcher = CollectingDispatcher()
    assert run(ActionEndHandoff(), dispatcher, tracker, {}) == []
    assert [m["text"] for m in dispatcher.messages] == [NO_HANDOFF_VI]


def test_gate_routes(db: TestDatabase) -> None:
    assert handoff_gate.route_message("nobody", "rest", "xin chào") == handoff_gate.Route(
        "assistant"
    )
    ask("waiting")
    # Waiting (not claimed): the assistant still answers; the message is kept for the officer.
    assert handoff_gate.route_message("waiting", "rest", "lệ phí?").kind == "assistant"
    with common.db_session() as session:
        hid = handoff.active_for(session, "waiting", "rest").id  # type: ignore[union-attr]
        handoff.claim(session, hid, "officer.an")
    # Held: stored for the officer, the assistant stays silent; other channels unaffected.
    # The first message of the hold gets the short notice, later ones nothing.
    assert handoff_gate.route_message("waiting", "rest", "alo cán bộ?") == handoff_gate.Route(
        "held", hid, handoff_gate.HELD_NOTICE_VI
    )
    assert handoff_gate.route_message("waiting", "rest", "còn đó không") == handoff_gate.Route(
        "held", hid
    )
    assert handoff_gate.route_message("waiting", "telegram", "alo").kind == "assistant"
    # Any model: the phrase ends it, the intent too.
    assert handoff_gate.route_message("waiting", "rest", "Quay lại trợ lý!") == handoff_gate.Route(
        "ended", hid, handoff.CITIZEN_ENDED_REPLY_VI
    )
    assert handoff_gate.route_message("waiting", "rest", "quay lại trợ lý").kind == "assistant"
    with common.db_session() as session:
        texts = [(m.author, m.text) for m in handoff.messages(session, hid)]
    assert texts == [
        ("citizen", "lệ phí?"),  # written while waiting: the officer sees it too
        ("system", "officer.an đã nhận yêu cầu."),
        ("citizen", "alo cán bộ?"),
        ("citizen", "còn đó không"),
        ("system", "Người dân đã quay lại trợ lý."),
    ]


def test_gate_lets_the_assistant_answer_when_the_database_is_down(
    db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql+psycopg2://nobody@127.0.0.1:9/none")
    dispose_engines()
    assert asyncio.run(handoff_gate._route("x", "rest", "hi")) == handoff_gate.Route("assistant")


def test_held_turn_marker_keeps_channels_from_adding_a_fallback() -> None:
    import asyncio

    from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel

    collecting = CollectingOutputChannel()
    asyncio.run(handoff_gate._mark_held(collecting, "c-1", 7))
    assert collecting.messages == [
        {"recipient_id": "c-1", "custom": {"handoff": {"status": "held", "id": 7}}}
    ]

    class Counting(OutputChannel):  # the shape of Zalo's output channel
        def __init__(self) -> None:
            self.attempted = 0

    counting = Counting()
    asyncio.run(handoff_gate._mark_held(counting, "c-1", 7))
    assert counting.attempted == 1
    asyncio.run(handoff_gate._mark_held(OutputChannel(), "c-1", 7))  # nothing to do, no error
