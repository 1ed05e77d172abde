"""Chat answers about one procedure, built only from catalog data.

Pure functions: a `CuratedProcedure` (or `Procedure`) in, Vietnamese chat text
out. Nothing about any procedure is written here: every fact (fees, times,
documents, agencies, laws) comes from the catalog record, so a re-import is
the only way facts change. The texts are short enough for a phone screen and
always end with the portal link, because the portal stays the authority.

Rules the answers follow (from the issue and catalog/data/SOURCES.md):

- fees per submission channel; a "Miễn phí" cell whose note states an amount,
  and a maintainers' fee correction, are always shown, never hidden;
- a processing time without unit is shown as "1 (Cổng DVC không ghi đơn vị)":
  we never guess the unit;
- long document lists are cut, with "xem đầy đủ tại <url>";
- documents: what most applicants submit first (declaration form, core
  evidence, the ID to present), then "Trường hợp riêng" as short lines, the
  portal's notes only on request (`answer_document_notes`);
- fees: the fee that applies today (`catalog.fees`, a clock tests can set),
  when it changes and the document it comes from; an expired rule is shown as
  past, never as current;
- a fact resting on a legal document the registry knows as replaced or
  expired carries "căn cứ pháp lý này đã được thay thế bởi …; thông tin có
  thể đã thay đổi";
- every reply fits one message of the strictest channel (`MAX_MESSAGE_CHARS`,
  Telegram's 4096).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from catalog import fee_headline, fees
from catalog.legal import NUMBER_RE, LegalEntry, is_stale, normalize_number, stale_note
from catalog.model import (
    CHANNEL_ONLINE,
    CHANNELS,
    KIND_CONDITIONAL,
    KIND_DECLARATION,
    KIND_NOTE,
    KIND_PRESENT,
    KIND_SUBMIT,
    Document,
    Procedure,
    SubmissionMethod,
)
from core.vietnamese import fold
from core.wording import say

PORTAL_HOME = "https://dichvucong.gov.vn"

MAX_DOCUMENTS = 8
MAX_DOCUMENT_CHARS = 220
MAX_LEGAL = 8
MAX_STEPS_CHARS = 450
MAX_AGENCIES = 6
MAX_SPECIAL_CASES = 6
MAX_NOTES = 12
# Telegram's limit for one message; Zalo/web accept more, so this fits all.
MAX_MESSAGE_CHARS = 4096

# Intents that have an answer function; the action picks by intent name.
QUESTION_INTENTS: tuple[str, ...] = (
    "ask_procedure",
    "ask_documents",
    "ask_fee",
    "ask_processing_time",
    "ask_agency",
    "ask_online",
    "ask_legal_basis",
)

# Short labels for the quick-reply buttons offering the next natural question.
QUESTION_LABELS: dict[str, str] = {
    "ask_procedure": say("answer.question.ask_procedure"),
    "ask_documents": say("answer.question.ask_documents"),
    "ask_fee": say("answer.question.ask_fee"),
    "ask_processing_time": say("answer.question.ask_processing_time"),
    "ask_agency": say("answer.question.ask_agency"),
    "ask_online": say("answer.question.ask_online"),
    "ask_legal_basis": say("answer.question.ask_legal_basis"),
}


@dataclass(frozen=True)
class Answer:
    """Text of the answer plus the intents worth offering next as buttons."""

    text: str
    follow_ups: tuple[str, ...]


# ---------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    """Cut at a word boundary so the chat never shows half a word."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-")
    return f"{cut}…"


def _strip_bullet(text: str) -> str:
    return re.sub(r"^[\s\-–•*+]+", "", text or "").strip()


def _format_vnd(amount: int) -> str:
    return say("answer.vnd", amount=f"{amount:,}".replace(",", "."))


def portal_link(procedure: Procedure) -> str:
    """The detail page on the portal (or the portal search when unknown)."""
    if procedure.url:
        return procedure.url
    # No detail URL: the portal's own search is the best place to send people,
    # we do not build detail URLs ourselves.
    return say("answer.portal_search", home=PORTAL_HOME, code=procedure.code)


def _link_line(procedure: Procedure) -> str:
    return say("answer.link", link=portal_link(procedure))


def _header(procedure: Procedure) -> str:
    return say("answer.header", name=procedure.name, code=procedure.code)


def _ordered_methods(procedure: Procedure) -> list[SubmissionMethod]:
    """Methods in the usual reading order: in person, online, post, others."""
    rank = {channel: i for i, channel in enumerate(CHANNELS)}
    return sorted(procedure.methods, key=lambda m: rank.get(m.channel, len(rank)))


def _unwrap(curated: object) -> tuple[Procedure, object | None]:
    """Accept a CuratedProcedure or a bare Procedure."""
    if isinstance(curated, Procedure):
        return curated, None
    procedure = curated.procedure  # type: ignore[attr-defined]  # duck-typed CuratedProcedure
    return procedure, getattr(curated, "fee_correction", None)


def _registry(curated: object) -> Mapping[str, LegalEntry]:
    """Registry entries attached to a CuratedProcedure ({} for a bare Procedure)."""
    return getattr(curated, "legal", None) or {}


def fit_message(lines: Sequence[str], limit: int = MAX_MESSAGE_CHARS) -> str:
    """Join `lines` into one message of at most `limit` characters.

    The first line (header) and the last (portal link) are kept; lines are
    dropped from the end of the middle, replaced by "…", until it fits.
    """
    text = "\n".join(lines)
    if len(text) <= limit or len(lines) < 3:
        return text[:limit]
    head, middle, tail = lines[0], list(lines[1:-1]), lines[-1]
    while middle and len("\n".join([head, *middle, "…", tail])) > limit:
        middle.pop()
    return "\n".join([head, *middle, "…", tail])[:limit]


def stale_warnings(
    curated: object, numbers: Sequence[str] | None = None, day: date | None = None
) -> list[str]:
    """Warnings for the stale legal documents among `numbers` (default: the
    procedure's legal bases), one line each, from the registry entries the
    CuratedProcedure carries. [] when none is known stale."""
    procedure, _ = _unwrap(curated)
    registry = _registry(curated)
    day = day or fees.today()
    if numbers is None:
        numbers = [lb.number for lb in procedure.legal_basis if lb.number]
    out = []
    for number in dict.fromkeys(n for n in numbers if n):
        note = stale_note(number, registry, day)
        if note:
            out.append(note)
    return out


# ---------------------------------------------------------------------------
# Fees and processing times
# ---------------------------------------------------------------------------

_AMOUNT_RE = re.compile(r"\d[\d.,]*\s*(?:đ\b|đồng|dong|vnđ|vnd)", re.IGNORECASE)


def fee_is_free(fee_text: str) -> bool:
    return "mien phi" in fold(fee_text) or "khong thu" in fold(fee_text)


def note_states_fee(note: str) -> bool:
    """True when a note names an amount of money ("135.000 đồng/lần")."""
    return bool(_AMOUNT_RE.search(note or ""))


def describe_fee(method: SubmissionMethod) -> tuple[str, str, bool]:
    """(main cell text, note, contradiction) for one channel.

    The portal cell often embeds its note ("Miễn phí (- Lệ phí ...: 135.000
    đồng/lần ...)"); the note is split off so that a note shared by several
    channels is shown once. `contradiction` is True when the cell says free
    but the note states an amount: citizens must see that note.
    """
    fee = method.fee
    text = " ".join((fee.text or "").split())
    note = " ".join((fee.note or "").split())
    if note and note in text:
        text = text.replace(note, "").replace("()", "").strip(" -;,")
    if not text and fee.amount_vnd:
        text = _format_vnd(fee.amount_vnd)
    if not text:
        text = say("answer.fee.not_stated")
    contradiction = fee_is_free(text) and note_states_fee(note)
    if not note and fee_is_free(text) and note_states_fee(text):
        contradiction = True  # the amount sits inside the "free" cell itself
    return _clip(text, 300), _clip(note, 700), contradiction


def describe_time(method: SubmissionMethod) -> str:
    """Processing time as the portal states it; a bare number keeps no unit."""
    pt = method.processing_time
    if pt.value is not None and not pt.unit:
        return say("answer.time.no_unit", value=f"{pt.value:g}")
    text = " ".join((pt.text or "").split())
    if text:
        return _clip(text, 300)
    if pt.value is not None:
        return f"{pt.value:g} {pt.unit}"
    return say("answer.time.not_stated")


def _numbers_in(text: str) -> list[str]:
    return [n for n in (normalize_number(m) for m in NUMBER_RE.findall(text or "")) if n]


def _public_source(note: str) -> str:
    """The citizen's source line of a curated fee (overrides.yml).

    The correction's `source` is the maintainers' note (often English, with
    issue numbers and archive details) and is never shown: citizens see the
    national portal and the legal documents that note cites (`NUMBER_RE`)."""
    numbers = list(dict.fromkeys(_numbers_in(note)))
    documents = (
        say("answer.fee.correction_documents", numbers=", ".join(numbers)) if numbers else ""
    )
    return say("answer.fee.correction_source", documents=documents)


def _rule_source(rule: object | None) -> str:
    source = getattr(rule, "source", None)
    return say("answer.fee.rule_source", source=source) if source else ""


def describe_fee_today(method: SubmissionMethod, day: date | None = None) -> str:
    """One channel's fee on `day` (default today): the amount in force, the rule
    and document it comes from, when it changes, and rules already expired
    (shown as past). Falls back to the cell text when no rule has an amount."""
    day = day or fees.today()
    today_fee = fees.fee_on(method, day)
    rule = today_fee.rule
    parts: list[str] = []
    if today_fee.amount_vnd is not None and rule is not None:
        amount = (
            say("answer.fee.free")
            if today_fee.amount_vnd == 0
            else _format_vnd(today_fee.amount_vnd)
        )
        if rule.kind == "reduction":
            detail = say("answer.fee.reduction", percent=rule.percent, source=_rule_source(rule))
        elif rule.kind == "window":
            detail = say("answer.fee.window", source=_rule_source(rule))
        else:
            detail = _rule_source(rule).strip()
        parts.append(f"{amount}" + (f" ({detail})" if detail else ""))
        if today_fee.next_change is not None:
            later = today_fee.next_amount_vnd
            later_text = (
                say("answer.fee.later_not_stated")
                if later is None
                else (say("answer.fee.free_later") if later == 0 else _format_vnd(later))
            )
            parts.append(
                say(
                    "answer.fee.from_date",
                    date=fees.format_date(today_fee.next_change), amount=later_text,
                )
            )
    else:
        text, _, _ = describe_fee(method)
        past = [r for r in today_fee.expired if r.amount_vnd]
        base = max(past, key=lambda r: (r.kind == "base", r.valid_until), default=None)
        # expired rules all have a valid_until; the test only narrows the type
        if base is not None and base.amount_vnd and base.valid_until is not None:
            parts.append(
                say(
                    "answer.fee.base_expired",
                    amount=_format_vnd(base.amount_vnd),
                    until=fees.format_date(base.valid_until),
                    source=_rule_source(base),
                )
            )
        else:
            parts.append(text)
    # The most recent special rate that ended, as past (never as current).
    ended = [r for r in today_fee.expired if r.kind != "base" and r.amount_vnd is not None]
    last = max(ended, key=lambda r: r.valid_until or date.min, default=None)
    if (
        last is not None
        and last.amount_vnd is not None  # always, by `ended`; narrows the type
        and last.amount_vnd != today_fee.amount_vnd
        and last.valid_until
    ):
        parts.append(
            say(
                "answer.fee.special_ended",
                amount=_format_vnd(last.amount_vnd),
                source=_rule_source(last),
                until=fees.format_date(last.valid_until),
            )
        )
    # The amount part must not contradict the note (one flat amount, or
    # "Miễn phí", where the note names cases or a charge).
    return "; ".join(fee_headline.reconcile(method, today_fee, parts))


def answer_fee(curated: object, today: date | None = None) -> Answer:
    """Fees per channel as they apply `today` (default: `catalog.fees.today()`),
    the portal's notes, contradictions, curated fees (marked) and stale legal
    bases the fee rests on."""
    procedure, correction = _unwrap(curated)
    day = today or fees.today()
    lines = [
        _header(procedure),
        say("answer.fee.heading", date=fees.format_date(day)),
    ]
    notes: dict[str, list[str]] = {}  # note -> channels, so a shared note shows once
    contradictions: set[str] = set()
    methods = _ordered_methods(procedure)
    by_text: dict[str, list[str]] = {}
    cited: list[str] = []
    for method in methods:
        _, note, contradiction = describe_fee(method)
        today_text = describe_fee_today(method, day)
        # A headline that already sends to the note (catalog.fee_headline) needs no mark.
        sent_to_note = "xem ghi chú" in today_text
        mark = say("answer.fee.see_note") if contradiction and not sent_to_note else ""
        by_text.setdefault(f"{today_text}{mark}", []).append(method.channel)
        cited.extend(r.source for r in method.fee_rules if r.source)
        cited.extend(_numbers_in(method.fee.note))
        if note:
            notes.setdefault(note, []).append(method.channel)
            if contradiction:
                contradictions.add(note)
    for text, channels in by_text.items():
        lines.append(f"• {', '.join(dict.fromkeys(channels))}: {text}")
    if not methods:
        lines.append(say("answer.fee.none"))
    for note, channels in notes.items():
        mark = "⚠️ " if note in contradictions else ""
        lines.append(say("answer.fee.note", mark=mark, channels=", ".join(channels), note=note))
    if contradictions:
        lines.append(say("answer.fee.contradiction"))
    if correction is not None:
        amount = getattr(correction, "amount_vnd", None)
        text = getattr(correction, "text", "")
        source = getattr(correction, "source", "")
        detail = text or (_format_vnd(amount) if amount is not None else "")
        source_part = _public_source(source)
        if not any(m.fee.text.strip() for m in methods):
            lines.append(say("answer.fee.correction_added", detail=detail, source=source_part))
        else:
            lines.append(say("answer.fee.correction_reviewed", detail=detail, source=source_part))
        cited.extend(_numbers_in(source))
    lines.extend(stale_warnings(curated, cited, day))
    lines.append(_link_line(procedure))
    return Answer(fit_message(lines), ("ask_documents", "ask_processing_time", "ask_online"))


def answer_processing_time(curated: object) -> Answer:
    procedure, _ = _unwrap(curated)
    lines = [_header(procedure), say("answer.time.heading")]
    methods = _ordered_methods(procedure)
    for method in methods:
        lines.append(f"• {method.channel}: {describe_time(method)}")
    if not methods:
        lines.append(say("answer.time.none"))
    lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_documents", "ask_fee", "ask_agency"))


# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------


def _quantity(document: Document) -> str:
    parts = []
    if document.originals:
        parts.append(say("answer.documents.originals", count=document.originals))
    if document.copies:
        parts.append(say("answer.documents.copies", count=document.copies))
    return ", ".join(parts)


def _case_label(case: str | None) -> str:
    label = _strip_bullet(case or "").rstrip(":").strip()
    return label


_GENERIC_CASE_RE = re.compile(
    r"^(?:giay to phai nop|thanh phan ho so|ho so gom|ho so bao gom|giay to phai xuat trinh"
    r"|cac giay to phai nop|ho so nop)\b"
)
_ID_RE = re.compile(r"can cuoc|ho chieu|tuy than|chung minh nhan dan|dinh danh")
# The form most applicants fill in ("Tờ khai ...") anchors the main group.
_FORM_RANK = {"to khai": 0, "giay kh": 0, "phieu d": 1, "don de ": 1, "mau ho ": 1, "mau die": 1}


def _generic_case(case: str | None) -> bool:
    label = fold(_case_label(case))
    return not label or bool(_GENERIC_CASE_RE.match(label))


@dataclass(frozen=True)
class DocumentGroups:
    """A procedure's documents as a citizen reads them (see `group_documents`)."""

    main: tuple[Document, ...]  # declaration forms first, then core evidence
    present: tuple[Document, ...]  # to show at the counter (ID first)
    special: tuple[Document, ...]  # only in a stated case
    notes: tuple[Document, ...]  # "Lưu ý", explanations: never documents


def group_documents(procedure: Procedure) -> DocumentGroups:
    """Split `procedure.documents` by kind: what most applicants submit (rows of
    the unlabelled/"Giấy tờ phải nộp" group, or of the first group when every
    row sits in a "Trường hợp ..." group), what to present, special cases and
    notes. Page order is kept within each part."""
    docs = list(procedure.documents)
    notes = [d for d in docs if d.kind == KIND_NOTE]
    present = [d for d in docs if d.kind == KIND_PRESENT]
    filed = [d for d in docs if d.kind in (KIND_DECLARATION, KIND_SUBMIT)]
    if filed and not any(_generic_case(d.case) for d in filed):
        # Every row sits in a case group: the group (contiguous run of one
        # label) of the first declaration form, else of the first document.
        forms = [d for d in filed if d.kind == KIND_DECLARATION] or filed
        anchor = min(forms, key=lambda d: _FORM_RANK.get(fold(d.name)[:7], 2))
        index = docs.index(anchor)
        start = end = index
        while start > 0 and docs[start - 1].case == anchor.case:
            start -= 1
        while end + 1 < len(docs) and docs[end + 1].case == anchor.case:
            end += 1
        run = docs[start : end + 1]
        main = [d for d in filed if any(d is r for r in run)]
    else:
        main = [d for d in filed if _generic_case(d.case)]
    special = [
        d
        for d in docs
        if d.kind == KIND_CONDITIONAL
        or (d.kind in (KIND_DECLARATION, KIND_SUBMIT) and not any(d is m for m in main))
    ]
    # Stable sort: the paper declaration ("Tờ khai ...") first, other forms, then evidence.
    main.sort(key=lambda d: (d.kind != KIND_DECLARATION, _FORM_RANK.get(fold(d.name)[:7], 2)))
    present.sort(key=lambda d: not _ID_RE.search(fold(d.name)))
    return DocumentGroups(tuple(main), tuple(present), tuple(special), tuple(notes))


def _document_line(document: Document, limit: int = MAX_DOCUMENT_CHARS) -> str:
    detail = _quantity(document)
    extra = say("answer.documents.form", form=_clip(document.form, 80)) if document.form else ""
    suffix = f" ({detail})" if detail else ""
    return f"• {_clip(_strip_bullet(document.name), limit)}{suffix}{extra}"


def answer_documents(curated: object, max_items: int = MAX_DOCUMENTS) -> Answer:
    """What to prepare: first what most applicants submit (the declaration form
    with its template, the core evidence), the ID/papers to present, then
    "Trường hợp riêng" as short lines; notes are counted and offered
    (`answer_document_notes`). At most `max_items` main documents."""
    procedure, _ = _unwrap(curated)
    lines = [_header(procedure)]
    documents = list(procedure.documents)
    if not documents:
        lines.append(say("answer.documents.none"))
        lines.append(_link_line(procedure))
        return Answer("\n".join(lines), ("ask_fee", "ask_agency"))
    groups = group_documents(procedure)
    hidden = 0
    if groups.main:
        lines.append(say("answer.documents.main_heading"))
        lines.extend(_document_line(d) for d in groups.main[:max_items])
        hidden += max(0, len(groups.main) - max_items)
    elif groups.present:
        lines.append(say("answer.documents.present_only_heading"))
    else:
        lines.append(say("answer.documents.heading"))
    if groups.present:
        lines.append(say("answer.documents.present_heading"))
        lines.extend(_document_line(d, 160) for d in groups.present[:3])
        hidden += max(0, len(groups.present) - 3)
    if groups.special:
        lines.append(say("answer.documents.special_heading"))
        for document in groups.special[:MAX_SPECIAL_CASES]:
            label = _case_label(document.case)
            prefix = f"{_clip(label, 60)}: " if label and not _generic_case(document.case) else ""
            lines.append(f"– {prefix}{_clip(_strip_bullet(document.name), 110)}")
        hidden += max(0, len(groups.special) - MAX_SPECIAL_CASES)
    if groups.notes:
        lines.append(say("answer.documents.notes_count", count=len(groups.notes)))
    lines.extend(stale_warnings(curated))
    if hidden > 0:
        lines.append(say("answer.documents.more", count=hidden, link=portal_link(procedure)))
    elif groups.notes:
        lines.append(say("answer.documents.see_all", link=portal_link(procedure)))
    else:
        lines.append(_link_line(procedure))
    return Answer(fit_message(lines), ("ask_fee", "ask_processing_time", "ask_agency"))


def answer_document_notes(curated: object, max_items: int = MAX_NOTES) -> Answer:
    """The portal's notes on the documents ("Lưu ý", exemptions such as
    "Trường hợp ... thì không phải nộp"), for a citizen who asks for them."""
    procedure, _ = _unwrap(curated)
    notes = group_documents(procedure).notes
    lines = [_header(procedure)]
    if not notes:
        lines.append(say("answer.notes.none"))
    else:
        lines.append(say("answer.notes.heading", count=len(notes)))
        lines.extend(f"– {_clip(_strip_bullet(n.name), 300)}" for n in notes[:max_items])
        if len(notes) > max_items:
            lines.append(say("answer.notes.more", count=len(notes) - max_items))
    lines.append(_link_line(procedure))
    return Answer(fit_message(lines), ("ask_documents", "ask_fee", "ask_agency"))


# ---------------------------------------------------------------------------
# Agency, online, legal basis, overview
# ---------------------------------------------------------------------------


def answer_agency(curated: object) -> Answer:
    procedure, _ = _unwrap(curated)
    lines = [_header(procedure)]
    agencies = [a for a in procedure.agencies if a.strip()]
    if agencies:
        lines.append(say("answer.agency.heading"))
        lines.extend(f"• {_clip(a, 200)}" for a in agencies[:MAX_AGENCIES])
        if len(agencies) > MAX_AGENCIES:
            lines.append(say("answer.agency.more", count=len(agencies) - MAX_AGENCIES))
    else:
        lines.append(say("answer.agency.none"))
    if procedure.competent_authority and procedure.competent_authority not in agencies:
        authority = _clip(procedure.competent_authority, 200)
        lines.append(say("answer.agency.authority", authority=authority))
    if procedure.implementing_level:
        lines.append(say("answer.level", level=procedure.implementing_level))
    lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_documents", "ask_online", "ask_fee"))


ONLINE_HOW = say("answer.online.how", home=PORTAL_HOME)


def answer_online(curated: object) -> Answer:
    procedure, _ = _unwrap(curated)
    lines = [_header(procedure)]
    channels = [m.channel for m in _ordered_methods(procedure)]
    if procedure.online:
        lines.append(say("answer.online.yes"))
        online = next(m for m in procedure.methods if m.channel == CHANNEL_ONLINE)
        lines.append(say("answer.online.time", time=describe_time(online)))
        lines.append(ONLINE_HOW)
    else:
        lines.append(say("answer.online.no"))
        if channels:
            listed = ", ".join(dict.fromkeys(channels))
            lines.append(say("answer.online.channels", channels=listed))
    lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_documents", "ask_fee", "ask_processing_time"))


def legal_status_text(entry: LegalEntry | None, registry: Mapping[str, LegalEntry]) -> str:
    """" — đã được thay thế bởi …" / " — đã hết hiệu lực …" / " — đã được sửa đổi bởi …" or ""."""
    if entry is None:
        return ""
    if is_stale(entry, fees.today()):
        if entry.replaced_by:
            from catalog.legal import resolve_replacement

            replacement = resolve_replacement(entry.number, registry)
            return say("answer.legal.replaced", replacement=replacement)
        when = (
            say("answer.legal.since", date=fees.format_date(entry.expired_on))
            if entry.expired_on
            else ""
        )
        return say("answer.legal.expired", since=when)
    if entry.amended_by:
        return say("answer.legal.amended", numbers=", ".join(entry.amended_by[:3]))
    return ""


def answer_legal_basis(curated: object, max_items: int = MAX_LEGAL) -> Answer:
    """The legal bases with their registry status (replaced, expired, amended)."""
    procedure, _ = _unwrap(curated)
    registry = _registry(curated)
    lines = [_header(procedure)]
    laws = list(procedure.legal_basis)
    if not laws:
        lines.append(say("answer.legal.none"))
    else:
        lines.append(say("answer.legal.heading", count=len(laws)))
        for law in laws[:max_items]:
            title = _clip(law.title, 200)
            status = legal_status_text(registry.get(law.number or ""), registry)
            if law.number and law.number not in title:
                lines.append(f"• {law.number} — {title}{status}")
            else:
                lines.append(f"• {title or law.number}{status}")
        if len(laws) > max_items:
            lines.append(say("answer.legal.more", count=len(laws) - max_items))
    lines.extend(stale_warnings(curated))
    lines.append(_link_line(procedure))
    return Answer(fit_message(lines), ("ask_documents", "ask_fee", "ask_procedure"))


def _short_steps(steps: str) -> list[str]:
    """The first few steps, one per line, clipped: the full text is long."""
    parts = [
        _strip_bullet(p) for p in re.split(r"\n+|(?<=[.;])\s+(?=[-–•]|Bước|\w\))", steps or "")
    ]
    parts = [p for p in parts if len(p) > 3]
    out: list[str] = []
    used = 0
    for part in parts:
        clipped = _clip(part, 200)
        if used + len(clipped) > MAX_STEPS_CHARS and out:
            break
        out.append(clipped)
        used += len(clipped)
    return out[:4]


def answer_procedure(curated: object) -> Answer:
    procedure, correction = _unwrap(curated)
    lines = [_header(procedure)]
    if procedure.field:
        lines.append(say("answer.overview.field", field=procedure.field))
    if procedure.implementing_level:
        lines.append(say("answer.level", level=procedure.implementing_level))
    channels = list(dict.fromkeys(m.channel for m in _ordered_methods(procedure)))
    if channels:
        lines.append(say("answer.overview.channels", channels=", ".join(channels)))
    steps = _short_steps(procedure.steps)
    if steps:
        lines.append(say("answer.overview.steps_heading"))
        lines.extend(f"{i}. {step}" for i, step in enumerate(steps, start=1))
    lines.append(
        say(
            "answer.overview.counts",
            documents=sum(d.kind != KIND_NOTE for d in procedure.documents),
            laws=len(procedure.legal_basis),
        )
    )
    if correction is not None:
        lines.append(say("answer.overview.fee_updated"))
    lines.extend(stale_warnings(curated))
    lines.append(_link_line(procedure))
    return Answer(fit_message(lines), ("ask_documents", "ask_fee", "ask_processing_time"))


ANSWERERS: dict[str, Callable[[object], Answer]] = {
    "ask_procedure": answer_procedure,
    "ask_documents": answer_documents,
    "ask_fee": answer_fee,
    "ask_processing_time": answer_processing_time,
    "ask_agency": answer_agency,
    "ask_online": answer_online,
    "ask_legal_basis": answer_legal_basis,
}


def answer_for_intent(intent: str, curated: object) -> Answer:
    """The answer for an ask_* intent (overview for anything else)."""
    return ANSWERERS.get(intent, answer_procedure)(curated)


def format_candidates(names: Sequence[tuple[str, str]]) -> str:
    """Numbered list of (code, name) for disambiguation and "did you mean"."""
    return "\n".join(
        say("procedure.choice_line", number=i, name=_clip(name, 150), code=code)
        for i, (code, name) in enumerate(names, start=1)
    )
