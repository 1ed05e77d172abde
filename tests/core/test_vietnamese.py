"""core.vietnamese: folding, invisible characters, dashes, code patterns, masks.

Property tests (Hypothesis) pin the invariants every caller relies on; the
example tests pin today's outputs of the functions that replaced the copies
in catalog, dossiers, actions, bot and console.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import vietnamese as vi

# Vietnamese-heavy text: letters with every diacritic, đ, spaces, digits,
# invisible characters, combining marks, control characters, and anything else.
_VI_CHARS = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
)
_vi_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(_VI_CHARS + _VI_CHARS.upper() + " \t\n0123456789.,-–?"),
        st.sampled_from("\u200b\u200c\u200d\u00ad\ufeff\u202e\u2066\u0300\u0301\u0323\u0302\x00"),
        st.characters(),
    ),
    max_size=60,
)


@given(_vi_text)
@settings(max_examples=400, deadline=None)
def test_fold_is_idempotent(text: str) -> None:
    once = vi.fold(text)
    assert vi.fold(once) == once


@given(_vi_text)
@settings(max_examples=400, deadline=None)
def test_fold_output_has_no_marks_no_d_stroke_no_invisible(text: str) -> None:
    folded = vi.fold(text)
    assert not any(unicodedata.category(ch) == "Mn" for ch in folded)
    assert "đ" not in folded and "Đ" not in folded
    assert not any(vi.is_invisible(ch) for ch in folded)
    assert folded == folded.strip() and "  " not in folded


@given(_vi_text)
@settings(max_examples=400, deadline=None)
def test_nfc_equivalent_inputs_fold_equally(text: str) -> None:
    forms = {unicodedata.normalize(form, text) for form in ("NFC", "NFD")}
    assert len({vi.fold(form) for form in forms}) == 1


def test_fold_examples() -> None:
    assert vi.fold("  Đăng ký  KHAI SINH\u200b ") == "dang ky khai sinh"
    assert vi.fold("Cái thứ hai") == "cai thu hai"
    assert vi.fold("Miễn phí") == "mien phi"
    # NFD input (iOS keyboards): "Nghị định" decomposed.
    assert vi.fold(unicodedata.normalize("NFD", "Nghị định Hoà")) == "nghi dinh hoa"
    assert vi.fold("tr\u00aduong hop") == "truong hop"  # soft hyphen from Word
    assert vi.fold("a\x00b") == "a b"  # control characters separate, never glue
    assert vi.fold(None) == "" and vi.fold("") == ""


@given(_vi_text)
@settings(max_examples=300, deadline=None)
def test_fold_letters_are_ascii_for_vietnamese(text: str) -> None:
    vietnamese_only = "".join(ch for ch in text if ch in _VI_CHARS or ch in _VI_CHARS.upper())
    assert vi.fold(vietnamese_only).isascii()


def test_invisible_list_is_every_format_character() -> None:
    expected = {chr(cp) for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf"}
    assert set(vi.INVISIBLE_CHARACTERS) == expected


def test_strip_invisible_and_nfc() -> None:
    assert vi.strip_invisible("khai\u200bsinh\ufeff\u202e") == "khaisinh"
    assert vi.nfc(unicodedata.normalize("NFD", "Trực tuyến")) == "Trực tuyến"
    assert vi.nfc(None) == ""


def test_normalize_dashes() -> None:
    assert vi.normalize_dashes("HS–7K3M—9QXP−1‐2") == "HS-7K3M-9QXP-1-2"


def test_procedure_codes() -> None:
    assert vi.is_procedure_code("1.001234") and vi.is_procedure_code(" 2.000123 ")
    assert not vi.is_procedure_code("12.000123")
    assert vi.is_procedure_code("12.000123", loose=True)
    assert not vi.is_procedure_code("1.00123") and not vi.is_procedure_code(None)
    assert vi.PROCEDURE_CODE_IN_TEXT.findall("mã 1.001234 và 2.000123, không 11.000111") == [
        "1.001234",
        "2.000123",
    ]


def test_dossier_code_patterns() -> None:
    assert vi.DOSSIER_CODE_PATTERN.search("mã hs–7k3m–9qxp nhé").group(0) == "hs–7k3m–9qxp"
    assert vi.DOSSIER_CODE_PATTERN.search("HS 7K3M 9QXP")
    assert not vi.DOSSIER_CODE_PATTERN.search("XHS-7K3M-9QXP")
    found = vi.NATIONAL_CODE_PATTERN.search("hồ sơ 000.00.10.H12 – 251120-0003 ạ")
    assert found and found.group(0) == "000.00.10.H12 – 251120-0003"


def test_masks_same_output_as_before() -> None:
    assert vi.mask_citizen_id("001090012345") == "********2345"
    assert vi.mask_citizen_id("12345") == "********"
    assert vi.mask_phone("0912345567") == "*******567"
    assert vi.mask_phone("12") == "*******"
    assert vi.mask_identifier("123456789") == "…6789"
    assert vi.mask_identifier("1234") == "****"
    assert vi.mask_sender("telegram:123456789") == "telegram:***789"
    assert vi.mask_sender("12") == "***"
    assert vi.mask_numbers("gọi 0912 345 678, CCCD 001090012345") == (
        "gọi *******678, CCCD ********2345"
    )
    assert vi.mask_numbers("+ 84 912 345 678") == "********678"


_digits = st.text(alphabet="0123456789", min_size=0, max_size=20)
_noisy = st.one_of(_digits, st.text(alphabet="0123456789 .-+()abc", max_size=30), st.integers())


def _revealed_digits(masked: str) -> str:
    return "".join(ch for ch in masked if ch.isdigit())


@given(_noisy)
@settings(max_examples=300, deadline=None)
def test_masks_never_reveal_more_than_last_four_digits(value: object) -> None:
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    for masker in (vi.mask_citizen_id, vi.mask_phone, vi.mask_identifier):
        shown = _revealed_digits(masker(value))
        assert len(shown) <= 4
        assert digits.endswith(shown)
    # mask_sender keeps the channel prefix (no digits in it here).
    shown = _revealed_digits(vi.mask_sender(f"telegram:{value}"))
    assert len(shown) <= 4 and digits.endswith(shown)


@given(st.lists(st.sampled_from(["0912345678", "001090012345", "+84912345678", "gọi", " ", "số"])))
@settings(max_examples=200, deadline=None)
def test_mask_numbers_leaves_no_full_number(parts: list[str]) -> None:
    masked = vi.mask_numbers(" ".join(parts))
    assert not re.search(r"\d{5,}", masked)


@pytest.mark.parametrize(
    "module",
    ["catalog", "dossiers", "actions", "bot", "console", "training"],
)
def test_core_vietnamese_imports_no_project_layer(module: str) -> None:
    source = Path(vi.__file__).read_text(encoding="utf-8")
    assert not re.search(rf"^\s*(?:from|import)\s+{module}\b", source, re.M)
