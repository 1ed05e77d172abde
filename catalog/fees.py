"""Dated fee rules: which fee applies on a given day.

The portal's fee cell holds one amount, but its note often says that amount, or
a reduction of it, applies only for a period: "Kể từ ngày 01/7/2025 đến hết
ngày 31/12/2026 mức thu ... bằng 50% mức thu nêu trên theo quy định tại Thông
tư số 64/2025/TT-BTC", "(áp dụng đến hết ngày 31/12/2023 theo Thông tư số
44/2023/TT-BTC)". `parse_fee_rules` reads those sentences into `FeeRule`s
(kind "base", "window" or "reduction", inclusive dates, the cited document);
`fee_on` tells which rule gives the fee on a day, when that changes, and which
rules have already expired, so an expired rule is never presented as current.

Dates are calendar days in Vietnam (UTC+7). `today()` is the clock every
answer uses; tests pass a fixed `today` or set `TTHC_TODAY=YYYY-MM-DD`.
Only the note's own words are used: nothing here knows any fee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from catalog.legal import normalize_number
from catalog.model import CHANNEL_ONLINE, FeeRule, SubmissionMethod
from core.settings import get_settings
from core.vietnamese import fold

__all__ = [
    "FeeOnDay",
    "fee_on",
    "format_date",
    "parse_fee_rules",
    "today",
]

VIETNAM = timezone(timedelta(hours=7))


def today() -> date:
    """Today in Vietnam, or `TTHC_TODAY` (ISO date, core.settings) when set
    (tests, demos).

    Raises ValueError (core.settings.SettingsError) when TTHC_TODAY is set but
    is not an ISO date.
    """
    fixed = get_settings().clock.today
    return fixed if fixed is not None else datetime.now(VIETNAM).date()


def format_date(day: date) -> str:
    """dd/mm/yyyy, as Vietnamese documents write dates."""
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


_DATE = r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})"
_DATE_WORDS = r"(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})"
_ANY_DATE = rf"(?:{_DATE}|{_DATE_WORDS})"
_FROM_RE = re.compile(rf"(?:kể từ|từ|bắt đầu từ)\s+ngày\s+{_ANY_DATE}", re.IGNORECASE)
_UNTIL_RE = re.compile(rf"đến\s+(?:hết\s+)?(?:ngày\s+)?{_ANY_DATE}", re.IGNORECASE)
# "Miễn phí kể từ ngày 07/4/2026 đến 30/6/2026": the window's amount is zero.
_FREE_WINDOW_RE = re.compile(r"(?:miễn|không thu)\s*(?:phí|lệ phí)?[^.;\d]{0,20}$", re.IGNORECASE)
_PERCENT_RE = re.compile(r"bằng\s*(\d{1,3})\s*%", re.IGNORECASE)
_DISCOUNT_RE = re.compile(r"giảm\s*(\d{1,3})\s*%", re.IGNORECASE)
# Thousands-grouped amounts ("135.000", "2,000,000"), then a currency or "/".
_AMOUNT_RE = re.compile(
    r"(?<![\d/.,])(\d{1,3}(?:\.\d{3})+|\d{1,3}(?:,\d{3})+)(?!\d)\s*"
    r"(?:đồng|đ(?!\w)|vnđ|vnd|việt nam đồng|/)",
    re.IGNORECASE,
)
_SOURCE_RE = re.compile(
    r"(?:Thông tư liên tịch|Thông tư|Nghị định|Quyết định|Nghị quyết|Luật)\s+(?:số\s+)?"
    r"(\d+[\w.]*/\d{4}/[\w\-Đđ]+)",
    re.IGNORECASE,
)
# Sentences: after "." or ";" + space, a " - " / " + " list dash, or a newline.
_CLAUSE_SPLIT_RE = re.compile(r"(?<=[.;])\s+|\s+[-+–]\s+|^\s*[-+–]\s*|\n+")


def _date(match: re.Match[str]) -> date | None:
    groups = [g for g in match.groups() if g is not None]
    day, month, year = (int(g) for g in groups[-3:])
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _amounts(text: str) -> list[int]:
    return [int(re.sub(r"[.,]", "", m.group(1))) for m in _AMOUNT_RE.finditer(text)]


def _online_only(text: str) -> bool:
    folded = fold(text)
    return "truc tuyen" in folded or "qua cong dich vu cong" in folded


def _clauses(note: str) -> list[str]:
    return [c.strip(" ,;.()") for c in _CLAUSE_SPLIT_RE.split(note or "") if c and c.strip()]


def parse_fee_rules(method: SubmissionMethod) -> tuple[FeeRule, ...]:
    """The dated rules stated by one method's fee cell and note.

    - "base": the cell amount (or, when the cell says free but the note states
      an amount, the note's first amount outside any dated sentence), with the
      validity the note gives it ("áp dụng đến hết ngày ..." in a sentence that
      repeats that amount or states no other amount);
    - "window": a dated sentence with its own amount ("Kể từ ngày 01/12/2023 đến
      hết ngày 31/12/2025, áp dụng mức thu lệ phí là 115.000 đồng");
    - "reduction": a dated sentence "bằng 50% mức thu" / "giảm 50%", amount
      computed from the base (None when there is no base amount).

    Sentences without a date are not rules. Returns () when nothing is known.
    """
    fee = method.fee
    note = fee.note or ""
    base_amount = fee.amount_vnd
    base_text = fee.text.replace(f"({note})", "").strip() if note else fee.text
    dated: list[tuple[str, date | None, date | None]] = []
    positions: dict[str, int] = {}  # where the dates start in each dated sentence
    undated_amounts: list[tuple[int, str]] = []
    for clause in _clauses(note):
        from_match = _FROM_RE.search(clause)
        until_match = _UNTIL_RE.search(clause)
        if from_match or until_match:
            dated.append((
                clause,
                _date(from_match) if from_match else None,
                _date(until_match) if until_match else None,
            ))
            positions[clause] = min(
                m.start() for m in (from_match, until_match) if m is not None
            )
        else:
            undated_amounts.extend((amount, clause) for amount in _amounts(clause))
    if not base_amount and undated_amounts:
        # "Miễn phí" cell (or no amount) while the note states the fee.
        base_amount, base_text = undated_amounts[0]
    rules: list[FeeRule] = []
    base_from: date | None = None
    base_until: date | None = None
    base_source: str | None = None
    base_online_only = False
    for clause, start, until in dated:
        percent = None
        if m := _PERCENT_RE.search(clause):
            percent = int(m.group(1))
        elif m := _DISCOUNT_RE.search(clause):
            percent = 100 - int(m.group(1))
        source_match = _SOURCE_RE.search(clause)
        source = normalize_number(source_match.group(1)) if source_match else None
        amounts = _amounts(clause)
        online = _online_only(clause) and method.channel == CHANNEL_ONLINE
        if _online_only(clause) and method.channel != CHANNEL_ONLINE:
            continue  # the sentence is about online submission only
        if percent is None and _FREE_WINDOW_RE.search(clause, 0, positions[clause]):
            percent = 0
        if percent == 0:
            rules.append(FeeRule("window", 0, start, until, None, online, source, clause))
        elif percent is not None and 0 < percent <= 100:
            amount = round(base_amount * percent / 100) if base_amount else None
            rules.append(
                FeeRule("reduction", amount, start, until, percent, online, source, clause)
            )
        elif amounts and base_amount not in amounts:
            rules.append(FeeRule("window", amounts[0], start, until, None, online, source, clause))
        elif base_amount:
            # The base amount itself is time-limited ("160.000/hộ chiếu ... áp
            # dụng đến hết ngày 31/12/2023 theo Thông tư số 44/2023/TT-BTC").
            base_from, base_until = start or base_from, until or base_until
            base_source, base_online_only = source or base_source, online
    if base_amount is not None and (base_amount or fee.text.strip()):
        if base_source is None:
            undated_sources = [
                normalize_number(m.group(1))
                for m in _SOURCE_RE.finditer(note)
                if not any(m.group(0) in clause for clause, _, _ in dated)
            ]
            base_source = undated_sources[0] if undated_sources else None
        rules.insert(
            0,
            FeeRule(
                "base",
                base_amount,
                base_from,
                base_until,
                None,
                base_online_only,
                base_source,
                " ".join(base_text.split()),
            ),
        )
    return tuple(rules)


@dataclass(frozen=True)
class FeeOnDay:
    """The fee of one method on one day.

    `amount_vnd` is None when no rule applies that day (for example the only
    amount the portal states expired). `rule` gives it; `next_change` is the
    first later day the amount changes (None = no change known) and
    `next_amount_vnd` the amount from then; `expired` are the rules that ended
    before the day (show them as past, never as current).
    """

    day: date
    amount_vnd: int | None
    rule: FeeRule | None
    next_change: date | None
    next_amount_vnd: int | None
    expired: tuple[FeeRule, ...]


def _active(rule: FeeRule, day: date) -> bool:
    return (rule.valid_from is None or rule.valid_from <= day) and (
        rule.valid_until is None or day <= rule.valid_until
    )


def _amount_on(rules: tuple[FeeRule, ...], day: date) -> tuple[int | None, FeeRule | None]:
    specials = [r for r in rules if r.kind != "base" and _active(r, day)]
    if specials:
        # The most recent one wins (a newer circular restates an older reduction).
        rule = max(specials, key=lambda r: (r.valid_from or date.min, -(r.amount_vnd or 0)))
        return rule.amount_vnd, rule
    base = next((r for r in rules if r.kind == "base"), None)
    if base is not None and _active(base, day):
        return base.amount_vnd, base
    return None, None


def fee_on(method: SubmissionMethod, day: date | None = None) -> FeeOnDay:
    """Which fee of `method` applies on `day` (default: `today()`).

    Uses `method.fee_rules` when the parser filled them, else parses the note.
    """
    day = day or today()
    rules = method.fee_rules or parse_fee_rules(method)
    amount, rule = _amount_on(rules, day)
    boundaries = sorted(
        {r.valid_until + timedelta(days=1) for r in rules if r.valid_until and r.valid_until >= day}
        | {r.valid_from for r in rules if r.valid_from and r.valid_from > day}
    )
    next_change = next_amount = None
    for boundary in boundaries:
        later, _ = _amount_on(rules, boundary)
        if later != amount:
            next_change, next_amount = boundary, later
            break
    expired = tuple(r for r in rules if r.valid_until is not None and r.valid_until < day)
    return FeeOnDay(day, amount, rule, next_change, next_amount, expired)
