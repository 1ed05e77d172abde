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
- long document lists are cut, with "xem đầy đủ tại <url>".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from catalog.model import CHANNEL_ONLINE, CHANNELS, Document, Procedure, SubmissionMethod

PORTAL_HOME = "https://dichvucong.gov.vn"
# Shown when a record has no detail URL: the portal's own search is the best
# place to send people, we do not build detail URLs ourselves.
PORTAL_SEARCH_HINT = f"{PORTAL_HOME} (tìm theo mã thủ tục {{code}})"

MAX_DOCUMENTS = 8
MAX_DOCUMENT_CHARS = 220
MAX_LEGAL = 8
MAX_STEPS_CHARS = 450
MAX_AGENCIES = 6

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
    "ask_procedure": "Tổng quan",
    "ask_documents": "Hồ sơ cần chuẩn bị",
    "ask_fee": "Lệ phí",
    "ask_processing_time": "Thời gian giải quyết",
    "ask_agency": "Nơi nộp",
    "ask_online": "Nộp trực tuyến",
    "ask_legal_basis": "Căn cứ pháp lý",
}


@dataclass(frozen=True)
class Answer:
    """Text of the answer plus the intents worth offering next as buttons."""

    text: str
    follow_ups: tuple[str, ...]


# ---------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lowercase without diacritics, for keyword tests ("Miễn phí" -> "mien phi")."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").lower()


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
    return f"{amount:,}".replace(",", ".") + " đồng"


def portal_link(procedure: Procedure) -> str:
    """The detail page on the portal (or the portal search when unknown)."""
    if procedure.url:
        return procedure.url
    return PORTAL_SEARCH_HINT.format(code=procedure.code)


def _link_line(procedure: Procedure) -> str:
    return f"🔗 Chi tiết trên Cổng DVC quốc gia: {portal_link(procedure)}"


def _header(procedure: Procedure) -> str:
    return f"📄 {procedure.name} (mã {procedure.code})"


def _ordered_methods(procedure: Procedure) -> list[SubmissionMethod]:
    """Methods in the usual reading order: in person, online, post, others."""
    rank = {channel: i for i, channel in enumerate(CHANNELS)}
    return sorted(procedure.methods, key=lambda m: rank.get(m.channel, len(rank)))


def _unwrap(curated: object) -> tuple[Procedure, object | None]:
    """Accept a CuratedProcedure or a bare Procedure."""
    if isinstance(curated, Procedure):
        return curated, None
    procedure = curated.procedure  # type: ignore[attr-defined]
    return procedure, getattr(curated, "fee_correction", None)


# ---------------------------------------------------------------------------
# Fees and processing times
# ---------------------------------------------------------------------------

_AMOUNT_RE = re.compile(r"\d[\d.,]*\s*(?:đ\b|đồng|dong|vnđ|vnd)", re.IGNORECASE)


def fee_is_free(fee_text: str) -> bool:
    return "mien phi" in _fold(fee_text) or "khong thu" in _fold(fee_text)


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
        text = "Cổng DVC không ghi lệ phí"
    contradiction = fee_is_free(text) and note_states_fee(note)
    if not note and fee_is_free(text) and note_states_fee(text):
        contradiction = True  # the amount sits inside the "free" cell itself
    return _clip(text, 300), _clip(note, 700), contradiction


def describe_time(method: SubmissionMethod) -> str:
    """Processing time as the portal states it; a bare number keeps no unit."""
    pt = method.processing_time
    if pt.value is not None and not pt.unit:
        return f"{pt.value:g} (Cổng DVC không ghi đơn vị)"
    text = " ".join((pt.text or "").split())
    if text:
        return _clip(text, 300)
    if pt.value is not None:
        return f"{pt.value:g} {pt.unit}"
    return "Cổng DVC không ghi thời gian"


def answer_fee(curated: object) -> Answer:
    procedure, correction = _unwrap(curated)
    lines = [_header(procedure), "💰 Phí, lệ phí theo hình thức nộp:"]
    notes: dict[str, list[str]] = {}  # note -> channels, so a shared note shows once
    contradictions: set[str] = set()
    methods = _ordered_methods(procedure)
    for method in methods:
        text, note, contradiction = describe_fee(method)
        lines.append(f"• {method.channel}: {text}{' (xem ghi chú ⚠️)' if contradiction else ''}")
        if note:
            notes.setdefault(note, []).append(method.channel)
            if contradiction:
                contradictions.add(note)
    if not methods:
        lines.append("• Cổng DVC không ghi thông tin lệ phí cho thủ tục này.")
    for note, channels in notes.items():
        mark = "⚠️ " if note in contradictions else ""
        lines.append(f"{mark}Ghi chú ({', '.join(channels)}): {note}")
    if contradictions:
        lines.append(
            "⚠️ Ô lệ phí trên Cổng ghi “Miễn phí” nhưng ghi chú nêu mức thu: "
            "hãy căn cứ vào ghi chú và kiểm tra lại khi nộp."
        )
    if correction is not None:
        amount = getattr(correction, "amount_vnd", None)
        text = getattr(correction, "text", "")
        source = getattr(correction, "source", "")
        detail = text or (_format_vnd(amount) if amount is not None else "")
        source_part = f" (nguồn: {_clip(source, 300)})" if source else ""
        lines.append(f"⚠️ Lệ phí đã được cán bộ rà soát: {detail}{source_part}")
    lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_documents", "ask_processing_time", "ask_online"))


def answer_processing_time(curated: object) -> Answer:
    procedure, _ = _unwrap(curated)
    lines = [_header(procedure), "⏱️ Thời gian giải quyết theo hình thức nộp:"]
    methods = _ordered_methods(procedure)
    for method in methods:
        lines.append(f"• {method.channel}: {describe_time(method)}")
    if not methods:
        lines.append("• Cổng DVC không ghi thời gian giải quyết cho thủ tục này.")
    lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_documents", "ask_fee", "ask_agency"))


# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------


def _quantity(document: Document) -> str:
    parts = []
    if document.originals:
        parts.append(f"{document.originals} bản chính")
    if document.copies:
        parts.append(f"{document.copies} bản sao")
    return ", ".join(parts)


def _case_label(case: str | None) -> str:
    label = _strip_bullet(case or "").rstrip(":").strip()
    return label


def answer_documents(curated: object, max_items: int = MAX_DOCUMENTS) -> Answer:
    procedure, _ = _unwrap(curated)
    lines = [_header(procedure)]
    documents = list(procedure.documents)
    if not documents:
        lines.append("Cổng DVC không liệt kê thành phần hồ sơ cho thủ tục này.")
        lines.append(_link_line(procedure))
        return Answer("\n".join(lines), ("ask_fee", "ask_agency"))
    lines.append(f"📋 Thành phần hồ sơ ({len(documents)} giấy tờ):")
    shown = documents[:max_items]
    current_case: str | None = None
    for document in shown:
        case = _case_label(document.case)
        if case and case != current_case:
            lines.append(f"▸ {case}:")
        current_case = case
        detail = _quantity(document)
        extra = f" — mẫu: {_clip(document.form, 80)}" if document.form else ""
        suffix = f" ({detail})" if detail else ""
        lines.append(f"• {_clip(_strip_bullet(document.name), MAX_DOCUMENT_CHARS)}{suffix}{extra}")
    hidden = len(documents) - len(shown)
    if hidden > 0:
        lines.append(f"… và {hidden} giấy tờ khác — xem đầy đủ tại {portal_link(procedure)}")
    else:
        lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_fee", "ask_processing_time", "ask_agency"))


# ---------------------------------------------------------------------------
# Agency, online, legal basis, overview
# ---------------------------------------------------------------------------


def answer_agency(curated: object) -> Answer:
    procedure, _ = _unwrap(curated)
    lines = [_header(procedure)]
    agencies = [a for a in procedure.agencies if a.strip()]
    if agencies:
        lines.append("🏛️ Cơ quan thực hiện:")
        lines.extend(f"• {_clip(a, 200)}" for a in agencies[:MAX_AGENCIES])
        if len(agencies) > MAX_AGENCIES:
            lines.append(f"… và {len(agencies) - MAX_AGENCIES} cơ quan khác.")
    else:
        lines.append("🏛️ Cổng DVC không ghi cơ quan thực hiện cho thủ tục này.")
    if procedure.competent_authority and procedure.competent_authority not in agencies:
        lines.append(f"Cơ quan có thẩm quyền: {_clip(procedure.competent_authority, 200)}")
    if procedure.implementing_level:
        lines.append(f"Cấp thực hiện: {procedure.implementing_level}")
    lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_documents", "ask_online", "ask_fee"))


ONLINE_HOW = (
    f"Cách nộp: vào Cổng Dịch vụ công quốc gia {PORTAL_HOME}, đăng nhập bằng tài khoản "
    "định danh điện tử VNeID, tìm thủ tục theo tên hoặc mã rồi chọn “Nộp hồ sơ”. "
    "Một số thủ tục cũng nộp được ngay trên ứng dụng VNeID."
)


def answer_online(curated: object) -> Answer:
    procedure, _ = _unwrap(curated)
    lines = [_header(procedure)]
    channels = [m.channel for m in _ordered_methods(procedure)]
    if procedure.online:
        lines.append("✅ Có. Cổng DVC liệt kê hình thức nộp “Trực tuyến” cho thủ tục này.")
        online = next(m for m in procedure.methods if m.channel == CHANNEL_ONLINE)
        lines.append(f"Thời gian khi nộp trực tuyến: {describe_time(online)}")
        lines.append(ONLINE_HOW)
    else:
        lines.append("❌ Cổng DVC không liệt kê hình thức nộp “Trực tuyến” cho thủ tục này.")
        if channels:
            lines.append("Các hình thức nộp được liệt kê: " + ", ".join(dict.fromkeys(channels)))
    lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_documents", "ask_fee", "ask_processing_time"))


def answer_legal_basis(curated: object, max_items: int = MAX_LEGAL) -> Answer:
    procedure, _ = _unwrap(curated)
    lines = [_header(procedure)]
    laws = list(procedure.legal_basis)
    if not laws:
        lines.append("Cổng DVC không ghi căn cứ pháp lý cho thủ tục này.")
    else:
        lines.append(f"⚖️ Căn cứ pháp lý ({len(laws)} văn bản):")
        for law in laws[:max_items]:
            title = _clip(law.title, 200)
            if law.number and law.number not in title:
                lines.append(f"• {law.number} — {title}")
            else:
                lines.append(f"• {title or law.number}")
        if len(laws) > max_items:
            lines.append(f"… và {len(laws) - max_items} văn bản khác.")
    lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_documents", "ask_fee", "ask_procedure"))


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
        lines.append(f"Lĩnh vực: {procedure.field}")
    if procedure.implementing_level:
        lines.append(f"Cấp thực hiện: {procedure.implementing_level}")
    channels = list(dict.fromkeys(m.channel for m in _ordered_methods(procedure)))
    if channels:
        lines.append("Hình thức nộp: " + ", ".join(channels))
    steps = _short_steps(procedure.steps)
    if steps:
        lines.append("Các bước chính:")
        lines.extend(f"{i}. {step}" for i, step in enumerate(steps, start=1))
    lines.append(
        f"Hồ sơ gồm {len(procedure.documents)} giấy tờ; "
        f"{len(procedure.legal_basis)} văn bản căn cứ pháp lý."
    )
    if correction is not None:
        lines.append("⚠️ Lệ phí của thủ tục này đã được cập nhật, hỏi “lệ phí” để xem chi tiết.")
    lines.append(_link_line(procedure))
    return Answer("\n".join(lines), ("ask_documents", "ask_fee", "ask_processing_time"))


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
        f"{i}. {_clip(name, 150)} (mã {code})" for i, (code, name) in enumerate(names, start=1)
    )
