"""The legal-document registry: one row per legal document the catalog cites.

Numbers are normalised (`normalize_number`: "Luật số 32/2024/QH15" and
"32/2024/QH15" are one document), typed and attributed to an issuer from
their number code, and given a status with the source of that status:

- derived from the catalog itself (`derive_registry`):
  * a title that says "sửa đổi, bổ sung ... <số>" → that document is amended by it;
  * a title that says "thay thế ... <số>" → replaced by it (titles the portal
    cut mid-sentence are not trusted);
  * a validity period in a title or a fee note ("áp dụng đến hết ngày 31/12/2023
    theo Thông tư số 44/2023/TT-BTC") → expires on that day;
  * two laws (Luật/Bộ luật of the National Assembly) of the same name cited in
    the catalog → the older one is replaced by the newer one;
- curated by maintainers in `catalog/overrides.yml` (`legal_documents`), each
  with its public source (the newer law's own "hiệu lực thi hành" article in
  the official gazette); curated entries win over derived ones.

Statuses: "unverified" (nothing known: neither in force nor stale is claimed),
"in_force", "amended", "replaced", "expired". `is_stale` tells whether a
fact resting on a document must carry the warning "căn cứ pháp lý này đã được
thay thế bởi …; thông tin có thể đã thay đổi".
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from core.vietnamese import fold, nfc
from core.wording import say

__all__ = [
    "STALE_STATUSES",
    "LegalEntry",
    "derive_registry",
    "doc_type_of",
    "is_stale",
    "issuer_of",
    "normalize_number",
    "resolve_replacement",
    "stale_note",
]

STATUS_UNVERIFIED = "unverified"
STATUS_IN_FORCE = "in_force"
STATUS_AMENDED = "amended"
STATUS_REPLACED = "replaced"
STATUS_EXPIRED = "expired"
REGISTRY_STATUSES = frozenset(
    {STATUS_UNVERIFIED, STATUS_IN_FORCE, STATUS_AMENDED, STATUS_REPLACED, STATUS_EXPIRED}
)
STALE_STATUSES = frozenset({STATUS_REPLACED, STATUS_EXPIRED})
# Older overlay vocabulary → registry statuses.
LEGACY_STATUSES = {"superseded": STATUS_REPLACED, "repealed": STATUS_EXPIRED}

_TYPE_WORDS = (
    "Thông tư liên tịch",
    "Nghị quyết liên tịch",
    "Văn bản hợp nhất",
    "Bộ luật",
    "Luật",
    "Luất",
    "Pháp lệnh",
    "Nghị định",
    "Nghị quyết",
    "Thông tư",
    "Quyết định",
    "Chỉ thị",
    "Lệnh",
)
_PREFIX_RE = re.compile(
    r"^\s*(?P<type>" + "|".join(re.escape(w) for w in _TYPE_WORDS) + r")\s*(?:số\s*)?[:.]?\s*",
    re.IGNORECASE,
)
# A document number anywhere in a text: "32/2024/QH15", "01/2021/NĐ-CP", "66.19/2026/NQ-CP".
NUMBER_RE = re.compile(r"(?<![\w/])\d+[\w.]*\s*/\s*\d{4}\s*/\s*[A-ZĐ][\w\-&Đ]*(?:/[A-ZĐ][\w\-Đ]*)?")

# fmt: off
_ISSUERS: dict[str, str] = {
    "QH": "Quốc hội", "UBTVQH": "Ủy ban Thường vụ Quốc hội", "CP": "Chính phủ",
    "TTg": "Thủ tướng Chính phủ", "CTN": "Chủ tịch nước", "BTC": "Bộ Tài chính",
    "BCA": "Bộ Công an", "BTP": "Bộ Tư pháp", "NHNN": "Ngân hàng Nhà nước Việt Nam",
    "BXD": "Bộ Xây dựng", "BNNMT": "Bộ Nông nghiệp và Môi trường",
    "BGTVT": "Bộ Giao thông vận tải", "BTNMT": "Bộ Tài nguyên và Môi trường",
    "BNNPTNT": "Bộ Nông nghiệp và Phát triển nông thôn", "BYT": "Bộ Y tế",
    "BCT": "Bộ Công Thương", "BKHĐT": "Bộ Kế hoạch và Đầu tư",
    "BLĐTBXH": "Bộ Lao động - Thương binh và Xã hội", "BQP": "Bộ Quốc phòng",
    "BNG": "Bộ Ngoại giao", "BNV": "Bộ Nội vụ", "BKHCN": "Bộ Khoa học và Công nghệ",
    "BTTTT": "Bộ Thông tin và Truyền thông", "BVHTTDL": "Bộ Văn hóa, Thể thao và Du lịch",
    "BGDĐT": "Bộ Giáo dục và Đào tạo", "TANDTC": "Tòa án nhân dân tối cao",
    "VKSNDTC": "Viện kiểm sát nhân dân tối cao", "TCHQ": "Tổng cục Hải quan",
    "BHXH": "Bảo hiểm xã hội Việt Nam", "KTNN": "Kiểm toán nhà nước",
    "TTCP": "Thanh tra Chính phủ", "VPCP": "Văn phòng Chính phủ", "VPQH": "Văn phòng Quốc hội",
}
_TYPE_BY_CODE: dict[str, str] = {
    "NĐ": "Nghị định", "TT": "Thông tư", "TTLT": "Thông tư liên tịch", "QĐ": "Quyết định",
    "NQ": "Nghị quyết", "NQLT": "Nghị quyết liên tịch", "VBHN": "Văn bản hợp nhất",
    "PL": "Pháp lệnh", "CT": "Chỉ thị", "L": "Lệnh",
}
# fmt: on


def split_number(cell: str) -> tuple[str, str]:
    """("Luật", "32/2024/QH15") from "Luật số 32/2024/QH15"; ("", number) without a prefix."""
    cell = " ".join(nfc(cell).split())
    match = _PREFIX_RE.match(cell)
    if not match:
        return "", cell
    word = match.group("type")
    word = "Luật" if word.lower() == "luất" else word[0].upper() + word[1:].lower()
    return word, cell[match.end() :]


def normalize_number(cell: str | None) -> str | None:
    """The registry key of a document number as the catalog writes it.

    Drops a type prefix ("Luật số", "Nghị định", the "Luất" typo), all spaces,
    trailing punctuation; writes "ND"/"QD" codes as "NĐ"/"QĐ"; pads a one-digit
    serial to two digits ("1/2021/NĐ-CP" → "01/2021/NĐ-CP", the official style).
    None/"" stay None.
    """
    if not cell or not cell.strip():
        return None
    _, number = split_number(cell)
    number = re.sub(r"\s+", "", number).strip(".,;:()")
    parts = number.split("/")
    if len(parts) >= 3:
        parts[2:] = [re.sub(r"^ND(?=-|$)", "NĐ", re.sub(r"^QD(?=-|$)", "QĐ", p)) for p in parts[2:]]
        parts[2:] = [re.sub(r"-ND$", "-NĐ", p) for p in parts[2:]]
    if parts and re.fullmatch(r"\d", parts[0]):
        parts[0] = f"0{parts[0]}"
    return "/".join(parts) or None


def _codes(number: str) -> list[str]:
    parts = number.split("/")
    tail = "/".join(parts[2:]) if len(parts) >= 3 else (parts[-1] if len(parts) == 2 else "")
    return [c for c in re.split(r"[-&/]", tail) if c]


def doc_type_of(number: str | None, title: str = "", stated: str = "") -> str:
    """The document type: the type the catalog states (number prefix or title
    start) or the one its code implies (QH → Luật, NĐ-CP → Nghị định, TT-BTC →
    Thông tư ...); "" when none."""
    if stated:
        return stated
    title_type, _ = split_number(title)
    if title_type and not NUMBER_RE.match(title[len(title_type) :].strip()):
        return title_type
    if title_type:
        return title_type
    if not number:
        return ""
    codes = _codes(number)
    if codes and re.fullmatch(r"QH\d*", codes[-1]) and len(codes) == 1:
        return "Luật"
    if codes and codes[0] in _TYPE_BY_CODE:
        return _TYPE_BY_CODE[codes[0]]
    if codes and codes[0].startswith("UBTVQH"):
        return "Nghị quyết"
    return ""


def issuer_of(number: str | None) -> str:
    """The issuing body implied by the number code ("TT-BTC" → Bộ Tài chính);
    joint documents list every issuer; "" when the code is unknown."""
    if not number:
        return ""
    names = []
    for code in _codes(number):
        key = re.sub(r"\d+$", "", code) if code.startswith(("QH", "UBTVQH")) else code
        if key in _ISSUERS and _ISSUERS[key] not in names:
            names.append(_ISSUERS[key])
    return ", ".join(names)


_DATE_RE = re.compile(
    r"ngày\s+(\d{1,2})\s*(?:/|\s+tháng\s+)(\d{1,2})\s*(?:/|\s+năm\s+)(\d{4})", re.IGNORECASE
)


def issue_date_of(number: str, title: str) -> date | None:
    """The "ngày ..." that follows the document's own mention in its title,
    when no other document number comes before it; None otherwise."""
    match = _DATE_RE.search(title or "")
    if not match:
        return None
    before = title[: match.start()]
    others = [n for n in NUMBER_RE.findall(before) if normalize_number(n) != number]
    if others:
        return None
    year = number.split("/")[1] if number.count("/") >= 2 else ""
    try:
        day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None
    if year.isdigit() and int(year) != day.year:
        return None
    return day


@dataclass(frozen=True)
class LegalEntry:
    """One registry row. `status_source` says where the status comes from
    (a quote of the catalog or a curated public source); `origin` is
    "catalog" (derived) or "curated" (overrides.yml)."""

    number: str
    doc_type: str = ""
    issuer: str = ""
    issue_date: date | None = None
    title: str = ""
    status: str = STATUS_UNVERIFIED
    amended_by: tuple[str, ...] = ()
    replaced_by: str | None = None
    expired_on: date | None = None
    status_source: str | None = None
    origin: str = "catalog"
    cited_by: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON shape (dates ISO) of `tthc catalog show --json` legal statuses."""
        return {
            "number": self.number,
            "doc_type": self.doc_type,
            "issuer": self.issuer,
            "issue_date": self.issue_date.isoformat() if self.issue_date else None,
            "title": self.title,
            "status": self.status,
            "amended_by": list(self.amended_by),
            "replaced_by": self.replaced_by,
            "expired_on": self.expired_on.isoformat() if self.expired_on else None,
            "status_source": self.status_source,
            "origin": self.origin,
        }


def is_stale(entry: LegalEntry | None, day: date | None = None) -> bool:
    """True when a fact resting on `entry` may be out of date on `day`:
    replaced, or expired (on or before `day` when the expiry date is known)."""
    if entry is None or entry.status not in STALE_STATUSES:
        return False
    if entry.status == STATUS_EXPIRED and entry.expired_on and day is not None:
        return entry.expired_on < day
    return True


def resolve_replacement(number: str, registry: Mapping[str, LegalEntry]) -> str | None:
    """The newest document in the replaced-by chain of `number` (None if not replaced)."""
    seen = {number}
    current = registry.get(number)
    latest = None
    while current is not None and current.replaced_by and current.replaced_by not in seen:
        latest = current.replaced_by
        seen.add(latest)
        current = registry.get(latest)
    return latest


def stale_note(number: str, registry: Mapping[str, LegalEntry], day: date | None = None) -> str:
    """The citizen-facing warning for a fact resting on `number`, or "" when
    the registry knows nothing stale about it."""
    entry = registry.get(number)
    if not is_stale(entry, day):
        return ""
    replacement = resolve_replacement(number, registry)
    if replacement:
        return say("legal_warning.replaced", number=number, replacement=replacement)
    when = (
        say("legal_warning.since", date=entry.expired_on.strftime("%d/%m/%Y"))
        if entry and entry.expired_on
        else ""
    )
    return say("legal_warning.expired", number=number, since=when)


# ----------------------------------------------------------------- derivation


@dataclass
class _Draft:
    titles: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    cited_by: set[str] = field(default_factory=set)


_LAW_NAME_RE = re.compile(
    r"^(Bộ luật|Luật)\s+(?P<name>[^\d(,;]+?)(?=\s+(?:số|năm|ngày)\b|[\d(,;]|$)"
)
_AMEND_RE = re.compile(r"sửa đổi|bổ sung", re.IGNORECASE)
_REPLACE_RE = re.compile(r"thay thế", re.IGNORECASE)
_BY_RE = re.compile(r"(?:bởi|tại|theo)\s+(?:\S+\s+){0,3}$", re.IGNORECASE)
_UNTIL_RE = re.compile(
    r"(?:áp dụng\s+)?đến\s+hết\s+ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.IGNORECASE
)


def _cited_after(title: str, start: int, own: str) -> list[str]:
    """Numbers cited in `title` after `start`, except the document's own and
    those introduced by "bởi/tại/theo" (the amending acts of the cited one)."""
    found = []
    for m in NUMBER_RE.finditer(title, start):
        number = normalize_number(m.group())
        if not number or number == own or _BY_RE.search(title, max(0, m.start() - 40), m.start()):
            continue
        found.append(number)
    return list(dict.fromkeys(found))


def _cites_others(title: str, own: str) -> bool:
    return any(normalize_number(n) != own for n in NUMBER_RE.findall(title))


def _law_name(title: str) -> str | None:
    _, rest = split_number(title) if NUMBER_RE.match(split_number(title)[1] or "") else ("", title)
    rest = NUMBER_RE.sub(" ", rest or title).strip(" -–:")
    match = _LAW_NAME_RE.match(rest)
    if not match or _AMEND_RE.search(match.group("name")):
        return None
    name = re.sub(r"\s+", " ", match.group("name")).strip(" -–")
    return f"{match.group(1)} {name}" if len(name) >= 3 else None


# Legal force by type: a document amends or replaces only one of equal or lower rank.
_RANKS = {
    "Bộ luật": 4,
    "Luật": 4,
    "Pháp lệnh": 3,
    "Nghị quyết": 3,
    "Nghị định": 2,
    "Quyết định": 1,
    "Thông tư liên tịch": 1,
    "Thông tư": 1,
}


def _rank(doc_type: str) -> int:
    return _RANKS.get(doc_type, 0)


def _year(number: str) -> int:
    parts = number.split("/")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else 0


def derive_registry(
    rows: Iterable[tuple[str, str | None, str, str]],
    fee_notes: Iterable[tuple[str, str]] = (),
) -> dict[str, LegalEntry]:
    """Build the registry from the catalog.

    `rows`: (procedure code, normalised number, title, stated type) of every
    legal-basis row; `fee_notes`: (procedure code, fee note). Returns number →
    entry, statuses derived as the module docstring says, each with its source.
    """
    drafts: dict[str, _Draft] = defaultdict(_Draft)
    rows = list(rows)
    for code, number, title, stated in rows:
        if not number:
            continue
        draft = drafts[number]
        draft.titles[title] += 1
        if stated:
            draft.types[stated] += 1
        draft.cited_by.add(code)
    entries: dict[str, LegalEntry] = {}
    for number, draft in drafts.items():
        # A title that cites no other document first (the catalog glues some titles together).
        this_number = number  # str; inside the lambda `number` is typed str | None (`rows`)
        titles = sorted(
            (t for t in draft.titles if t and t != number),
            key=lambda t: (_cites_others(t, this_number), -draft.titles[t]),
        )
        title = titles[0] if titles else number
        stated = draft.types.most_common(1)[0][0] if draft.types else ""
        entries[number] = LegalEntry(
            number=number,
            doc_type=doc_type_of(number, title, stated),
            issuer=issuer_of(number),
            issue_date=issue_date_of(number, title),
            title=title,
            cited_by=len(draft.cited_by),
        )

    def update(number: str, **changes: object) -> None:
        if number in entries:
            # `changes` mixes field types (str, date, ...): replace() cannot be checked per field
            entries[number] = replace(entries[number], **changes)  # type: ignore[arg-type]

    # Amended / replaced / repealed by titles that say so.
    for code, own, title, _ in rows:
        if not own or not title:
            continue
        if not re.match(r"[A-ZĐ]", title):
            continue  # a title cut mid-sentence ("ngày 15 tháng 12 ...") says nothing sure
        for pattern, status in ((_AMEND_RE, STATUS_AMENDED), (_REPLACE_RE, STATUS_REPLACED)):
            match = pattern.search(title)
            if not match:
                continue
            for cited in _cited_after(title, match.start(), own):
                entry = entries.get(cited)
                if (
                    entry is None
                    or _year(cited) > _year(own)
                    or _rank(entries[own].doc_type) < _rank(entry.doc_type)
                ):
                    continue  # a circular does not amend a decree, nor a newer text an older
                source = f"Cổng DVC, thủ tục {code}: tiêu đề {own} “{title[:200]}”"
                if status == STATUS_AMENDED:
                    if own not in entry.amended_by:
                        new_status = entry.status if entry.status in STALE_STATUSES else status
                        update(
                            cited,
                            amended_by=(*entry.amended_by, own),
                            status=new_status,
                            status_source=entry.status_source or source,
                        )
                else:
                    update(cited, status=status, replaced_by=own, status_source=source)
    # A newer law of the same name replaces the older one.
    by_name: dict[str, list[str]] = defaultdict(list)
    for number, entry in entries.items():
        if (
            entry.doc_type in ("Luật", "Bộ luật")
            and re.search(r"/QH\d+$", number)
            and not _cites_others(entry.title, number)
        ):
            name = _law_name(entry.title)
            if name:
                by_name[fold(name)].append(number)
    for numbers in by_name.values():
        if len(set(map(_year, numbers))) < 2:
            continue
        newest = max(numbers, key=_year)
        for number in numbers:
            if _year(number) < _year(newest) and entries[number].status not in STALE_STATUSES:
                update(
                    number,
                    status=STATUS_REPLACED,
                    replaced_by=newest,
                    status_source=(
                        f"Cổng DVC dẫn cả {number} và {newest} cùng tên "
                        f"“{_law_name(entries[newest].title)}”: luật mới hơn thay luật cũ"
                    ),
                )
    # Validity periods in titles and fee notes.
    texts = [(code, title) for code, _, title, _ in rows] + list(fee_notes)
    for code, text in texts:
        for m in _UNTIL_RE.finditer(text or ""):
            cited_match = NUMBER_RE.search(text, m.end(), m.end() + 80)
            if not cited_match:
                continue
            number = normalize_number(cited_match.group())
            try:
                until = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                continue
            entry = entries.get(number or "")
            if entry is None or entry.status in STALE_STATUSES:
                continue
            update(
                entry.number,
                status=STATUS_EXPIRED,
                expired_on=until,
                status_source=(
                    f"Cổng DVC, thủ tục {code}: “{text[max(0, m.start() - 80) : m.end() + 80]}”"
                ),
            )
    return entries


def merge_curated(
    entries: dict[str, LegalEntry], curated: Mapping[str, Mapping[str, object]]
) -> dict[str, LegalEntry]:
    """Apply maintainers' entries (number → status, replaced_by, expired_on,
    title, source); a curated status replaces a derived one. Documents the
    catalog does not cite are added too (a replacement's own row)."""
    out = dict(entries)
    for raw_number, data in curated.items():
        number = normalize_number(raw_number) or raw_number
        status = str(data.get("status") or STATUS_UNVERIFIED)
        status = LEGACY_STATUSES.get(status, status)
        replaced_by = data.get("replaced_by") or data.get("superseded_by")
        base = out.get(number) or LegalEntry(
            number=number, doc_type=doc_type_of(number), issuer=issuer_of(number)
        )
        expired_on = data.get("expired_on")
        out[number] = replace(
            base,
            status=status,
            replaced_by=normalize_number(str(replaced_by)) if replaced_by else None,
            expired_on=expired_on if isinstance(expired_on, date) else base.expired_on,
            title=str(data.get("title") or base.title or number),
            status_source=str(data.get("source") or ""),
            origin="curated",
        )
    return out
