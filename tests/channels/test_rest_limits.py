"""Issue 14 on the REST and web chat channels (real Sanic app on loopback,
registered the way Rasa registers channels): bounded bodies, cleaned and cut
text, every message answered, and the conversation-state endpoint the
Telegram process reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from channel_fakes import free_port
from rasa.core.channels.channel import UserMessage, register
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from bot.channels.inbound import EMPTY_REPLY, LIMITS
from bot.channels.rasa_client import FORWARDER_SECRET_ENV, FORWARDER_SECRET_HEADER
from bot.web.channel import RestChannel, WebChatChannel

DOMAIN = Domain.load("bot/domain")


class EchoAgent:
    """Stands in for Rasa's agent (a real in-memory tracker store)."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []
        self.tracker_store = InMemoryTrackerStore(DOMAIN)

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_response(
            message.sender_id, {"text": f"Bạn nói: {message.text[:50]}"}
        )


@contextlib.asynccontextmanager
async def running_rest() -> AsyncIterator[tuple[str, EchoAgent]]:
    Sanic.test_mode = True
    app = Sanic(f"rest_test_{uuid.uuid4().hex[:8]}")
    agent = EchoAgent()
    app.ctx.agent = agent
    register([RestChannel(), WebChatChannel()], app, route="/webhooks/")
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    try:
        yield f"http://127.0.0.1:{port}/webhooks", agent
    finally:
        server.close()
        await server.wait_closed()


def run(scenario: Any) -> None:
    asyncio.run(scenario())


@pytest.mark.parametrize("channel", ["rest", "webchat"])
def test_oversized_body_is_413_and_never_parsed(channel: str) -> None:
    async def scenario() -> None:
        async with running_rest() as (base, agent), httpx.AsyncClient() as client:
            body = {"sender": "a", "message": "x" * (2 * 1024 * 1024)}
            response = await client.post(f"{base}/{channel}/webhook", json=body)
            assert response.status_code == 413
            assert agent.messages == []

    run(scenario)


def test_text_is_cleaned_and_cut_before_the_nlu() -> None:
    async def scenario() -> None:
        async with running_rest() as (base, agent), httpx.AsyncClient() as client:
            raw = '{"sender": "a", "message": "' + "ab\\ud800c\\u0007" * 3000 + '"}'
            response = await client.post(f"{base}/rest/webhook", content=raw.encode())
            assert response.status_code == 200
            text = agent.messages[0].text
            assert len(text) <= LIMITS.max_text_chars
            text.encode("utf-8")  # no lone surrogate left
            assert "\x07" not in text

    run(scenario)


def test_an_empty_message_gets_an_answer_without_the_nlu() -> None:
    async def scenario() -> None:
        async with running_rest() as (base, agent), httpx.AsyncClient() as client:
            response = await client.post(
                f"{base}/rest/webhook", json={"sender": "a", "message": " \u200b\x00 "[0:2]}
            )
            assert response.status_code == 200
            assert response.json() == [{"recipient_id": "a", "text": EMPTY_REPLY}]
            assert agent.messages == []

    run(scenario)


def test_state_endpoint_reads_the_tracker_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORWARDER_SECRET_ENV, "s3cret")

    async def scenario() -> None:
        async with running_rest() as (base, agent), httpx.AsyncClient() as client:
            sender = "telegram:42"
            tracker = DialogueStateTracker.from_events(
                sender,
                [ActiveLoop("dossier_form"), SlotSet("requested_slot", "phone")],
                slots=DOMAIN.slots,
            )
            await agent.tracker_store.save(tracker)
            url = f"{base}/rest/state"
            assert (await client.get(url, params={"sender": sender})).status_code == 403
            headers = {FORWARDER_SECRET_HEADER: "s3cret"}
            response = await client.get(url, params={"sender": sender}, headers=headers)
            assert response.json() == {"active_loop": "dossier_form", "requested_slot": "phone"}
            other = await client.get(url, params={"sender": "nobody"}, headers=headers)
            assert other.json() == {"active_loop": "", "requested_slot": ""}
            assert (await client.get(url, headers=headers)).status_code == 400

    run(scenario)


def test_malformed_bodies_are_400_not_500() -> None:
    async def scenario() -> None:
        async with running_rest() as (base, _agent), httpx.AsyncClient() as client:
            for raw in [b"", b"\xff\xfe", b"[]", b'{"sender": 1}', json.dumps(
                {"sender": "a", "message": "x", "input_channel": ["telegram"]}).encode()]:
                response = await client.post(f"{base}/rest/webhook", content=raw)
                assert response.status_code == 400, raw

    run(scenario)


def test_a_turn_without_any_reply_still_answers() -> None:
    from bot.channels.inbound import NO_REPLY_FALLBACK

    class SilentAgent(EchoAgent):
        async def handle_message(self, message: UserMessage) -> None:
            self.messages.append(message)  # e.g. "/restart": Rasa says nothing

    async def scenario() -> None:
        async with running_rest() as (base, agent), httpx.AsyncClient() as client:
            agent.__class__ = SilentAgent
            response = await client.post(
                f"{base}/rest/webhook", json={"sender": "a", "message": "/restart"}
            )
            assert response.json() == [{"recipient_id": "a", "text": NO_REPLY_FALLBACK}]

    run(scenario)
