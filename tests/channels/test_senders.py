"""Outbox senders against the loopback fakes, and through the real dispatcher."""

from __future__ import annotations

import asyncio

import pytest
from channel_fakes import FakeTelegram, FakeZalo
from sqlalchemy.orm import sessionmaker

from bot.channels.senders import TelegramSender, TelegramSendError, ZaloSender, senders_from_env
from bot.channels.store import ChannelStore
from bot.channels.zalo_api import ZaloClient, ZaloConfig


def test_telegram_sender_sends_and_splits(tmp_path) -> None:
    async def scenario() -> None:
        async with FakeTelegram() as telegram:
            sender = TelegramSender(telegram.token, telegram.api_base_url)
            await asyncio.to_thread(sender.send, "telegram:555", "Hồ sơ đã được tiếp nhận.")
            long_text = ("Kết quả giải quyết hồ sơ. " * 400).strip()
            await asyncio.to_thread(sender.send, "555", long_text)
            texts = telegram.sent_texts(555)
            assert texts[0] == "Hồ sơ đã được tiếp nhận."
            assert len(texts) == 4 and all(len(t) <= 4096 for t in texts[1:])

            telegram.failing_chats.add(556)
            with pytest.raises(TelegramSendError, match="chat not found"):
                await asyncio.to_thread(sender.send, "telegram:556", "x")
            sender.close()

    asyncio.run(scenario())


def test_zalo_sender_refreshes_an_expired_token(store: ChannelStore) -> None:
    async def scenario() -> None:
        async with FakeZalo() as zalo:
            config = ZaloConfig(
                app_id="1",
                app_secret="s",
                access_token="AT-1",
                refresh_token="RT-1",
                api_base_url=zalo.url,
                oauth_base_url=zalo.url,
            )
            sender = ZaloSender(ZaloClient(config, store))
            zalo.expire_token()
            await asyncio.to_thread(sender.send, "zalo:777", "Hồ sơ cần bổ sung giấy tờ.")
            assert zalo.messages == [
                {"recipient": {"user_id": "777"}, "message": {"text": "Hồ sơ cần bổ sung giấy tờ."}}
            ]
            assert store.load_token("zalo:1").refresh_token == "RT-2"

    asyncio.run(scenario())


def test_senders_from_env_configures_the_channels_that_are_set() -> None:
    assert senders_from_env({}) == {}
    senders = senders_from_env(
        {"TELEGRAM_BOT_TOKEN": "1:x", "ZALO_ACCESS_TOKEN": "a", "ZALO_APP_ID": "9"}
    )
    assert sorted(senders) == ["telegram", "zalo"]
    assert senders["zalo"].client.config.app_id == "9"  # type: ignore[attr-defined]


def test_outbox_dispatcher_delivers_through_the_senders(
    session_factory: sessionmaker, store: ChannelStore
) -> None:
    from dossiers.orm import Notification
    from dossiers.outbox import OutboxDispatcher

    with session_factory() as session:
        session.add_all(
            [
                Notification(channel="telegram", recipient="telegram:555", text="Đã tiếp nhận"),
                Notification(channel="zalo", recipient="zalo:777", text="Đã có kết quả"),
            ]
        )
        session.commit()

    async def scenario() -> None:
        async with FakeTelegram() as telegram, FakeZalo() as zalo:
            config = ZaloConfig(app_id="1", access_token="AT-1", api_base_url=zalo.url)
            senders = {
                "telegram": TelegramSender(telegram.token, telegram.api_base_url),
                "zalo": ZaloSender(ZaloClient(config, store)),
            }
            dispatcher = OutboxDispatcher(session_factory, senders)
            assert await asyncio.to_thread(dispatcher.dispatch_once) == 2
            assert telegram.sent_texts(555) == ["Đã tiếp nhận"]
            assert zalo.messages[0]["message"]["text"] == "Đã có kết quả"

    asyncio.run(scenario())
