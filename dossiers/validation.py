"""Validators for what citizens type into the dossier form.

Every validator takes raw chat text and either returns a normalised value or
raises `ValidationError` whose `message_vi` is a specific, polite Vietnamese
explanation the bot can send back as its re-ask. Chat input is hostile by
default (None, megabytes of text, emoji, NUL bytes, zero-width characters,
lone surrogates), so every public function here converts any bad input into a
`ValidationError` and never lets another exception escape.

The mask functions keep personal data out of logs and screens.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

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
        raise ValidationError(f"Bạn chưa nhập {what}. Vui lòng nhập lại giúp tôi.")
    if isinstance(value, bool):
        raise ValidationError(f"Tôi chưa đọc được {what} bạn nhập. Vui lòng nhập lại.")
    if isinstance(value, int):
        # Slot fillers sometimes hand us numbers (phone, citizen id).
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(
                f"Tôi chưa đọc được {what} bạn nhập. Vui lòng nhập lại bằng chữ thường."
            ) from None
    if not isinstance(value, str):
        raise ValidationError(f"Tôi chưa đọc được {what} bạn nhập. Vui lòng nhập lại.")
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
        raise ValidationError(
            f"Nội dung {what} bạn nhập quá dài ({len(text)} ký tự). Vui lòng nhập ngắn gọn hơn."
        )
    try:
        text = unicodedata.normalize("NFKC", text)
    except Exception:  # defensive: normalisation of exotic input must not crash the bot
        raise ValidationError(f"Tôi chưa đọc được {what} bạn nhập. Vui lòng nhập lại.") from None
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
                f"{what[:1].upper()}{what[1:]} có chứa ký tự không hợp lệ. "
                "Vui lòng nhập lại bằng chữ và số thông thường."
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


def fold_vietnamese(text: str) -> str:
    """Lowercase and strip diacritics ("Tháng" -> "thang", "Đ" -> "d") so that
    keyword matching works for people typing without a Vietnamese keyboard."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").lower()


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
        raise ValidationError(
            f"Tháng {month} không hợp lệ (tháng phải từ 1 đến 12). "
            "Vui lòng nhập theo thứ tự ngày/tháng/năm, ví dụ 15/03/1990."
        )
    if year < 1 or year > 9999:
        raise ValidationError(f"Năm {year} không hợp lệ. Vui lòng nhập năm gồm 4 chữ số.")
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        raise ValidationError(
            f"Ngày {day} không tồn tại: tháng {month} năm {year} chỉ có {days_in_month} ngày. "
            "Vui lòng kiểm tra lại."
        )
    return date(year, month, day)


def parse_date(text: object, *, today: date | None = None, allow_future: bool = False) -> date:
    """Parse a Vietnamese-style date (day first) out of a chat message.

    Accepts "15/3/1990", "15-03-1990", "15.03.1990", "1990-03-15",
    "ngày 15 tháng 3 năm 1990", "15 thang 3 nam 1990", inside other words.
    Rejects impossible dates, dates in the future (unless `allow_future`, for
    things like a licence expiry) and dates more than 130 years ago.
    """
    cleaned = clean_text(text, "ngày tháng", max_chars=500)
    if not cleaned:
        raise ValidationError("Bạn chưa nhập ngày tháng. Vui lòng nhập theo dạng ngày/tháng/năm.")
    folded = fold_vietnamese(cleaned)
    found: list[tuple[int, int, int]] = []
    for pattern, (gd, gm, gy) in _DATE_PATTERNS:
        for match in pattern.finditer(folded):
            found.append((int(match.group(gd)), int(match.group(gm)), int(match.group(gy))))
    distinct = list(dict.fromkeys(found))
    if not distinct:
        if _TWO_DIGIT_YEAR.search(folded):
            raise ValidationError(
                "Vui lòng ghi năm đủ 4 chữ số để tránh nhầm lẫn, ví dụ 15/03/1990."
            )
        raise ValidationError(
            "Tôi chưa nhận ra ngày tháng trong câu trả lời. Vui lòng nhập đầy đủ "
            "ngày, tháng, năm theo dạng ngày/tháng/năm, ví dụ 15/03/1990."
        )
    if len(distinct) > 1:
        raise ValidationError(
            "Bạn đã nhập nhiều ngày khác nhau. Vui lòng chỉ nhập một ngày, ví dụ 15/03/1990."
        )
    day, month, year = distinct[0]
    result = _build_date(day, month, year)
    today = today or today_vn()
    if result > today and not allow_future:
        raise ValidationError(
            f"Ngày {_format_vn(result)} ở trong tương lai. Vui lòng kiểm tra lại ngày tháng."
        )
    if _years_between(result, today) > MAX_AGE_YEARS:
        raise ValidationError(
            f"Ngày {_format_vn(result)} cách đây hơn {MAX_AGE_YEARS} năm. "
            "Vui lòng kiểm tra lại năm."
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
    cleaned = clean_text(text, "số căn cước công dân", max_chars=200)
    runs = [run for run in _digit_runs(cleaned) if run]
    if not runs:
        raise ValidationError(
            "Số căn cước công dân chỉ gồm 12 chữ số. Vui lòng nhập lại, ví dụ 001090012345."
        )
    twelve = [run for run in runs if len(run) == 12]
    if len(twelve) == 1:
        digits = twelve[0]
    elif len(runs) == 1:
        digits = runs[0]
    else:
        raise ValidationError(
            "Tôi thấy nhiều dãy số khác nhau. Vui lòng chỉ nhập số căn cước công dân gồm 12 chữ số."
        )
    if len(digits) == 9:
        raise ValidationError(
            "Đây có vẻ là số chứng minh nhân dân 9 số cũ. Vui lòng nhập số căn cước "
            "(số định danh cá nhân) gồm 12 chữ số."
        )
    if len(digits) != 12:
        raise ValidationError(
            f"Số căn cước công dân phải gồm đúng 12 chữ số, bạn đã nhập {len(digits)} chữ số. "
            "Vui lòng kiểm tra lại."
        )
    province = digits[:3]
    if province not in PROVINCE_CODES:
        raise ValidationError(
            f"Số căn cước bạn nhập có mã tỉnh {province} không tồn tại (3 chữ số đầu là mã "
            "tỉnh/thành phố nơi đăng ký khai sinh). Vui lòng kiểm tra lại."
        )
    century, _sex = CENTURY_SEX_DIGIT[int(digits[3])]
    year_suffix = int(digits[4:6])
    if date_of_birth is not None:
        if date_of_birth.year // 100 * 100 != century:
            raise ValidationError(
                f"Chữ số thứ 4 của số căn cước ({digits[3]}) cho biết người sinh trong giai đoạn "
                f"{century}-{century + 99}, nhưng năm sinh bạn khai là {date_of_birth.year}. "
                "Vui lòng kiểm tra lại số căn cước hoặc ngày sinh."
            )
        if date_of_birth.year % 100 != year_suffix:
            raise ValidationError(
                f"Chữ số thứ 5 và 6 của số căn cước ({digits[4:6]}) phải trùng với hai số cuối "
                f"của năm sinh ({date_of_birth.year % 100:02d}). "
                "Vui lòng kiểm tra lại số căn cước hoặc ngày sinh."
            )
    else:
        birth_year = century + year_suffix
        current_year = today_vn().year
        if birth_year > current_year or current_year - birth_year > MAX_AGE_YEARS:
            raise ValidationError(
                f"Số căn cước bạn nhập cho năm sinh {birth_year}, không hợp lệ. "
                "Vui lòng kiểm tra lại chữ số thứ 4 đến thứ 6."
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
    cleaned = clean_text(text, "số điện thoại", max_chars=200)
    runs = [run for run in _digit_runs(cleaned) if run]
    if len(runs) != 1:
        raise ValidationError(
            "Vui lòng nhập một số điện thoại di động gồm 10 chữ số, ví dụ 0912 345 678."
            if not runs
            else "Tôi thấy nhiều dãy số khác nhau. Vui lòng chỉ nhập một số điện thoại di động."
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
        raise ValidationError(
            "Số 11 chữ số đầu 01 đã được chuyển sang 10 chữ số từ năm 2018. "
            "Vui lòng nhập số điện thoại mới gồm 10 chữ số."
        )
    if len(digits) != 10 or not digits.startswith("0"):
        raise ValidationError(
            "Số điện thoại di động phải gồm 10 chữ số và bắt đầu bằng 0 (hoặc +84), "
            "ví dụ 0912 345 678. Vui lòng kiểm tra lại."
        )
    prefix = digits[:3]
    if prefix.startswith("02"):
        raise ValidationError(
            "Đây có vẻ là số máy bàn. Vui lòng cung cấp số điện thoại di động để nhận thông báo."
        )
    if prefix not in MOBILE_PREFIXES:
        raise ValidationError(
            f"Đầu số {prefix} không phải đầu số di động đang sử dụng tại Việt Nam. "
            "Vui lòng kiểm tra lại số điện thoại."
        )
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
    cleaned = clean_text(text, "họ và tên", max_chars=500)
    if not cleaned:
        raise ValidationError("Bạn chưa nhập họ và tên. Vui lòng nhập đầy đủ họ và tên.")
    if _URL_RE.search(cleaned) or "@" in cleaned:
        raise ValidationError(
            "Họ và tên không được chứa địa chỉ web hay email. Vui lòng chỉ nhập họ và tên."
        )
    if any(ch.isdigit() for ch in cleaned):
        raise ValidationError("Họ và tên không được chứa chữ số. Vui lòng nhập lại họ và tên.")
    if len(cleaned) > MAX_NAME_CHARS:
        raise ValidationError(
            f"Họ và tên quá dài (tối đa {MAX_NAME_CHARS} ký tự). Vui lòng nhập lại."
        )
    for ch in cleaned:
        if not (ch.isalpha() or ch == " " or ch in _NAME_JOINERS):
            raise ValidationError(
                "Họ và tên chỉ được gồm chữ cái (có dấu hoặc không dấu) và khoảng trắng, "
                f"không có ký tự “{ch}”. Vui lòng nhập lại."
            )
    words = cleaned.split(" ")
    if any(word.strip(_NAME_JOINERS) == "" for word in words):
        raise ValidationError("Họ và tên có ký tự không hợp lệ. Vui lòng nhập lại.")
    if len(words) < MIN_NAME_WORDS:
        raise ValidationError(
            "Vui lòng nhập đầy đủ cả họ và tên (ít nhất 2 từ), ví dụ Nguyễn Văn An."
        )
    if len(words) > MAX_NAME_WORDS:
        raise ValidationError(
            f"Họ và tên có quá nhiều từ (tối đa {MAX_NAME_WORDS}). "
            "Vui lòng chỉ nhập họ và tên, không kèm nội dung khác."
        )
    return " ".join(_title_word(word) for word in words)


MIN_ADDRESS_CHARS = 10
MAX_ADDRESS_CHARS = 300


def validate_address(text: object) -> str:
    """Validate a postal address (free text, one line)."""
    cleaned = clean_text(text, "địa chỉ", max_chars=1000)
    if len(cleaned) < MIN_ADDRESS_CHARS or not any(ch.isalpha() for ch in cleaned):
        raise ValidationError(
            "Địa chỉ còn thiếu. Vui lòng ghi rõ số nhà, đường/thôn, xã/phường, tỉnh/thành phố, "
            "ví dụ: Số 12 Tràng Tiền, phường Hoàn Kiếm, Hà Nội."
        )
    if len(cleaned) > MAX_ADDRESS_CHARS:
        raise ValidationError(
            f"Địa chỉ quá dài (tối đa {MAX_ADDRESS_CHARS} ký tự). Vui lòng nhập ngắn gọn hơn."
        )
    if _URL_RE.search(cleaned):
        raise ValidationError("Địa chỉ không được chứa đường dẫn web. Vui lòng nhập lại.")
    if "<" in cleaned or ">" in cleaned:
        # Never part of a postal address; usually pasted markup.
        raise ValidationError("Địa chỉ không được chứa các ký tự < >. Vui lòng nhập lại.")
    return cleaned


def validate_text(text: object, *, what: str = "nội dung", max_chars: int = 500) -> str:
    """Free text answer (business name, purpose...): non-empty, bounded, clean."""
    cleaned = clean_text(text, what, max_chars=max_chars * 2)
    if not cleaned:
        raise ValidationError(f"Bạn chưa nhập {what}. Vui lòng nhập lại.")
    if len(cleaned) > max_chars:
        raise ValidationError(
            f"Nội dung {what} quá dài (tối đa {max_chars} ký tự). Vui lòng nhập ngắn gọn hơn."
        )
    return cleaned


# ---------------------------------------------------------------------------
# Masks for logs and screens
# ---------------------------------------------------------------------------


def _only_digits(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""  # str(object()) holds a memory address: nothing to show
    return "".join(ch for ch in str(value) if ch.isdigit() and ch.isascii())


def mask_citizen_id(value: object) -> str:
    """ "001090012345" -> "********2345". Short/garbage input reveals nothing."""
    digits = _only_digits(value)
    if len(digits) < 8:
        return "*" * 8
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_phone(value: object) -> str:
    """ "0912345567" -> "*******567"."""
    digits = _only_digits(value)
    if len(digits) < 7:
        return "*" * 7
    return "*" * (len(digits) - 3) + digits[-3:]


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


def mask_identifier(value: object) -> str:
    """Chat sender ids in logs: keep the last 4 characters."""
    text = "" if value is None else str(value)
    return "…" + text[-4:] if len(text) > 4 else "****"
