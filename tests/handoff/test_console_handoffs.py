"""The hand-off pages of the real console process (`python -m console` on a
loopback port, SQLite): every route against every role, CSRF, claim/reply/
hand back through the outbox, canned replies, masking, audit entries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import make_engine, make_session_factory, session_scope
from dossiers import handoff
from dossiers.orm import Notification
from tests.conftest import TestDatabase, isolated_database
from tests.console.server import ConsoleClient, add_staff, console_server

pytestmark = pytest.mark.slow
PORTS = range(18400, 18450)
ROLES = ("officer", "supervisor", "trainer", "admin", "auditor")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TestDatabase]]:
    directory: Path = tmp_path_factory.mktemp("console-handoffs")
    with isolated_database("sqlite", directory) as database:
        for role in ROLES:
            add_staff(database.url, role, role)
        add_staff(database.url, "officer2", "officer")
        with console_server(database.url, ports=PORTS) as base:
            yield base, database


def _factory(database: TestDatabase):
    return make_session_factory(database.new_engine())


def new_request(database: TestDatabase, sender: str, channel: str = "rest") -> int:
    with session_scope(_factory(database)) as session:
        return handoff.request_handoff(
            session, sender, channel, "Người dân yêu cầu gặp cán bộ", "hỏi về khai sinh",
            officers_chat="",
        ).handoff.id


def client(base: str, username: str) -> ConsoleClient:
    c = ConsoleClient(base)
    c.login(username)
    return c


def audit_actions(database: TestDatabase) -> list[tuple[str, str, str]]:
    from console.orm import AuditEntry

    engine = make_engine(database.url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = session.execute(
                select(AuditEntry.action, AuditEntry.actor, AuditEntry.target_id).order_by(
                    AuditEntry.id
                )
            ).all()
            return [tuple(r) for r in rows]
    finally:
        engine.dispose()


def test_permission_matrix(stack: tuple[str, TestDatabase]) -> None:
    base, database = stack
    hid = new_request(database, "matrix-1")
    reads = ["/handoffs", "/handoffs/queue", "/handoffs/badge", f"/handoffs/{hid}",
             f"/handoffs/{hid}/messages", "/handoffs/canned"]
    can_read = {"officer", "supervisor", "auditor"}
    can_work = {"officer", "supervisor"}
    for role in ROLES:
        c = client(base, role)
        for path in reads:
            status = c.get(path).status_code
            assert status == (200 if role in can_read else 403), (role, path, status)
        # Writes: forbidden roles get 403 and change nothing.
        if role not in can_work:
            assert c.post(f"/handoffs/{hid}/claim").status_code == 403, role
            assert c.post("/handoffs/canned", {"title": "x", "text": "y"}).status_code == 403
            assert c.post(f"/handoffs/{hid}/handback").status_code == 403, role
        if role != "supervisor":
            response = c.post(f"/handoffs/{hid}/assign", {"officer": "officer"})
            assert response.status_code == 403, role
        c.close()
    anonymous = ConsoleClient(base)
    assert anonymous.get("/handoffs").status_code == 303
    assert anonymous.post(f"/handoffs/{hid}/claim", csrf=False).status_code in (401, 403)
    with session_scope(_factory(database)) as session:
        assert handoff.get_handoff(session, hid).status == "open"


def test_csrf_is_required(stack: tuple[str, TestDatabase]) -> None:
    base, database = stack
    hid = new_request(database, "csrf-1")
    officer = client(base, "officer")
    assert officer.post(f"/handoffs/{hid}/claim", csrf=False).status_code == 403
    with session_scope(_factory(database)) as session:
        assert handoff.get_handoff(session, hid).status == "open"


def test_claim_reply_canned_hand_back(stack: tuple[str, TestDatabase]) -> None:
    base, database = stack
    hid = new_request(database, "web-0912345678", channel="webchat")
    officer = client(base, "officer")
    queue = officer.get("/handoffs/queue?seen=1").text
    assert f'data-handoff="{hid}"' in queue and "…5678" in queue
    assert "0912345678" not in queue
    response = officer.post(f"/handoffs/{hid}/claim")
    assert response.status_code == 303 and response.headers["location"].startswith(
        f"/handoffs/{hid}"
    )
    # A second officer loses the race politely.
    other = client(base, "officer2")
    lost = other.post(f"/handoffs/{hid}/claim")
    assert lost.status_code == 303 and "error=" in lost.headers["location"]
    assert other.post(f"/handoffs/{hid}/reply", {"text": "tôi chen vào"}).status_code == 303
    # The citizen writes while held (as the Rasa gate stores it).
    with session_scope(_factory(database)) as session:
        handoff.record_citizen_message(session, hid, "Số tôi 0987654321")
    page = officer.get(f"/handoffs/{hid}").text
    assert 'id="reply-form"' in page and "0987654321" in page
    auditor = client(base, "auditor")
    masked = auditor.get(f"/handoffs/{hid}/messages").text
    assert "0987654321" not in masked and "321" in masked
    assert officer.post(f"/handoffs/{hid}/reply", {"text": "Chào bạn"}).status_code == 303
    assert officer.post(f"/handoffs/{hid}/reply", {"text": " "}).status_code == 303
    # Canned reply: created, then sent by id.
    assert officer.post("/handoffs/canned", {"title": "Giờ", "text": "Từ 7:30."}).status_code == 303
    with session_scope(_factory(database)) as session:
        canned_id = handoff.list_canned(session)[0].id
    officer.post(f"/handoffs/{hid}/reply", {"text": "", "canned_id": canned_id})
    fragment = officer.get(f"/handoffs/{hid}/messages").text
    assert "Chào bạn" in fragment and "Từ 7:30." in fragment and "tôi chen vào" not in fragment
    assert officer.post(f"/handoffs/{hid}/handback").headers["location"] == "/handoffs"
    assert 'id="handoff-closed"' in officer.get(f"/handoffs/{hid}/messages").text
    with session_scope(_factory(database)) as session:
        texts = [
            n.text
            for n in session.execute(
                select(Notification).where(Notification.recipient == "web-0912345678")
            ).scalars()
        ]
    assert texts[1:] == [
        handoff.OFFICER_PREFIX_VI + "Chào bạn",
        handoff.OFFICER_PREFIX_VI + "Từ 7:30.",
        handoff.HANDED_BACK_NOTICE_VI.format(id=hid),
    ]
    actions = [(a, actor) for a, actor, target in audit_actions(database) if target in (
        str(hid), str(canned_id))]
    assert actions == [
        ("handoff.claim", "officer"),
        ("handoff.reply", "officer"),
        ("canned.add", "officer"),
        ("handoff.reply", "officer"),
        ("handoff.handback", "officer"),
    ]


def test_supervisor_assigns_and_new_requests_raise_an_alert(
    stack: tuple[str, TestDatabase],
) -> None:
    base, database = stack
    supervisor = client(base, "supervisor")
    seen = int(supervisor.get("/handoffs/queue").text.split("seen=")[1].split('"')[0])
    hid = new_request(database, "assign-1")
    fragment = supervisor.get(f"/handoffs/queue?seen={seen}").text
    assert 'id="new-handoff-alert"' in fragment
    assert 'id="new-handoff-alert"' not in supervisor.get(f"/handoffs/queue?seen={hid}").text
    assert supervisor.post(f"/handoffs/{hid}/assign", {"officer": "nobody"}).status_code == 303
    supervisor.post(f"/handoffs/{hid}/assign", {"officer": "officer2"})
    with session_scope(_factory(database)) as session:
        view = handoff.get_handoff(session, hid)
    assert (view.status, view.assigned_to) == ("taken", "officer2")
    assert ("handoff.assign", "supervisor", str(hid)) in audit_actions(database)
    assert supervisor.get("/handoffs/999999").status_code == 404
