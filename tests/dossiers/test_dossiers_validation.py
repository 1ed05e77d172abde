"""Validators: every rule, good values, and hostile input."""

from __future__ import annotations

import random
from datetime import date

import pytest

from core.vietnamese import mask_citizen_id, mask_identifier, mask_phone
from dossiers import validation as v
from dossiers.validation import ValidationError

TODAY = date(2025, 6, 1)

HOSTILE = [
    None,
    "",
    "   ",
    "x" * 10_000,
    "1" * 10_000,
    "😀😀😀",
    "\U0001f1fb\U0001f1f3",  # flag emoji
    b"\xff\xfe\x00\x01",  # binary, not UTF-8
    b"\x00" * 50,
    "\x00\x01\x02",
    "\u200b\u200c\u200d\ufeff",  # zero-width only
    "\ud800",  # lone surrogate
    "\u202e\u202d",  # bidi overrides only
    12.5,
    ["15/03/1990"],
    {"a": 1},
    object(),
    True,
    "<script>alert(1)</script>",
    "\n\n\t\r",
]


def expect_error(func, *args, contains: str = "", **kwargs) -> str:
    with pytest.raises(ValidationError) as info:
        func(*args, **kwargs)
    message = info.value.message_vi
    assert isinstance(message, str) and message
    assert contains.lower() in message.lower(), message
    return message


# ---------------------------------------------------------------------------
# parse_date
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "15/3/1990",
        "15/03/1990",
        "15-03-1990",
        "15.03.1990",
        "1990-03-15",
        "1990/3/15",
        "ngày 15 tháng 3 năm 1990",
        "Ngày 15 Tháng 03 Năm 1990",
        "15 thang 3 nam 1990",
        "ngay 15 thang 03 nam 1990",
        "15 tháng 3, 1990",
        "15 tháng 3 1990",
        "tôi sinh ngày 15/3/1990 ạ",
        "sinh ngay 15 - 03 - 1990 nhe",
        "１５/０３/１９９０",  # full-width digits
        "15/\u200b03/1990",  # zero-width space inside
        "  15/3/1990\n",
        "15/3/1990 và 15-03-1990",  # same date twice is fine
    ],
)
def test_parse_date_accepts_common_forms(text: str) -> None:
    assert v.parse_date(text, today=TODAY) == date(1990, 3, 15)


def test_parse_date_leap_day() -> None:
    assert v.parse_date("29/2/2024", today=TODAY) == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("text", "contains"),
    [
        ("31/2/1990", "tháng 2 năm 1990 chỉ có 28 ngày"),
        ("29/2/2023", "chỉ có 28 ngày"),
        ("31/4/1990", "chỉ có 30 ngày"),
        ("0/4/1990", "không tồn tại"),
        ("15/13/1990", "tháng 13 không hợp lệ"),
        ("15/00/1990", "tháng 0 không hợp lệ"),
        ("2/6/2025", "tương lai"),
        ("1/1/2030", "tương lai"),
        ("1/1/1890", "130 năm"),
        ("31/5/1894", "130 năm"),
        ("15/3/90", "4 chữ số"),
        ("15/3/1990 hoặc 16/3/1990", "nhiều ngày"),
        ("hôm qua", "chưa nhận ra"),
        ("1990", "chưa nhận ra"),
        ("tháng 3 năm 1990", "chưa nhận ra"),
        ("0000-00-00", "tháng 0"),
    ],
)
def test_parse_date_rejects_with_specific_message(text: str, contains: str) -> None:
    expect_error(v.parse_date, text, today=TODAY, contains=contains)


def test_parse_date_age_limit_boundary() -> None:
    assert v.parse_date("1/6/1895", today=TODAY) == date(1895, 6, 1)  # exactly 130


def test_parse_date_today_allowed_and_future_opt_in() -> None:
    assert v.parse_date("1/6/2025", today=TODAY) == TODAY
    assert v.parse_date("1/1/2030", today=TODAY, allow_future=True) == date(2030, 1, 1)


def test_parse_date_defaults_to_vietnam_today() -> None:
    assert v.parse_date(v.today_vn().strftime("%d/%m/%Y")) == v.today_vn()


@pytest.mark.parametrize("value", HOSTILE)
def test_parse_date_hostile(value: object) -> None:
    with pytest.raises(ValidationError):
        v.parse_date(value, today=TODAY)


# ---------------------------------------------------------------------------
# Citizen ID
# ---------------------------------------------------------------------------

DOB_1990 = date(1990, 3, 15)


@pytest.mark.parametrize(
    "text",
    [
        "001090012345",
        "001 090 012 345",
        "001.090.012.345",
        "001-090-012345",
        "CCCD của tôi là 001090012345",
        "００１０９００１２３４５",
    ],
)
def test_citizen_id_accepts(text: str) -> None:
    assert v.validate_citizen_id(text, DOB_1990) == "001090012345"


def test_citizen_id_female_and_2000s() -> None:
    assert v.validate_citizen_id("079190000001", DOB_1990) == "079190000001"  # 1 = 1900s, Nữ
    assert v.validate_citizen_id("096305000001", date(2005, 1, 2)) == "096305000001"
    assert v.validate_citizen_id("048205000001", date(2005, 1, 2)) == "048205000001"


def test_citizen_id_int_input() -> None:
    # A slot holding an int lost the leading zeros: explained, not crashed.
    expect_error(v.validate_citizen_id, 1090012345, None, contains="12 chữ số")


def test_citizen_id_wrong_length() -> None:
    expect_error(v.validate_citizen_id, "00109001234", DOB_1990, contains="12 chữ số")
    expect_error(v.validate_citizen_id, "0010900123456", DOB_1990, contains="13 chữ số")


def test_citizen_id_old_nine_digit_card() -> None:
    expect_error(v.validate_citizen_id, "012345678", DOB_1990, contains="9 số cũ")


def test_citizen_id_unknown_province() -> None:
    expect_error(
        v.validate_citizen_id, "099090012345", DOB_1990, contains="mã tỉnh 099 không tồn tại"
    )
    expect_error(
        v.validate_citizen_id, "003090012345", DOB_1990, contains="mã tỉnh 003 không tồn tại"
    )


def test_citizen_id_century_mismatch() -> None:
    msg = expect_error(v.validate_citizen_id, "001290012345", DOB_1990, contains="chữ số thứ 4")
    assert "1990" in msg


def test_citizen_id_year_mismatch() -> None:
    expect_error(
        v.validate_citizen_id,
        "001091012345",
        DOB_1990,
        contains="chữ số thứ 5 và 6 của số căn cước (91)",
    )


def test_citizen_id_each_failure_has_its_own_message() -> None:
    messages = {
        expect_error(v.validate_citizen_id, "00109001234", DOB_1990),
        expect_error(v.validate_citizen_id, "099090012345", DOB_1990),
        expect_error(v.validate_citizen_id, "001290012345", DOB_1990),
        expect_error(v.validate_citizen_id, "001091012345", DOB_1990),
    }
    assert len(messages) == 4


def test_citizen_id_without_date_of_birth() -> None:
    assert v.validate_citizen_id("001090012345", None) == "001090012345"
    # digit 4 = 4 means born in the 2100s: impossible today
    expect_error(v.validate_citizen_id, "001490012345", None, contains="năm sinh 2190")


def test_citizen_id_not_digits_or_ambiguous() -> None:
    expect_error(v.validate_citizen_id, "không nhớ", DOB_1990, contains="12 chữ số")
    expect_error(
        v.validate_citizen_id, "001090012345 hoặc 001090012346", DOB_1990, contains="nhiều dãy số"
    )


def test_province_table_is_complete() -> None:
    assert len(v.PROVINCE_CODES) == 63
    assert v.PROVINCE_CODES["001"] == "Hà Nội"
    assert v.PROVINCE_CODES["002"] == "Hà Giang"
    assert v.PROVINCE_CODES["004"] == "Cao Bằng"
    assert v.PROVINCE_CODES["079"] == "Hồ Chí Minh"
    assert v.PROVINCE_CODES["096"] == "Cà Mau"
    assert all(len(code) == 3 and code.isdigit() for code in v.PROVINCE_CODES)
    assert len(set(v.PROVINCE_CODES.values())) == 63
    assert v.citizen_id_province("079090012345") == "Hồ Chí Minh"


@pytest.mark.parametrize("value", HOSTILE)
def test_citizen_id_hostile(value: object) -> None:
    with pytest.raises(ValidationError):
        v.validate_citizen_id(value, DOB_1990)


# ---------------------------------------------------------------------------
# Phone
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "+84912345678",
        "+84 912 345 678",
        "84912345678",
        "0084912345678",
        "+84 0912 345 678",
        "(+84) 912345678",
        "sđt của tôi: 0912 345 678 nhé",
        "０９１２３４５６７８",
    ],
)
def test_phone_accepts_and_normalises(text: str) -> None:
    assert v.validate_phone(text) == "0912345678"


@pytest.mark.parametrize(
    "number",
    [
        "0321234567",
        "0391234567",
        "0521234567",
        "0551234567",
        "0561234567",
        "0581234567",
        "0591234567",
        "0701234567",
        "0761234567",
        "0791234567",
        "0811234567",
        "0851234567",
        "0861234567",
        "0871234567",
        "0881234567",
        "0891234567",
        "0901234567",
        "0931234567",
        "0941234567",
        "0961234567",
        "0981234567",
        "0991234567",
    ],
)
def test_phone_real_prefixes(number: str) -> None:
    assert v.validate_phone(number) == number


@pytest.mark.parametrize(
    ("text", "contains"),
    [
        ("0241234567", "máy bàn"),
        ("0311234567", "đầu số 031"),
        ("0501234567", "đầu số 050"),
        ("0951234567", "đầu số 095"),
        ("0801234567", "đầu số 080"),
        ("0001234567", "10 chữ số"),
        ("01234567890", "năm 2018"),
        ("091234567", "10 chữ số"),
        ("09123456789", "10 chữ số"),
        ("không có", "10 chữ số"),
        ("0912345678 hoặc 0987654321", "nhiều dãy số"),
    ],
)
def test_phone_rejects(text: str, contains: str) -> None:
    expect_error(v.validate_phone, text, contains=contains)


@pytest.mark.parametrize("value", HOSTILE)
def test_phone_hostile(value: object) -> None:
    with pytest.raises(ValidationError):
        v.validate_phone(value)


# ---------------------------------------------------------------------------
# Names and addresses
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nguyễn văn an", "Nguyễn Văn An"),
        ("NGUYỄN THỊ MINH KHAI", "Nguyễn Thị Minh Khai"),
        ("  trần   đức\u200b  bo ", "Trần Đức Bo"),
        ("nguyen van an", "Nguyen Van An"),
        ("h'hen niê", "H'Hen Niê"),
        ("Công Tằng Tôn Nữ Thị Kim Anh", "Công Tằng Tôn Nữ Thị Kim Anh"),
        ("đặng thùy\ttrâm", "Đặng Thùy Trâm"),
        ("Nguyễn Văn An".encode(), "Nguyễn Văn An"),
    ],
)
def test_full_name_normalises(text: object, expected: str) -> None:
    assert v.validate_full_name(text) == expected


def test_full_name_nfd_input_is_composed() -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
    assert v.validate_full_name(decomposed) == "Nguyễn Văn An"


@pytest.mark.parametrize(
    ("text", "contains"),
    [
        ("Nguyễn Văn 2", "chữ số"),
        ("http://evil.example", "địa chỉ web"),
        ("xem www.abc.vn", "địa chỉ web"),
        ("an@example.com", "email"),
        ("An", "ít nhất 2 từ"),
        ("a b c d e f g h", "quá nhiều từ"),
        ("Nguyễn " + "a" * 80, "quá dài"),
        ("Nguyễn Văn An 😀", "chữ cái"),
        ("Nguyễn_Văn", "chữ cái"),
        ("Nguyễn ' An", "không hợp lệ"),
    ],
)
def test_full_name_rejects(text: str, contains: str) -> None:
    expect_error(v.validate_full_name, text, contains=contains)


@pytest.mark.parametrize("value", HOSTILE)
def test_full_name_hostile(value: object) -> None:
    with pytest.raises(ValidationError):
        v.validate_full_name(value)


def test_address_accepts_and_collapses_whitespace() -> None:
    assert (
        v.validate_address("Số 12  Tràng Tiền,\nphường Hoàn Kiếm,\u200b Hà Nội")
        == "Số 12 Tràng Tiền, phường Hoàn Kiếm, Hà Nội"
    )


@pytest.mark.parametrize(
    ("text", "contains"),
    [
        ("Hà Nội", "còn thiếu"),
        ("1234567890123", "còn thiếu"),
        ("Số 1 " + "đường dài " * 40, "quá dài"),
        ("Số 1 Tràng Tiền\x00 Hà Nội", "ký tự không hợp lệ"),
        ("Số 1 Tràng Tiền\x1b[31m Hà Nội", "ký tự không hợp lệ"),
        ("xem tại https://maps.example/abc", "đường dẫn web"),
        ("<b>Số 1 Tràng Tiền</b>, Hà Nội", "ký tự < >"),
    ],
)
def test_address_rejects(text: str, contains: str) -> None:
    expect_error(v.validate_address, text, contains=contains)


@pytest.mark.parametrize("value", HOSTILE)
def test_address_hostile(value: object) -> None:
    with pytest.raises(ValidationError):
        v.validate_address(value)


# ---------------------------------------------------------------------------
# Fuzz: nothing but ValidationError, ever
# ---------------------------------------------------------------------------


def _random_text(rng: random.Random) -> object:
    kind = rng.randrange(6)
    length = rng.choice([0, 1, 5, 12, 40, 300, 3000])
    if kind == 0:
        return "".join(chr(rng.randrange(0, 0x110000)) for _ in range(length))
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(length))
    if kind == 2:
        return "".join(rng.choice("0123456789 .-/+()") for _ in range(length))
    if kind == 3:
        return "".join(rng.choice("ngàythángnăm 0123456789/\u200b\u0301") for _ in range(length))
    if kind == 4:
        return "".join(chr(rng.randrange(0xD7F0, 0xE010)) for _ in range(length))
    return "".join(chr(rng.randrange(0x1F300, 0x1FAFF)) for _ in range(length))


@pytest.mark.parametrize(
    "validator",
    [
        lambda x: v.parse_date(x, today=TODAY),
        lambda x: v.validate_citizen_id(x, DOB_1990),
        lambda x: v.validate_citizen_id(x, None),
        v.validate_phone,
        v.validate_full_name,
        v.validate_address,
        v.validate_text,
    ],
    ids=["date", "citizen_id", "citizen_id_nodob", "phone", "name", "address", "text"],
)
def test_fuzz_only_validation_errors(validator) -> None:
    rng = random.Random(20250601)
    for _ in range(400):
        value = _random_text(rng)
        try:
            result = validator(value)
        except ValidationError as exc:
            assert exc.message_vi
        else:
            assert result is not None


# ---------------------------------------------------------------------------
# Masks and helpers
# ---------------------------------------------------------------------------


def test_masks() -> None:
    assert mask_citizen_id("001090012345") == "********2345"
    assert mask_phone("0912345567") == "*******567"
    assert v.mask_address("Số 12 Tràng Tiền, Hoàn Kiếm, Hà Nội") == "***, Hà Nội"
    assert v.mask_address("Số 12 Tràng Tiền") == "***"
    assert v.mask_name("Nguyễn Văn An") == "N. V. A."
    assert v.mask_date(date(1990, 3, 15)) == "**/**/1990"
    assert mask_identifier("123456789") == "…6789"


@pytest.mark.parametrize("value", [None, "", "12", 12, "😀", b"\xff", object()])
def test_masks_never_leak_or_raise(value: object) -> None:
    assert set(mask_citizen_id(value)) == {"*"}
    assert set(mask_phone(value)) == {"*"}
    assert v.mask_address(value).startswith("***")
    assert isinstance(v.mask_name(value), str)
    assert v.mask_date(value) == "**/**/****"


def test_clean_free_text_strips_nul_and_truncates() -> None:
    assert v.clean_free_text("a\x00b\u200bc\nd", max_chars=10) == "abc\nd"
    assert len(v.clean_free_text("x" * 5000, max_chars=100)) == 100
    assert v.clean_free_text(None) == ""
    assert v.clean_free_text(b"\xffok") == "\ufffdok"


def test_validation_error_is_value_error_with_message() -> None:
    error = ValidationError("Xin lỗi")
    assert isinstance(error, ValueError)
    assert error.message_vi == "Xin lỗi" == str(error)
