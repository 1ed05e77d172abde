"""The officers' console in a real browser (Debian's chromium via Playwright)
over the real stack: a citizen chats with the Rasa server (REST), the officer
logs in, finds the conversation by searching without diacritics, reads the
transcript, opens the dossier it led to, asks for a supplement by ticking
documents from the procedure's list; the citizen is notified with that list,
uploads a file through the REST channel, and the officer sees and downloads it.

Screenshots of the main pages go to TTHC_CONSOLE_SCREENSHOTS when set
(`TTHC_CONSOLE_SCREENSHOTS=docs` refreshes the README's pictures)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.db import session_scope
from dossiers.orm import Dossier, Notification
from dossiers.service import change_status, submit_dossier
from tests.console.browser import chromium, screenshot_dir
from tests.console.server import PASSWORD, add_staff, console_server
from tests.dossiers.test_dossiers_service import make_request
from tests.e2e.conftest import Servers

pytestmark = pytest.mark.slow
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def tracker_url(servers: Servers) -> str:
    """The e2e stack keeps conversations in tracker.db beside its database
    (bot.runtime.loopback_stack)."""
    directory = Path(servers.database.url.removeprefix("sqlite:///")).parent
    return f"sqlite:///{directory / 'tracker.db'}"


def shoot(page, name: str, *, full_page: bool = False) -> None:
    directory = screenshot_dir()
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(directory / f"console-{name}.png"), full_page=full_page)


def test_officer_reads_conversation_and_asks_for_a_supplement(servers: Servers) -> None:
    from playwright.sync_api import expect

    citizen = f"web-{secrets.token_hex(4)}"
    servers.say(citizen, "xin chào")
    servers.say(citizen, "làm hộ chiếu hết bao nhiêu tiền")
    factory = servers.database.new_factory()
    with session_scope(factory) as db:
        code = submit_dossier(
            db, make_request(key=secrets.token_hex(8), sender=citizen, channel="rest"),
            deliver=False,
        ).code
    for status in ("received", "processing"):
        with session_scope(factory) as db:
            change_status(db, code, status, actor="officer:intake", note="Đã kiểm tra.")
    officer, admin = f"canbo-{secrets.token_hex(3)}", f"quantri-{secrets.token_hex(3)}"
    add_staff(servers.database.url, officer, "officer")
    add_staff(servers.database.url, admin, "admin")

    with console_server(servers.database.url, tracker_store_url=tracker_url(servers)) as base, \
            chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN",
                                      accept_downloads=True)
        page = context.new_page()
        page.goto(base + "/conversations")
        expect(page).to_have_url(re.compile(r"/login\?next="))
        shoot(page, "login")
        page.fill("input[name=username]", officer)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/conversations$"))

        page.fill("input[name=q]", "ho chieu")  # no diacritics
        page.click("form.filters button[type=submit]")
        link = page.locator(f"a[href='/conversations/{citizen}']")
        expect(link).to_be_visible()
        shoot(page, "conversations")
        link.click()
        expect(page.locator("li.user").filter(has_text="làm hộ chiếu")).to_be_visible()
        expect(page.locator("li.user .meta").filter(has_text="ask_fee")).to_be_visible()
        expect(page.locator("li.bot").first).to_be_visible()
        shoot(page, "transcript")

        page.click(f"a[href='/dossiers/{code}']")
        expect(page.locator("h1")).to_contain_text(code)
        first = page.locator("input[name=documents]").first
        document = first.get_attribute("value")
        assert document
        first.check()
        page.fill("#supplement-form textarea[name=note]", "Vui lòng gửi bản chụp rõ nét.")
        page.click("#supplement-form button[type=submit]")
        expect(page.locator("p.ok")).to_contain_text("Đã gửi yêu cầu bổ sung")
        expect(page.locator("h1 .badge").first).to_contain_text("Cần bổ sung")

        # The citizen is told which documents are missing...
        with session_scope(factory) as db:
            dossier = db.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
            told = db.execute(select(Notification.text).where(
                Notification.dossier_id == dossier.id).order_by(Notification.id.desc())
            ).scalars().first()
        assert told is not None and document[:30] in told
        # ... and sends a file through the REST channel.
        uploaded = httpx.post(
            servers.base + "/webhooks/rest/upload", data={"sender": citizen},
            files={"file": ("giay-chung-sinh.pdf", PDF, "application/pdf")}, timeout=60,
        )
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json().get("dossier_code") == code

        page.goto(f"{base}/dossiers/{code}")
        expect(page.locator("text=giay-chung-sinh.pdf").first).to_be_visible()
        shoot(page, "dossier", full_page=True)
        with page.expect_download() as download:
            page.click("a:has-text('giay-chung-sinh.pdf')")
        assert Path(download.value.path()).read_bytes() == PDF

        page.goto(base + "/dossiers")
        shoot(page, "dossiers")
        context.close()

        # The administrator reads the audit trail of what the officer did.
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
        page = context.new_page()
        page.goto(base + "/login")
        page.fill("input[name=username]", admin)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/audit?actor={officer}")
        expect(page.locator("td code").filter(has_text="dossier.supplement")).to_be_visible()
        expect(page.locator("td code").filter(has_text="attachment.download")).to_be_visible()
        shoot(page, "audit")
        context.close()
