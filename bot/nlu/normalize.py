"""Unicode clean-up of user messages that keeps a map back to the original text.

Phones (iOS keyboards, some Android IMEs, copy-paste from PDFs) send Vietnamese
in decomposed form (NFD: "e" + U+0323 + U+0302 for "ệ") and sprinkle invisible
format characters (zero-width space/joiner, BOM, soft hyphen, bidi marks) into
text. Every NLU step works on the NFC, invisible-free string, but Rasa entities
and tokens must carry offsets into the message text *as received*, otherwise a
slice `text[start:end]` of an NFD message points at the wrong characters.

`normalize_with_offsets` therefore normalises cluster by cluster (a starter
character plus its combining marks) and records, for every character of the
result, the span of the original string it came from.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Invisible format characters carry no meaning for the NLU and break both word
# segmentation and regexes when left in place.
from core.vietnamese import is_invisible

# underthesea rewrites these before segmenting (its `character_map`); we apply
# the same length-preserving rewrite so token strings can be found again.
_UNDERTHESEA_CHAR_MAP = str.maketrans({"ð": "đ", "Ð": "Đ"})


@dataclass(frozen=True)
class NormalizedText:
    """The NFC, invisible-free form of `original` with an offset map.

    `starts[i]`/`ends[i]` give the original span of `text[i]`: several
    normalised characters may share one span (a cluster that NFC does not fully
    compose) and one normalised character may cover several original ones (a
    base letter plus its combining marks, or a letter followed by a removed
    zero-width character).
    """

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised half-open span [start, end) to the original text."""
        if not self.text:
            return 0, 0
        start = min(max(start, 0), len(self.text) - 1)
        end = min(max(end, start + 1), len(self.text))
        return self.starts[start], self.ends[end - 1]

    def original_slice(self, start: int, end: int) -> str:
        """The original characters behind the normalised span [start, end)."""
        orig_start, orig_end = self.span(start, end)
        return self.original[orig_start:orig_end]


def normalize_with_offsets(original: str) -> NormalizedText:
    """NFC-normalise `original`, drop invisible characters, keep an offset map.

    Normalising per cluster is equivalent to whole-string NFC for Latin
    (Vietnamese) text; for the rare scripts whose composition crosses starters
    (Hangul conjoining jamo) the cluster result is left partly decomposed, which
    is harmless for this bot and keeps the map exact.
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def flush(cluster_start: int, cluster_end: int, chars: list[str]) -> None:
        if not chars:
            return
        composed = unicodedata.normalize("NFC", "".join(chars))
        for char in composed:
            out.append(char)
            starts.append(cluster_start)
            ends.append(cluster_end)

    cluster: list[str] = []
    cluster_start = 0
    for index, char in enumerate(original):
        if is_invisible(char):
            # An invisible character belongs to no cluster of its own: it is
            # simply skipped (it will fall inside a token's original slice when
            # it sits between two letters of one word).
            continue
        if unicodedata.combining(char) and cluster:
            cluster.append(char)
            continue
        flush(cluster_start, _cluster_end(original, cluster_start, cluster), cluster)
        cluster = [char]
        cluster_start = index
    flush(cluster_start, _cluster_end(original, cluster_start, cluster), cluster)
    return NormalizedText(original, "".join(out), tuple(starts), tuple(ends))


def _cluster_end(original: str, cluster_start: int, cluster: list[str]) -> int:
    """End offset (exclusive) in `original` of a cluster that starts at
    `cluster_start` and holds `cluster`'s visible characters, skipping over any
    invisible characters interleaved with its combining marks."""
    if not cluster:
        return cluster_start
    remaining = len(cluster)
    index = cluster_start
    while remaining and index < len(original):
        if not is_invisible(original[index]):
            remaining -= 1
        index += 1
    return index


def for_segmenter(text: str) -> str:
    """The length-preserving rewrite underthesea applies to its input, so token
    strings it returns can be located in our normalised text."""
    return text.translate(_UNDERTHESEA_CHAR_MAP)
