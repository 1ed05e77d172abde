"""Upload endpoint rate limits (bot.supplement_uploads, core.ratelimit): per
sender, per remote address and per dossier, counted in the database so two
app instances (two Rasa processes) share them; over the limit a 429 with
Retry-After and a polite re-ask; files accepted before are kept."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from channel_fakes import free_port
from sanic import Blueprint, Sanic
from sqlalchemy import func, select

from bot.supplement_uploads import add_upload_route
from core.db import dispose_engines, session_scope
from core.wording import say
from dossiers import supplements
from dossiers.orm import Attachment
from dossiers.service import change_status, submit_dossier
from tests.conftest import DATABASE_KINDS, TestDatabase, isolated_database
from tests.dossiers.test_dossiers_service import make_request

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(params=DATABASE_KINDS)
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    with isolated_database(request.param, tmp_path) as database:
        monkeypatch.setenv("TTHC_DATABASE_URL", database.url)
        monkeypatch.setenv("TTHC_ATTACHMENTS_DIR", str(tmp_path / "files"))
        monkeypatch.setenv("TTHC_RATE_LIMIT_STORE", "database")
        monkeypatch.setenv("TTHC_RATE_LIMIT_UPLOAD_PER_SENDER", "2")
        monkeypatch.setenv("TTHC_RATE_LIMIT_UPLOAD_PER_ADDRESS", "4")
        monkeypatch.setenv("TTHC_RATE_LIMIT_UPLOAD_PER_DOSSIER", "3")
        dispose_engines()
        try:
            yield database
        finally:
            dispose_engines()


@contextlib.asynccontextmanager
async def two_instances(active_loop: str) -> AsyncIterator[list[str]]:
    """Two Sanic apps with the upload route (as two Rasa processes), whose
    conversation state says `active_loop`."""
    Sanic.test_mode = True
    servers, urls = [], []

    async def state(request: Any, sender: str) -> dict[str, str]:
        return {"active_loop": active_loop, "requested_slot": ""}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("bot.web.channel.conversation_state", state)
        for _ in range(2):
            app = Sanic(f"upload_{uuid.uuid4().hex[:8]}")
            blueprint = Blueprint(f"webchat_{uuid.uuid4().hex[:8]}", url_prefix="/webhooks/webchat")
            add_upload_route(blueprint, "webchat")
            app.blueprint(blueprint)
            port = free_port()
            server = await app.create_server(
                host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
            )
            await server.startup()
            servers.append(server)
            urls.append(f"http://127.0.0.1:{port}/webhooks/webchat/upload")
        try:
            yield urls
        finally:
            for server in servers:
                server.close()
                await server.wait_closed()


async def upload(client: httpx.AsyncClient, url: str, sender: str, name: str) -> httpx.Response:
    return await client.post(url, data={"sender": sender}, files={"file": (name, PNG, "image/png")})


def stored(db: TestDatabase, sender: str) -> int:
    with session_scope(db.new_factory()) as session:
        return session.execute(
            select(func.count(Attachment.id)).where(Attachment.sender_id == sender)
        ).scalar_one()


def test_sender_limit_shared_by_two_instances_with_a_polite_429(db: TestDatabase) -> None:
    async def scenario() -> None:
        async with two_instances("dossier_form") as urls, httpx.AsyncClient() as client:
            first = await upload(client, urls[0], "web-1", "cccd.png")
            second = await upload(client, urls[1], "web-1", "anh.png")
            assert (first.status_code, second.status_code) == (200, 200)
            refused = await upload(client, urls[0], "web-1", "them.png")
            assert refused.status_code == 429
            seconds = int(refused.headers["Retry-After"])
            assert 1 <= seconds <= 60
            body = refused.json()
            assert body == {
                "error": "rate_limited",
                "text": say("channel.file.too_many", seconds=seconds),
                "retry_after": seconds,
            }
            assert "đã nhận trước đó vẫn" in body["text"]
            # Another sender is not affected (until the address limit of 4).
            other = await upload(client, urls[1], "web-2", "cccd.png")
            assert other.status_code == 200
            # Four uploads from this address so far (the refused one counts):
            # the address limit refuses the next one, whatever the sender.
            last = await upload(client, urls[1], "web-3", "cccd.png")
            assert last.status_code == 429 and last.json()["error"] == "rate_limited"

    asyncio.run(scenario())
    # The two accepted files are kept; the refused ones were never stored.
    assert stored(db, "web-1") == 2
    assert stored(db, "web-2") == 1 and stored(db, "web-3") == 0


def test_dossier_limit_for_supplements(db: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTHC_RATE_LIMIT_UPLOAD_PER_SENDER", "10")
    factory = db.new_factory()
    with session_scope(factory) as session:
        request = make_request(sender="web-9", channel="webchat")
        code = submit_dossier(session, request, deliver=False).code
    for status in ("received", "processing"):
        with session_scope(factory) as session:
            change_status(session, code, status, actor="officer:1")
    with session_scope(factory) as session:
        supplements.request_supplement(session, code, ["Bản sao CCCD"], actor="officer")

    async def scenario() -> None:
        async with two_instances("") as urls, httpx.AsyncClient() as client:
            answers = [await upload(client, urls[i % 2], "web-9", f"f{i}.png") for i in range(4)]
            assert [a.status_code for a in answers] == [200, 200, 200, 429]
            assert code in answers[0].json()["text"]
            assert answers[3].json()["error"] == "rate_limited"

    asyncio.run(scenario())
    assert stored(db, "web-9") == 3
