"""bot.code_intent: a message that is only a dossier code is a status look-up,
whatever the classifier made of the code's letters."""

from __future__ import annotations

import pytest

from bot.code_intent import is_only_a_code, reinterpret
from bot.nlu.entities import find_entities


def _parse(text: str, intent: str, confidence: float = 0.9) -> dict:
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": [{"entity": m.entity, "value": m.value} for m in find_entities(text)],
    }


@pytest.mark.parametrize("text", ["HS-AAAA-BBBB", "hs aaaa bbbb.", "“HS-7K3M-9QXP”",
                                  "000.00.10.H12-251120-0003"])
@pytest.mark.parametrize("intent", ["goodbye", "help", "deny", "cancel", "human_handoff"])
def test_a_bare_code_is_a_look_up_whatever_the_intent(text: str, intent: str) -> None:
    """Before: "HS-AAAA-BBBB" kept `goodbye` ("BBBB" reads as "bb", bye-bye)
    and was answered "Chào bạn, chúc bạn làm thủ tục thuận lợi!"."""
    result = reinterpret(_parse(text, intent))
    assert result["intent"] == {"name": "check_status", "confidence": 1.0}
    assert result["intent_ranking"][0] == {"name": "check_status", "confidence": 1.0}
    assert result["intent_ranking"][1:] == [{"name": intent, "confidence": 0.9}]


def test_a_code_with_words_keeps_an_intent_that_uses_it() -> None:
    for text, intent in (("hủy hồ sơ HS-AAAA-BBBB", "cancel"), ("bye HS-AAAA-BBBB", "goodbye"),
                         ("gặp cán bộ về HS-7K3M-9QXP", "human_handoff")):
        parse = _parse(text, intent)
        assert reinterpret(parse) == parse


def test_a_form_and_a_rating_payload_are_left_alone() -> None:
    in_form = _parse("HS-AAAA-BBBB", "goodbye")
    assert reinterpret(in_form, in_form=True) == in_form
    payload = '/rate{"rating":"1","rating_kind":"dossier","dossier_code":"HS-AAAA-BBBB"}'
    rating = {"text": payload, "intent": {"name": "rate", "confidence": 1.0},
              "entities": [{"entity": "dossier_code", "value": "HS-AAAA-BBBB"}]}
    assert reinterpret(rating) == rating


def test_is_only_a_code() -> None:
    assert is_only_a_code("HS-AAAA-BBBB") and is_only_a_code(" hs–7k3m–9qxp ! ")
    assert is_only_a_code("HS-7K3M-9QXP, HS-AAAA-BBBB")
    assert not is_only_a_code("tra cứu HS-AAAA-BBBB")
    assert not is_only_a_code("HS-AAAA-BBBB 5678")
    assert not is_only_a_code("tạm biệt") and not is_only_a_code("")
