"""👍/👎 under a pushed notification (a finished dossier), per channel, with
the loopback fakes: the outbox dispatcher sends through the real senders and
a tap reaches Rasa exactly as a button tap in the chat does."""

from __future__ import annotations

import asyncio
from pathlib import Path

from channel_fakes import FakeZalo, wait_for
from sqlalchemy.orm import sessionmaker
from test_telegram import CHAT, running_bot

from bot.channels.senders import TelegramSender, ZaloSender
from bot.channels.store import CALLBACK_PREFIX, ChannelStore
from bot.channels.zalo_api import BUTTON_TYPE, ZaloClient, ZaloConfig
from bot.web.channel import socketio_message
from core.db import session_scope
from dossiers.outbox import OutboxDispatcher, enqueue_notification
from dossiers.rating_buttons import rating_buttons

CODE = "HS-7K2M-Q9XD"
TEXT = f"Hồ sơ {CODE} đã có kết quả."


def _enqueue(factory: sessionmaker, channel: str, recipient: str) -> None:
    with session_scope(factory) as session:
        enqueue_notification(
            session, channel, recipient, TEXT, buttons=rating_buttons("dossier", CODE)
        )
        enqueue_notification(session, channel, recipient, "Tin không có nút")


def test_telegram_notification_buttons_are_one_tap_through_the_bridge(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    _enqueue(session_factory, "telegram", f"telegram:{CHAT}")
    buttons = rating_buttons("dossier", CODE)

    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            sender = TelegramSender(
                telegram.token, telegram.api_base_url, store=ChannelStore(session_factory)
            )
            dispatcher = OutboxDispatcher(session_factory, {"telegram": sender})
            assert await asyncio.to_thread(dispatcher.dispatch_once) == 2
            sent = {p["text"]: p for p in telegram.called("sendMessage")}
            assert "reply_markup" not in sent["Tin không có nút"]
            rows = sent[TEXT]["reply_markup"]["inline_keyboard"]
            assert [row[0]["text"] for row in rows] == [b["title"] for b in buttons]
            datas = [row[0]["callback_data"] for row in rows]
            assert all(d.startswith(CALLBACK_PREFIX) and len(d.encode()) <= 64 for d in datas)
            assert all(len(b["payload"].encode()) > 64 for b in buttons)  # ids are needed

            # The citizen taps 👎 in the pushed message: the bridge (another
            # process in production; same database) forwards the stored payload.
            telegram.push(telegram.callback(CHAT, datas[1]))
            await wait_for(lambda: rasa.received)
            assert rasa.received[0] == {
                "sender": f"telegram:{CHAT}",
                "message": buttons[1]["payload"],
                "input_channel": "telegram",
            }
            sender.close()

    asyncio.run(scenario())


def test_zalo_notification_buttons_come_back_as_the_payload(
    session_factory: sessionmaker, store: ChannelStore
) -> None:
    _enqueue(session_factory, "zalo", "zalo:777")
    buttons = rating_buttons("dossier", CODE)

    async def scenario() -> None:
        async with FakeZalo() as zalo:
            config = ZaloConfig(app_id="1", access_token="AT-1", api_base_url=zalo.url)
            dispatcher = OutboxDispatcher(
                session_factory, {"zalo": ZaloSender(ZaloClient(config, store))}
            )
            assert await asyncio.to_thread(dispatcher.dispatch_once) == 2
            by_text = {m["message"]["text"]: m["message"] for m in zalo.messages}
            assert "attachment" not in by_text["Tin không có nút"]
            template = by_text[TEXT]["attachment"]
            assert template["type"] == "template"
            # oa.query.show: a tap comes back as the citizen's message = the
            # payload, which the Zalo bridge sends to Rasa like any text.
            assert template["payload"]["buttons"] == [
                {"title": b["title"], "type": BUTTON_TYPE, "payload": b["payload"]}
                for b in buttons
            ]

    asyncio.run(scenario())


def test_socketio_messages_use_rasas_quick_replies() -> None:
    buttons = rating_buttons("dossier", CODE)
    assert socketio_message({"text": "Tin"}) == {"text": "Tin"}
    assert socketio_message({"text": TEXT, "buttons": buttons}) == {
        "text": TEXT,
        "quick_replies": [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]}
            for b in buttons
        ],
    }
