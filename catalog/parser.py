"""Turn one raw portal record (dichvucong.gov.vn crawl) into a `Procedure`.

The crawler stored the page text of each procedure, and three of its sections
are HTML tables whose cells were concatenated with no separator at all:

* "Cách thức thực hiện"  -> `SubmissionMethod` rows (channel, time, fee, note, description)
* "Thành phần hồ sơ"     -> `Document` rows (name, form template, quantities, case group)
* "Căn cứ pháp lý"       -> `LegalDocument` rows (title, number)

Splitting them back into cells cannot rely on separators, so every splitter
below anchors on the one cell of each row whose shape is predictable (a channel
name followed by a time and a fee; a quantity "1 bản chính,1 bản sao"; a
document number "123/2015/NĐ-CP" glued to the next title) and treats the text
in between as the free cells. The choices were made after surveying all 2,642
records in `catalog/data/raw_all_7_agencies.tar.gz`; the comments say which
quirk each rule exists for.

The crawler also split the page into fields naively (at the first occurrence of
each section heading), so in ~60 records a heading word inside the text cut a
field short (steps that stop at "(Thành phần hồ sơ)", a fee table cut at
"Căn cứ pháp lý: ..." inside a fee note). When the record carries `raw_text`,
the sections are re-cut from it with anchored headings and a field that does
not match its re-cut section is replaced by it (see `_sections`).

Only the standard library is used, so the parser runs anywhere the catalog does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from typing import Any

from catalog.fees import parse_fee_rules
from catalog.legal import doc_type_of, normalize_number, split_number
from catalog.model import (
    CHANNELS,
    KIND_CONDITIONAL,
    KIND_DECLARATION,
    KIND_NOTE,
    KIND_PRESENT,
    KIND_SUBMIT,
    Document,
    Fee,
    LegalDocument,
    Procedure,
    ProcessingTime,
    SubmissionMethod,
)
from core.vietnamese import INVISIBLE_CHARACTERS, fold, nfc

__all__ = [
    "ParseError",
    "clean_result",
    "document_kind",
    "is_note_row",
    "parse_documents",
    "parse_legal_basis",
    "parse_methods",
    "parse_record",
    "split_agencies",
]


class ParseError(ValueError):
    """A record that cannot be turned into a `Procedure`; the message says why."""


NO_INFO = "Không có thông tin"

# --------------------------------------------------------------------------- text


# Private-use glyphs are Wingdings bullets pasted from Word (U+F0FC, U+F0D8 ...)
# and become spaces; invisible format characters (zero-width and direction marks,
# soft hyphens: `core.vietnamese.INVISIBLE_CHARACTERS`) are noise that breaks
# matching and are dropped; NBSP becomes a plain space.
_ODD_CHARS_RE = re.compile(f"[\ue000-\uf8ff{INVISIBLE_CHARACTERS}\u00a0\r]")
_ODD_CHAR_FIX = {"\u00a0": " ", "\r": "\n"}


def _fix_char(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _ODD_CHAR_FIX:
        return _ODD_CHAR_FIX[ch]
    return " " if "\ue000" <= ch <= "\uf8ff" else ""


_HSPACE_RE = re.compile(r"[^\S\n]+")
# Explicit Vietnamese letter classes: a range like [à-ỹ] also covers capitals
# (U+1EA0 "Ạ" sits between lowercase letters), so case tests need the full list.
_VI_LOWER = "a-zàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
_VI_LOWER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz" + _VI_LOWER[3:])
_VI_UPPER = "A-ZÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
_ANY_SPACE_RE = re.compile(r"\s+")


def _nfc(text: str) -> str:
    """NFC, with non-breaking spaces made plain and invisible characters dropped.

    49 method tables (and other fields) are stored decomposed (NFD); without NFC
    "Trực tuyến" typed on a keyboard would not match them.
    """
    text = nfc(text)
    if _ODD_CHARS_RE.search(text):
        text = _ODD_CHARS_RE.sub(_fix_char, text.replace("\r\n", "\n"))
    return text


def _inline(text: str) -> str:
    """One-line text: every run of whitespace (newlines included) becomes one space."""
    return _ANY_SPACE_RE.sub(" ", _nfc(text)).strip()


def _block(text: str) -> str:
    """Multi-line text (steps, requirements, descriptions): runs of spaces and tabs
    collapse, lines are trimmed and blank-line runs shrink to one, but the line
    structure the portal shows is kept."""
    lines = [_HSPACE_RE.sub(" ", line).strip() for line in _nfc(text).split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _no_info_to_empty(text: str) -> str:
    """The portal writes "Không có thông tin" for an empty field."""
    return "" if text.strip().rstrip(".").strip() == NO_INFO else text


def _field(raw: Mapping[str, Any], key: str) -> str:
    """A text field of the record: None/missing is "", a non-string is an error
    (a number here means the record was built by something other than the
    crawler and a silent str() could hide e.g. a code that lost its zeros)."""
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParseError(f"field {key!r} must be a string, got {type(value).__name__}")
    return value


# ---------------------------------------------------------- sections from raw_text

_STEPS_HEAD = "Trình Tự Thực Hiện"
_METHODS_HEAD = "Cách Thức Thực Hiện"
_METHODS_TABLE = "Hình thức nộpThời gianPhí, lệ phíMô tả"
_DOCS_HEAD = "Thành phần hồ sơ"
_LEGAL_HEAD_RE = re.compile(r"Căn cứ pháp lý(?=Tên văn bản pháp lýMã văn bản|Không có thông tin)")
_AGENCY_HEAD = "Cơ quan thực hiện"
_REQ_HEAD = "Yêu cầu, điều kiện thực hiện"
_RESULT_HEAD = "Kết quả xử lý"

_SECTION_KEYS = (
    "trinh_tu_thuc_hien",
    "cach_thuc_thuc_hien",
    "thanh_phan_ho_so",
    "can_cu_phap_ly",
    "co_quan_thuc_hien",
    "yeu_cau_dieu_kien",
    "ket_qua_xu_ly",
)


def _raw_sections(raw_text: str) -> dict[str, str] | None:
    """Re-cut the page text into sections using anchors that occur once per page.

    Anchors, chosen from the survey: the methods table header right after its
    heading; the first "Thành phần hồ sơ" after the methods table (the heading
    words also occur inside steps and document rows, never inside a methods
    table); the legal heading followed by its table header or "Không có thông
    tin" (exactly one per page); then the first agency and requirements
    headings after it and the last result heading (absent on 14 pages).
    Returns None when an anchor is missing so callers keep the fields.
    """
    methods = raw_text.find(_METHODS_HEAD + _METHODS_TABLE)
    if methods < 0:
        return None
    steps = raw_text.rfind(_STEPS_HEAD, 0, methods)
    docs = raw_text.find(_DOCS_HEAD, methods)
    legal_matches = list(_LEGAL_HEAD_RE.finditer(raw_text, max(docs, 0)))
    if steps < 0 or docs < 0 or not legal_matches:
        return None
    legal = legal_matches[-1]
    agency = raw_text.find(_AGENCY_HEAD, legal.end())
    if agency < 0:
        return None
    req = raw_text.find(_REQ_HEAD, agency)
    if req < 0:
        return None
    result = raw_text.rfind(_RESULT_HEAD, req)
    return {
        "trinh_tu_thuc_hien": raw_text[steps + len(_STEPS_HEAD) : methods],
        "cach_thuc_thuc_hien": raw_text[methods + len(_METHODS_HEAD) : docs],
        "thanh_phan_ho_so": raw_text[docs + len(_DOCS_HEAD) : legal.start()],
        "can_cu_phap_ly": raw_text[legal.end() : agency],
        "co_quan_thuc_hien": raw_text[agency + len(_AGENCY_HEAD) : req],
        "yeu_cau_dieu_kien": raw_text[req + len(_REQ_HEAD) : result if result >= 0 else None],
        "ket_qua_xu_ly": raw_text[result + len(_RESULT_HEAD) :] if result >= 0 else "",
    }


def _squash(text: str) -> str:
    return "".join(_nfc(text).split())


def _sections(raw: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The section texts to parse, and the keys that were repaired from raw_text.

    A field is kept when it equals its re-cut section up to whitespace (the
    crawler trimmed fields); otherwise the crawler cut it at a heading word
    inside the text and the re-cut section replaces it.
    """
    fields = {key: _field(raw, key) for key in _SECTION_KEYS}
    raw_text = _field(raw, "raw_text")
    recut = _raw_sections(_nfc(raw_text)) if raw_text else None
    if recut is None:
        return fields, []
    repaired = []
    for key in _SECTION_KEYS:
        if _squash(fields[key]) != _squash(recut[key]):
            fields[key] = recut[key]
            repaired.append(key)
    return fields, repaired


# ------------------------------------------------------------------ methods table

_CHANNEL_ALT = "|".join(re.escape(c) for c in sorted(CHANNELS, key=len, reverse=True))
# Units as the portal prints them in the time column (capitalised).
_UNITS = ("Ngày làm việc", "Ngày", "Giờ", "Tháng", "Năm", "Tuần", "Phút")
_UNIT_ALT = "|".join(re.escape(u) for u in _UNITS)
# Time cells that are words, longest first: "Không" alone occurs (tax records).
_TIME_PHRASES = (
    "Không phải trả kết quả cho người nộp thuế",
    NO_INFO,
    "Không quy định",
    "Không",
)
_TIME_PHRASE_ALT = "|".join(re.escape(p) for p in _TIME_PHRASES)
_VND_CURRENCIES = ("Việt Nam Đồng", "VNĐ", "VND", "Đồng", "đồng")
_CURRENCY_ALT = (
    "|".join(re.escape(c) for c in (*_VND_CURRENCIES, "USD", "EUR", "Euro", "JPY", "CNY", "GBP"))
    + r"|đ(?!\w)"
)
# An amount: thousands grouped with one consistent separator ("2,000,000" or
# "2.000.000"), or plain digits; never a leading zero, so that a bare-number time
# glued to it splits right ("Trực tuyến1100,000 VNĐ" = 1 | 100,000 VNĐ).
_AMOUNT = r"(?:[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d{0,2}(?:\.\d{3})+|[1-9]\d*|0)"

# One row start: channel + time cell + the start of the fee cell. Requiring all
# three is what tells a real row from the channel words that occur in notes and
# descriptions ("Nộp trực tiếp tại ...", "Trực tuyến (hệ thống ...)").
# The time number is lazy: with no unit the shortest split that leaves a valid
# fee wins ("Trực tuyến120 VNĐ" = time 1, fee 20 VNĐ; the note says 20.000 đ).
_ROW_RE = re.compile(
    rf"(?P<channel>{_CHANNEL_ALT})\s*"
    r"(?P<time>"
    rf"(?P<num>\d+?(?:[.,]\d+)?)(?:\s*(?P<unit>{_UNIT_ALT}))?"
    rf"|(?P<phrase>{_TIME_PHRASE_ALT}"
    r"|Hệ thống giải quyết thủ tục hành chính[^()\n]{0,150}?)"
    r")\s*"
    r"(?P<fee>Miễn phí|"
    + re.escape(NO_INFO)
    + r"|(?P<label>(?:Lệ phí|Phí)\s*:?\s*)?"
    + rf"(?P<amount>{_AMOUNT})\s*(?P<cur>{_CURRENCY_ALT}))"
)
# "(1) Trường hợp ...", "(a) ...", "(ii) ..." right after the fee open the
# description column, they are not a fee note (71 rows in the data).
_ENUMERATOR_RE = re.compile(r"\((?:\d{1,2}|[a-zđ]|[ivx]{1,4})\)\s", re.IGNORECASE)
# Stated amounts below this are not VND amounts anyone charges: the portal has
# cells like "20 VNĐ" whose note says "20.000 đồng/tờ khai" (the form field was
# filled in thousands). amount_vnd stays None there instead of a wrong figure.
_MIN_PLAUSIBLE_VND = 1000


def _matching_paren(text: str, start: int) -> int:
    """Index of the ")" closing the "(" at `start`, or -1 when it never closes."""
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _parse_amount(amount: str) -> int:
    return int(amount.replace(",", "").replace(".", ""))


def _number(text: str) -> float:
    """A time value; a comma is a decimal separator in Vietnamese text."""
    return float(text.replace(",", "."))


@dataclass
class _MethodRow:
    match: re.Match[str]
    note: str
    description: str


def parse_methods(text: str) -> list[SubmissionMethod]:
    """Split the "Cách thức thực hiện" table into one `SubmissionMethod` per row.

    A channel can have several rows (different times per case: 80 records), so
    rows are kept in page order rather than merged per channel. After the fee
    cell comes an optional "(note)" (balanced parentheses; notes nest and may
    leave one unclosed) and then the free "Mô tả" column up to the next row.
    """
    text = _nfc(text).strip()
    if not text or _no_info_to_empty(text) == "":
        return []
    body = text[len(_METHODS_TABLE) :] if text.startswith(_METHODS_TABLE) else text
    body = body.strip()
    if not body:
        return []
    first = _ROW_RE.match(body)
    if first is None:
        raise ParseError(f"malformed methods table: no row starts at {body[:60]!r}")
    rows: list[_MethodRow] = []
    match: re.Match[str] | None = first
    while match is not None:
        fee_end = match.end()
        following = _ROW_RE.search(body, fee_end)
        segment_end = following.start() if following else len(body)
        note, rest = "", fee_end
        if body.startswith("(", fee_end) and not _ENUMERATOR_RE.match(body, fee_end):
            close = _matching_paren(body, fee_end)
            if close < 0 or close >= segment_end:
                # Unclosed note (1.000597): it ends at its last ")" before the
                # next row; without one the whole rest of the row is the note.
                last = body.rfind(")", fee_end + 1, segment_end)
                close = last if last > fee_end else segment_end
            note, rest = body[fee_end + 1 : close], min(close + 1, segment_end)
        rows.append(_MethodRow(match, note, body[rest:segment_end]))
        match = following
    return [_method_from_row(row) for row in rows]


def _method_from_row(row: _MethodRow) -> SubmissionMethod:
    m = row.match
    if m.group("num") is not None:
        value = _number(m.group("num"))
        unit = m.group("unit")
        text = f"{m.group('num')} {unit}" if unit else m.group("num")
        time = ProcessingTime(value, unit, text)
    else:
        phrase = _inline(m.group("phrase") or "")
        time = ProcessingTime(None, None, _no_info_to_empty(phrase))
    note = _inline(row.note)
    fee_cell = m.group("fee")
    amount: int | None
    if fee_cell == "Miễn phí":
        main, amount = "Miễn phí", 0
    elif fee_cell == NO_INFO:
        main, amount = "", None
    else:
        main = f"{m.group('label') or ''}{m.group('amount')} {m.group('cur')}"
        amount = None
        if m.group("cur") in _VND_CURRENCIES or m.group("cur") == "đ":
            value = _parse_amount(m.group("amount"))
            amount = value if value >= _MIN_PLAUSIBLE_VND or value == 0 else None
    fee_text = f"{main} ({note})".strip() if note else main
    method = SubmissionMethod(
        channel=m.group("channel"),
        processing_time=time,
        fee=Fee(amount_vnd=amount, text=fee_text, note=note),
        description=_no_info_to_empty(_block(row.description)),
    )
    return dc_replace(method, fee_rules=parse_fee_rules(method))


# --------------------------------------------------------------- documents table

_DOCS_TABLE_RE = re.compile(r"Tên giấy tờ\s*Mẫu đơn, tờ khai\s*Số lượng")
# The quantity cell. Its originals count is read as ONE digit because the cell is
# glued to the name, which often ends in digits ("Mẫu số 18" + "1 bản chính" =
# "Mẫu số 181 bản chính", "... năm 2016" + "1 bản chính"); counts above 9
# originals do not occur in the data. Copies are delimited by "," so any width.
_QTY_RE = re.compile(r"(\d+) bản chính(?:\s*,\s*(\d+) bản sao)?")
_LOWER_NEXT_RE = re.compile(rf"\s+[{_VI_LOWER}]")
# Extensions of the template files the portal attaches. The lookahead is
# lowercase-only so that glued files ("a.docxMẫu số 2.docx") still split.
_FORM_EXT_RE = re.compile(r"\.(?i:docx?|pdf|xlsx?|rar|zip|odt|ods|rtf)(?![a-z])")
_LEAD_JUNK_RE = re.compile(r"^[\s,.;:)\]]+")
_BULLET_RE = re.compile(r"^(?:[-+•*–]\s*)+")
_FORM_WINDOW = 160  # the longest file name seen is ~115 characters
_FORM_MAX_WORDS = 26  # longest real one: 26 words (ASCII-folded names split per word)
# Issuer codes ("NĐ-CP", "TT-BTC") are where document names most often end and a
# file name gets glued: "... Nghị định số 23/2026/NĐ-CPMau35.docx".
# fmt: off
_KNOWN_CODES = frozenset({
    "CP", "QH", "BTC", "BTP", "BCA", "NHNN", "BNNMT", "BGTVT", "BXD", "BNNPTNT", "PTNT",
    "UBTVQH", "BTNMT", "BLĐTBXH", "BHXH", "BKHĐT", "UBND", "BYT", "VPCP", "BVHTTDL", "HĐND",
    "TTLT", "BKHCN", "BNV", "BCT", "BQP", "BTTTT", "BNG", "TANDTC", "VKSNDTC", "VBHN", "VPQH",
    "CTN", "TTg", "NĐ", "QĐ", "TT", "NQ", "ND", "QD", "PL", "TCHQ", "BTNN", "NQLT", "BGDĐT",
    "KTNN", "TTCP",
})
# fmt: on
_CODE_GLUE_RE = re.compile(
    r"[-/](?:"
    + "|".join(sorted(_KNOWN_CODES - {"QH"}, key=len, reverse=True))
    + rf")(?=[{_VI_UPPER}{_VI_LOWER}0-9])"
)
_VI_VOWELS = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵ"
_GLIDES = frozenset("iìíỉĩịyỳýỷỹỵuùúủũụoòóỏõọ")
_SYLLABLE_RE = re.compile(
    r"(?P<initial>ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?"
    rf"(?P<nucleus>[{_VI_VOWELS}]{{1,3}})(?P<final>ch|ng|nh|[cmnpt])?"
)


def is_note_row(document: Document) -> bool:
    """True for a "Thành phần hồ sơ" row that is not a document (kind "note").

    Such rows are explanations ("Trường hợp ... thì không phải nộp bản giấy"),
    "Lưu ý" lines and headings. The parser KEEPS them, in page order and with
    their case, so nothing the portal shows is lost; callers that want only
    what to submit or present filter them out with this helper.
    """
    return document_kind(document) == KIND_NOTE


_fold_label = functools.lru_cache(maxsize=8192)(fold)  # group labels repeat per row


_NOTE_START_RE = re.compile(r"^\W*(?:luu y|ghi chu|chu y)\b")
_NOTE_CASE_RE = re.compile(r"\b(?:luu y|ghi chu|chu y)\b")
_QTY_IN_NAME_RE = re.compile(r"\d+\s*bản\s+(?:chính|sao)", re.IGNORECASE)
_NOT_NEEDED_RE = re.compile(
    r"^\W*(?:trong )?(?:truong hop|neu)\b.*\b(?:thi )?(?:khong (?:phai|can)|duoc mien)"
    r" (?:nop|xuat trinh|tai len|cung cap|chung thuc)"
)
_DECLARATION_RE = re.compile(
    r"^\W*(?:\d+[.)]\s*)?(?:to khai|don (?:de nghi|dang ky|xin|yeu cau|khai)|don\b"
    r"|phieu (?:de nghi|yeu cau|khai|dang ky)|ban khai|van ban de nghi|giay de nghi|giay khai"
    r"|mau (?:so|to khai|don|phieu|hs|dc)\b|mau (?:ho tich )?dien tu tuong tac"
    r"|de nghi [^.;(]{0,60}theo mau)"
)
_CONDITION_RE = re.compile(r"^\W*(?:trong )?(?:truong hop|neu|doi voi)\b")
_PRESENT_RE = re.compile(r"xuat trinh")
# "Văn bản ủy quyền ... trong trường hợp ủy quyền", "... (nếu có)": only some applicants.
_CONDITION_INSIDE_RE = re.compile(
    r"\btrong truong hop\b|\bdoi voi truong hop\b|\(neu co\)|\(doi voi |^\W*van ban uy quyen\b"
    r"|\bnguoi dai dien hop phap\b"
)


def document_kind(document: Document) -> str:
    """What a row is to the citizen, from its name, quantity and case group.

    - note: a "Lưu ý"/"Ghi chú" line or group, a row with no quantity (unless
      the quantity is written in its name), a "Trường hợp ... thì không phải
      nộp/xuất trình" exemption;
    - present: in a "Giấy tờ phải xuất trình" group (to show, not hand in);
    - declaration: the form to fill in ("Tờ khai", "Đơn đề nghị", "Phiếu đề nghị" ...);
    - conditional: a row that starts with its own case ("Trường hợp ...",
      "Nếu ...", "Đối với ..."), says "trong trường hợp"/"(nếu có)" early, is a
      power of attorney, or sits in a "Trường hợp ..." group;
    - submit: anything else.
    """
    name = fold(document.name[:200])  # every test below but one looks at the start
    case = _fold_label(document.case or "")
    if _NOTE_START_RE.match(name) or _NOTE_CASE_RE.search(case):
        return KIND_NOTE
    if document.originals == 0 and document.copies == 0:
        if not _QTY_IN_NAME_RE.search(document.name):
            return KIND_NOTE
        if _NOT_NEEDED_RE.match(fold(document.name)):
            return KIND_NOTE
    presented = _PRESENT_RE.search(case) and "nop" not in case.replace("xuat trinh", "")
    if presented or name.startswith("xuat trinh"):
        return KIND_PRESENT
    if _DECLARATION_RE.match(name):
        return KIND_DECLARATION
    if (
        _CONDITION_RE.match(name)
        or _CONDITION_RE.match(re.sub(r"^[\W\d.)]+", "", case))
        or _CONDITION_INSIDE_RE.search(name[:160])
    ):
        return KIND_CONDITIONAL
    return KIND_SUBMIT


def _is_quantity_cell(text: str, match: re.Match[str], name_start: int) -> bool:
    """Tell the quantity column from the same words inside a name.

    Inside names the phrase is written with spaces around it ("nộp 02 bản
    chính tờ khai", "(01 bản chính hoặc 01 bản sao có chứng thực)", a row
    starting "- 01 bản chính Báo cáo ..."); the cell is glued to the end of the
    name (a tab at most) and followed directly by the next row.
    """
    run = match.group(1)
    before = text[match.start() - 1] if match.start() > 0 else ""
    after = text[match.end() : match.end() + 1]
    if _LOWER_NEXT_RE.match(text, match.end()):
        return False
    if not text[name_start : match.start()].strip(" -+•*") and after.isspace():
        return False
    if before in (" ", "(") and len(run) <= 2:
        # "bước 11 bản chínhTài liệu" (name "bước 1" + cell) is glued on the
        # right; "Nộp 01 bản chính giấy ...", ": 01 bản chính1 bản chính" are not.
        return after == "" or after.isalpha()
    return True


def _is_syllable(word: str) -> bool:
    """A plausible Vietnamese syllable ("định", "nuôi"; not "địnhv", "mẫum")."""
    m = _SYLLABLE_RE.fullmatch(word.lower())
    if m is None:
        return False
    nucleus = m.group("nucleus")
    return not (m.group("final") and len(nucleus) >= 2 and nucleus[-1] in _GLIDES)


def _strong_boundaries(text: str, lo: int) -> list[int]:
    """Positions in `text[lo:]` where a glued file name can start, by the visible
    seams: lower->Upper ("xã hộiMau"), a known issuer code ("NĐ-CPMẫu",
    "TT-BTC01-LP.docx"), ")", "." or "," glue (").Mẫu", "ý kiến.Mẫu"), digit->Word
    ("57Mau57"), and right after a ";" or ":" with no space ("văn bản;Mau.docx")."""
    found: set[int] = set()
    for i in range(max(lo, 1), len(text)):
        a, b = text[i - 1], text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if (a in ";:" and b.isalnum()) or (a.islower() and b.isupper()):
            found.add(i)
        elif a.isupper() and b.isupper() and nxt.islower() and text[i - 2 : i].isupper():
            found.add(i)  # "... từng TTHCMau 1a.docx", "mẫu số 01/TAINMẫu số 01.docx"
        elif a.isdigit() and b.isupper() and nxt.islower():
            found.add(i)
        elif a in ".),”\"'" and b.isalnum():
            if a == "." and b.isdigit() and i >= 2 and text[i - 2].isdigit():
                continue  # "Mẫu I.1.9"
            if a == ".":
                token = re.search(r"(?:^|\s)(\S*)\.$", text[:i])
                if token and token.group(1).isupper() and len(token.group(1)) <= 2:
                    continue  # "TP.HCM", "Phụ lục V.VI"
            found.add(i)
    found.update(m.end() for m in _CODE_GLUE_RE.finditer(text, max(lo - 1, 0)))
    return sorted(i for i in found if i >= lo)


def _weak_boundaries(text: str, lo: int) -> list[int]:
    """Seams with no case change, tried only when no strong one fits: a letter
    glued to digits ("... hàng không1.000574.docx") and two Vietnamese syllables
    written as one word ("theo quy địnhvăn bản đề nghị.docx")."""
    found: list[int] = []
    for i in range(max(lo, 1), len(text)):
        if text[i - 1].islower() and text[i].isdigit():
            found.append(i)
    for m in re.finditer(rf"[{_VI_LOWER}]+", text[lo:]):
        word = m.group()
        if len(word) < 4 or word.isascii() or _is_syllable(word):
            continue
        for cut in range(len(word) - 1, 1, -1):
            # "thếmẫu" is "thế|mẫu", not "thếm|ẫu": the second syllable starts
            # with a consonant.
            if _is_syllable(word[:cut]) and word[cut] not in _VI_VOWELS:
                found.append(lo + m.start() + cut)
                break
    return sorted(found)


def _plausible_file_stem(stem: str) -> bool:
    return bool(stem) and not stem[0].isspace() and len(stem.split()) <= _FORM_MAX_WORDS


def _split_form(text: str) -> tuple[str, str | None]:
    """Separate template file names glued to the end of a document name.

    "... (Mẫu DC02 ban hành kèm theo Thông tư số 17/2024/TT-BCA của Bộ Công
    an)Mẫu DC02 Phiếu đề nghị giải quyết thủ tục về căn cước.doc" -> the name up
    to ")" and the file name after it. Several files can follow each other
    ("Mẫu số 13.docxMẫu số 14.docx"); they are joined with "; ". The first file
    starts after the last character a file name cannot hold ("/", ":" ...), at
    the leftmost seam (`_strong_boundaries`, else `_weak_boundaries`) within the
    last 160 characters that leaves a file name of at most 26 words. When no
    seam is found the row stays one name with no form rather than a guess.
    """
    exts = list(_FORM_EXT_RE.finditer(text))
    if not exts or exts[-1].end() != len(text):
        return text, None
    first = len(exts) - 1
    while first > 0:
        stem = text[exts[first - 1].end() : exts[first].start()].strip()
        if not stem or len(stem) > 120 or re.search(r"[/\\:;*?\"<>|\n]", stem):
            break
        first -= 1
    prefix = text[: exts[first].start()]
    lo = max(0, len(prefix) - _FORM_WINDOW)
    hard = max(prefix.rfind(c) for c in '/\\*?"<>|\n\t')
    lo = max(lo, hard + 1)
    start = None
    for candidates in (_strong_boundaries(prefix, lo), _weak_boundaries(prefix, lo)):
        start = next((i for i in candidates if _plausible_file_stem(prefix[i:])), None)
        if start is not None:
            break
    if start is None:
        if first == len(exts) - 1:
            return text, None
        # The first file's start is invisible; keep it in the name and take the
        # files glued after it.
        start, first = exts[first].end(), first + 1
    files = [text[start : exts[first].end()]]
    files.extend(text[exts[k - 1].end() : exts[k].end()] for k in range(first + 1, len(exts)))
    return text[:start], "; ".join(_inline(f) for f in files)


def _clean_case(label: str) -> str | None:
    """The group label before a table header; "--" (the portal's "no label") is None.
    A leading "-"/"+" list dash is dropped, a "*" kept ("* Giấy tờ phải nộp:")."""
    label = _inline(_LEAD_JUNK_RE.sub("", label))
    if not label.strip("-–—*: ") or _no_info_to_empty(label) == "":
        return None
    return re.sub(r"^[-+–•]+\s*", "", label)


def _document(raw_name: str, originals: int, copies: int, case: str | None) -> Document:
    name, form = _split_form(_inline(raw_name))
    name = _BULLET_RE.sub("", _LEAD_JUNK_RE.sub("", name)).strip()
    return Document(name=name, originals=originals, copies=copies, form=form, case=case)


def parse_documents(text: str) -> list[Document]:
    """Split "Thành phần hồ sơ" into `Document` rows.

    The table header "Tên giấy tờMẫu đơn, tờ khaiSố lượng" repeats once per
    case group; the text before a header is that group's `case` ("* Giấy tờ
    phải nộp:", "Trường hợp 1: ..."; "--" means none). Rows end at a quantity
    cell; a template file glued before the cell becomes `form`. Rows with 0
    originals and 0 copies are kept as note rows (see `is_note_row`), and text
    after the last cell of the last group (no quantity) becomes a note row too.
    A section without any table and any quantity (crawl debris) gives [].
    """
    text = _nfc(text)
    if not _no_info_to_empty(text).strip():
        return []
    parts = _DOCS_TABLE_RE.split(text)
    if len(parts) == 1 and not any(_is_quantity_cell(text, m, 0) for m in _QTY_RE.finditer(text)):
        return []
    if len(parts) == 1:
        parts = ["", text]
    documents: list[Document] = []
    case = _clean_case(parts[0])
    for index, body in enumerate(parts[1:], start=1):
        last_group = index == len(parts) - 1
        pos = 0
        for match in _QTY_RE.finditer(body):
            if match.start() < pos or not _is_quantity_cell(body, match, pos):
                continue
            run = match.group(1)
            carry = run[:-1] if run[:-1].strip("0") else ""
            name = body[pos : match.start()] + carry
            copies = int(match.group(2)) if match.group(2) else 0
            document = _document(name, int(run[-1]), copies, case)
            if document.name or document.form:
                # A cell with nothing before it ("1 bản chính1 bản chính", 15
                # records) is an empty portal row: nothing to show, dropped.
                documents.append(document)
            pos = match.end()
        tail = body[pos:]
        if last_group:
            tail_doc = _document(tail, 0, 0, case)
            if re.search(r"\w", tail_doc.name):
                documents.append(tail_doc)
        else:
            case = _clean_case(tail)
    return [dc_replace(d, kind=document_kind(d)) for d in documents]


# ------------------------------------------------------------------- legal basis

_LEGAL_TABLE = "Tên văn bản pháp lýMã văn bản"
# After the slash comes the issuer code ("NĐ-CP", "TT-BTC", "QĐ-TTg", "QH15"). The
# regex takes the whole capital run and `_code_end` gives back what belongs to
# the next, glued title: "NĐ-CPThông tư" and "NĐ-CPQUY ĐỊNH" end at "CP",
# "TT-BTCquy định" keeps "BTC" (known codes), an unknown run followed by a
# lowercase letter gives back its last capital ("...-CQuy định").
# A few number cells carry no code ("...của Chính phủ167/2025Luật ..."); such a
# bare "number/year" only counts when nothing but the next, glued title or the
# end follows it (so dates like "ngày 30/6/2025 của" are not numbers).
_DOC_NUMBER_RE = re.compile(
    r"(?P<lead>\d+(?:\.\d+)?[a-z]?(?:\.[a-z])?)(?:/\d{4})?/"
    r"(?P<code>(?:TTg|[A-ZĐ]+)(?:[-&/](?:TTg|[A-ZĐ]+))*)"
    rf"|(?<![\d/])(?P<bare>\d{{1,4}}/(?:19|20)\d\d)(?=$|[{_VI_UPPER}])"
)
# "Luật số 146/2025/QH15", "Thông tư số 03/2023/TT-BTP" in the number column.
_DOC_TYPE_PREFIX_RE = re.compile(
    r"(?:Bộ luật|Luật|Luất|Pháp lệnh|Nghị định|Nghị quyết|Thông tư liên tịch|Thông tư"
    r"|Quyết định|Chỉ thị|Lệnh|Văn bản hợp nhất)\s+(?:số\s+)?$"
)
# A number right after "số" / a doc-type word, in any case ("NGHỊ ĐỊNH SỐ 46/2020/
# NĐ-CP NGÀY ..." in an all-caps title), is cited by the title.
_CITED_BEFORE_RE = re.compile(
    r"(?:\bsố|nghị định|nghị quyết|luật|thông tư|quyết định|pháp lệnh)\s*$", re.IGNORECASE
)
_YEAR_GLUE_RE = re.compile(r"(?:19|20)\d\d(?=\d{1,4}(?:\.\d+)?/)")


def _code_end(body: str, match: re.Match[str]) -> int:
    """Where the number really ends (see `_DOC_NUMBER_RE`); QH codes keep their
    legislature digits ("QH15"), which are glued to the next number otherwise."""
    end = match.end()
    if match.group("code") is None:
        return end
    last = re.split(r"[-&/]", match.group("code"))[-1]
    if last not in _KNOWN_CODES:
        known = [k for k in _KNOWN_CODES if last.startswith(k)]
        if known:
            end -= len(last) - len(max(known, key=len))
        elif len(last) > 1 and end < len(body) and body[end] in _VI_LOWER_CHARS:
            end -= 1
    if body[:end].endswith("QH"):
        digits = re.match(r"\d{2}", body[end : end + 2])
        if digits:
            end += 2
    return end


@dataclass
class _NumberToken:
    start: int  # including a doc-type prefix that belongs to the number column
    number_start: int
    end: int
    prefixed: bool


def _number_tokens(body: str) -> list[_NumberToken]:
    """Every document number in `body`, left to right. The search restarts where
    the previous number really ended, so "QH1360/2014/QH13" gives "QH13" and
    "60/2014/QH13" (not "1360/2014/QH13")."""
    tokens: list[_NumberToken] = []
    pos = 0
    while (m := _DOC_NUMBER_RE.search(body, pos)) is not None:
        start = m.start()
        end = _code_end(body, m)
        if len(m.group("lead") or "") > 4:
            # "Luật Đấu giá tài sản năm 201601/2016/QH14": a year glued in front.
            glue = _YEAR_GLUE_RE.match(body, start)
            if glue:
                start = glue.end()
        prefix = _DOC_TYPE_PREFIX_RE.search(body, max(0, start - 30), start)
        tokens.append(
            _NumberToken(prefix.start() if prefix else start, start, end, prefix is not None)
        )
        pos = max(end, m.start() + 1)
    return tokens


def _is_number_column(body: str, token: _NumberToken, next_token: _NumberToken | None) -> bool:
    """Is this number the "Mã văn bản" cell (glued at the end of its row)?

    Numbers cited inside a title are written with spaces ("Nghị định số
    123/2015/NĐ-CP ngày ..."); the column is glued to its title and to the next
    title ("...Luật Hộ tịch123/2015/NĐ-CPNghị định ..."). A number directly
    followed by another one ("Luật 54/2014/QH1354/2014/QH13") is the title's.
    """
    if next_token is not None and (
        next_token.number_start == token.end
        or (
            next_token.start == token.end
            and body[next_token.number_start : next_token.end]
            == body[token.number_start : token.end]
        )
    ):
        # "Luật 54/2014/QH1354/2014/QH13", "Luật số 1/2020/QH14Luật số 1/2020/QH14":
        # the title's own number, glued to the same number in the next cell.
        return False
    before = body[token.start - 1] if token.start > 0 else ""
    after = body[token.end :]
    if not after.strip():
        return True
    glued_before = before != "" and not before.isspace() and before not in "(["
    if glued_before:
        return not _LOWER_NEXT_RE.match(after)
    if after[0].isalpha():
        return True
    if after[0].isspace() and re.match(rf"\s+[{_VI_UPPER}]", after):
        # "...môi trường 146/2025/QH15 Quy định về ..." is a column; "Thông tư số
        # 42/2020/TT-BTC QUY ĐỊNH ..." (a doc-type word before it) is a title.
        return not token.prefixed and not _CITED_BEFORE_RE.search(body, 0, token.start)
    return False


def parse_legal_basis(text: str) -> list[LegalDocument]:
    """Split "Căn cứ pháp lý" into `LegalDocument(number, title)` rows.

    `number` is the "Mã văn bản" cell normalised by `catalog.legal.normalize_number`
    ("Luật số 146/2025/QH15" → "146/2025/QH15"; the "Luật" goes to `doc_type`);
    text after the last number is a row without a number.
    """
    text = _nfc(text).strip()
    if not text.startswith(_LEGAL_TABLE):
        # "Không có thông tin" (84 records) or debris (repaired from raw_text
        # when possible): no table, no rows.
        return []
    body = text[len(_LEGAL_TABLE) :]
    tokens = _number_tokens(body)
    rows: list[LegalDocument] = []
    pos = 0
    for i, token in enumerate(tokens):
        if token.start < pos:
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if not _is_number_column(body, token, nxt):
            continue
        start = token.start
        if token.prefixed and not _clean_title(body[pos:start]):
            after = body[token.end :]
            if after.strip() and (after[0].isspace() or after[0] in _VI_LOWER_CHARS):
                # "...16/2024/TT-BCAThông tư số 53/2025/TT-BCAngày 01/7/2025 ...",
                # "...53/2025/TT-BCAThông tư số 66/2023/TT-BCA Sửa đổi ...": right
                # after a number, a prefixed number followed by more words is the
                # start of the next title, not its number.
                continue
            start = token.number_start  # "Thông tư 02/2026/..." is title + number
        title = _clean_title(body[pos:start])
        cell = _inline(body[start : token.end])
        stated, _ = split_number(cell)
        number = normalize_number(cell)
        title = title or number or cell
        doc_type = doc_type_of(number, title, stated)
        rows.append(LegalDocument(number=number, title=title, doc_type=doc_type))
        pos = token.end
    rest = _clean_title(body[pos:])
    if re.search(r"\w", rest):
        rows.append(LegalDocument(number=None, title=rest, doc_type=doc_type_of(None, rest)))
    return rows


def _clean_title(text: str) -> str:
    return _BULLET_RE.sub("", _inline(_LEAD_JUNK_RE.sub("", text))).rstrip(";,")


# ------------------------------------------------------------------- other fields

# Agency names that start a new item after ", "; anything else after a comma is
# part of the current name ("Bộ Văn hóa, Thể thao và Du lịch", "Cục an ninh mạng
# và phòng, chống tội phạm ...", "Thuế tỉnh, thành phố").
# fmt: off
_AGENCY_HEADS = frozenset({
    "Ban", "Biên", "Bảo", "Bộ", "Các", "Chi", "Chủ", "Cơ", "Công", "Cảng", "Cục", "Giám", "Hải",
    "Hội", "Khu", "Kho", "Không", "Ngân", "Người", "Phòng", "Quỹ", "Sở", "Thanh", "Thi", "Thuế",
    "Thủ", "Trung", "Tòa", "Toà", "Tổ", "Tổng", "UBND", "Uỷ", "Ủy", "Văn", "Vụ", "Đơn", "Viện",
    "Trường", "Đài", "Hiệp", "Liên", "Học", "Bệnh", "Nhà", "Cổng", "Đại", "Kiểm", "Tập", "Chính",
    "Lực", "Quân", "Đội", "Đoàn", "Hạt",
})
# fmt: on


def split_agencies(text: str) -> list[str]:
    """Split "Cơ quan thực hiện" into agencies.

    Items are separated by ", " (also ";" or a newline); because names contain
    commas, a comma only splits when the next word starts an agency name.
    """
    text = _no_info_to_empty(_nfc(text)).strip()
    if not text:
        return []
    items: list[str] = []
    for chunk in re.split(r"[;\n]+", text):
        chunk_start = len(items)
        for piece in re.split(r",\s*", chunk):
            piece = _inline(piece)
            if not piece:
                continue
            first_word = piece.split(" ", 1)[0].rstrip(",.")
            if len(items) > chunk_start and first_word not in _AGENCY_HEADS:
                items[-1] = f"{items[-1]}, {piece}"
            else:
                items.append(piece)
    return [item.rstrip(" .") for item in items if item.rstrip(" .")]


_RESULT_ITEM_RE = re.compile(r"Mã:\s*(?P<code>(?:[A-Za-z0-9]+[.\-])*[A-Za-z]*\d+|[A-Za-z0-9.\-]+$)")


def _strip_page_chrome(text: str) -> str:
    """Drop the page furniture the crawler kept after the last section:
    "Từ khóa…Mô tả…Chọn cơ quan thực hiện…Nộp hồ sơ"."""
    for match in re.finditer("Từ khóa", text):
        if "Mô tả" in text[match.end() :]:
            return text[: match.start()]
    return re.sub(r"(?:Chọn cơ quan thực hiện.*)?Nộp hồ sơ\s*$", "", text, flags=re.DOTALL)


def clean_result(text: str) -> str:
    """Clean "Kết quả xử lý": page chrome dropped, one line per result with its code.

    "Giấy khai sinhMã: KQ.G15.000031Từ khóa…" -> "Giấy khai sinh (Mã: KQ.G15.000031)".
    """
    text = _no_info_to_empty(_strip_page_chrome(_nfc(text))).strip()
    if not text:
        return ""
    items: list[str] = []
    pos = 0
    for match in _RESULT_ITEM_RE.finditer(text):
        name = _inline(_BULLET_RE.sub("", text[pos : match.start()].strip()))
        code = match.group("code")
        items.append(f"{name} (Mã: {code})" if name else f"Mã: {code}")
        pos = match.end()
    rest = _inline(text[pos:])
    if rest:
        items.append(rest)
    return "\n".join(items)


# ---------------------------------------------------------------------- record


def parse_record(raw: Mapping[str, Any], source_agency: str = "") -> Procedure:
    """Build a `Procedure` from one raw crawler record.

    Raises ParseError when the record is not a mapping, lacks a code or a name,
    has a non-string field, or has a methods table that cannot be split.
    `source_agency` defaults to the record's own `.source_agency` (RawRecord).
    """
    if not isinstance(raw, Mapping):
        raise ParseError(f"record must be a mapping, got {type(raw).__name__}")
    code = _inline(_field(raw, "ma_thu_tuc"))
    if not code:
        raise ParseError("missing procedure code (ma_thu_tuc)")
    if not re.fullmatch(r"\d+(?:\.\d+)+", code):
        raise ParseError(f"malformed procedure code {code!r}")
    name = _no_info_to_empty(_inline(_field(raw, "ten_thu_tuc")))
    if not name:
        raise ParseError(f"{code}: missing procedure name (ten_thu_tuc)")
    sections, _repaired = _sections(raw)
    try:
        methods = parse_methods(sections["cach_thuc_thuc_hien"])
    except ParseError as exc:
        raise ParseError(f"{code}: {exc}") from None
    agency = source_agency or str(getattr(raw, "source_agency", "") or "")

    def inline(key: str) -> str:
        return _no_info_to_empty(_inline(_field(raw, key)))

    return Procedure(
        code=code,
        name=name,
        field=inline("linh_vuc"),
        implementing_level=inline("cap_thuc_hien"),
        agencies=split_agencies(sections["co_quan_thuc_hien"]),
        competent_authority=inline("co_quan_co_tham_quyen"),
        url=_inline(_field(raw, "detail_url")),
        decision=inline("so_quyet_dinh"),
        procedure_type=inline("loai_thu_tuc"),
        subjects=inline("doi_tuong_thuc_hien"),
        steps=_no_info_to_empty(_block(sections["trinh_tu_thuc_hien"])),
        requirements=_no_info_to_empty(_block(_strip_page_chrome(sections["yeu_cau_dieu_kien"]))),
        result=clean_result(sections["ket_qua_xu_ly"]),
        source_agency=agency,
        methods=methods,
        documents=parse_documents(sections["thanh_phan_ho_so"]),
        legal_basis=parse_legal_basis(sections["can_cu_phap_ly"]),
    )
