"""Analytics: the numbers from the tracker store and the database, filtered by
date range and channel; the dashboard draws them as SVG, its CSV and `tthc
stats` give the same numbers."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.cli import main as tthc
from catalog.orm import ProcedureRow
from core.db import session_scope
from dossiers.orm import HandoffRequest
from dossiers.service import change_status, submit_dossier
from dossiers.validation import VIETNAM_TZ
from tests.conftest import DATABASE_KINDS, isolated_database
from tests.console.server import ConsoleClient, add_staff, console_server
from tests.dossiers.test_dossiers_service import make_request
from tests.trainer_loop.tracker import FakeTracker
from training.analytics import Filters, compute
from training.orm import Rating

DAY1 = date(2026, 11, 20)
DAY2 = date(2026, 11, 21)


def _noon(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, tzinfo=VIETNAM_TZ).timestamp()


def _fill(tracker: FakeTracker, factory) -> None:
    tracker.at(_noon(DAY1))
    tracker.user("r1", "lệ phí làm căn cước", "ask_fee", 0.95, procedure="1.014061")
    tracker.user("r1", "cảm ơn", "thank", 0.99)
    tracker.user("t1", "sổ hồng mất thì sao", "nlu_fallback", 0.2, channel="telegram")
    tracker.user("t1", '/inform{"procedure":"1.014061"}', "inform", 1.0, channel="telegram",
                 procedure="1.014061")
    tracker.at(_noon(DAY2))
    tracker.user("r2", "khai sinh cần gì", "ask_documents", 0.9, procedure="1.001193")
    tracker.user("r2", "giấy tờ nhà cháy", "inform", 0.9)
    tracker.action("r2", "action_handle_fallback")
    tracker.at(_noon(DAY2 + timedelta(days=5)))  # outside the range
    tracker.user("r3", "xin chào", "greet", 0.99)
    with session_scope(factory) as db:
        db.add(ProcedureRow(code="1.014061", name="Cấp thẻ căn cước"))
        start = datetime.fromtimestamp(_noon(DAY1), timezone.utc)
        db.add(HandoffRequest(sender_id="r1", channel="rest", status="taken",
                              created_at=start, claimed_at=start + timedelta(minutes=4)))
        db.add(HandoffRequest(sender_id="t1", channel="telegram", status="taken",
                              created_at=start, claimed_at=start + timedelta(minutes=10)))
        db.add(HandoffRequest(sender_id="r2", channel="rest", status="open", created_at=start))
        for score, channel in ((5, "rest"), (4, "rest"), (1, "telegram")):
            db.add(Rating(sender_id="x", channel=channel, kind="answer", score=score,
                          comment="", created_at=start))
    for status in ("submitted", "completed"):
        with session_scope(factory) as db:
            dossier = submit_dossier(db, make_request(key=secrets.token_hex(6), channel="rest"),
                                     deliver=False)
            dossier.created_at = datetime.fromtimestamp(_noon(DAY2), timezone.utc)
            code = dossier.code
        if status == "completed":
            for step in ("received", "processing", "completed"):
                with session_scope(factory) as db:
                    change_status(db, code, step, actor="officer:t", note="")


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_numbers_by_range_and_channel(kind: str, tmp_path: Path) -> None:
    tracker = FakeTracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    with isolated_database(kind, tmp_path) as database:
        factory = database.new_factory()
        _fill(tracker, factory)
        with session_scope(factory) as db:
            board = compute(db, tracker.engine, Filters(DAY1, DAY2), overdue=lambda d: True)
            rest = compute(db, tracker.engine, Filters(DAY1, DAY2, "rest"))
        assert board.channels == ["rest", "telegram"]
        assert board.conversations == 3 and board.messages == 6
        assert board.conversations_by_day[DAY1] == {"rest": 1, "telegram": 1}
        assert board.messages_by_day[DAY2] == {"rest": 2}
        assert board.typed_messages == 5 and board.understood_messages == 3  # 2 fallbacks
        assert board.top_procedures[0] == ("1.014061", "Cấp thẻ căn cước", 2)
        assert board.handoffs == 3 and board.handoffs_waiting == 1
        assert board.wait_minutes_median == 7.0
        assert board.dossiers_by_status == {"submitted": 1, "completed": 1}
        assert board.dossiers_overdue == 1  # only open dossiers can be overdue
        assert board.ratings == {5: 1, 4: 1, 1: 1} and board.rating_average == pytest.approx(
            10 / 3)
        assert rest.conversations == 2 and rest.messages == 4 and rest.handoffs == 2
        assert rest.ratings == {5: 1, 4: 1}
    tracker.close()


@pytest.mark.slow
def test_dashboard_csv_and_terminal_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = FakeTracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    with isolated_database("sqlite", tmp_path) as database:
        _fill(tracker, database.new_factory())
        query = {"from": DAY1.isoformat(), "to": DAY2.isoformat()}
        with console_server(database.url, tracker_store_url=tracker.url,
                            ports=range(18700, 18750)) as base:
            add_staff(database.url, "super1", "supervisor")
            add_staff(database.url, "officer1", "officer")
            client = ConsoleClient(base)
            client.login("super1")
            page = client.get("/analytics", params=query)
            assert page.status_code == 200
            assert page.text.count("<svg") == 6 and "Cấp thẻ căn cước" in page.text
            exported = client.get("/analytics/export.csv", params={**query, "table": "summary"})
            assert exported.headers["content-type"].startswith("text/csv")
            web = dict(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
            daily = client.get("/analytics/export.csv", params={**query, "table": "daily"})
            assert "2026-11-21,rest,1,2" in daily.text.replace("\r", "")
            bad = client.get("/analytics", params={"from": "hôm qua"})
            assert bad.status_code == 200 and "Ngày không hợp lệ" in bad.text
            officer = ConsoleClient(base)
            officer.login("officer1")
            assert officer.get("/analytics").status_code == 403
        monkeypatch.setenv("TTHC_TRACKER_STORE_URL", tracker.url)
        assert tthc(["stats", "--from", query["from"], "--to", query["to"], "--table",
                     "summary", "--csv", "--database-url", database.url]) == 0
        terminal = dict(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert web == terminal
    assert web["conversations"] == "3" and web["understood_share"] == "0.6"
    tracker.close()
