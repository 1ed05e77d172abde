"""Validators for what citizens type into the dossier form.

Every validator takes raw chat text and either returns a normalised value or
raises `ValidationError` whose `message_vi` is a specific, polite Vietnamese
explanation the bot can send back as its re-ask. Chat input is hostile by
default (None, megabytes of text, emoji, NUL bytes, zero-width characters,
lone surrogates), so every public function here converts any bad input into a
`ValidationError` and never lets another exception escape.

The mask functions (address, name, date; ID and phone numbers are
`core.vietnamese.mask_citizen_id`/`mask_phone`) keep personal data out of logs
and screens.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

from core.vietnamese import fold
from core.wording import say

# Vietnam has no daylight saving time, so a fixed offset is exact and avoids
# depending on the system tz database being installed.
VIETNAM_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

MAX_AGE_YEARS = 130
# Raw input longer than this is rejected before any normalisation or regex
# work, so a pasted novel costs nothing.
_MAX_RAW_CHARS = 2000


class ValidationError(ValueError):
    """Input that cannot be accepted; `message_vi` is shown to the citizen."""

    def __init__(self, message_vi: str) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi


def today_vn() -> date:
    """Today's date in Vietnam (the server may run in UTC)."""
    return datetime.now(VIETNAM_TZ).date()


# ---------------------------------------------------------------------------
# Text hygiene shared by all validators
# ---------------------------------------------------------------------------

_WHITESPACE_RE = re.compile(r"\s+")


def _coerce_text(value: object, what: str) -> str:
    """Turn whatever arrived into a `str`, or raise ValidationError."""
    if value is None:
        raise ValidationError(say("validation.missing", what=what))
    if isinstance(value, bool):
        raise ValidationError(say("validation.unreadable", what=what))
    if isinstance(value, int):
        # Slot fillers sometimes hand us numbers (phone, citizen id).
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(say("validation.unreadable_bytes", what=what)) from None
    if not isinstance(value, str):
        raise ValidationError(say("validation.unreadable", what=what))
    return value


def clean_text(value: object, what: str, *, max_chars: int = _MAX_RAW_CHARS) -> str:
    """Normalise chat text: NFKC, drop invisible format characters (zero-width
    spaces, bidi overrides, BOM), reject control characters and unencodable
    code points, collapse whitespace.

    NFKC turns full-width digits/letters from some mobile keyboards into
    ASCII and composes decomposed Vietnamese diacritics.
    """
    text = _coerce_text(value, what)
    if len(text) > max_chars:
        raise ValidationError(say("validation.raw_too_long", what=what, length=len(text)))
    try:
        text = unicodedata.normalize("NFKC", text)
    except Exception:  # defensive: normalisation of exotic input must not crash the bot
        raise ValidationError(say("validation.unreadable", what=what)) from None
    kept: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":
            continue  # invisible: zero-width space/joiners, BOM, bidi controls, soft hyphen
        if ch in "\t\n\r\v\f":
            kept.append(" ")
            continue
        if category in ("Cc", "Cs", "Co", "Cn"):
            raise ValidationError(
                say("validation.bad_characters", What=f"{what[:1].upper()}{what[1:]}")
            )
        kept.append(ch)
    return _WHITESPACE_RE.sub(" ", "".join(kept)).strip()


def clean_free_text(value: object, *, max_chars: int = 1000) -> str:
    """Best-effort sanitising for text we store but do not validate (handoff
    transcripts, officer notes): never raises, drops control/invisible
    characters (PostgreSQL rejects NUL in text) and truncates."""
    if value is None:
        return ""
    if not isinstance(value, str):
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", errors="replace")
        else:
            value = str(value)
    value = value[: max_chars * 4]
    out: list[str] = []
    for ch in value:
        category = unicodedata.category(ch)
        if ch in "\n\t":
            out.append(ch)
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return "".join(out).strip()[:max_chars]


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

_SEP = r"\s*[-/.]\s*"
_DATE_PATTERNS: tuple[tuple[re.Pattern[str], tuple[int, int, int]], ...] = (
    # (pattern, (group of day, group of month, group of year))
    (re.compile(rf"(?<!\d)(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})(?!\d)"), (3, 2, 1)),
    (re.compile(rf"(?<!\d)(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}})(?!\d)"), (1, 2, 3)),
    # "ngày 15 tháng 3 năm 1990" after folding: "ngay 15 thang 3 nam 1990";
    # "15 thg 3, 1990" and "15 tháng 03 1990" too.
    (
        re.compile(
            r"(?<!\d)(\d{1,2})\s*(?:thang|thg|th)\s*(\d{1,2})\s*,?\s*(?:nam\s*)?(\d{4})(?!\d)"
        ),
        (1, 2, 3),
    ),
)
_TWO_DIGIT_YEAR = re.compile(rf"(?<!\d)\d{{1,2}}{_SEP}\d{{1,2}}{_SEP}\d{{2}}(?!\d)")


def _format_vn(d: date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def _build_date(day: int, month: int, year: int) -> date:
    if not 1 <= month <= 12:
        raise ValidationError(say("validation.date.bad_month", month=month))
    if year < 1 or year > 9999:
        raise ValidationError(say("validation.date.bad_year", year=year))
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        raise ValidationError(
            say(
                "validation.date.no_such_day",
                day=day, month=month, year=year, days_in_month=days_in_month,
            )
        )
    return date(year, month, day)


def parse_date(text: object, *, today: date | None = None, allow_future: bool = False) -> date:
    """Parse a Vietnamese-style date (day first) out of a chat message.

    Accepts "15/3/1990", "15-03-1990", "15.03.1990", "1990-03-15",
    "ngày 15 tháng 3 năm 1990", "15 thang 3 nam 1990", inside other words.
    Rejects impossible dates, dates in the future (unless `allow_future`, for
    things like a licence expiry) and dates more than 130 years ago.
    """
    cleaned = clean_text(text, say("validation.what.date"), max_chars=500)
    if not cleaned:
        raise ValidationError(say("validation.date.missing"))
    folded = fold(cleaned)
    found: list[tuple[int, int, int]] = []
    for pattern, (gd, gm, gy) in _DATE_PATTERNS:
        for match in pattern.finditer(folded):
            found.append((int(match.group(gd)), int(match.group(gm)), int(match.group(gy))))
    distinct = list(dict.fromkeys(found))
    if not distinct:
        if _TWO_DIGIT_YEAR.search(folded):
            raise ValidationError(say("validation.date.two_digit_year"))
        raise ValidationError(say("validation.date.not_found"))
    if len(distinct) > 1:
        raise ValidationError(say("validation.date.several"))
    day, month, year = distinct[0]
    result = _build_date(day, month, year)
    today = today or today_vn()
    if result > today and not allow_future:
        raise ValidationError(say("validation.date.future", date=_format_vn(result)))
    if _years_between(result, today) > MAX_AGE_YEARS:
        raise ValidationError(
            say("validation.date.too_old", date=_format_vn(result), years=MAX_AGE_YEARS)
        )
    return result


def _years_between(earlier: date, later: date) -> int:
    """Whole years from `earlier` to `later` (an age), negative if reversed."""
    years = later.year - earlier.year
    if (later.month, later.day) < (earlier.month, earlier.day):
        years -= 1
    return years


# ---------------------------------------------------------------------------
# Citizen ID (số định danh cá nhân / căn cước công dân, 12 digits)
# ---------------------------------------------------------------------------

# Province codes of Circular 07/2016/TT-BCA as amended by Circular 59/2021/TT-BCA.
# The 2025 merger of provinces did not renumber existing personal ID numbers,
# so all 63 codes stay valid.
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

# Digit 4 of the ID: century of birth and sex (even = male, odd = female).
CENTURY_SEX_DIGIT: dict[int, tuple[int, str]] = {
    0: (1900, "Nam"),
    1: (1900, "Nữ"),
    2: (2000, "Nam"),
    3: (2000, "Nữ"),
    4: (2100, "Nam"),
    5: (2100, "Nữ"),
    6: (2200, "Nam"),
    7: (2200, "Nữ"),
    8: (1800, "Nam"),
    9: (1800, "Nữ"),
}

# Runs of digits possibly broken by spaces, dots or dashes ("001 090 012 345").
_DIGIT_RUN_RE = re.compile(r"\+?\(?\d[\d\s.\-()]*\d|\d")


def _digit_runs(text: str) -> list[str]:
    return [re.sub(r"\D", "", run) for run in _DIGIT_RUN_RE.findall(text)]


def validate_citizen_id(text: object, date_of_birth: date | None) -> str:
    """Validate a 12-digit personal ID number and return it as 12 digits.

    Checks length, the province code (digits 1-3), that the century digit
    (digit 4) agrees with the century of `date_of_birth` and that digits 5-6
    are the last two digits of the birth year. Without a date of birth, the
    year encoded in the number must at least be plausible.
    """
    cleaned = clean_text(text, say("validation.what.citizen_id"), max_chars=200)
    runs = [run for run in _digit_runs(cleaned) if run]
    if not runs:
        raise ValidationError(say("validation.citizen_id.no_digits"))
    twelve = [run for run in runs if len(run) == 12]
    if len(twelve) == 1:
        digits = twelve[0]
    elif len(runs) == 1:
        digits = runs[0]
    else:
        raise ValidationError(say("validation.citizen_id.several"))
    if len(digits) == 9:
        raise ValidationError(say("validation.citizen_id.old_nine_digits"))
    if len(digits) != 12:
        raise ValidationError(say("validation.citizen_id.wrong_length", count=len(digits)))
    province = digits[:3]
    if province not in PROVINCE_CODES:
        raise ValidationError(say("validation.citizen_id.bad_province", province=province))
    century, _sex = CENTURY_SEX_DIGIT[int(digits[3])]
    year_suffix = int(digits[4:6])
    if date_of_birth is not None:
        if date_of_birth.year // 100 * 100 != century:
            raise ValidationError(
                say(
                    "validation.citizen_id.century_mismatch",
                    digit=digits[3], first_year=century, last_year=century + 99,
                    birth_year=date_of_birth.year,
                )
            )
        if date_of_birth.year % 100 != year_suffix:
            raise ValidationError(
                say(
                    "validation.citizen_id.year_mismatch",
                    digits=digits[4:6], year_suffix=f"{date_of_birth.year % 100:02d}",
                )
            )
    else:
        birth_year = century + year_suffix
        current_year = today_vn().year
        if birth_year > current_year or current_year - birth_year > MAX_AGE_YEARS:
            raise ValidationError(
                say("validation.citizen_id.implausible_year", birth_year=birth_year)
            )
    return digits


def citizen_id_province(citizen_id: str) -> str | None:
    """Name of the province encoded in a (validated) ID number."""
    return PROVINCE_CODES.get(citizen_id[:3]) if isinstance(citizen_id, str) else None


# ---------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------

# Mobile prefixes in service after the 2018 switch to 10 digits:
# Viettel 032-039, 086, 096-098; VinaPhone 081-085, 088, 091, 094;
# MobiFone 070, 076-079, 089, 090, 093; Vietnamobile 052, 056, 058, 092;
# Gmobile 059, 099; Reddi 055; iTel 087.
MOBILE_PREFIXES: frozenset[str] = frozenset(
    [f"03{d}" for d in "23456789"]
    + ["052", "055", "056", "058", "059"]
    + ["070", "076", "077", "078", "079"]
    + ["081", "082", "083", "084", "085", "086", "087", "088", "089"]
    + ["090", "091", "092", "093", "094", "096", "097", "098", "099"]
)


def validate_phone(text: object) -> str:
    """Validate a Vietnamese mobile number; return it as "0xxxxxxxxx"."""
    cleaned = clean_text(text, say("validation.what.phone"), max_chars=200)
    runs = [run for run in _digit_runs(cleaned) if run]
    if len(runs) != 1:
        raise ValidationError(
            say("validation.phone.several") if runs else say("validation.phone.no_digits")
        )
    digits = runs[0]
    if digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if digits.startswith("00"):  # "+84 0912..." written with the trunk zero
        digits = digits[1:]
    if not digits.startswith("0"):
        digits = "0" + digits if len(digits) == 9 else digits
    if len(digits) == 11 and digits.startswith("01"):
        raise ValidationError(say("validation.phone.old_eleven_digits"))
    if len(digits) != 10 or not digits.startswith("0"):
        raise ValidationError(say("validation.phone.wrong_format"))
    prefix = digits[:3]
    if prefix.startswith("02"):
        raise ValidationError(say("validation.phone.landline"))
    if prefix not in MOBILE_PREFIXES:
        raise ValidationError(say("validation.phone.bad_prefix", prefix=prefix))
    return digits


# ---------------------------------------------------------------------------
# Names and addresses
# ---------------------------------------------------------------------------

MIN_NAME_WORDS = 2
# Seven, not six: some real names are that long ("Công Tằng Tôn Nữ Thị Kim Anh").
MAX_NAME_WORDS = 7
MAX_NAME_CHARS = 70
_URL_RE = re.compile(r"(?i)(?:https?:|www\.|://|\.(?:com|vn|net|org|io)\b)")
# Apostrophes and hyphens occur in names of ethnic minorities ("H'Hen Niê").
_NAME_JOINERS = "'-’"


def _title_word(word: str) -> str:
    out: list[str] = []
    upper_next = True
    for ch in word:
        out.append(ch.upper() if upper_next else ch.lower())
        upper_next = ch in _NAME_JOINERS
    return "".join(out).replace("’", "'")


def validate_full_name(text: object) -> str:
    """Validate a person's full name and return it title-cased
    ("nguyễn văn an" -> "Nguyễn Văn An")."""
    cleaned = clean_text(text, say("validation.what.full_name"), max_chars=500)
    if not cleaned:
        raise ValidationError(say("validation.full_name.missing"))
    if _URL_RE.search(cleaned) or "@" in cleaned:
        raise ValidationError(say("validation.full_name.web_or_email"))
    if any(ch.isdigit() for ch in cleaned):
        raise ValidationError(say("validation.full_name.digits"))
    if len(cleaned) > MAX_NAME_CHARS:
        raise ValidationError(say("validation.full_name.too_long", limit=MAX_NAME_CHARS))
    for ch in cleaned:
        if not (ch.isalpha() or ch == " " or ch in _NAME_JOINERS):
            raise ValidationError(say("validation.full_name.bad_character", character=ch))
    words = cleaned.split(" ")
    if any(word.strip(_NAME_JOINERS) == "" for word in words):
        raise ValidationError(say("validation.full_name.bad_word"))
    if len(words) < MIN_NAME_WORDS:
        raise ValidationError(say("validation.full_name.too_few_words"))
    if len(words) > MAX_NAME_WORDS:
        raise ValidationError(say("validation.full_name.too_many_words", limit=MAX_NAME_WORDS))
    return " ".join(_title_word(word) for word in words)


MIN_ADDRESS_CHARS = 10
MAX_ADDRESS_CHARS = 300


def validate_address(text: object) -> str:
    """Validate a postal address (free text, one line)."""
    cleaned = clean_text(text, say("validation.what.address"), max_chars=1000)
    if len(cleaned) < MIN_ADDRESS_CHARS or not any(ch.isalpha() for ch in cleaned):
        raise ValidationError(say("validation.address.too_short"))
    if len(cleaned) > MAX_ADDRESS_CHARS:
        raise ValidationError(say("validation.address.too_long", limit=MAX_ADDRESS_CHARS))
    if _URL_RE.search(cleaned):
        raise ValidationError(say("validation.address.web_link"))
    if "<" in cleaned or ">" in cleaned:
        # Never part of a postal address; usually pasted markup.
        raise ValidationError(say("validation.address.markup"))
    return cleaned


def validate_text(text: object, *, what: str | None = None, max_chars: int = 500) -> str:
    """Free text answer (business name, purpose...): non-empty, bounded, clean.

    ``what`` names the answer in the messages (default: wording ``validation.what.content``)."""
    what = what or say("validation.what.content")
    cleaned = clean_text(text, what, max_chars=max_chars * 2)
    if not cleaned:
        raise ValidationError(say("validation.text.missing", what=what))
    if len(cleaned) > max_chars:
        raise ValidationError(say("validation.text.too_long", what=what, limit=max_chars))
    return cleaned


# ---------------------------------------------------------------------------
# Masks for logs and screens
# ---------------------------------------------------------------------------


def mask_address(value: object) -> str:
    """Keep only the last comma-separated part (the province):
    "Số 12 Tràng Tiền, Hoàn Kiếm, Hà Nội" -> "***, Hà Nội"."""
    if not isinstance(value, str):
        return "***"
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if len(parts) < 2:
        return "***"
    return f"***, {parts[-1][:40]}"


def mask_name(value: object) -> str:
    """ "Nguyễn Văn An" -> "N. V. A." (initials only)."""
    if not isinstance(value, str) or not value.strip():
        return "***"
    return " ".join(f"{word[0]}." for word in value.split()[:MAX_NAME_WORDS])


def mask_date(value: object) -> str:
    """Keep the year only: date(1990, 3, 15) -> "**/**/1990"."""
    if isinstance(value, date):
        return f"**/**/{value.year}"
    return "**/**/****"
