"""Reply splitting, log masking and the channels' database helpers."""

from __future__ import annotations

from datetime import timedelta

from bot.channels.store import ChannelStore
from bot.channels.text import split_text, utf16_len
from core.vietnamese import mask_sender


def test_short_text_is_one_chunk() -> None:
    assert split_text("Xin chào", 4096) == ["Xin chào"]
    assert split_text("   ", 10) == []


def test_split_prefers_paragraphs_then_lines_then_sentences_then_words() -> None:
    paragraph = "Đoạn một có nội dung. " * 10
    text = paragraph.strip() + "\n\n" + paragraph.strip()
    chunks = split_text(text, len(text) - 5)
    assert chunks == [paragraph.strip(), paragraph.strip()]

    lines = "\n".join(f"Dòng {i}: giấy tờ cần nộp" for i in range(50))
    chunks = split_text(lines, 200)
    assert all(utf16_len(c) <= 200 for c in chunks)
    assert all(c.startswith("Dòng") for c in chunks)  # every cut on a line break

    sentences = "Câu thứ nhất rất dài và có nhiều chữ. Câu thứ hai cũng vậy! Câu ba?"
    chunks = split_text(sentences, 45)
    assert chunks[0] == "Câu thứ nhất rất dài và có nhiều chữ."

    words = "hồ sơ " * 30
    chunks = split_text(words, 20)
    assert all(utf16_len(c) <= 20 for c in chunks)
    assert all(not c.endswith(" hồ s") for c in chunks)
    assert " ".join(chunks).split() == words.split()


def test_split_hard_cuts_a_word_longer_than_the_limit_and_counts_utf16() -> None:
    assert split_text("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]
    emoji = "😀" * 5  # 2 UTF-16 units each
    chunks = split_text(emoji, 4)
    assert chunks == ["😀😀", "😀😀", "😀"]


def test_mask_id_keeps_channel_and_tail_only() -> None:
    assert mask_sender("telegram:123456789") == "telegram:***789"
    assert mask_sender("12") == "***"


def test_callback_ids_are_short_deterministic_and_shared(any_store: ChannelStore) -> None:
    store = any_store
    payload = '/chon_thu_tuc{"procedure_code": "1.001234", "ten": "Đăng ký khai sinh"}'
    ident = store.save_payload(payload)
    assert len(("b:" + ident).encode()) <= 64
    assert store.save_payload(payload) == ident  # idempotent
    # Another process (another store on the same database) resolves it.
    other = ChannelStore(store.session_factory)
    assert other.resolve_payload(ident) == payload
    assert other.resolve_payload("unknown") is None
    assert store.purge_payloads(timedelta(days=-1)) == 1
    assert store.resolve_payload(ident) is None


def test_first_delivery_is_recorded_once(any_store: ChannelStore) -> None:
    store = any_store
    assert store.first_delivery("zalo", "msg-1") is True
    assert store.first_delivery("zalo", "msg-1") is False
    assert store.first_delivery("other", "msg-1") is True


def test_rotate_token_skips_refresh_when_another_process_already_did(
    any_store: ChannelStore,
) -> None:
    store = any_store
    store.seed_token("zalo:1", "AT-1", "RT-1")
    store.seed_token("zalo:1", "AT-env", "RT-env")  # the database copy wins
    calls = []

    def refresh(refresh_token: str) -> tuple[str, str, int]:
        calls.append(refresh_token)
        return "AT-2", "RT-2", 3600

    assert store.rotate_token("zalo:1", "AT-1", refresh) == "AT-2"
    # A second process that also saw AT-1 fail must not spend RT-2 again.
    assert store.rotate_token("zalo:1", "AT-1", refresh) == "AT-2"
    assert calls == ["RT-1"]
    row = store.load_token("zalo:1")
    assert (row.access_token, row.refresh_token) == ("AT-2", "RT-2")
