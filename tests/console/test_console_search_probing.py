"""The fresh-user trial through the real console: an officer of another agency
cannot find a conversation by the phone, ID, name or address the citizen typed
(while one who may reveal it can); a trainer cannot find a citizen by a name
typed in free text; transcripts and exports mask free text, for every role."""

from __future__ import annotations

import csv
import io
import secrets
import time

import pytest
from sqlalchemy import insert, select

from console.conversations import REFRESH_EVERY
from console.orm import AuditEntry
from core.db import make_engine, session_scope
from tests.console.conftest import ConsoleEnv
from tests.console.server import ConsoleClient
from tests.console.tracker_rows import TrackerRows
from training.tracker_events import EVENTS

pytestmark = pytest.mark.slow

FREE_TEXT = ("Tôi tên là Hoàng Thị Lan, sinh ngày 02/09/1985, nhà ở số 45 Hàng Bạc, Hoàn Kiếm. "
             "Mất CCCD số 001185009876, SĐT 0903123456, email lan.hoang@gmail.com")
FREE_CLEAR = ("Hoàng Thị Lan", "02/09/1985", "Hàng Bạc", "Hoàn Kiếm", "001185009876",
              "0903123456", "lan.hoang@gmail.com")
FORM_QUERIES = ("0912345678", "001090123456", "nguyen+van+an", "ly+thuong+kiet")


def _add_conversations(tracker_url: str) -> tuple[str, str]:
    """A free-text conversation (p1) and a dossier-form one (f1), new senders."""
    suffix = secrets.token_hex(3)
    free, form = TrackerRows(f"p1-{suffix}"), TrackerRows(f"f1-{suffix}")
    free.user(FREE_TEXT, intent="ask_documents")
    form.user("tôi muốn nộp hồ sơ đăng ký khai sinh", intent="submit_dossier")
    for slot, answer in (("full_name", "Nguyễn Văn An"), ("citizen_id", "001090123456"),
                         ("phone", "0912345678"),
                         ("address", "12 Lý Thường Kiệt, Cửa Nam, Hà Nội")):
        form.add("slot", {"name": "requested_slot", "value": slot})
        form.user(answer)
        form.add("slot", {"name": slot, "value": answer})
    engine = make_engine(tracker_url)
    try:
        with engine.begin() as connection:
            connection.execute(insert(EVENTS), free.rows + form.rows)
    finally:
        engine.dispose()
    time.sleep(REFRESH_EVERY + 0.2)  # the console looks at the tracker store once a second
    return free.sender, form.sender


def _listed(client: ConsoleClient, query: str, sender: str) -> bool:
    page = client.get(f"/conversations?q={query}")
    assert page.status_code == 200
    return f'href="/conversations/{sender}"' in page.text


def test_search_and_views_show_no_personal_data_the_user_may_not_reveal(
    console_env: ConsoleEnv, tracker_url: str
) -> None:
    free, form = _add_conversations(tracker_url)
    code = console_env.dossier(sender=form)  # a "Cấp xã" dossier (birth registration)
    canbo3 = console_env.client("officer", agency="Công an cấp Xã")
    assert canbo3.post(f"/conversations/{form}/reveal", {}).status_code == 403
    assert canbo3.get(f"/dossiers/{code}").status_code == 404
    for query in FORM_QUERIES:
        assert not _listed(canbo3, query, form), query
    assert _listed(canbo3, "khai+sinh", form)  # what it may see is still found
    same_agency = console_env.client("officer", agency="cap xa")
    for query in FORM_QUERIES:
        assert _listed(same_agency, query, form), query  # it may reveal f1

    trainer = console_env.client("trainer")
    assert not _listed(trainer, "hoang+thi+lan", free)
    assert _listed(trainer, "mat+cccd", free)
    for role in ("trainer", "auditor", "officer"):
        page = console_env.client(role).get(f"/conversations/{free}").text
        assert not any(clear in page for clear in FREE_CLEAR), role

    exported = trainer.post("/conversations/export", {"format": "csv", "sender_id": free})
    assert exported.status_code == 200
    text = "\n".join(",".join(row) for row in csv.reader(
        io.StringIO(exported.content.decode("utf-8-sig"))))
    assert not any(clear in text for clear in FREE_CLEAR) and "[họ tên]" in text
    with session_scope(console_env.factory) as db:
        detail = db.execute(
            select(AuditEntry.detail).where(AuditEntry.action == "export.conversations",
                                            AuditEntry.target_id == free)
        ).scalars().one()
    assert detail["masked"] is True
