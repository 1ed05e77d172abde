"""Accounts and sessions over real sockets: cookies, CSRF, lockout, address
throttling, idle timeout, disabled accounts, password change, `tthc staff`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from console.orm import AuditEntry, StaffMember, StaffSession
from core.db import session_scope, utcnow
from tests.conftest import TestDatabase, isolated_database
from tests.console.conftest import ConsoleEnv
from tests.console.server import PASSWORD, ConsoleClient, add_staff, console_server

pytestmark = pytest.mark.slow  # starts console servers (seconds each)


def audit_actions(env: ConsoleEnv, target: str) -> list[str]:
    with session_scope(env.factory) as db:
        return list(db.execute(
            select(AuditEntry.action).where(AuditEntry.target_id == target)
            .order_by(AuditEntry.id)
        ).scalars())


def test_session_cookie_is_httponly_samesite(console_env: ConsoleEnv) -> None:
    client = ConsoleClient(console_env.base)
    name = console_env.account("officer")
    response = client.login(name)
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith("tthc_console="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    with session_scope(console_env.factory) as db:
        stored = db.execute(select(StaffSession.token_hash)).scalars().all()
    token = cookie.split(";")[0].split("=", 1)[1]
    assert token not in stored  # only the hash is stored
    assert audit_actions(console_env, name) == ["staff.add", "auth.login"]


def test_csrf_is_required_on_every_post(console_env: ConsoleEnv) -> None:
    client = console_env.client("admin")
    assert client.post("/staff", {"username": "x-csrf1"}, csrf=False).status_code == 403
    wrong = client.post("/staff", [("username", "x-csrf2"), ("csrf_token", "forged")], csrf=False)
    assert wrong.status_code == 403
    # Another member's valid token does not work in this session.
    other = console_env.client("admin")
    stolen = client.post("/staff", [("csrf_token", other.csrf), ("username", "x-csrf3")],
                         csrf=False)
    assert stolen.status_code == 403
    # The login form too (double-submit cookie).
    fresh = ConsoleClient(console_env.base)
    fresh.get("/login")
    response = fresh.http.post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 403
    with session_scope(console_env.factory) as db:
        names = db.execute(select(StaffMember.username)).scalars().all()
    assert not {"x-csrf1", "x-csrf2", "x-csrf3"} & set(names)
    # With the token: accepted.
    ok = client.post("/staff", {"username": "x-csrf4", "role": "trainer", "password": PASSWORD})
    assert ok.status_code == 303


def test_lockout_after_five_failures(console_env: ConsoleEnv) -> None:
    name = console_env.account("officer")
    client = ConsoleClient(console_env.base)
    for _ in range(5):
        assert client.try_login(name, "sai-mat-khau-1").status_code == 401
    refused = client.try_login(name, PASSWORD)  # right password, but locked
    assert refused.status_code == 401
    assert "không đúng, hoặc tài khoản đang bị khoá" in refused.text
    actions = audit_actions(console_env, name)
    assert actions.count("auth.login_failed") == 6 and "auth.lockout" in actions
    # The lockout ends by itself; an admin can lift it earlier (enable).
    with session_scope(console_env.factory) as db:
        db.execute(update(StaffMember).where(StaffMember.username == name)
                   .values(locked_until=utcnow() - timedelta(seconds=1)))
    assert client.try_login(name, PASSWORD).status_code == 303


def test_unknown_user_gets_the_same_answer(console_env: ConsoleEnv) -> None:
    client = ConsoleClient(console_env.base)
    unknown = client.try_login("khong-ton-tai", PASSWORD)
    known = client.try_login(console_env.account("officer"), "sai-mat-khau-1")
    assert unknown.status_code == known.status_code == 401
    message = "không đúng, hoặc tài khoản"
    assert message in unknown.text and message in known.text


def test_idle_session_expires(console_env: ConsoleEnv) -> None:
    client = console_env.client("officer")
    assert client.get("/dossiers").status_code == 200
    with session_scope(console_env.factory) as db:
        db.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
                   .where(StaffSession.csrf_token == client.csrf))
    response = client.get("/dossiers")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_disabled_account_loses_its_sessions(console_env: ConsoleEnv) -> None:
    admin = console_env.client("admin")
    name = console_env.account("officer")
    officer = ConsoleClient(console_env.base)
    officer.login(name)
    assert admin.post(f"/staff/{name}/active", {"active": "0"}).status_code == 303
    assert officer.get("/dossiers").status_code == 303
    assert officer.try_login(name, PASSWORD).status_code == 401
    assert "staff.disable" in audit_actions(console_env, name)


def test_reset_password_forces_a_change(console_env: ConsoleEnv) -> None:
    admin = console_env.client("admin")
    name = console_env.account("trainer")
    page = admin.post(f"/staff/{name}/reset-password", {})
    temporary = page.text.split("<code>")[1].split("</code>")[0]
    member = ConsoleClient(console_env.base)
    member.try_login(name, temporary)
    assert member.get("/conversations").headers["location"] == "/account/password"
    member.get("/account/password")
    changed = member.post("/account/password", {
        "old_password": temporary, "new_password": "Mat-khau-moi-2", "new_password_again":
        "Mat-khau-moi-2"})
    assert changed.status_code == 303
    assert member.get("/conversations").status_code == 200
    assert audit_actions(console_env, name)[-1] == "staff.change_password"


def test_address_throttling(tmp_path: Path) -> None:
    with isolated_database("sqlite", tmp_path) as database, console_server(
        database.url, env={"TTHC_CONSOLE_IP_ATTEMPTS": "3"}
    ) as base:
        add_staff(database.url, "officer1", "officer")
        client = ConsoleClient(base)
        for name in ("a1", "a2", "a3"):
            assert client.try_login(name, "sai-mat-khau-1").status_code == 401
        # Even the right password is refused from this address now.
        throttled = client.try_login("officer1", PASSWORD)
        assert throttled.status_code == 429


def test_staff_cli(tmp_path: Path) -> None:
    with isolated_database("sqlite", tmp_path) as database:
        env = {**os.environ, "TTHC_DATABASE_URL": database.url}

        def tthc(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "bot.cli", "staff", *args], input=stdin, text=True,
                capture_output=True, env=env, cwd=Path(__file__).resolve().parents[2],
                timeout=120,
            )

        added = tthc("add", "Admin.One", "--role", "admin", stdin="Mat-khau-dai-1\n")
        assert added.returncode == 0, added.stderr
        assert "added admin.one (admin)" in added.stdout
        weak = tthc("add", "admin2", "--role", "admin", stdin="12345678901\n")
        assert weak.returncode == 1 and "chữ và số" in weak.stderr
        assert tthc("disable", "admin.one").returncode == 0
        assert tthc("reset-password", "admin.one", stdin="Mat-khau-dai-2\n").returncode == 0
        listing = tthc("list").stdout
        assert "admin.one\tadmin\tdisabled" in listing
        engine = database.new_engine()
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT actor, action FROM console_audit_log ORDER BY id")).all()
        assert [a for _, a in rows] == ["staff.add", "staff.disable", "staff.reset_password"]
        assert all(actor.startswith("cli:") for actor, _ in rows)


def test_staff_cli_agency_must_be_one_the_catalog_has(catalog_db: TestDatabase) -> None:
    """`--agency` is matched (without diacritics/case) against the agencies and levels the
    dossiers carry (console/dossier_queries.agency_from); an unknown one ("UBND xã", the old
    README example, which no dossier carries) is refused with the valid values, exit 2."""
    env = {**os.environ, "TTHC_DATABASE_URL": catalog_db.url}

    def add(name: str, agency: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "staff", "add", name, "--role", "officer",
             "--agency", agency], input="Mat-khau-dai-1\n", text=True, capture_output=True,
            env=env, cwd=Path(__file__).resolve().parents[2], timeout=120,
        )

    name = f"cb-{secrets.token_hex(4)}"
    refused = add(name, "UBND xã")
    assert refused.returncode == 2, refused.stderr
    assert "UBND xã" in refused.stderr and "Cấp xã" in refused.stderr
    assert "Sở Tư pháp" in refused.stderr  # the list of valid values
    with session_scope(catalog_db.new_factory()) as db:
        assert db.execute(select(StaffMember).where(StaffMember.username == name)).first() is None
    added = add(name, "cap xa")
    assert added.returncode == 0, added.stderr
    with session_scope(catalog_db.new_factory()) as db:
        member = db.execute(select(StaffMember).where(StaffMember.username == name)).scalar_one()
        assert member.agency == "Cấp xã"  # stored as the catalog spells it


def test_account_rules(tmp_path: Path) -> None:
    from console.audit import SystemActor
    from console.auth import StaffError, add_staff, set_active

    actor = SystemActor("tests")
    with isolated_database("sqlite", tmp_path) as database, session_scope(
        database.new_factory()
    ) as db:
        add_staff(db, actor, "canbo.1", "Mat-khau-dai-1", "officer", agency="UBND xã A")
        for username, password, role, message in (
            ("CANBO.1", "Mat-khau-dai-1", "officer", "đã tồn tại"),
            ("ab", "Mat-khau-dai-1", "officer", "3-64 ký tự"),
            ("canbo 2", "Mat-khau-dai-1", "officer", "3-64 ký tự"),
            ("canbo.2", "ngan-1", "officer", "ít nhất 10"),
            ("canbo.2", "chichucaithoi", "officer", "chữ và số"),
            ("canbo.2", "Mat-khau-dai-1", "root", "Vai trò không hợp lệ"),
        ):
            with pytest.raises(StaffError, match=message):
                add_staff(db, actor, username, password, role)
        with pytest.raises(StaffError, match="Không có tài khoản"):
            set_active(db, actor, "nobody", False)
