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


def test_zalo_permanent_error_marks_the_notification_undeliverable_at_once(
    session_factory: sessionmaker, store: ChannelStore, caplog: pytest.LogCaptureFixture
) -> None:
    from dossiers.orm import Notification
    from dossiers.outbox import OutboxDispatcher

    with session_factory() as session:
        session.add(Notification(channel="zalo", recipient="zalo:778", text="Đã có kết quả"))
        session.commit()

    async def scenario() -> None:
        async with FakeZalo() as zalo:
            zalo.user_errors["778"] = -230
            config = ZaloConfig(app_id="1", access_token="AT-1", api_base_url=zalo.url)
            dispatcher = OutboxDispatcher(
                session_factory, {"zalo": ZaloSender(ZaloClient(config, store))}
            )
            assert await asyncio.to_thread(dispatcher.dispatch_once) == 0
            # Nothing is due any more: no second attempt.
            assert await asyncio.to_thread(dispatcher.claim_due) == []

    with caplog.at_level("WARNING"):
        asyncio.run(scenario())
    with session_factory() as session:
        row = session.query(Notification).one()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "7 ngày" in row.last_error and "-230" in row.last_error
    assert "778" not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)


def test_zalo_reply_path_logs_business_errors_as_warnings_without_traceback(
    store: ChannelStore, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.channels.zalo import ZaloOutput

    async def scenario() -> None:
        async with FakeZalo() as zalo:
            zalo.user_errors["779"] = -230
            config = ZaloConfig(app_id="1", access_token="AT-1", api_base_url=zalo.url)
            output = ZaloOutput(ZaloClient(config, store))
            await output.send_text_message("zalo:779", "Chào anh/chị")

    with caplog.at_level("WARNING"):
        asyncio.run(scenario())
    warnings = [r for r in caplog.records if r.name == "bot.channels.zalo"]
    assert [r.levelname for r in warnings] == ["WARNING"]
    assert warnings[0].exc_info is None and "-230" in warnings[0].getMessage()
    assert "779" not in caplog.text


def test_telegram_blocked_by_the_citizen_is_permanent() -> None:
    assert TelegramSendError("sendMessage failed: Forbidden: bot was blocked", 403).permanent
    assert TelegramSendError("sendMessage failed: Bad Request: chat not found", 400).permanent
    assert not TelegramSendError("sendMessage failed: Too Many Requests", 429).permanent
