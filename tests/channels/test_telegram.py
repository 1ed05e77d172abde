"""The Telegram bot end to end over loopback: the real python-telegram-bot
stack (polling and webhook) against a fake Bot API server and a fake Rasa
REST endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from channel_fakes import FakeRasa, FakeTelegram, Reply, free_port, wait_for
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.channels.attachments import AttachmentStore
from bot.channels.store import ChannelStore
from bot.channels.telegram import (
    EXPIRED_BUTTON_REPLY,
    NO_FORM_REPLY,
    RASA_DOWN_REPLY,
    TelegramSettings,
    build_application,
)

CHAT = 111


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path,
    session_factory: sessionmaker,
    reply: Reply | None = None,
    *,
    per_chat_rate: float = 100.0,
    webhook: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[FakeTelegram, FakeRasa]]:
    async with FakeTelegram() as telegram, FakeRasa(reply) as rasa:
        settings = TelegramSettings(
            token=telegram.token,
            api_base_url=telegram.api_base_url,
            rasa_url=rasa.url,
            per_chat_rate=per_chat_rate,
        )
        application = build_application(
            settings,
            store=ChannelStore(session_factory),
            attachments=AttachmentStore(session_factory, tmp_path / "attachments"),
        )
        async with application:
            await application.start()
            if webhook is None:
                await application.updater.start_polling(poll_interval=0, timeout=1)
            else:
                await application.updater.start_webhook(**webhook)
            try:
                yield telegram, rasa
            finally:
                await application.updater.stop()
                await application.stop()


def test_message_is_forwarded_to_rasa_and_the_reply_sent(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            telegram.push(telegram.message(CHAT, "Làm hộ chiếu cần giấy tờ gì?"))
            await wait_for(lambda: telegram.sent_texts(CHAT))
            assert rasa.received[0] == {
                "sender": f"telegram:{CHAT}",
                "message": "Làm hộ chiếu cần giấy tờ gì?",
                "input_channel": "telegram",
            }
            assert telegram.sent_texts(CHAT) == ["Bạn nói: Làm hộ chiếu cần giấy tờ gì?"]
            actions = telegram.called("sendChatAction")
            assert actions and actions[0]["action"] == "typing"

            for command in ("/start", "/help", "/huy"):
                telegram.push(telegram.message(CHAT, command))
            await wait_for(lambda: len(rasa.received) == 4)
            assert rasa.texts()[1:] == ["/greet", "/help", "/cancel"]

    asyncio.run(scenario())


def test_buttons_round_trip_through_short_callback_ids(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    long_payload = '/chon_thu_tuc{"procedure_code": "1.001234", "ten": "Cấp hộ chiếu phổ thông"}'
    assert len(long_payload.encode()) > 64

    def reply(sender: str, text: str) -> list[dict[str, Any]]:
        if text.startswith("/chon_thu_tuc"):
            return [{"text": "Đã chọn thủ tục."}]
        return [
            {
                "text": "Anh/chị muốn làm thủ tục nào?",
                "buttons": [
                    {"title": "Cấp hộ chiếu", "payload": long_payload},
                    {"title": "Huỷ", "payload": "/cancel"},
                ],
            }
        ]

    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory, reply) as (telegram, rasa):
            telegram.push(telegram.message(CHAT, "hộ chiếu"))
            await wait_for(lambda: telegram.sent_texts(CHAT))
            markup = telegram.called("sendMessage")[0]["reply_markup"]
            buttons = [row[0] for row in markup["inline_keyboard"]]
            assert [b["text"] for b in buttons] == ["Cấp hộ chiếu", "Huỷ"]
            assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)

            telegram.push(telegram.callback(CHAT, buttons[0]["callback_data"]))
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 2)
            assert rasa.texts()[-1] == long_payload
            assert telegram.sent_texts(CHAT)[-1] == "Đã chọn thủ tục."

            # An unknown (purged) id is answered too, with an explanation.
            telegram.push(telegram.callback(CHAT, "b:doesnotexist0000"))
            await wait_for(lambda: len(telegram.called("answerCallbackQuery")) == 2)
            assert telegram.called("answerCallbackQuery")[1]["text"] == EXPIRED_BUTTON_REPLY
            assert len(rasa.received) == 2

    asyncio.run(scenario())


def test_long_reply_is_split_and_paced_per_chat(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    paragraph = ("Thành phần hồ sơ gồm tờ khai và bản sao giấy tờ tùy thân. " * 20).strip()
    long_text = "\n\n".join([paragraph] * 8)  # ~9,400 characters
    assert len(long_text) > 2 * 4096

    def reply(sender: str, text: str) -> list[dict[str, Any]]:
        return [{"text": long_text, "buttons": [{"title": "Tiếp", "payload": "/next"}]}]

    async def scenario() -> None:
        # Real pacing: Telegram's ~1 message/s per chat.
        async with running_bot(tmp_path, session_factory, reply, per_chat_rate=1.0) as (
            telegram,
            _rasa,
        ):
            telegram.push(telegram.message(CHAT, "hồ sơ"))
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 3, timeout=15)
            started = time.monotonic()
            sent = telegram.called("sendMessage")
            parts = [params["text"] for params in sent]
            assert all(len(part) <= 4096 for part in parts)
            assert all(part.endswith(".") for part in parts)  # cut on boundaries
            assert "\n\n".join(parts).split() == long_text.split()
            assert [("reply_markup" in params) for params in sent] == [False, False, True]
            assert time.monotonic() - started < 1  # nothing more comes

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started >= 2  # 3 messages at 1/s in one chat


def test_webhook_mode_checks_the_secret_token(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    port = free_port()
    webhook = {
        "listen": "127.0.0.1",
        "port": port,
        "url_path": "telegram-hook",
        "webhook_url": "https://bot.example.gov.vn/telegram-hook",
        "secret_token": "s3cret-token",
    }

    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory, webhook=webhook) as (telegram, rasa):
            registered = telegram.called("setWebhook")[-1]
            assert registered["url"] == webhook["webhook_url"]
            assert registered["secret_token"] == "s3cret-token"
            url = f"http://127.0.0.1:{port}/telegram-hook"
            async with httpx.AsyncClient() as client:

                async def post(text: str, secret: str | None) -> int:
                    headers = {"Content-Type": "application/json"}
                    if secret is not None:
                        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
                    update = telegram.message(CHAT, text)
                    response = await client.post(url, content=json.dumps(update), headers=headers)
                    return response.status_code

                assert await post("giả mạo", "wrong") == 403
                assert await post("giả mạo", None) == 403
                assert await post("thật", "s3cret-token") == 200
            await wait_for(lambda: telegram.sent_texts(CHAT))
            await asyncio.sleep(0.2)
            assert rasa.texts() == ["thật"]
            assert telegram.sent_texts(CHAT) == ["Bạn nói: thật"]

    asyncio.run(scenario())


def test_a_failing_update_does_not_stop_the_bot(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            telegram.failing_chats.add(222)  # sendMessage raises BadRequest there
            telegram.push(telegram.message(222, "xin chào"))
            await wait_for(lambda: len(rasa.received) == 1)
            telegram.push(telegram.message(333, "còn hoạt động không?"))
            await wait_for(lambda: telegram.sent_texts(333))
            assert telegram.sent_texts(333) == ["Bạn nói: còn hoạt động không?"]

            # Rasa down: the citizen gets an apology, the bot keeps going.
            rasa.fail = True
            telegram.push(telegram.message(444, "alo"))
            await wait_for(lambda: telegram.sent_texts(444))
            assert telegram.sent_texts(444) == [RASA_DOWN_REPLY]

    asyncio.run(scenario())


PDF = b"%PDF-1.4\n" + b"0" * 2048
PNG = b"\x89PNG\r\n\x1a\n" + b"1" * 1024


def _attachment_rows(session_factory: sessionmaker) -> list[Any]:
    from dossiers.orm import Attachment

    with session_factory() as session:
        return list(session.execute(select(Attachment)).scalars())


def test_attachments_are_stored_or_refused_with_a_clear_message(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    sender = f"telegram:{CHAT}"

    def document(file_id: str, name: str, mime: str, size: int) -> dict[str, Any]:
        return {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": name,
                "mime_type": mime,
                "file_size": size,
            }
        }

    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            rasa.active_loops[sender] = "dossier_form"
            telegram.add_file("pdf1", PDF, "documents/file_1.pdf")
            telegram.push(
                telegram.message(CHAT, **document("pdf1", "CCCD.pdf", "application/pdf", len(PDF)))
            )
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 1)
            assert "Đã nhận tệp “CCCD.pdf”" in telegram.sent_texts(CHAT)[0]

            telegram.push(
                telegram.message(CHAT, **document("zip1", "hs.zip", "application/zip", 100))
            )
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 2)
            assert "JPG, PNG" in telegram.sent_texts(CHAT)[1]

            big = 11 * 1024 * 1024
            telegram.push(
                telegram.message(CHAT, **document("big1", "scan.pdf", "application/pdf", big))
            )
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 3)
            assert "quá lớn" in telegram.sent_texts(CHAT)[2]

            # Claims to be a PDF but is not.
            telegram.add_file("fake1", b"MZ\x90\x00 not a pdf", "documents/file_2.pdf")
            telegram.push(
                telegram.message(CHAT, **document("fake1", "x.pdf", "application/pdf", 14))
            )
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 4)
            assert "không đúng định dạng" in telegram.sent_texts(CHAT)[3]

            # No form active: refused before downloading.
            rasa.active_loops[sender] = ""
            telegram.push(
                telegram.message(CHAT, **document("pdf1", "CCCD.pdf", "application/pdf", len(PDF)))
            )
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 5)
            assert telegram.sent_texts(CHAT)[4] == NO_FORM_REPLY

            # The state cannot be read: not stored, the citizen is told why.
            del rasa.active_loops[sender]
            telegram.push(
                telegram.message(CHAT, **document("pdf1", "CCCD.pdf", "application/pdf", len(PDF)))
            )
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 6)
            assert "chưa kiểm tra được" in telegram.sent_texts(CHAT)[5]
            # Read through the REST channel's state endpoint (no HTTP API needed).
            rasa.state_endpoint = True
            rasa.active_loops[sender] = "dossier_form"
            telegram.add_file("ph1", PNG, "photos/file_3.png")
            photo = [{"file_id": "ph1", "file_unique_id": "uph1", "width": 9, "height": 9}]
            # A PNG sent "as photo" is declared JPEG by Telegram; the bytes decide.
            telegram.push(telegram.message(CHAT, photo=photo))
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 7)
            assert "không đúng định dạng" in telegram.sent_texts(CHAT)[6]
            jpeg = b"\xff\xd8\xff\xe0" + b"2" * 512
            telegram.add_file("ph2", jpeg, "photos/file_4.jpg")
            photo = [{"file_id": "ph2", "file_unique_id": "uph2", "width": 9, "height": 9}]
            telegram.push(telegram.message(CHAT, photo=photo))
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 8)
            assert "Đã nhận tệp" in telegram.sent_texts(CHAT)[7]

        rows = _attachment_rows(session_factory)
        assert [(r.sender_id, r.content_type, r.dossier_id) for r in rows] == [
            (sender, "application/pdf", None),
            (sender, "image/jpeg", None),
        ]
        assert Path(rows[0].storage_path).read_bytes() == PDF
        assert Path(rows[0].storage_path).is_relative_to(tmp_path / "attachments")

    asyncio.run(scenario())
