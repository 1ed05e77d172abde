"""Telegram end to end: the real python-telegram-bot stack against a fake Bot
API server on loopback, forwarding to the REAL Rasa server and action server
(tests/e2e/conftest.py). A citizen asks, presses a button (short callback id),
files a dossier through the form; the dossier is stored with the Telegram
channel; an officer's status change reaches the chat exactly once through the
outbox dispatcher and the Telegram sender."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "channels"))

from channel_fakes import FakeTelegram, wait_for

from bot.channels.attachments import AttachmentStore
from bot.channels.senders import TelegramSender
from bot.channels.store import ChannelStore
from bot.channels.telegram import TelegramSettings, build_application
from core.db import session_scope
from dossiers.codes import DOSSIER_CODE_PATTERN
from dossiers.orm import Dossier
from dossiers.outbox import OutboxDispatcher
from dossiers.service import change_status
from tests.e2e.applicants import TEMPORARY_RESIDENCE
from tests.e2e.conftest import Servers

pytestmark = pytest.mark.slow

CHAT = 424242
SENDER = f"telegram:{CHAT}"
ANSWERS = TEMPORARY_RESIDENCE


def test_telegram_conversation_to_stored_dossier_and_notification(
    servers: Servers, tmp_path: Path
) -> None:
    factory = servers.database.new_factory()

    async def scenario() -> tuple[str, FakeTelegram]:
        async with FakeTelegram() as telegram:
            settings = TelegramSettings(
                token=telegram.token,
                api_base_url=telegram.api_base_url,
                rasa_url=servers.base,
                per_chat_rate=100.0,
            )
            application = build_application(
                settings,
                store=ChannelStore(factory),
                attachments=AttachmentStore(factory, tmp_path / "attachments"),
            )

            async def say(update: dict[str, Any]) -> list[dict[str, Any]]:
                before = len(telegram.called("sendMessage"))
                telegram.push(update)
                await wait_for(lambda: len(telegram.called("sendMessage")) > before, 60)
                await asyncio.sleep(0.3)  # the rest of a multi-message reply
                return telegram.called("sendMessage")[before:]

            async with application:
                await application.start()
                await application.updater.start_polling(poll_interval=0, timeout=1)
                try:
                    replies = await say(telegram.message(CHAT, "đăng ký tạm trú cần giấy tờ gì"))
                    keyboards = [r["reply_markup"] for r in replies if r.get("reply_markup")]
                    assert keyboards, "the answer offers next-question buttons"
                    buttons = [b for row in _rows(keyboards[-1]) for b in row]
                    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
                    fee = next(b for b in buttons if "phí" in b["text"].lower())
                    replies = await say(telegram.callback(CHAT, fee["callback_data"]))
                    assert "phí" in " ".join(r["text"] for r in replies).lower()
                    assert telegram.called("answerCallbackQuery")

                    await say(telegram.message(CHAT, "tôi muốn nộp hồ sơ đăng ký tạm trú"))
                    for _ in range(30):
                        slot = servers.requested_slot(SENDER)
                        if slot is None or slot == "dossier_confirmed":
                            break
                        await say(telegram.message(CHAT, ANSWERS[slot]))
                    replies = await say(telegram.message(CHAT, "Xác nhận"))
                    match = DOSSIER_CODE_PATTERN.search(" ".join(r["text"] for r in replies))
                    assert match, replies
                    return match.group(0).upper(), telegram
                finally:
                    await application.updater.stop()
                    await application.stop()

    async def run() -> None:
        code, _ = await scenario()
        with session_scope(factory) as session:
            dossier = session.query(Dossier).filter_by(code=code).one()
            assert (dossier.channel, dossier.sender_id) == ("telegram", SENDER)
            assert dossier.procedure_code == "1.004194"
            change_status(session, code, "received", actor="officer:e2e", note="Đã tiếp nhận.")
        async with FakeTelegram() as telegram:
            sender = TelegramSender(telegram.token, telegram.api_base_url)
            dispatcher = OutboxDispatcher(factory, {"telegram": sender})
            loop = asyncio.get_running_loop()
            delivered = await loop.run_in_executor(None, dispatcher.dispatch_once)
            again = await loop.run_in_executor(None, dispatcher.dispatch_once)
            sender.close()
            assert (delivered, again) == (1, 0)
            [text] = telegram.sent_texts(CHAT)
            assert code in text and "Đã tiếp nhận." in text

    asyncio.run(run())


def _rows(markup: Any) -> list[list[dict[str, Any]]]:
    import json

    data = json.loads(markup) if isinstance(markup, str) else markup
    return data["inline_keyboard"]
