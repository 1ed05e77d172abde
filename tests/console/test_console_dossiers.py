"""Working dossiers in the console: list/filter, agency scope, due dates and
overdue, status changes with mandatory notes, supplement requests, attachment
download, export; every change audited and sent to the citizen's outbox."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from console.duedates import Holidays, ProcessingTime, add_working_days, due_date
from console.orm import AuditEntry
from core.db import session_scope
from dossiers.orm import Dossier, DossierEvent, Notification
from tests.console.conftest import ConsoleEnv


def test_working_days_skip_weekends_and_holidays() -> None:
    holidays = Holidays(annual=frozenset({(9, 2)}), dates=frozenset({date(2026, 9, 1)}))
    # Friday 28/8/2026 + 3 working days: Mon 31/8, (Tue 1/9 and Wed 2/9 closed), Thu 3/9, Fri 4/9.
    assert add_working_days(date(2026, 8, 28), 3, holidays) == date(2026, 9, 4)
    received = datetime(2026, 8, 28, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội
    assert due_date(received, ProcessingTime(3, "Ngày làm việc", "Trực tuyến"), holidays) == date(
        2026, 9, 4)
    assert due_date(received, ProcessingTime(3, "Ngày", "x"), holidays) == date(2026, 8, 31)
    assert due_date(received, ProcessingTime(12, "Giờ", "x"), holidays) == date(2026, 9, 3)
    # Late evening UTC is already the next day in Việt Nam.
    late = datetime(2026, 8, 27, 20, 0, tzinfo=timezone.utc)
    assert due_date(late, ProcessingTime(1, "", "x"), holidays) == date(2026, 8, 31)


pytestmark_slow = pytest.mark.slow


def events(env: ConsoleEnv, code: str) -> list[tuple[str, str, str]]:
    with session_scope(env.factory) as db:
        dossier = db.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        return [(e.status, e.actor, e.note) for e in dossier.events]


def notifications(env: ConsoleEnv, code: str) -> list[str]:
    with session_scope(env.factory) as db:
        dossier = db.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        return list(db.execute(select(Notification.text).where(
            Notification.dossier_id == dossier.id).order_by(Notification.id)).scalars())


@pytestmark_slow
def test_list_search_and_agency_scope(console_env: ConsoleEnv) -> None:
    code = console_env.dossier(status="received")
    officer = console_env.client("officer")
    loose = code.lower().replace("-", " ")  # typed loosely
    page = officer.get("/dossiers", params={"code": loose})
    assert page.status_code == 200 and f'href="/dossiers/{code}"' in page.text
    assert "N. V. A." in page.text and "nguyễn văn an" not in page.text.lower()
    filtered = officer.get("/dossiers", params={"status": "completed", "code": code}).text
    assert f'href="/dossiers/{code}"' not in filtered
    by_name = officer.get("/dossiers", params={"procedure": "khai sinh", "code": code}).text
    assert f'href="/dossiers/{code}"' in by_name
    # An officer of another agency neither lists nor opens it.
    other = console_env.client("officer", agency="Sở Tư pháp tỉnh khác")
    assert f'href="/dossiers/{code}"' not in other.get("/dossiers", params={"code": code}).text
    assert other.get(f"/dossiers/{code}").status_code == 404
    assert other.post(f"/dossiers/{code}/status", {"status": "processing", "note": "x"}
                      ).status_code == 404
    # The dossier's own agency (implementing level "Cấp xã" here) may.
    same = console_env.client("officer", agency="cap xa")
    assert same.get(f"/dossiers/{code}").status_code == 200


@pytestmark_slow
def test_status_change_needs_a_note_and_rejection_a_reason(console_env: ConsoleEnv) -> None:
    code = console_env.dossier(status="received")
    client = console_env.client("officer")
    client.get(f"/dossiers/{code}")
    empty = client.post(f"/dossiers/{code}/status", {"status": "processing", "note": " "})
    assert empty.status_code == 400 and "bắt buộc" in empty.text
    reject = client.post(f"/dossiers/{code}/status", {"status": "rejected", "note": ""})
    assert reject.status_code == 400 and "lý do" in reject.text
    assert [e[0] for e in events(console_env, code)] == ["submitted", "received"]
    bad = client.post(f"/dossiers/{code}/status", {"status": "completed", "note": "xong"})
    assert bad.status_code == 409  # received -> completed is not in the workflow
    ok = client.post(f"/dossiers/{code}/status",
                     {"status": "rejected", "note": "Hồ sơ không thuộc thẩm quyền của xã."})
    assert ok.status_code == 303 and ok.headers["location"] == f"/dossiers/{code}?msg=status"
    status, actor, note = events(console_env, code)[-1]
    assert status == "rejected" and actor.startswith("officer:offi-") and "thẩm quyền" in note
    assert "thẩm quyền" in notifications(console_env, code)[-1]
    with session_scope(console_env.factory) as db:
        entry = db.execute(select(AuditEntry).where(
            AuditEntry.action == "dossier.status", AuditEntry.target_id == code)).scalar_one()
    assert entry.detail["old"] == "received" and entry.detail["new"] == "rejected"
    assert console_env.client("auditor").post(
        f"/dossiers/{code}/status", {"status": "processing", "note": "x"}).status_code == 403


@pytestmark_slow
def test_supplement_request_lists_the_ticked_documents(console_env: ConsoleEnv) -> None:
    code = console_env.dossier(status="processing")
    client = console_env.client("officer")
    page = client.get(f"/dossiers/{code}").text
    assert 'name="documents"' in page and "Giấy chứng sinh" in page
    nothing = client.post(f"/dossiers/{code}/supplement", {"note": ""})
    assert nothing.status_code == 400
    document = page.split('name="documents" value="')[1].split('"')[0]
    response = client.post(f"/dossiers/{code}/supplement", [
        ("documents", document), ("other_documents", "Bản sao sổ hộ khẩu"),
        ("note", "Vui lòng gửi ảnh chụp rõ nét.")])
    assert response.status_code == 303
    assert events(console_env, code)[-1][0] == "need_supplement"
    text = notifications(console_env, code)[-1]
    assert "Bản sao sổ hộ khẩu" in text and document.split()[0] in text
    detail = client.get(f"/dossiers/{code}").text
    assert "Yêu cầu bổ sung đang chờ" in detail and "Bản sao sổ hộ khẩu" in detail


@pytestmark_slow
def test_overdue_dossiers_are_highlighted(console_env: ConsoleEnv) -> None:
    code = console_env.dossier(status="processing")
    with session_scope(console_env.factory) as db:
        dossier = db.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        old = datetime.now(timezone.utc) - timedelta(days=40)
        db.execute(update(DossierEvent).where(DossierEvent.dossier_id == dossier.id)
                   .values(created_at=old))
    client = console_env.client("supervisor")
    page = client.get("/dossiers", params={"overdue": "1"}).text
    assert f'href="/dossiers/{code}"' in page and 'class="overdue"' in page
    fresh = console_env.dossier(status="processing")
    assert f'href="/dossiers/{fresh}"' not in page
    assert "quá hạn" in client.get(f"/dossiers/{code}").text


@pytestmark_slow
def test_detail_reveal_attachment_and_export(console_env: ConsoleEnv) -> None:
    code = console_env.dossier(status="processing")
    attachment = console_env.attachment(code, b"%PDF-1.4 scan")
    officer = console_env.client("officer")
    page = officer.get(f"/dossiers/{code}").text
    assert "001090012345" not in page and "0912345678" not in page and "giay-chung-sinh.pdf" in page
    assert "Đã nộp, chờ tiếp nhận" in page  # event history
    revealed = officer.post(f"/dossiers/{code}/reveal", {}).text
    assert "001090012345" in revealed and "0912345678" in revealed
    download = officer.get(f"/dossiers/{code}/attachments/{attachment}")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 scan"
    assert "attachment" in download.headers["content-disposition"]
    assert console_env.client("auditor").get(
        f"/dossiers/{code}/attachments/{attachment}").status_code == 403
    export = officer.post("/dossiers/export", {"format": "csv", "code": code})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][0] == "code" and rows[1][0] == code and "001090012345" not in export.text
    with session_scope(console_env.factory) as db:
        actions = set(db.execute(select(AuditEntry.action).where(
            AuditEntry.target_id == code)).scalars())
    assert {"personal.reveal", "attachment.download", "export.dossiers"} <= actions


@pytestmark_slow
def test_reports_count_dossiers_and_conversations(console_env: ConsoleEnv) -> None:
    console_env.dossier(status="received")
    page = console_env.client("supervisor").get("/reports")
    assert page.status_code == 200
    assert "Đã tiếp nhận" in page.text and "Đăng ký khai sinh" in page.text
    assert "Hội thoại 7 ngày qua" in page.text
    assert console_env.client("officer").get("/reports").status_code == 403


def test_a_trailing_slash_is_the_same_page(console_env: ConsoleEnv) -> None:
    # Fresh-user trial: "/dossiers/" and "/conversations/" were 404s.
    client = console_env.client("officer")
    for path in ("/dossiers", "/conversations", "/handoffs"):
        assert client.get(path).status_code == 200, path
        slashed = client.get(path + "/?page=1")
        assert (slashed.status_code, slashed.headers["location"]) == (308, path + "?page=1")
    assert client.get("/no-such-page/").status_code == 308  # then the ordinary 404
    assert client.get("/no-such-page").status_code == 404
