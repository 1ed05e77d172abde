"""Personal data scrubbing for anything kept as training data.

Citizens type their ID numbers, phone numbers, names and addresses into the
chat. Before a message is stored in the misunderstood inbox or written into
`nlu_data/`, `scrub` replaces each such detail with a bracketed placeholder
("[số giấy tờ]", "[số điện thoại]", "[họ tên]", "[địa chỉ]", ...). It errs on
the side of removing too much: a lost word costs a little training signal, a
kept ID number is a data leak.

Detected (diacritics optional, any case):
- ID numbers: 9- or 12-digit runs, also typed in groups ("001 099 012 345");
- phone numbers: 0/+84 followed by 9 digits with optional separators;
- e-mail addresses, dates (dd/mm/yyyy), licence plates, other 7+ digit runs;
- names: after "tên (tôi/em/mình/con/cháu) là", "họ (và) tên", "tôi/em/mình là",
  and any run of words led by a common Vietnamese family name;
- addresses: "địa chỉ ...", where someone lives ("nhà (tôi) ở", "sống/ở/trú tại",
  "thường/tạm trú ở|tại") followed by a house number or a capitalised place, house
  numbers ("số nhà 12", "12/3", "số 45 Hàng Bạc"), and street-level place words
  (đường, phố, ngõ, ngách, hẻm, kiệt, thôn, xóm, ấp, tổ) followed by a number or a
  capitalised name; each with the ", phường/quận/... X" parts that follow it.

`PLACEHOLDER_FILLERS` gives neutral stand-ins used when a scrubbed message is
written as an NLU training example (brackets would read as entity markup).
"""

from __future__ import annotations

import re

from core.vietnamese import ID_NUMBER_PATTERN, PHONE_PATTERN, fold

__all__ = ["PLACEHOLDERS", "PLACEHOLDER_FILLERS", "fill_placeholders", "scrub"]

ID = "[số giấy tờ]"
PHONE = "[số điện thoại]"
NAME = "[họ tên]"
ADDRESS = "[địa chỉ]"
EMAIL = "[email]"
DATE = "[ngày]"
PLATE = "[biển số]"
NUMBER = "[số]"
PLACEHOLDERS: tuple[str, ...] = (ID, PHONE, NAME, ADDRESS, EMAIL, DATE, PLATE, NUMBER)

PLACEHOLDER_FILLERS: dict[str, str] = {
    ID: "số căn cước",
    PHONE: "số điện thoại",
    NAME: "Nguyễn Văn A",
    ADDRESS: "địa chỉ nhà",
    EMAIL: "email",
    DATE: "ngày sinh",
    PLATE: "biển số xe",
    NUMBER: "số",
}

# The most common family names (folded): together they cover ~90 % of Vietnamese people.
FAMILY_NAMES = frozenset(
    [
        "nguyen",
        "tran",
        "le",
        "pham",
        "hoang",
        "huynh",
        "phan",
        "vu",
        "vo",
        "dang",
        "bui",
        "do",
        "ho",
        "ngo",
        "duong",
        "ly",
        "dinh",
        "trinh",
        "mai",
        "truong",
        "lam",
        "luong",
        "ha",
        "kieu",
        "quach",
        "thai",
        "doan",
        "cao",
        "chu",
    ]
)

_W = r"[^\W\d_]+"  # one word of letters (any script, diacritics included)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DATE = re.compile(r"(?<!\d)\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{2,4}(?!\d)")
_PLATE = re.compile(r"(?<![\w])\d{2}\s?[A-Za-z]{1,2}\d?\s?-?\s?\d{3}\.?\d{1,2}(?![\w])")
_ID_GROUPED = re.compile(r"(?<!\d)\d{3}[\s.-]\d{3}[\s.-]\d{3}(?:[\s.-]\d{3})?(?!\d)")
_LONG_NUMBER = re.compile(r"(?<!\d)\d{7,}(?!\d)")
_NAME_CUE = re.compile(
    r"(?i)\b((?:họ\s+(?:và\s+)?tên|ho\s+(?:va\s+)?ten|tên|ten)\s*"
    r"(?:(?:của\s+)?(?:tôi|toi|em|mình|minh|con|cháu|chau|bé|be|ông|ong|bà|ba|anh|chị|chi)\s+)?"
    r"(?:là|la|:)\s*)"
    rf"({_W}(?:\s+{_W}){{0,3}})"
)
_SELF_CUE = re.compile(
    r"(?i)\b((?:tôi|toi|em|mình|minh|cháu|chau)\s+(?:là|la)\s+)"
    rf"({_W}(?:\s+{_W}){{1,3}})"
)
_ADDRESS_CUE = re.compile(
    r"(?i)\b((?:địa\s+chỉ|dia\s+chi|đc|dc)\s*(?:nhà\s+)?(?:của\s+\w+\s+)?(?:là|la|:|ở|o)\s*)"
    r"([^.,;!?\n]+)"
)
_STREET_WORDS = r"(?:đường|duong|phố|pho|ngõ|ngo|ngách|ngach|hẻm|hem|kiệt|kiet)"
_CAP = r"[A-ZĐÀ-Ỹ][^\W\d_]*"  # a capitalised word
_CAP_RUN = rf"{_CAP}(?:\s+{_CAP}){{0,3}}"
_HOUSE_NUMBER = r"\d+[A-Za-z]?(?:\s*/\s*\d+)*"
# The administrative parts after a street ("..., phường Hoàn Kiếm, Hà Nội"): each after a
# comma, an optional unit word then a capitalised name or a number (or, after a unit word,
# one or two lower-case words: "phường hoàn kiếm"), so "..., cần làm gì" is not swallowed.
_UNIT = (r"(?i:phường|phuong|xã|xa|quận|quan|huyện|huyen|thị\s+xã|thi\s+xa|thị\s+trấn"
         r"|thi\s+tran|thành\s+phố|thanh\s+pho|tỉnh|tinh|tp\.?|tx\.?|q\.|p\.)")
_ADDRESS_TAIL = (rf"(?:\s*,\s*(?:{_UNIT}\s*(?:{_CAP_RUN}|\d+|{_W}(?:\s+{_W})?)"
                 rf"|{_CAP_RUN}))*")
_HOUSE = re.compile(
    r"(?i)\b(?:(?:số\s+nhà|so\s+nha|nhà\s+số|nha\s+so)\s+\d+[A-Za-z]?(?:\s*/\s*\d+)*"
    rf"|(?:số|so)\s+\d+[A-Za-z]?(?:\s*/\s*\d+)*(?=\s+{_STREET_WORDS}\b|\s*/)"
    r"|\d+[A-Za-z]?(?:\s*/\s*\d+)+)"
)
# "số 45 Hàng Bạc, Hoàn Kiếm", "ở 12 Lý Thường Kiệt": a house number then a capitalised
# street name, after "số" (masked with it) or "ở"/"tại" (kept).
_HOUSE_STREET = re.compile(
    rf"\b((?i:ở|o|tại|tai)\s+|(?i:số|so)\s+)({_HOUSE_NUMBER}\s+{_CAP_RUN}{_ADDRESS_TAIL})"
)
# Where someone lives: "nhà (tôi) ở", "sống/ở/trú/cư trú tại", "thường/tạm trú ở|tại", then
# a house number (the rest of the clause is the address) or a capitalised place.
_RESIDENCE_CUE = re.compile(
    r"\b((?i:(?:nhà|nha)(?:\s+(?:tôi|toi|em|mình|minh|con|cháu|chau))?\s+(?:ở|o)(?:\s+(?:tại|tai))?"
    r"|(?:sống|song|ở|o|trú|tru|cư\s+trú|cu\s+tru)\s+(?:tại|tai)"
    r"|(?:thường|thuong|tạm|tam)\s+(?:trú|tru)\s+(?:ở|o|tại|tai))\s+)"
    rf"((?:(?i:số|so)\s+)?\d[^.,;!?\n]*{_ADDRESS_TAIL}|{_CAP_RUN}{_ADDRESS_TAIL})"
)
_STREET = re.compile(
    r"\b(?i:đường|duong|phố|pho|ngõ|ngo|ngách|ngach|hẻm|hem|kiệt|kiet|thôn|thon|xóm|xom"
    r"|ấp|ap|tổ\s+dân\s+phố|to\s+dan\s+pho|tổ|to)\s+"
    r"(?:\d+[A-Za-z]?(?:\s*/\s*\d+)*|[A-ZĐÀ-Ỹ][^\W\d_]*(?:\s+[A-ZĐÀ-Ỹ][^\W\d_]*){0,3})"
)
_CAPITALISED_RUN = re.compile(r"\b[A-ZĐÀ-Ỹ][^\W\d_]*(?:\s+[A-ZĐÀ-Ỹ][^\W\d_]*){1,3}")
_ANY_RUN = re.compile(rf"\b{_W}(?:\s+{_W}){{1,3}}")
_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))
_COLLAPSE = re.compile(r"(\[[^\]]+\])(?:\s*\1)+")


def _family_led(words: str) -> str | None:
    """The prefix of `words` that is a name led by a family name (2-4 words), or None."""
    parts = words.split()
    if len(parts) < 2 or fold(parts[0]) not in FAMILY_NAMES:
        return None
    return " ".join(parts[:4])


def _scrub_family_names(text: str) -> str:
    """Capitalised runs led by a family name ("Nguyễn Thị Hoa") anywhere."""

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        return NAME if _family_led(run) else run

    return _CAPITALISED_RUN.sub(replace, text)


def _scrub_cued_names(text: str) -> str:
    def after_name_cue(match: re.Match[str]) -> str:
        return match.group(1) + NAME

    def after_self_cue(match: re.Match[str]) -> str:
        # "tôi là Nguyễn Văn An" (a name) but not "tôi là người nước ngoài".
        name = _family_led(match.group(2))
        if name is None:
            return match.group(0)
        rest = match.group(2)[len(name) :]
        return match.group(1) + NAME + rest

    text = _NAME_CUE.sub(after_name_cue, text)
    return _SELF_CUE.sub(after_self_cue, text)


def scrub(text: str) -> str:
    """`text` with personal data replaced by placeholders (see module doc).

    Idempotent: scrubbing a scrubbed text changes nothing. Never raises; an
    empty or non-string input gives "".
    """
    if not isinstance(text, str) or not text:
        return ""
    text = _EMAIL.sub(EMAIL, text)
    text = PHONE_PATTERN.sub(PHONE, text)
    text = _ID_GROUPED.sub(ID, text)
    text = ID_NUMBER_PATTERN.sub(ID, text)
    text = _DATE.sub(DATE, text)
    text = _PLATE.sub(PLATE, text)
    text = _LONG_NUMBER.sub(NUMBER, text)
    text = _ADDRESS_CUE.sub(lambda m: m.group(1) + ADDRESS, text)
    text = _RESIDENCE_CUE.sub(lambda m: m.group(1) + ADDRESS, text)
    text = _HOUSE_STREET.sub(
        lambda m: (m.group(1) if fold(m.group(1)).strip() in ("o", "tai") else "") + ADDRESS, text
    )
    text = _HOUSE.sub(ADDRESS, text)
    text = _STREET.sub(ADDRESS, text)
    text = _scrub_cued_names(text)
    text = _scrub_family_names(text)
    return _COLLAPSE.sub(r"\1", text)


def fill_placeholders(text: str) -> str:
    """`text` with each placeholder replaced by its neutral filler (for NLU examples)."""
    return _PLACEHOLDER_RE.sub(lambda m: PLACEHOLDER_FILLERS[m.group(0)], text)
