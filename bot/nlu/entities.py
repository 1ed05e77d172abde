"""Rule-based entities: dossier code, citizen ID, phone number, date.

These have fixed formats, so rules beat a learned tagger and need no training
data. Matching runs on the NFC, invisible-free text (so "ngày" typed in NFD or
with a zero-width space still matches) and the offsets are mapped back to the
original message. Values are normalised so the actions never re-parse them:

- dossier_code: "HS-XXXX-XXXX" upper case with dashes;
- citizen_id:   the 12 digits without spaces;
- phone:        national form "0xxxxxxxxx" (a +84/84 prefix becomes 0);
- date:         ISO "YYYY-MM-DD" (impossible dates such as 31/2 are dropped).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.config_component import ConfigOnlyComponent
from bot.nlu.normalize import normalize_with_offsets
from core.vietnamese import DOSSIER_CODE_REGEX, NATIONAL_CODE_REGEX
from dossiers.codes import normalize_code, normalize_national_code

# The one definition of dossier codes (`core.vietnamese`; the store, the API and
# the bot share it), searched inside a sentence.
DOSSIER_CODE_RE = re.compile(rf"(?<![0-9A-Za-z])(?:{DOSSIER_CODE_REGEX})(?![0-9A-Za-z])", re.I)
# The one-stop-shop's national codes ("000.00.10.H12-251120-0003"); extracted
# as `dossier_code` with the national value.
NATIONAL_CODE_RE = re.compile(NATIONAL_CODE_REGEX)

# 12 digits, written solid or in the groups people copy from the card
# (3-3-3-3, 4-4-4, 6-6), separated by a space or a dot.
CITIZEN_ID_RE = re.compile(
    r"(?<![\d+])(?:\d{12}|\d{3}(?:[ .]\d{3}){3}|\d{4}(?:[ .]\d{4}){2}|\d{6}[ .]\d{6})(?![\d])"
)

# Vietnamese mobile numbers: 0 or +84/84, then 3/5/7/8/9 and 8 more digits, with
# optional single separators ("0912 345 678", "0912.345.678", "+84 912-345-678").
PHONE_RE = re.compile(
    r"(?<![\d+])(?:\+84|84|0)[ .-]?[35789](?:[ .-]?\d){8}(?!\d)"
)

_DAY = r"(?P<d>0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?P<m>0?[1-9]|1[0-2])"
_YEAR = r"(?P<y>(?:19|20)\d{2})"
DATE_NUMERIC_RE = re.compile(rf"(?<![\d/.-]){_DAY}\s?([/.-])\s?{_MONTH}\s?\2\s?{_YEAR}(?![\d/.-])")
# "ngày 15 tháng 3 năm 1990", accented or not, "ngày" optional.
DATE_WORDS_RE = re.compile(
    rf"(?:\bng[aà]y\s+)?\b{_DAY}\s+th[aá]ng\s+{_MONTH}(?:\s*,)?\s+n[aă]m\s+{_YEAR}\b",
    re.I,
)


@dataclass(frozen=True)
class RuleMatch:
    entity: str
    start: int  # offsets into the *original* text
    end: int
    value: str


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def normalize_phone(raw: str) -> str:
    digits = _digits(raw)
    if digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def _date_value(match: re.Match[str]) -> str | None:
    try:
        return dt.date(int(match["y"]), int(match["m"]), int(match["d"])).isoformat()
    except ValueError:
        return None


# Order is priority when spans overlap (a 12-digit citizen ID beats a phone
# number found inside it).
_RULES: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], str | None]]] = [
    # Values as the dossier store normalises them (O/I/L typos repaired).
    ("dossier_code", NATIONAL_CODE_RE, lambda m: normalize_national_code(m.group())),
    ("dossier_code", DOSSIER_CODE_RE, lambda m: normalize_code(m.group())),
    ("citizen_id", CITIZEN_ID_RE, lambda m: _digits(m.group())),
    ("date", DATE_WORDS_RE, _date_value),
    ("date", DATE_NUMERIC_RE, _date_value),
    ("phone", PHONE_RE, lambda m: normalize_phone(m.group())),
]

ENTITY_NAMES: tuple[str, ...] = ("dossier_code", "citizen_id", "phone", "date")


def find_entities(original: str) -> list[RuleMatch]:
    """All rule entities of `original`, non-overlapping, in text order."""
    if not original:
        return []
    normalized = normalize_with_offsets(original)
    text = normalized.text
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, RuleMatch]] = []
    for name, pattern, to_value in _RULES:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            value = to_value(match)
            if not value:
                continue
            taken.append((start, end))
            orig_start, orig_end = normalized.span(start, end)
            found.append((start, RuleMatch(name, orig_start, orig_end, value)))
    return [match for _, match in sorted(found, key=lambda item: item[0])]


def rasa_regex_features() -> dict[str, str]:
    """Patterns for Rasa's RegexFeaturizer (kept in nlu_data/regex/patterns.yml;
    a test checks the file matches this). They flag tokens as "looks like a
    dossier code / phone / ..." so DIET can learn e.g. that a message that is
    just a dossier code means check_status."""
    return {
        "dossier_code": f"{DOSSIER_CODE_RE.pattern}|{NATIONAL_CODE_RE.pattern}",
        "citizen_id": CITIZEN_ID_RE.pattern,
        "phone": PHONE_RE.pattern,
        # Without named groups/back-references: a feature needs no value.
        "date": r"(?<![\d/.-])\d{1,2}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?(?:19|20)\d{2}(?![\d/.-])",
    }


REGEX_FEATURES_FILE = Path(__file__).resolve().parents[2] / "nlu_data" / "regex" / "patterns.yml"

_REGEX_FILE_HEADER = """\
# Regex features for Rasa's RegexFeaturizer (owned by the NLU pipeline).
# They mark tokens that look like a dossier code / citizen ID / phone / date so the
# intent classifier can use the shape (a bare "HS-7K2M-Q9XD" means check_status).
# Entity VALUES do not come from here but from bot.nlu.entities (normalised).
# Generated by `python -m bot.nlu.entities`; a test checks it is up to date.
"""


def regex_features_yaml() -> str:
    """The text of nlu_data/regex/patterns.yml (Rasa NLU `regex:` entries)."""
    lines = [_REGEX_FILE_HEADER.rstrip("\n"), 'version: "3.1"', "nlu:"]
    for name, pattern in rasa_regex_features().items():
        lines += [f"- regex: {name}", "  examples: |", f"    - {pattern}"]
    return "\n".join(lines) + "\n"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class VietnameseRegexEntityExtractor(ConfigOnlyComponent, EntityExtractorMixin):
    """Extracts dossier_code, citizen_id, phone and date with fixed rules."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Which entities to emit; all by default.
        return {"entities": list(ENTITY_NAMES)}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._wanted = set(self._config["entities"])

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            entities = [
                {
                    "entity": match.entity,
                    "start": match.start,
                    "end": match.end,
                    "value": match.value,
                    "confidence_entity": 1.0,
                }
                for match in find_entities(text)
                if match.entity in self._wanted
            ]
            if not entities:
                continue
            message.set(
                ENTITIES,
                message.get(ENTITIES, []) + self.add_extractor_name(entities),
                add_to_output=True,
            )
        return messages


if __name__ == "__main__":
    REGEX_FEATURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    REGEX_FEATURES_FILE.write_text(regex_features_yaml(), encoding="utf-8")
    print(f"wrote {REGEX_FEATURES_FILE}")
