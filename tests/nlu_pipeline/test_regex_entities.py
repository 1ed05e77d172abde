"""Rule entities: dossier_code, citizen_id, phone, date (values normalised)."""

from __future__ import annotations

import unicodedata

import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.entities import (
    REGEX_FEATURES_FILE,
    VietnameseRegexEntityExtractor,
    find_entities,
    regex_features_yaml,
)


def _values(text: str, entity: str) -> list[str]:
    return [m.value for m in find_entities(text) if m.entity == entity]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tra cứu hồ sơ HS-7K2M-Q9XD giúp tôi", "HS-7K2M-Q9XD"),
        ("hs-7k2m-q9xd", "HS-7K2M-Q9XD"),
        ("ma ho so HS7K2MQ9XD", "HS-7K2M-Q9XD"),
        ("mã HS 7K2M Q9XD đâu rồi", "HS-7K2M-Q9XD"),
        ("HS-7K2M-Q9XO", "HS-7K2M-Q9X0"),  # O typed for zero
    ],
)
def test_dossier_codes(text: str, expected: str) -> None:
    assert _values(text, "dossier_code") == [expected]


def test_dossier_code_offsets_cover_the_code() -> None:
    text = "kiểm tra hs-7k2m-q9xd nhé"
    [match] = [m for m in find_entities(text) if m.entity == "dossier_code"]
    assert text[match.start : match.end] == "hs-7k2m-q9xd"


def test_no_dossier_code_in_plain_words() -> None:
    assert _values("hồ sơ của tôi đâu", "dossier_code") == []
    assert _values("HSABCDEFGHIJKL", "dossier_code") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("số cccd 001090012345", "001090012345"),
        ("cccd: 001 090 012 345", "001090012345"),
        ("0010 9001 2345", "001090012345"),
    ],
)
def test_citizen_ids(text: str, expected: str) -> None:
    assert _values(text, "citizen_id") == [expected]


def test_citizen_id_is_not_a_phone() -> None:
    entities = find_entities("001090012345")
    assert [(m.entity, m.value) for m in entities] == [("citizen_id", "001090012345")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sđt 0912345678", "0912345678"),
        ("gọi 0912 345 678 nhé", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("+84912345678", "0912345678"),
    ],
)
def test_phones(text: str, expected: str) -> None:
    assert _values(text, "phone") == [expected]


def test_not_a_mobile_number() -> None:
    assert _values("mã 0212345678", "phone") == []  # landline prefix 02
    assert _values("12345", "phone") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sinh ngày 15/3/1990", "1990-03-15"),
        ("15-03-1990", "1990-03-15"),
        ("15.03.1990", "1990-03-15"),
        ("ngày 15 tháng 3 năm 1990", "1990-03-15"),
        ("ngay 15 thang 3 nam 1990", "1990-03-15"),
        ("NGÀY 5 THÁNG 12 NĂM 2001", "2001-12-05"),
    ],
)
def test_dates(text: str, expected: str) -> None:
    assert _values(text, "date") == [expected]


def test_impossible_date_is_dropped() -> None:
    assert _values("31/02/1990", "date") == []


def test_date_in_nfd_text_maps_offsets_back() -> None:
    text = unicodedata.normalize("NFD", "sinh ngày 15 tháng 3 năm 1990 ạ")
    [match] = find_entities(text)
    assert match.value == "1990-03-15"
    assert unicodedata.normalize("NFC", text[match.start : match.end]) == "ngày 15 tháng 3 năm 1990"


def test_several_entities_in_order() -> None:
    text = "HS-7K2M-Q9XD, sđt 0912345678, sinh 01/01/2000, cccd 001090012345"
    assert [m.entity for m in find_entities(text)] == [
        "dossier_code", "phone", "date", "citizen_id",
    ]


def test_regex_features_file_is_up_to_date() -> None:
    assert REGEX_FEATURES_FILE.read_text(encoding="utf-8") == regex_features_yaml(), (
        "regenerate with `python -m bot.nlu.entities`"
    )


def test_component_adds_entities_with_extractor_name() -> None:
    extractor = VietnameseRegexEntityExtractor({})
    message = Message(data={TEXT: "hồ sơ HS-7K2M-Q9XD"})
    extractor.process([message])
    [entity] = message.get(ENTITIES)
    assert entity["entity"] == "dossier_code"
    assert entity["value"] == "HS-7K2M-Q9XD"
    assert entity["extractor"] == "VietnameseRegexEntityExtractor"
    assert (entity["start"], entity["end"]) == (6, 18)


@pytest.mark.parametrize("text", ["", "😀", "\u200b", "9" * 5000, "/" * 300])
def test_hostile_input(text: str) -> None:
    find_entities(text)
