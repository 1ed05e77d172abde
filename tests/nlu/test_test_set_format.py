"""Format checks for the held-out NLU evaluation set `tests/nlu/test_set.yml`.

These tests only validate the file; they do not run a model. See README.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml

from catalog.source import iter_raw_records
from core.vietnamese import fold

TEST_SET = Path(__file__).with_name("test_set.yml")

INTENTS = {
    "ask_documents", "ask_fee", "ask_processing_time", "ask_agency", "ask_online",
    "ask_legal_basis", "ask_procedure", "submit_dossier", "check_status",
    "greet", "goodbye", "thank", "affirm", "deny", "help", "bot_challenge", "cancel",
    "human_handoff", "out_of_scope", "inform", "faq",
}  # fmt: skip
STYLES = {"diacritics", "none", "abbreviations", "typos"}
KEYS = {"text", "intent", "procedures", "style"}
MIN_EXAMPLES = 300
MIN_PER_STYLE = 60
CODE_RE = re.compile(r"^\d\.\d{6}$")
# Dossier codes as users type them: HS-7K3M-9QXP, hs-7k3m-9qxp, HS7K3M9QXP.
DOSSIER_RE = re.compile(r"\bhs-?([0-9a-z]{4})-?([0-9a-z]{4})\b", re.IGNORECASE)
DOSSIER_ALPHABET = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


@pytest.fixture(scope="module")
def data() -> dict:
    with TEST_SET.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def examples(data: dict) -> list[dict]:
    return data["examples"]


def test_top_level_format(data: dict) -> None:
    assert isinstance(data, dict)
    assert set(data) == {"version", "examples"}
    assert data["version"] == 1
    assert isinstance(data["examples"], list)


def test_example_format(examples: list[dict]) -> None:
    for i, ex in enumerate(examples):
        assert isinstance(ex, dict) and set(ex) == KEYS, f"#{i}: {ex!r}"
        text = ex["text"]
        assert isinstance(text, str) and text.strip() == text and text, f"#{i}: {text!r}"
        assert unicodedata.is_normalized("NFC", text), f"#{i} not NFC: {text!r}"
        assert isinstance(ex["procedures"], list), f"#{i}: {ex!r}"
        assert all(isinstance(code, str) for code in ex["procedures"]), f"#{i}: {ex!r}"
        assert len(set(ex["procedures"])) == len(ex["procedures"]), f"#{i}: {ex!r}"


def test_intents_and_styles_allowed(examples: list[dict]) -> None:
    assert {ex["intent"] for ex in examples} <= INTENTS
    assert {ex["style"] for ex in examples} <= STYLES
    missing = INTENTS - {ex["intent"] for ex in examples}
    assert not missing, f"intents without examples: {sorted(missing)}"


def test_size_and_style_minimums(examples: list[dict]) -> None:
    assert len(examples) >= MIN_EXAMPLES
    per_style = Counter(ex["style"] for ex in examples)
    for style in STYLES:
        assert per_style[style] >= MIN_PER_STYLE, (style, per_style[style])


def test_no_duplicate_texts(examples: list[dict]) -> None:
    keys = Counter(" ".join(ex["text"].casefold().split()) for ex in examples)
    assert [text for text, n in keys.items() if n > 1] == []


def test_style_tags_match_text(examples: list[dict]) -> None:
    for ex in examples:
        if ex["style"] == "none":
            assert fold(ex["text"]) == ex["text"].lower(), f"accents in a none text: {ex['text']!r}"
        elif ex["style"] == "diacritics":
            assert fold(ex["text"]) != ex["text"].lower(), f"no accents: {ex['text']!r}"


def test_dossier_codes_use_portal_alphabet(examples: list[dict]) -> None:
    for ex in examples:
        for match in DOSSIER_RE.finditer(ex["text"]):
            chars = set((match.group(1) + match.group(2)).upper())
            assert chars <= DOSSIER_ALPHABET, f"bad dossier code in {ex['text']!r}"


def test_procedure_codes_exist_in_catalog(examples: list[dict]) -> None:
    catalog_codes = {rec.get("ma_thu_tuc") for rec in iter_raw_records()}
    used = {code for ex in examples for code in ex["procedures"]}
    assert used, "no procedure codes at all"
    bad_format = sorted(code for code in used if not CODE_RE.match(code))
    assert bad_format == []
    assert sorted(used - catalog_codes) == []
