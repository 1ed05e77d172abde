"""A message with a dossier code that the classifier could not place is a
status look-up (bot.code_intent); other intents are untouched."""

from __future__ import annotations

import pytest

from bot.code_intent import reinterpret
from bot.nlu.entities import find_entities


def parse(text: str, intent: str) -> dict:
    entities = [{"entity": m.entity, "value": m.value} for m in find_entities(text)]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": 0.4},
        "intent_ranking": [{"name": intent, "confidence": 0.4}],
        "entities": entities,
    }


@pytest.mark.parametrize(
    "text",
    ["tra cứu hồ sơ 000.00.10.h12 – 251120 – 0003", "hs–7k3m–9qxp", "000.00.10.H12-251120-0003"],
)
def test_unplaced_code_becomes_status(text: str) -> None:
    for intent in ("nlu_fallback", "out_of_scope", "ask_procedure", "inform", "faq"):
        result = reinterpret(parse(text, intent))
        assert result["intent"]["name"] == "check_status"
        assert result["intent_ranking"][0]["name"] == "check_status"


def test_other_intents_and_codeless_messages_untouched() -> None:
    cancel = parse("hủy hồ sơ HS-7K3M-9QXP", "cancel")
    assert reinterpret(cancel) == cancel
    in_form = parse("000.00.10.H12-251120-0003", "inform")
    assert reinterpret(in_form, in_form=True) == in_form
    chat = parse("hôm nay trời đẹp", "nlu_fallback")
    assert reinterpret(chat) == chat


def test_a_dossier_rating_keeps_its_intent() -> None:
    """The 👍/👎 of a finished dossier carries its code: a rating, not a look-up."""
    from dossiers.rating_buttons import rating_buttons

    payload = rating_buttons("dossier", "HS-7K3M-9QXP")[0]["payload"]
    rating = {
        "text": payload,
        "intent": {"name": "rate", "confidence": 1.0},
        "intent_ranking": [{"name": "rate", "confidence": 1.0}],
        "entities": [{"entity": "rating", "value": "5"},
                     {"entity": "dossier_code", "value": "HS-7K3M-9QXP"}],
    }
    assert reinterpret(rating) == rating
