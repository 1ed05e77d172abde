"""The Zalo OA input channel inside a real Sanic app on loopback (registered the
way Rasa registers channels), replying through a fake OA API on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from channel_fakes import FakeZalo, free_port, wait_for
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from bot.channels.inbound import UNSUPPORTED_REPLIES
from bot.channels.store import ChannelStore
from bot.channels.zalo import ZaloConfig, ZaloInput, event_signature

APP_ID = "4321"
OA_SECRET = "oa-secret-key"
USER = "8841234567890"


class EchoAgent:
    """Stands in for Rasa's agent: answers through the message's output channel."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_response(
            message.sender_id,
            {
                "text": f"Bạn nói: {message.text}",
                "buttons": [{"title": "Nộp hồ sơ", "payload": "/nop_ho_so"}],
            },
        )


def event(text: str, msg_id: str, name: str = "user_send_text") -> dict[str, Any]:
    return {
        "app_id": APP_ID,
        "user_id_by_app": "999",
        "event_name": name,
        "timestamp": str(int(time.time() * 1000)),
        "sender": {"id": USER},
        "recipient": {"id": "oa-1"},
        "message": {"text": text, "msg_id": msg_id},
    }


@contextlib.asynccontextmanager
async def running_channel(
    store: ChannelStore,
) -> AsyncIterator[tuple[str, FakeZalo, EchoAgent, ZaloInput]]:
    async with FakeZalo() as zalo:
        config = ZaloConfig(
            app_id=APP_ID,
            app_secret="app-secret",
            oa_secret_key=OA_SECRET,
            access_token="AT-1",
            refresh_token="RT-1",
            api_base_url=zalo.url,
            oauth_base_url=zalo.url,
        )
        channel = ZaloInput(config, store)
        # Test mode: several apps in one process (Sanic 21.12's start-up code
        # rewriting otherwise breaks on the second one, as in Rasa's own tests).
        Sanic.test_mode = True
        app = Sanic(f"zalo_test_{uuid.uuid4().hex[:8]}")
        agent = EchoAgent()
        app.ctx.agent = agent
        register([channel], app, route="/webhooks/")
        port = free_port()  # Sanic treats port 0 as "default 8000"
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        await server.startup()
        try:
            yield f"http://127.0.0.1:{port}/webhooks/zalo/webhook", zalo, agent, channel
        finally:
            await channel.wait_idle()
            server.close()
            await server.wait_closed()
            channel.client.close()


async def post(
    client: httpx.AsyncClient, url: str, body: dict[str, Any] | bytes, signature: str | None = ""
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "" and isinstance(body, dict):
        signature = event_signature(body["app_id"], raw, body["timestamp"], OA_SECRET)
    if signature:
        headers["X-ZEvent-Signature"] = signature
    return await client.post(url, content=raw, headers=headers)


def test_signed_text_event_gets_a_reply_with_buttons(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, _channel):
            async with httpx.AsyncClient() as client:
                response = await post(client, url, event("Xin chào", "m-1"))
            assert response.status_code == 200
            await wait_for(lambda: zalo.messages)
            assert agent.messages[0].sender_id == f"zalo:{USER}"
            assert agent.messages[0].input_channel == "zalo"
            assert zalo.message_headers == ["AT-1"]
            assert zalo.messages == [
                {
                    "recipient": {"user_id": USER},
                    "message": {
                        "text": "Bạn nói: Xin chào",
                        "attachment": {
                            "type": "template",
                            "payload": {
                                "buttons": [
                                    {
                                        "title": "Nộp hồ sơ",
                                        "type": "oa.query.show",
                                        "payload": "/nop_ho_so",
                                    }
                                ]
                            },
                        },
                    },
                }
            ]

    asyncio.run(scenario())


def test_bad_or_missing_signature_is_403_and_nothing_is_processed(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, channel):
            async with httpx.AsyncClient() as client:
                body = event("giả mạo", "m-2")
                wrong = "mac=" + "0" * 64
                assert (await post(client, url, body, signature=wrong)).status_code == 403
                assert (await post(client, url, body, signature=None)).status_code == 403
                # Signed with another secret.
                raw = json.dumps(body, ensure_ascii=False).encode()
                forged = event_signature(APP_ID, raw, body["timestamp"], "not-the-secret")
                assert (await post(client, url, raw, signature=forged)).status_code == 403
                # Body altered after signing.
                good = event_signature(APP_ID, raw, body["timestamp"], OA_SECRET)
                tampered = raw.replace("giả mạo".encode(), b"tampered")
                assert (await post(client, url, tampered, signature=good)).status_code == 403
            await channel.wait_idle()
            assert agent.messages == [] and zalo.messages == []
            # Rejected deliveries were not recorded: the real one still goes through.
            assert store.first_delivery("zalo", "m-2") is True

    asyncio.run(scenario())


def test_malformed_json_is_400(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, _zalo, agent, _channel):
            async with httpx.AsyncClient() as client:
                response = await post(client, url, b"{not json", signature="mac=" + "a" * 64)
            assert response.status_code == 400
            assert agent.messages == []

    asyncio.run(scenario())


def test_same_msg_id_twice_gives_one_reply(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, channel):
            async with httpx.AsyncClient() as client:
                first = await post(client, url, event("Làm CCCD", "m-3"))
                second = await post(client, url, event("Làm CCCD", "m-3"))
            assert (first.status_code, second.status_code) == (200, 200)
            await channel.wait_idle()
            assert len(agent.messages) == 1
            assert len(zalo.messages) == 1

    asyncio.run(scenario())


def test_non_text_event_gets_a_polite_answer(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, channel):
            body = event("", "m-4", name="user_send_sticker")
            async with httpx.AsyncClient() as client:
                assert (await post(client, url, body)).status_code == 200
            await channel.wait_idle()
            assert agent.messages == []
            assert zalo.messages[0]["message"]["text"] == UNSUPPORTED_REPLIES["sticker"]

    asyncio.run(scenario())


def test_expired_token_is_refreshed_stored_and_the_send_retried(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, _agent, channel):
            zalo.expire_token()
            async with httpx.AsyncClient() as client:
                assert (await post(client, url, event("Xin chào", "m-5"))).status_code == 200
            await channel.wait_idle()
            assert zalo.message_headers == ["AT-1", "AT-2"]
            assert len(zalo.messages) == 1
            assert zalo.refresh_requests == [
                {
                    "form": {
                        "app_id": APP_ID,
                        "grant_type": "refresh_token",
                        "refresh_token": "RT-1",
                    },
                    "secret_key": "app-secret",
                }
            ]
        # Durable: a fresh store (another process) sees the new single-use pair.
        row = ChannelStore(store.session_factory).load_token(f"zalo:{APP_ID}")
        assert (row.access_token, row.refresh_token) == ("AT-2", "RT-2")

    asyncio.run(scenario())


def test_long_replies_are_split_at_2000_characters(store: ChannelStore) -> None:
    from bot.channels.zalo_api import ZaloClient

    async def scenario() -> None:
        async with FakeZalo() as zalo:
            config = ZaloConfig(
                app_id=APP_ID, access_token="AT-1", refresh_token="RT-1", api_base_url=zalo.url
            )
            client = ZaloClient(config, store)
            text = "\n".join(f"Bước {i}: nộp tờ khai tại bộ phận một cửa." for i in range(120))
            await asyncio.to_thread(client.send_text, f"zalo:{USER}", text)
            client.close()
            parts = [m["message"]["text"] for m in zalo.messages]
            assert len(parts) >= 3
            assert all(len(p) <= 2000 for p in parts)
            assert "\n".join(parts) == text

    asyncio.run(scenario())
