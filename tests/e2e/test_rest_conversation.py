"""End to end: the real action server and Rasa server on loopback ports, the
trained model from models/, a fresh SQLite database with the full catalog.

A citizen asks about birth registration over the REST channel, files a
dossier through the form (with an invalid value on the way), gets a dossier
code, checks its status; a stranger cannot see it; an officer changes the
status and the citizen's notification is collected exactly once.
"""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request
from typing import Any

import pytest

from core.db import session_scope
from dossiers.codes import DOSSIER_CODE_PATTERN
from dossiers.orm import Dossier
from dossiers.service import change_status
from tests.e2e.applicants import BIRTH_REGISTRATION
from tests.e2e.conftest import Servers

pytestmark = pytest.mark.slow

ANSWERS = BIRTH_REGISTRATION


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def test_question_form_dossier_status_notification(servers: Servers) -> None:
    citizen = f"e2e-{secrets.token_hex(4)}"
    answer = servers.say(citizen, "đăng ký khai sinh cần giấy tờ gì vậy ad")
    assert "Giấy chứng sinh" in texts(answer)
    assert "dichvucong.gov.vn" in texts(answer)
    # A follow-up without the procedure uses the one in context.
    assert "phí" in texts(servers.say(citizen, "còn lệ phí thì sao")).lower()

    servers.say(citizen, "tôi muốn nộp hồ sơ đăng ký khai sinh")
    # An invalid citizen ID first: a specific re-ask, the form goes on.
    asked: list[str] = []
    tried_bad_id = False
    for _ in range(40):
        slot = servers.requested_slot(citizen)
        if slot is None or slot == "dossier_confirmed":
            break
        asked.append(slot)
        if slot == "citizen_id" and not tried_bad_id:
            tried_bad_id = True
            reply = texts(servers.say(citizen, "12345"))
            assert "12" in reply  # explains that an ID has 12 digits
            assert servers.requested_slot(citizen) == "citizen_id"
            continue
        assert slot in ANSWERS, f"unexpected slot {slot}"
        servers.say(citizen, ANSWERS[slot])
    assert tried_bad_id
    assert {"full_name", "citizen_id", "child_name", "mother_name"} <= set(asked)

    assert servers.requested_slot(citizen) == "dossier_confirmed"
    confirmation = texts(servers.say(citizen, "Xác nhận"))
    match = DOSSIER_CODE_PATTERN.search(confirmation)
    assert match, confirmation
    code = match.group(0).upper()
    assert "001190012345" not in confirmation  # the ID is never echoed in full
    # A repeated confirmation files nothing new.
    servers.say(citizen, "Xác nhận")

    with session_scope(servers.database.new_factory()) as session:
        stored = session.query(Dossier).filter_by(sender_id=citizen).all()
        assert [d.code for d in stored] == [code]
        assert stored[0].procedure_code == "1.001193"
        assert stored[0].extra["child_name"] == "Trần Minh An"

    status = texts(servers.say(citizen, f"hồ sơ {code} tới đâu rồi"))
    assert code in status
    stranger = texts(servers.say(f"stranger-{secrets.token_hex(4)}", f"tra cứu hồ sơ {code}"))
    assert "Trần Minh An" not in stranger and "Nguyễn Thị Lan" not in stranger

    with session_scope(servers.database.new_factory()) as session:
        change_status(session, code, "received", actor="officer:e2e", note="Đã nhận hồ sơ giấy.")
    notes = servers.get(f"/webhooks/rest/notifications?sender={citizen}")["messages"]
    assert len(notes) == 1 and code in notes[0] and "Đã nhận hồ sơ giấy." in notes[0]
    assert servers.get(f"/webhooks/rest/notifications?sender={citizen}")["messages"] == []


def test_bad_requests_get_clear_errors(servers: Servers) -> None:
    request = urllib.request.Request(
        servers.base + "/webhooks/rest/webhook",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 400
    # A huge message is answered, not crashed on.
    assert isinstance(servers.say("e2e-huge", "khai sinh " * 5000), list)
    assert isinstance(servers.say("e2e-emoji", "🙂🙂🙂"), list)


def test_web_chat_page_is_served_offline(servers: Servers) -> None:
    with urllib.request.urlopen(servers.base + "/webhooks/webchat/chat", timeout=30) as response:
        page = response.read().decode()
    assert "<title>Trợ lý thủ tục hành chính</title>" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)  # no CDN


