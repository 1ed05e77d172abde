"""ProcedureEntityExtractor: the `procedure` entity from the catalog search."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.procedure_extractor import (
    CANDIDATES_KEY,
    ProcedureEntityExtractor,
    procedure_query,
    strip_aspects,
)
from bot.nlu.tokenizer import VietnameseTokenizer

BIRTH_REGISTRATION = {"1.001193", "2.000986", "2.001023"}


@pytest.fixture(scope="module")
def extractor(search_index: Any) -> ProcedureEntityExtractor:
    return ProcedureEntityExtractor({}, index=search_index)


def _run(extractor: ProcedureEntityExtractor, text: str, intent: dict | None = None) -> Message:
    message = Message(data={TEXT: text})
    if intent:
        message.set(INTENT, intent)
    VietnameseTokenizer(VietnameseTokenizer.get_default_config()).process([message])
    extractor.process([message])
    return message


def _procedure(message: Message) -> dict | None:
    found = [e for e in message.get(ENTITIES, []) if e["entity"] == "procedure"]
    assert len(found) <= 1
    return found[0] if found else None


def test_fires_on_birth_registration(extractor: ProcedureEntityExtractor) -> None:
    text = "đăng ký khai sinh cần gì"
    message = _run(extractor, text)
    entity = _procedure(message)
    assert entity is not None
    assert entity["value"] in BIRTH_REGISTRATION
    assert entity["extractor"] == "ProcedureEntityExtractor"
    assert 0.0 < entity["confidence"] <= 1.0
    assert text[entity["start"] : entity["end"]] == "đăng ký khai sinh"
    candidates = message.get(CANDIDATES_KEY)
    assert candidates[0]["code"] == entity["value"]
    assert set(candidates[0]) == {"code", "name", "score"}
    assert entity["confidence"] == pytest.approx(candidates[0]["score"] / 100, abs=1e-3)


@pytest.mark.parametrize(
    "text",
    ["dang ky khai sinh can gi", "đk ks cho bé cần gì ạ", "Đăng ký khai sinh cho con"],
)
def test_fires_with_abbreviations_and_without_diacritics(
    extractor: ProcedureEntityExtractor, text: str
) -> None:
    entity = _procedure(_run(extractor, text))
    assert entity is not None and entity["value"] in BIRTH_REGISTRATION


@pytest.mark.parametrize(
    "text",
    [
        "cảm ơn",
        "cam on ban nhieu",
        "ok",
        "xin chào",
        "còn lệ phí thì sao?",
        "bao lâu thì có kết quả",
        "nộp ở đâu vậy ad",
        "Tôi muốn nộp hồ sơ",
        "vâng ạ",
    ],
)
def test_does_not_fire_without_a_procedure(extractor: ProcedureEntityExtractor, text: str) -> None:
    assert _procedure(_run(extractor, text)) is None


def test_aspect_words_are_removed_before_search() -> None:
    assert strip_aspects(["le", "phi", "dang", "ky", "khai", "sinh", "bao", "nhieu"]) == [
        "dang", "ky", "khai", "sinh", "bao", "nhieu",
    ]
    query, content = procedure_query("Tôi muốn nộp hồ sơ khai tử cho bố")
    assert "nop" not in query.split() and "khai" in query.split()
    assert content >= 1
    assert procedure_query("còn lệ phí thì sao?")[1] == 0


def test_confident_small_talk_intent_skips_search(extractor: ProcedureEntityExtractor) -> None:
    message = _run(extractor, "chào bạn", intent={"name": "greet", "confidence": 0.99})
    assert _procedure(message) is None
    assert message.get(CANDIDATES_KEY) == []


def test_candidates_are_output_even_when_not_confident(
    extractor: ProcedureEntityExtractor,
) -> None:
    # "cấp thẻ căn cước" names the family, not the variant (catalog.resolution
    # asks): no entity, but the candidates go out for the dialogue's choice.
    message = _run(extractor, "cấp thẻ căn cước")
    assert _procedure(message) is None
    assert message.get(CANDIDATES_KEY)


def test_works_without_tokens(extractor: ProcedureEntityExtractor) -> None:
    text = "  làm hộ chiếu  "
    message = Message(data={TEXT: text})
    extractor.process([message])
    entity = _procedure(message)
    assert entity is not None
    assert text[entity["start"] : entity["end"]] == "làm hộ chiếu"
    assert message.get(TOKENS_NAMES[TEXT]) is None


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😀😀", "?!?!", "\u200b", "Привет 你好", "x" * 10_000, "đăng ký " * 2000],
)
def test_hostile_input(extractor: ProcedureEntityExtractor, text: str) -> None:
    message = _run(extractor, text)
    assert isinstance(message.get(CANDIDATES_KEY), list)


def test_span_and_query_ignore_contact_details(extractor: ProcedureEntityExtractor) -> None:
    text = "dk ks cho bé cần j, sđt 0912345678"
    query, _ = procedure_query(text)
    assert "912345678" not in query and "dien" not in query.split()
    entity = _procedure(_run(extractor, text))
    assert entity is not None and entity["value"] in BIRTH_REGISTRATION
    assert text[entity["start"] : entity["end"]] == "dk ks"
