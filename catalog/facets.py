"""Which aspects of a procedure a message asks about ("facets").

"Đổi thì hết bao nhiêu tiền, mấy ngày?" asks two things: the fee and the
processing time. The NLU's intent names one of them; `detect_facets` finds
every one, in the order the citizen asked, so the answer covers all. Facets
are named by their question intents (`catalog.answers.QUESTION_INTENTS`).

Chosen over Rasa multi-intents (`ask_fee+ask_processing_time`) because the
cue words are few and closed (issue 9 measurement in docs/benchmarks.md: the
keyword detector found every facet of the quick set's 23 multi-question
stories; multi-intents would need training examples for every combination).

Pure Python over folded text; knows nothing of Rasa.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from catalog.text import COLLOQUIAL
from core.vietnamese import fold

__all__ = ["FACET_PATTERNS", "OVERVIEW_PATTERN", "detect_facets", "facets_of"]

# Folded cue patterns per facet (whole words; diacritics and teencode folded).
FACET_PATTERNS: dict[str, re.Pattern[str]] = {
    "ask_documents": re.compile(
        r"\bgiay to\b|\bho so (?:gom|can|gi|nhu the nao|ra sao)\b|\bthanh phan ho so\b"
        r"|\bcan (?:mang|chuan bi|nhung gi|gi|nhung giay)\b|\bchuan bi (?:gi|nhung)\b"
        r"|\bmang theo\b|\bto khai\b|\bmau don\b|\bhs gom\b|\bgiay gi\b|\bcan nhung\b"
        r"|\bgom nhung\b|\bnhung giay\b|\bcan nhug\b|\bgt gi\b"
    ),
    "ask_fee": re.compile(
        r"\ble phi\b|\bphi\b|\ble fi\b|\bfi\b|\bbao nhieu tien\b|\bhet bao nhieu\b"
        r"|\bton bao nhieu\b"
        r"|\bmat bao nhieu(?! (?:ngay|lau|thang|tuan|gio))\b|\bmat tien\b|\bton tien\b|\bton kem\b"
        r"|\bmien phi\b|\bchi phi\b|\bbn tien\b|\bnop tien\b|\bdong tien\b|\bton phi\b|\bmat phi\b"
    ),
    "ask_processing_time": re.compile(
        r"\bbao lau\b|\bmay ngay\b|\bbao nhieu ngay\b|\bmat may\b|\bmay tuan\b|\bmay thang\b"
        r"|\bthoi gian (?:giai quyet|xu ly|tra|lam|cap|nhan)\b|\bthoi han giai quyet\b"
        r"|\b(?:khi nao|bao gio) (?:thi )?(?:co|nhan|lay|xong|duoc)\b|\blau khong\b|\blau ko\b"
        r"|\bmat bao nhieu (?:ngay|lau|thang|tuan)\b|\bbn (?:ngay|thang|tuan|lau)\b|\bmay hom\b"
        r"|\bbao nhieu (?:ngay|thang|tuan)\b|\bthoi han\b"
    ),
    "ask_agency": re.compile(
        r"\bo dau\b|\bnoi nop\b|\bnop tai\b|\bco quan nao\b|\bcho nao\b|\bdi dau\b|\btai dau\b"
        r"|\bnop o\b|\blam o\b|\bxin o\b|\bden (?:co quan|dau)\b|\bo xa hay\b|\bo phuong hay\b"
        r"|\bcong an (?:xa|phuong|huyen|quan|tinh) nao\b"
    ),
    "ask_online": re.compile(
        r"\bonline\b|\bonl\b|\btruc tuyen\b|\bqua mang\b|\btren mang\b|\bdich vu cong\b"
        r"|\bvneid\b|\bdinh danh dien tu\b(?= .*\b(?:nop|lam|duoc)\b)|\btai nha\b"
        r"|\bkhong (?:can|phai) (?:den|di|len|ra)\b|\btren dien thoai\b|\bqua app\b"
    ),
    "ask_legal_basis": re.compile(
        r"\bcan cu\b|\bnghi dinh\b|\bthong tu\b|\bluat nao\b|\bquy dinh (?:nao|o dau|tai)\b"
        r"|\bvan ban (?:nao|phap luat)\b|\bdieu may\b"
    ),
}


# Chat shorthand spelled out before the cues are matched; the meanings come from
# catalog.text's colloquial table (one source), the selection is what question
# words are shortened to.
_SHORTHAND = ("j", "bn", "hs", "ko", "k", "kg", "dc", "lm", "ntn", "onl", "vs", "trc")
_SHORTHAND_RE = re.compile(r"\b(?:" + "|".join(_SHORTHAND) + r")\b")


# "Thủ tục thế nào / cần làm gì / có phải ... không / điều kiện gì": the
# overview (field, level, channels, main steps) is asked too.
OVERVIEW_PATTERN = re.compile(
    r"\bthu tuc (?:the nao|ra sao|nhu the nao|nhu nao|gi|la gi)\b|\blam (?:the nao|sao|gi"
    r"|nhu the nao|nhu nao|ntn)\b|\b(?:can|phai) lam (?:gi|nhung gi|thu tuc)\b|\bcac buoc\b"
    r"|\btrinh tu\b|\bquy trinh\b|\bbuoc\b|\bdieu kien\b|\bhuong dan\b|\bntn\b|\bthe nao\b"
    r"|\bra sao\b|\bco (?:phai|can|bat buoc|duoc)\b.*\b(?:khong|ko|k)\b|\bthu tuc gi\b"
)


def detect_facets(text: str) -> tuple[str, ...]:
    """Question intents asked in `text`, in the order they first appear.

    `ask_procedure` (overview, steps) is never returned: it is what a message
    asks when it asks none of these.
    """
    folded = fold(text or "")[:2000]
    if not folded or folded.startswith("/"):
        return ()
    # Cues are matched after chat shorthand is spelled out ("can j" → "can gi",
    # "hs" → "ho so", "bn" → "bao nhieu"), so "lam cccd can j, het bn tien"
    # asks for the documents as well as the fee (fresh-user trial, issue 11).
    # Only question shorthand is expanded: the full colloquial table would also
    # rewrite cue words the patterns name as typed ("vneid").
    expanded = _SHORTHAND_RE.sub(lambda m: COLLOQUIAL[m.group(0)], folded)
    found: list[tuple[int, str]] = []
    for intent, pattern in FACET_PATTERNS.items():
        match = pattern.search(expanded)
        if match:
            found.append((match.start(), intent))
    return tuple(intent for _, intent in sorted(found))


def facets_of(text: str, intent: str, question_intents: Iterable[str]) -> tuple[str, ...]:
    """The facets to answer: the NLU's question `intent` first (when it is one
    of `question_intents` other than `ask_procedure`), then every other facet
    detected in `text`, then the overview when the text also asks "how / what
    procedure" (`OVERVIEW_PATTERN`); `("ask_procedure",)` when nothing
    specific is asked."""
    allowed = set(question_intents)
    out: list[str] = []
    if intent in allowed and intent != "ask_procedure":
        out.append(intent)
    found = [f for f in detect_facets(text) if f in allowed]
    for facet in found:
        if facet not in out:
            out.append(facet)
    folded = fold(text or "")
    detected = bool(found)
    if out and "ask_procedure" in allowed and (
        OVERVIEW_PATTERN.search(folded) or (not detected and not folded.startswith("/"))
    ):
        # "... ở đâu, thủ tục thế nào?" asks for the overview too; so does a
        # message in which only the classifier, not the words, saw a facet.
        out.append("ask_procedure")
    return tuple(out) or ("ask_procedure",)
