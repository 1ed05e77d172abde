"""Issue 11 follow-ups in the console: notification delivery state with an
audited "retry now", and refusing a citizen's supplement with a reason the
citizen receives."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from console.orm import AuditEntry
from core.db import session_scope
from dossiers.integration_orm import SupplementRequest
from dossiers.orm import Attachment, Dossier, Notification
from dossiers.supplements import attach_file, open_supplement, request_supplement
from tests.console.conftest import ConsoleEnv

pytestmark = pytest.mark.slow


def _notification_ids(env: ConsoleEnv, code: str) -> list[int]:
    with session_scope(env.factory) as db:
        dossier = db.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        return list(db.execute(select(Notification.id).where(
            Notification.dossier_id == dossier.id).order_by(Notification.id)).scalars())


def test_delivery_state_and_audited_retry(console_env: ConsoleEnv) -> None:
    code = console_env.dossier(status="processing")
    failed, pending = _notification_ids(console_env, code)[-2:]
    with session_scope(console_env.factory) as db:
        db.execute(update(Notification).where(Notification.id == failed).values(
            status="failed", attempts=8, last_error="HTTPError: 502 Bad Gateway"))
        db.execute(update(Notification).where(Notification.id == pending).values(
            status="pending", attempts=2, last_error="timeout"))
    officer = console_env.client("officer")
    page = officer.get(f"/dossiers/{code}").text
    assert "không gửi được" in page and "502 Bad Gateway" in page
    assert "thử lại lúc" in page and "Lỗi cuối: timeout" in page
    retry = f"/dossiers/{code}/notifications/{failed}/retry"
    assert f'action="{retry}"' in page
    assert f'/notifications/{pending}/retry' not in page  # only failed ones
    auditor = console_env.client("auditor")
    assert f'action="{retry}"' not in auditor.get(f"/dossiers/{code}").text
    assert auditor.post(retry, {}).status_code == 403
    done = officer.post(retry, {})
    assert done.status_code == 303 and done.headers["location"].endswith("msg=retry")
    with session_scope(console_env.factory) as db:
        row = db.get(Notification, failed)
        assert row is not None and row.status == "pending" and row.attempts == 0
        entry = db.execute(select(AuditEntry).where(
            AuditEntry.action == "notification.retry", AuditEntry.target_id == code)
        ).scalar_one()
    assert entry.detail["attempts"] == 8 and "502" in entry.detail["last_error"]
    again = officer.post(retry, {})  # no longer failed: nothing retried, nothing audited
    assert again.headers["location"].endswith("msg=retry_none")
    assert officer.post(f"/dossiers/{code}/notifications/999999/retry", {}).status_code == 404


def test_refused_supplement_tells_the_citizen_why(console_env: ConsoleEnv) -> None:
    code = console_env.dossier(status="processing")
    with session_scope(console_env.factory) as db:
        view = request_supplement(db, code, ["Bản sao CCCD"], actor="officer:setup")
    attachment = console_env.attachment(code)
    with session_scope(console_env.factory) as db:
        db.execute(update(Attachment).where(Attachment.id == attachment).values(dossier_id=None))
    with session_scope(console_env.factory) as db:
        attach_file(db, view.id, attachment)
    officer = console_env.client("officer")
    page = officer.get(f"/dossiers/{code}").text
    action = f"/dossiers/{code}/supplement/{view.id}/reject"
    assert f'action="{action}"' in page
    assert officer.post(action, {"reason": " "}).status_code == 400
    done = officer.post(action, {"reason": "Ảnh CCCD bị mờ, không đọc được số."})
    assert done.status_code == 303 and done.headers["location"].endswith("supplement_rejected")
    with session_scope(console_env.factory) as db:
        dossier = db.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        text = db.execute(select(Notification.text).where(
            Notification.dossier_id == dossier.id).order_by(Notification.id.desc())
        ).scalars().first()
        reopened = open_supplement(db, code)
        old = db.get(SupplementRequest, view.id)
        entry = db.execute(select(AuditEntry).where(
            AuditEntry.action == "dossier.supplement_reject", AuditEntry.target_id == code)
        ).scalar_one()
    assert text is not None and "Lý do: Ảnh CCCD bị mờ" in text and "1. Bản sao CCCD" in text
    assert reopened is not None and reopened.id != view.id and old is not None
    assert old.status == "cancelled" and entry.detail["parts"] == 1
    assert officer.post(action, {"reason": "lần nữa"}).status_code == 404  # closed now
