"""Issue 14 over the real python-telegram-bot stack (fake Bot API and fake
Rasa on loopback): every kind of message gets an answer, captions are read,
a contact fills the asked phone, attachments only when a form waits, groups
are not private, deep links are acted on, a 429 waits and sends."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from channel_fakes import wait_for
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from test_telegram import running_bot

from bot.channels.inbound import (
    GROUP_PRIVATE_REPLY,
    NO_FORM_ATTACHMENT_REPLY,
    UNSUPPORTED_REPLIES,
    deep_link_message,
)
from bot.channels.telegram import GROUP_INVITE_REPLY

CHAT = 222
GROUP = -100123
ALICE, BOB = 501, 502


def _attachments(session_factory: sessionmaker) -> list[Any]:
    from dossiers.orm import Attachment

    with session_factory() as session:
        return list(session.execute(select(Attachment)).scalars())


def test_flood_limit_waits_retry_after_and_sends(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, _rasa):
            telegram.flood_chats[CHAT] = 2
            telegram.push(telegram.message(CHAT, "lệ phí làm hộ chiếu"))
            await wait_for(lambda: len(telegram.called("sendMessage")) == 2, timeout=15)
            sent_at = time.monotonic()
            # The first try got 429; the answer went out after retry_after.
            assert telegram.sent_texts(CHAT) == ["Bạn nói: lệ phí làm hộ chiếu"] * 2
            assert sent_at - telegram.flood_hits[0] >= 2.0

    asyncio.run(scenario())


def test_every_kind_of_message_gets_one_answer(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    kinds = {
        "sticker": {"sticker": {"file_id": "s1", "file_unique_id": "us1", "width": 512,
                                "height": 512, "is_animated": False, "is_video": False,
                                "type": "regular"}},
        "location": {"location": {"latitude": 21.0285, "longitude": 105.8542}},
        "contact": {"contact": {"phone_number": "0912345678", "first_name": "An"}},
        "voice": {"voice": {"file_id": "v1", "file_unique_id": "uv1", "duration": 3}},
    }

    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            rasa.state_endpoint = True
            for index, (kind, extra) in enumerate(kinds.items(), 1):
                telegram.push(telegram.message(CHAT, **extra))
                await wait_for(lambda index=index: len(telegram.sent_texts(CHAT)) == index)
                assert telegram.sent_texts(CHAT)[-1] == UNSUPPORTED_REPLIES[kind], kind
            assert rasa.received == []  # nothing of these reached the NLU

    asyncio.run(scenario())


def test_photo_caption_is_answered_and_the_photo_not_kept_without_a_form(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    question = "tôi bị mất sổ đỏ thì làm lại thế nào"

    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            rasa.state_endpoint = True  # no form running for this chat
            photo = [{"file_id": "p1", "file_unique_id": "up1", "width": 9, "height": 9}]
            telegram.add_file("p1", b"\xff\xd8\xff\xe0" + b"1" * 64, "photos/p1.jpg")
            telegram.push(telegram.message(CHAT, photo=photo, caption=question))
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) == 2)
            assert telegram.sent_texts(CHAT) == [NO_FORM_ATTACHMENT_REPLY, f"Bạn nói: {question}"]
            assert rasa.texts() == [question]
            assert telegram.called("getFile") == []  # not even downloaded

    asyncio.run(scenario())
    assert _attachments(session_factory) == []


def test_shared_contact_fills_the_phone_when_it_is_asked(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    sender = f"telegram:{CHAT}"

    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            rasa.state_endpoint = True
            rasa.active_loops[sender] = "dossier_form"
            rasa.requested_slots[sender] = "phone"
            contact = {"phone_number": "+84912345678", "first_name": "An", "user_id": CHAT}
            telegram.push(telegram.message(CHAT, contact=contact))
            await wait_for(lambda: rasa.received)
            assert rasa.texts() == ["+84912345678"]
            # Another field asked: the contact is not taken as its answer.
            rasa.requested_slots[sender] = "full_name"
            telegram.push(telegram.message(CHAT, contact=contact))
            await wait_for(lambda: UNSUPPORTED_REPLIES["contact"] in telegram.sent_texts(CHAT))
            assert rasa.texts() == ["+84912345678"]

    asyncio.run(scenario())


def test_group_members_have_their_own_conversations_and_no_private_data(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            rasa.state_endpoint = True
            telegram.push(telegram.group_message(GROUP, ALICE, "làm căn cước cần gì"))
            await wait_for(lambda: len(rasa.received) == 1)
            telegram.push(telegram.group_message(GROUP, BOB, "Nguyễn Văn Bình"))
            await wait_for(lambda: len(rasa.received) == 2)
            senders = [body["sender"] for body in rasa.received]
            assert senders == [f"telegram-group:{GROUP}:{ALICE}", f"telegram-group:{GROUP}:{BOB}"]
            # Answers in the group reply to the member's message.
            await wait_for(lambda: len(telegram.sent_texts(GROUP)) == 2)
            assert all(c.get("reply_parameters") or c.get("reply_to_message_id")
                       for c in telegram.called("sendMessage"))

            # A dossier code in the group: never looked up there, invited to private.
            telegram.push(telegram.group_message(GROUP, ALICE, "tra cứu HS-7K3M-9QXP"))
            await wait_for(lambda: len(telegram.sent_texts(GROUP)) == 3)
            assert telegram.sent_texts(GROUP)[-1] == GROUP_INVITE_REPLY
            button = telegram.called("sendMessage")[-1]["reply_markup"]["inline_keyboard"][0][0]
            assert button["url"] == "https://t.me/tthc_test_bot"
            assert len(rasa.received) == 2

            # A document in the group: refused, not downloaded, not stored.
            document = {"file_id": "d1", "file_unique_id": "ud1", "file_name": "cccd.pdf",
                        "mime_type": "application/pdf", "file_size": 10}
            telegram.push(telegram.group_message(GROUP, ALICE, document=document))
            await wait_for(lambda: len(telegram.sent_texts(GROUP)) == 4)
            assert telegram.sent_texts(GROUP)[-1] == GROUP_PRIVATE_REPLY
            assert telegram.called("getFile") == []

            # The assistant's own invitation (from the actions) becomes a deep-link button.
            rasa.reply = lambda sender, text: [
                {"text": "Mời nhắn riêng", "custom": {"private_chat": {"start": "nop_1_004194"}}}
            ]
            telegram.push(telegram.group_message(GROUP, BOB, "tôi muốn nộp hồ sơ tạm trú"))
            await wait_for(lambda: len(telegram.sent_texts(GROUP)) == 5)
            button = telegram.called("sendMessage")[-1]["reply_markup"]["inline_keyboard"][0][0]
            assert button["url"] == "https://t.me/tthc_test_bot?start=nop_1_004194"

    asyncio.run(scenario())
    assert _attachments(session_factory) == []


def test_deep_links_are_acted_on(tmp_path: Path, session_factory: sessionmaker) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            for index, payload in enumerate(["HS-7K3M-9QXP", "1_004194", "nop_1_004194"], 1):
                telegram.push(telegram.message(CHAT, f"/start {payload}"))
                await wait_for(lambda index=index: len(rasa.received) == index)
            telegram.push(telegram.message(CHAT, "/start"))
            await wait_for(lambda: len(rasa.received) == 4)
            assert rasa.texts() == [
                '/check_status{"dossier_code":"HS-7K3M-9QXP"}',
                '/ask_procedure{"procedure":"1.004194"}',
                '/submit_dossier{"procedure":"1.004194"}',
                "/greet",
            ]
            # In a group a dossier deep link only invites to the private chat.
            telegram.push(telegram.group_message(GROUP, ALICE, "/start HS-7K3M-9QXP"))
            await wait_for(lambda: telegram.sent_texts(GROUP) == [GROUP_INVITE_REPLY])
            assert len(rasa.received) == 4

    asyncio.run(scenario())


def test_deep_link_payloads_never_pass_raw_text() -> None:
    assert deep_link_message("hs_7k3m_9qxp") == '/check_status{"dossier_code":"HS-7K3M-9QXP"}'
    assert deep_link_message("1.004194") == '/ask_procedure{"procedure":"1.004194"}'
    for hostile in ["", None, '/cancel{"x":1}', "x" * 10_000, "HS-7K3M", "1_0041941"]:
        assert deep_link_message(hostile) == "/greet"


def test_huge_text_is_cut_before_rasa_with_a_note(
    tmp_path: Path, session_factory: sessionmaker
) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            telegram.push(telegram.message(CHAT, "đăng ký tạm trú " * 400))
            await wait_for(lambda: rasa.received)
            assert len(rasa.texts()[0]) <= 4_000
            await wait_for(lambda: len(telegram.sent_texts(CHAT)) >= 2)
            assert "chỉ đọc phần đầu" in telegram.sent_texts(CHAT)[0]

    asyncio.run(scenario())


def test_rasa_receives_json_safe_text(tmp_path: Path, session_factory: sessionmaker) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            telegram.push(telegram.message(CHAT, "a\x00b\u202e\x07c"))
            await wait_for(lambda: rasa.received)
            json.dumps(rasa.received[0], ensure_ascii=False).encode("utf-8")
            assert "\x00" not in rasa.texts()[0] and "\x07" not in rasa.texts()[0]

    asyncio.run(scenario())


def test_a_file_telegram_will_not_hand_over_is_answered_without_traceback(
    tmp_path: Path, session_factory: sessionmaker, caplog: Any
) -> None:
    from bot.channels.telegram import DOWNLOAD_FAILED_REPLY, GENERIC_ERROR_REPLY

    sender = f"telegram:{CHAT}"

    async def scenario() -> None:
        async with running_bot(tmp_path, session_factory) as (telegram, rasa):
            rasa.state_endpoint = True
            rasa.active_loops[sender] = "dossier_form"
            photo = [{"file_id": "gone", "file_unique_id": "g", "width": 9, "height": 9}]
            telegram.push(telegram.message(CHAT, photo=photo))
            await wait_for(lambda: telegram.sent_texts(CHAT))
            assert telegram.sent_texts(CHAT) == [DOWNLOAD_FAILED_REPLY]
            assert GENERIC_ERROR_REPLY not in telegram.sent_texts(CHAT)

    with caplog.at_level("WARNING"):
        asyncio.run(scenario())
    assert all(record.exc_info is None for record in caplog.records)
