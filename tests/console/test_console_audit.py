"""The audit log: append-only in the database itself, readable and filterable
by admins and auditors only."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DatabaseError

from console import audit
from console.orm import AuditEntry
from core.db import session_scope
from tests.console.conftest import ConsoleEnv

pytestmark = pytest.mark.slow


def test_audit_rows_cannot_be_changed_or_deleted(console_env: ConsoleEnv) -> None:
    with session_scope(console_env.factory) as db:
        entry_id = audit.record(db, audit.SystemActor("tests"), "test.append_only").id
    for statement in (
        update(AuditEntry).where(AuditEntry.id == entry_id).values(actor="someone-else"),
        delete(AuditEntry).where(AuditEntry.id == entry_id),
    ):
        with pytest.raises(DatabaseError, match="append-only"), session_scope(
            console_env.factory
        ) as db:
            db.execute(statement)
    with session_scope(console_env.factory) as db:
        assert db.get(AuditEntry, entry_id).actor == "tests"


def test_audit_page_filters(console_env: ConsoleEnv) -> None:
    name = console_env.account("officer")
    auditor = console_env.client("auditor")
    page = auditor.get("/audit", params={"target": name})
    assert page.status_code == 200 and "staff.add" in page.text and "1 mục" in page.text
    by_action = auditor.get("/audit", params={"action": "staff.", "target": name}).text
    assert "staff.add" in by_action
    assert "0 mục" in auditor.get("/audit", params={"action": "export.", "target": name}).text
    assert "0 mục" in auditor.get("/audit", params={"target": name, "date_to": "2020-01-01"}).text
    assert console_env.client("admin").get("/audit").status_code == 200
    for role in ("officer", "supervisor", "trainer"):
        assert console_env.client(role).get("/audit").status_code == 403
