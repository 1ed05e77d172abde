"""Issue 14 on the Zalo OA channel (real Sanic app, fake OA API on loopback):
bounded bodies and text, a timestamp window against replays, captions read,
attachments only when a form waits, every kind of event answered."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from channel_fakes import wait_for
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select
from test_zalo import APP_ID, OA_SECRET, USER, event, post, running_channel

from bot.channels.inbound import LIMITS, NO_FORM_ATTACHMENT_REPLY, UNSUPPORTED_REPLIES
from bot.channels.store import ChannelStore
from bot.channels.zalo import event_is_fresh, event_signature

DOMAIN = Domain.load("bot/domain")
JPEG = b"\xff\xd8\xff\xe0" + b"7" * 256


def image_event(msg_id: str, url: str, caption: str = "") -> dict:
    body = event(caption, msg_id, name="user_send_image")
    body["message"]["attachments"] = [
        {"type": "image", "payload": {"url": url, "thumbnail": url}}
    ]
    return body


def test_a_two_megabyte_signed_body_is_refused_before_parsing(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, channel):
            body = event("x" * (2 * 1024 * 1024), "big-1")
            async with httpx.AsyncClient() as client:
                response = await post(client, url, body)
            assert response.status_code == 413
            await channel.wait_idle()
            assert agent.messages == [] and zalo.messages == []

    asyncio.run(scenario())


def test_long_text_is_cut_before_rasa(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, channel):
            async with httpx.AsyncClient() as client:
                response = await post(client, url, event("thủ tục " * 3000, "long-1"))
            assert response.status_code == 200
            await channel.wait_idle()
            assert len(agent.messages[0].text) <= LIMITS.max_text_chars
            assert "chỉ đọc phần đầu" in zalo.messages[0]["message"]["text"]

    asyncio.run(scenario())


def test_old_events_with_new_msg_ids_are_not_handled(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, channel):
            stale = event("Xin chào", "old-1")
            stale["timestamp"] = str(int((time.time() - 3 * 86400) * 1000))  # 3 days old
            future = event("Xin chào", "future-1")
            future["timestamp"] = str(int((time.time() + 3600) * 1000))
            async with httpx.AsyncClient() as client:
                for body in (stale, future):
                    response = await post(client, url, body)
                    assert response.status_code == 200
                    assert response.json() == {"status": "expired"}
            await channel.wait_idle()
            assert agent.messages == [] and zalo.messages == []

    asyncio.run(scenario())


def test_timestamp_window_bounds() -> None:
    now = 1_800_000_000_000
    assert event_is_fresh({"timestamp": str(now - 60_000)}, now)
    assert event_is_fresh({"timestamp": now - LIMITS.zalo_max_event_age_s * 1000}, now)
    assert not event_is_fresh({"timestamp": now - LIMITS.zalo_max_event_age_s * 1000 - 1}, now)
    assert not event_is_fresh({"timestamp": now + LIMITS.zalo_max_clock_skew_s * 1000 + 1}, now)
    for bad in (None, "", "abc", "nan", [], {}):
        assert not event_is_fresh({"timestamp": bad}, now)


def test_image_caption_is_answered_and_the_image_not_kept_without_a_form(
    store: ChannelStore,
) -> None:
    question = "tôi bị mất sổ đỏ thì làm lại thế nào"

    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, channel):
            agent.tracker_store = InMemoryTrackerStore(DOMAIN)
            zalo.files["p1.jpg"] = JPEG
            body = image_event("img-1", f"{zalo.url}/files/p1.jpg", caption=question)
            async with httpx.AsyncClient() as client:
                assert (await post(client, url, body)).status_code == 200
            await channel.wait_idle()
            assert [m.text for m in agent.messages] == [question]
            texts = [m["message"]["text"] for m in zalo.messages]
            assert texts == [NO_FORM_ATTACHMENT_REPLY, f"Bạn nói: {question}"]
            assert zalo.file_requests == []  # not even downloaded

    asyncio.run(scenario())
    assert _attachments(store) == []


def test_image_is_kept_while_the_form_waits(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, channel):
            agent.tracker_store = InMemoryTrackerStore(DOMAIN)
            tracker = DialogueStateTracker.from_events(
                f"zalo:{USER}",
                [ActiveLoop("dossier_form"), SlotSet("requested_slot", "address")],
                slots=DOMAIN.slots,
            )
            await agent.tracker_store.save(tracker)
            zalo.files["p2.jpg"] = JPEG
            body = image_event("img-2", f"{zalo.url}/files/p2.jpg", caption="CCCD mặt trước")
            async with httpx.AsyncClient() as client:
                assert (await post(client, url, body)).status_code == 200
            await channel.wait_idle()
            # The caption is not taken as the address the form asks for.
            assert agent.messages == []
            await wait_for(lambda: zalo.messages)
            assert "Đã nhận tệp" in zalo.messages[0]["message"]["text"]

    asyncio.run(scenario())
    rows = _attachments(store)
    assert [(r.sender_id, r.content_type, r.size_bytes) for r in rows] == [
        (f"zalo:{USER}", "image/jpeg", len(JPEG))
    ]


def test_every_kind_of_event_gets_one_answer(store: ChannelStore) -> None:
    kinds = {
        "user_send_sticker": "sticker",
        "user_send_gif": "sticker",
        "user_send_audio": "voice",
        "user_send_video": "video",
        "user_send_location": "location",
        "user_send_business_card": "contact",
        "user_send_something_new": "unsupported",
    }

    async def scenario() -> None:
        async with running_channel(store) as (url, zalo, agent, channel):
            agent.tracker_store = InMemoryTrackerStore(DOMAIN)
            async with httpx.AsyncClient() as client:
                for index, name in enumerate(kinds):
                    body = event("", f"kind-{index}", name=name)
                    assert (await post(client, url, body)).status_code == 200
                    await channel.wait_idle()
            texts = [m["message"]["text"] for m in zalo.messages]
            assert texts == [UNSUPPORTED_REPLIES[kind] for kind in kinds.values()]
            assert agent.messages == []

    asyncio.run(scenario())


def test_signature_still_checked_on_streamed_bodies(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with running_channel(store) as (url, _zalo, agent, channel):
            body = event("Xin chào", "sig-1")
            raw = json.dumps(body).encode()
            good = event_signature(APP_ID, raw, body["timestamp"], OA_SECRET)
            async with httpx.AsyncClient() as client:
                assert (await post(client, url, raw, signature=good)).status_code == 200
            await channel.wait_idle()
            assert len(agent.messages) == 1

    asyncio.run(scenario())


def _attachments(store: ChannelStore) -> list:
    from dossiers.orm import Attachment

    with store.session_factory() as session:
        return list(session.execute(select(Attachment)).scalars())
