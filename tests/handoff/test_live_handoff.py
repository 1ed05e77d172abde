"""Hand-off, live, through the real processes: the action server and the
Rasa server (`python -m bot.rasa_server`, the newest model in models/, never
trained here), the console (`python -m console`) and, for the browser test,
Debian's chromium driven by Playwright. One SQLite database with the full
catalog is shared by all of them, as in `make run`.

The pause must not depend on the model: after the claim the citizen's
messages, whatever intent the model gives them, get no answer; "quay lại
trợ lý" ends the hand-off even though the model never learnt that phrase.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import handoff_gate
from bot.runtime import latest_model, loopback_stack
from catalog.importer import import_catalog
from core.db import make_session_factory, session_scope
from dossiers import handoff
from tests.conftest import TestDatabase, isolated_database
from tests.console.browser import chromium, screenshot_dir
from tests.console.server import PASSWORD, add_staff, console_server

pytestmark = pytest.mark.slow

ASK_FOR_PERSON = "tôi muốn nói chuyện với cán bộ"
QUESTION = "làm căn cước cần giấy tờ gì"


@dataclass
class Live:
    rasa: str
    console: str
    token: str
    database: TestDatabase

    def _json(self, url: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=180) as response:
            return json.loads(response.read())

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        return self._json(self.rasa + "/webhooks/rest/webhook", {"sender": sender, "message": text})

    def pull(self, sender: str) -> list[str]:
        return self._json(self.rasa + f"/webhooks/rest/notifications?sender={sender}")["messages"]

    def events(self, sender: str) -> list[dict[str, Any]]:
        tracker = self._json(self.rasa + f"/conversations/{sender}/tracker?token={self.token}")
        return tracker["events"]

    def factory(self):
        return make_session_factory(self.database.new_engine())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    model = latest_model()
    if model is None:
        pytest.fail("no trained model in models/: `make test` trains one first", pytrace=False)
    directory: Path = tmp_path_factory.mktemp("live-handoff")
    with isolated_database("sqlite", directory) as database:
        assert not import_catalog(database.new_factory()).failures
        add_staff(database.url, "canbo.an", "officer")
        token = secrets.token_hex(8)
        with loopback_stack(directory, database.url, model, api_token=token) as rasa, \
                console_server(database.url, ports=range(18450, 18500)) as console:
            yield Live(rasa, console, token, database)


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def held(citizen: str, handoff_id: int, *, first: bool = False) -> list[dict[str, Any]]:
    """The whole REST answer to a held turn: the marker that tells channels
    the silence is deliberate (bot/handoff_gate.py), preceded on the first
    message of the hold by the one short notice that an officer is handling it."""
    marker = {"recipient_id": citizen, "custom": {"handoff": {"status": "held", "id": handoff_id}}}
    if first:
        return [{"recipient_id": citizen, "text": handoff_gate.HELD_NOTICE_VI}, marker]
    return [marker]


def _active(live: Live, sender: str) -> handoff.HandoffView | None:
    with session_scope(live.factory()) as session:
        return handoff.active_for(session, sender, "rest")


def test_rest_citizen_officer_takes_over_and_the_assistant_is_silent(live: Live) -> None:
    citizen = f"rest-{secrets.token_hex(4)}"
    asked = live.say(citizen, ASK_FOR_PERSON)
    request = _active(live, citizen)
    assert request is not None and request.status == "open"
    assert f"số yêu cầu {request.id}" in texts(asked)
    # Waiting: the assistant still answers.
    assert "giấy tờ" in texts(live.say(citizen, QUESTION)).lower()

    with session_scope(live.factory()) as session:
        handoff.claim(session, request.id, "canbo.an")
    before = len(live.events(citizen))
    # Held: no answer, whatever the model makes of the messages.
    assert live.say(citizen, QUESTION) == held(citizen, request.id, first=True)
    assert live.say(citizen, "xin chào") == held(citizen, request.id)
    assert live.say(citizen, ASK_FOR_PERSON) == held(citizen, request.id)
    new = live.events(citizen)[before:]
    assert [e["event"] for e in new if e["event"] in ("user", "bot")] == [
        "user", "bot", "user", "user"
    ]
    assert not [e for e in new if e["event"] == "action" and e["name"] != "action_listen"]
    with session_scope(live.factory()) as session:
        got = [(m.author, m.text) for m in handoff.messages(session, request.id)]
        handoff.reply(session, request.id, "canbo.an", "Chào bạn, tôi là cán bộ An.")
    assert got == [
        ("citizen", QUESTION),  # written while waiting (the assistant answered it)
        ("system", "canbo.an đã nhận yêu cầu."),
        ("citizen", QUESTION),
        ("citizen", "xin chào"),
        ("citizen", ASK_FOR_PERSON),
    ]
    pulled = live.pull(citizen)
    assert pulled == [
        handoff.CLAIMED_NOTICE_VI.format(id=request.id),
        handoff.OFFICER_PREFIX_VI + "Chào bạn, tôi là cán bộ An.",
    ]
    # The citizen ends it by typing (the model never learnt the phrase).
    ended = live.say(citizen, "Quay lại trợ lý")
    assert [m.get("text") for m in ended] == [handoff.CITIZEN_ENDED_REPLY_VI]
    assert _active(live, citizen) is None
    assert "giấy tờ" in texts(live.say(citizen, QUESTION)).lower()


def shoot(page, name: str) -> None:
    """`TTHC_CONSOLE_SCREENSHOTS=docs` refreshes the README's pictures."""
    directory = screenshot_dir()
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(directory / f"console-{name}.png"))


def test_browser_officer_claims_replies_and_hands_back(live: Live) -> None:
    from playwright.sync_api import expect

    citizen = f"rest-{secrets.token_hex(4)}"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(20_000)
        page.goto(live.console + "/login?next=/handoffs")
        page.fill("input[name=username]", "canbo.an")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/handoffs")

        # The citizen asks for a person; the queue shows it without a reload.
        assert "số yêu cầu" in texts(live.say(citizen, ASK_FOR_PERSON))
        request = _active(live, citizen)
        assert request is not None
        row = page.locator(f"#waiting tr[data-handoff='{request.id}']")
        expect(row).to_be_visible()
        expect(page.locator("#new-handoff-alert")).to_be_visible()
        shoot(page, "handoffs")
        row.locator("button", has_text="Nhận").click()
        page.wait_for_url(f"**/handoffs/{request.id}*")

        # The citizen writes: it appears live; the assistant stays silent.
        assert live.say(citizen, "Tôi cần hỏi về giấy khai sinh của con") == held(
            citizen, request.id, first=True
        )
        expect(page.locator("#handoff-messages")).to_contain_text(
            "Tôi cần hỏi về giấy khai sinh của con"
        )
        page.fill("#reply-text", "Chào bạn, bạn cần bản sao giấy chứng sinh.")
        page.click("#send-reply")
        expect(page.locator("#handoff-messages li.officer")).to_contain_text(
            "bản sao giấy chứng sinh"
        )
        shoot(page, "handoff")
        deadline = time.monotonic() + 10
        pulled: list[str] = []
        while time.monotonic() < deadline and len(pulled) < 2:
            pulled += live.pull(citizen)
        assert pulled[-1] == (
            handoff.OFFICER_PREFIX_VI + "Chào bạn, bạn cần bản sao giấy chứng sinh."
        )
        assert live.say(citizen, QUESTION) == held(citizen, request.id)  # still silent

        page.click("#hand-back")
        page.wait_for_url("**/handoffs")
        assert live.pull(citizen) == [handoff.HANDED_BACK_NOTICE_VI.format(id=request.id)]
        assert "giấy tờ" in texts(live.say(citizen, QUESTION)).lower()
