"""Dossier codes: format, randomness, normalisation, extraction."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from core.vietnamese import DOSSIER_CODE_REGEX
from dossiers import codes
from dossiers.codes import (
    CROCKFORD_ALPHABET,
    DOSSIER_CODE_PATTERN,
    find_codes,
    new_code,
    normalize_code,
)

CANONICAL = re.compile(r"^HS-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{4}-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{4}$")


def test_format() -> None:
    for _ in range(200):
        code = new_code()
        assert CANONICAL.match(code), code
        assert codes.is_canonical(code)
        assert normalize_code(code) == code


def test_alphabet_is_crockford() -> None:
    assert len(CROCKFORD_ALPHABET) == 32 == len(set(CROCKFORD_ALPHABET))
    assert not set("ILOU") & set(CROCKFORD_ALPHABET)


def test_unique_over_10k() -> None:
    generated = [new_code() for _ in range(10_000)]
    assert len(set(generated)) == 10_000


def test_uses_the_whole_alphabet_in_every_position() -> None:
    # 40 random bits: each of the 8 positions uses all 32 symbols about equally.
    generated = [code[3:7] + code[8:] for code in (new_code() for _ in range(10_000))]
    for position in range(8):
        counts = Counter(code[position] for code in generated)
        assert set(counts) == set(CROCKFORD_ALPHABET)
        assert min(counts.values()) > 200  # expected 312 each


def test_not_derived_from_time_or_sequence(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)
    assert len({new_code() for _ in range(50)}) == 50


@pytest.mark.parametrize(
    "text",
    [
        "HS-7K2M-Q9XD",
        "hs-7k2m-q9xd",
        "HS7K2MQ9XD",
        "hs 7k2m q9xd",
        "7K2M-Q9XD",
        "7k2mq9xd",
        " HS-7K2M-Q9XD ",
        "ＨＳ－７Ｋ２Ｍ－Ｑ９ＸＤ",  # full-width
        "HS–7K2M–Q9XD",  # en dashes
    ],
)
def test_normalize_variants(text: str) -> None:
    assert normalize_code(text) == "HS-7K2M-Q9XD"


def test_normalize_typos() -> None:
    assert normalize_code("HS-O0IL-1lio") == "HS-0011-1110"
    assert normalize_code("hs-abcd-efgh") == "HS-ABCD-EFGH"


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "HS-",
        "HS-ABCD",
        "HS-ABCD-EFGU",
        "HS-ABCD-EFGHJ",
        "XX-ABCD-EFGH",
        "HS-AB#D-EFGH",
        "x" * 10_000,
        12345678,
        b"HS-ABCD-EFGH",
        "HS-ÀBCD-EFGH",
    ],
)
def test_normalize_rejects(text: object) -> None:
    assert normalize_code(text) is None


def test_pattern_extracts_codes_from_messages() -> None:
    assert find_codes("Cho tôi hỏi hồ sơ HS-7K2M-Q9XD đến đâu rồi?") == ["HS-7K2M-Q9XD"]
    assert find_codes("ma ho so hs7k2mq9xd nhe") == ["HS-7K2M-Q9XD"]
    assert find_codes("hs-o0il-1lio") == ["HS-0011-1110"]
    assert find_codes("HS-AAAA-BBBB và HS-CCCC-DDDD, lại HS-AAAA-BBBB") == [
        "HS-AAAA-BBBB",
        "HS-CCCC-DDDD",
    ]
    assert find_codes("không có mã nào") == []
    assert find_codes(None) == []


def test_pattern_does_not_match_inside_longer_tokens() -> None:
    assert DOSSIER_CODE_PATTERN.search("XHS-AAAA-BBBB") is None
    assert DOSSIER_CODE_PATTERN.search("HS-AAAA-BBBBB") is None
    assert DOSSIER_CODE_PATTERN.search("HS-AAAA-BBBU") is None


def test_pattern_is_plain_regex_for_nlu() -> None:
    # The NLU copies `.pattern` into its regex features: no inline flags needed.
    assert "(?i)" not in DOSSIER_CODE_PATTERN.pattern
    assert DOSSIER_CODE_PATTERN.flags & re.IGNORECASE == 0
    assert re.search(DOSSIER_CODE_PATTERN.pattern, "hs-abcd-efgh")
    assert re.fullmatch(DOSSIER_CODE_REGEX, new_code())
