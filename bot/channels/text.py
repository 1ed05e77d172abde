"""Helpers shared by the channels: splitting long replies and hiding secrets
from log lines (ids and phone numbers: `core.vietnamese.mask_sender`)."""

from __future__ import annotations

import re

# Sentence ends we may cut after: the punctuation stays with its sentence.
_SENTENCE_END = re.compile(r"[.!?…;:](?:[\"'”’)\]]*)\s+")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram (and Zalo's web client)
    count message limits in: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The largest prefix length (in characters) of `text` within `limit` units."""
    if utf16_len(text) <= limit:
        return len(text)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _cut_point(window: str) -> int:
    """Where to cut `window` (a prefix that fits): the last paragraph break, else
    line break, else sentence end, else space. 0 when there is none worth using."""
    # A boundary in the first third would leave a tiny chunk; prefer a later one.
    floor = len(window) // 3
    for separator in ("\n\n", "\n"):
        position = window.rfind(separator)
        if position > floor:
            return position + len(separator)
    sentence_cut = 0
    for match in _SENTENCE_END.finditer(window):
        sentence_cut = match.end()
    if sentence_cut > floor:
        return sentence_cut
    position = window.rfind(" ")
    if position > floor:
        return position + 1
    return 0


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into chunks of at most `limit` UTF-16 units, cutting at the
    most natural boundary available (paragraph, line, sentence, word) and only
    mid-word when a single word is longer than the limit. Whitespace at the cut
    is dropped; an empty text gives no chunk."""
    if limit < 1:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        size = _fit(rest, limit)
        if size >= len(rest):
            chunks.append(rest)
            break
        cut = _cut_point(rest[:size]) or size
        # Never split a surrogate-free string inside a combining sequence: a
        # Vietnamese letter may be "a" + combining marks when not NFC-normalised.
        while 0 < cut < len(rest) and _is_combining(rest[cut]):
            cut -= 1
        if cut == 0:
            cut = size
        chunk = rest[:cut].rstrip()
        if chunk:
            chunks.append(chunk)
        rest = rest[cut:].lstrip()
    return chunks


def _is_combining(char: str) -> bool:
    import unicodedata

    return unicodedata.combining(char) != 0


def mask_token(value: str | None) -> str:
    """Show only that a secret is set (and its length class), never its value."""
    if not value:
        return "<unset>"
    return f"<{len(value)} chars>"
