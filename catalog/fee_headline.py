"""The fee headline of a channel must never contradict the portal's note.

The headline (`catalog.answers.describe_fee_today`, one line per channel) gives
the amount in force. Two portal patterns made it say something the note
right below it denies:

- the cell says "Miễn phí" while the note says a fee is charged without naming
  it ("Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh ... quyết định", marriage
  registration with a foreign element, 2.000806): the headline said "Miễn phí";
- the note names several amounts for different cases (driving licence tests,
  3.000346: 60.000 đ per part for A1/A/B1, more for cars ...): the headline
  gave the first one as a flat fee.

`contradiction` tells whether a headline does that (the survey script and
the tests use it); `reconcile` rewrites the amount part of the headline to
say so: "xem ghi chú", or the range "từ X đến Y đồng". Only the note's own
amounts are used; dated rules (`catalog.fees`) are left as they are, since
they already follow the note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from catalog.fees import _FROM_RE as FROM_RE
from catalog.fees import _UNTIL_RE as UNTIL_RE
from catalog.fees import FeeOnDay, _amounts, _clauses, _online_only
from catalog.model import CHANNEL_ONLINE, SubmissionMethod
from core.vietnamese import fold
from core.wording import say

__all__ = ["case_amounts", "contradiction", "note_charges", "reconcile"]

# "Mức lệ phí ... do HĐND tỉnh quyết định", "mức thu", "thu phí": the note says
# a fee is charged. "Miễn lệ phí cho ..." / "không thu phí" do not.
_CHARGED_RE = re.compile(r"\bmuc (?:thu|phi|le phi)\b|(?<!mien )(?<!khong )\bthu (?:le )?phi\b")


def _note(method: SubmissionMethod) -> str:
    return " ".join((method.fee.note or "").split())


def case_amounts(method: SubmissionMethod) -> list[int]:
    """The distinct positive amounts (VND, ascending) the note names for this
    channel outside dated sentences (those are `catalog.fees` rules); a
    sentence only about online submission is skipped for other channels."""
    found: set[int] = set()
    for clause in _clauses(_note(method)):
        if FROM_RE.search(clause) or UNTIL_RE.search(clause):
            continue
        if _online_only(clause) and method.channel != CHANNEL_ONLINE:
            continue
        found.update(a for a in _amounts(clause) if a > 0)
    return sorted(found)


def note_charges(method: SubmissionMethod) -> bool:
    """True when the note says a fee is charged (names an amount, or a "mức
    thu"/"mức lệ phí" set elsewhere)."""
    note = _note(method)
    return bool(case_amounts(method)) or bool(_CHARGED_RE.search(fold(note)))


def _flat(today: FeeOnDay) -> bool:
    # The amount in force is the cell's/note's standard fee (not a dated rule
    # the note itself states, which already follows the note).
    return today.rule is None or today.rule.kind == "base"


def contradiction(method: SubmissionMethod, today: FeeOnDay, headline: str) -> str | None:
    """Why `headline` (the channel's fee line) contradicts the note, else None:
    "free_but_charged" (says free, the note charges) or "flat_but_cases" (one
    amount, the note names several)."""
    if not _flat(today):
        return None
    first = fold(headline.split(";")[0])
    if "xem ghi chu" in first:
        return None
    says_free = today.amount_vnd == 0 or (
        today.amount_vnd is None and ("mien phi" in first or "khong thu" in first)
    )
    if says_free and note_charges(method):
        return "free_but_charged"
    if today.amount_vnd and len(case_amounts(method)) >= 2:
        return "flat_but_cases"
    return None


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def reconcile(method: SubmissionMethod, today: FeeOnDay, parts: Sequence[str]) -> list[str]:
    """`parts` of the headline (amount in force first) with the amount part
    rewritten when it contradicts the note (see module doc); unchanged else."""
    out = list(parts)
    if not out:
        return out
    problem = contradiction(method, today, out[0])
    if problem is None:
        return out
    amounts = case_amounts(method)
    if len(amounts) >= 2:
        out[0] = say("fee_headline.range", low=_vnd(amounts[0]), high=_vnd(amounts[-1]))
    elif amounts:
        out[0] = say("fee_headline.charged_amount", amount=_vnd(amounts[0]))
    else:
        out[0] = say("fee_headline.charged_see_note")
    return out
