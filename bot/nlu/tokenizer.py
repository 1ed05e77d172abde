"""Vietnamese word-segmenting tokenizer for the Rasa 3.6 graph.

Vietnamese writes one syllable per space-separated unit, so "đăng ký khai sinh"
is two words of two syllables each. `underthesea.word_tokenize` (a bundled CRF
model, no download) groups syllables into words; this tokenizer turns its
output into Rasa `Token`s whose offsets point into the message text exactly as
received (NFD or NFC, with or without zero-width characters) and whose lemma is
the accent-folded lowercase form (`core.vietnamese.fold`), which is what the
CountVectorsFeaturizers read (`use_lemma: True`). Folding makes "đăng ký",
"dang ky" and "Đăng Ký" the same feature, the single biggest robustness win
for citizens who type without diacritics.

A multi-syllable word keeps its syllables in the lemma separated by spaces
("dang ky"): the word-level CountVectorizer (token pattern `\\b\\w+\\b`) then sees
both the syllables and, with `max_ngram: 2`, the compound; the `char_wb`
featurizer sees syllable boundaries. So undiacritised text, which underthesea
often leaves unsegmented ("dang", "ky"), still produces the same
sentence-level features as the accented original.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.normalize import NormalizedText, for_segmenter, normalize_with_offsets
from catalog.text import expand_tokens
from core.vietnamese import fold

logger = logging.getLogger(__name__)

# underthesea's CRF is linear but slow-ish in pure Python feature extraction
# (~1 ms per 100 characters); text past this many characters is split on
# whitespace instead so a pasted 10,000-character message stays cheap.
DEFAULT_SEGMENT_CHAR_LIMIT = 1000

_WORD_CHAR = re.compile(r"\w", re.UNICODE)
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_NON_SPACE_RUN = re.compile(r"\S+")


def segment(text: str) -> list[str]:
    """underthesea word segmentation without its token rewriting.

    `use_token_normalize=False` matters: by default underthesea rewrites
    "hoà" to "hòa" (and similar tone placements), which would both change what
    the user wrote and make the token impossible to find in the text again.
    """
    from underthesea import word_tokenize  # imported lazily: ~0.6 s import

    return word_tokenize(text, use_token_normalize=False)


def warm_up() -> None:
    """Load the CRF model now (first call costs ~0.5 s) rather than on the
    first user message."""
    try:
        segment("xin chào")
    except Exception:  # pragma: no cover - never fail start-up for a warm-up
        logger.exception("underthesea warm-up failed; tokenizer will whitespace-split")


def _locate(words: list[str], haystack: str, offset: int) -> list[tuple[int, int, list[str]]]:
    """Find each segmented word in `haystack` (from `offset` on), in order.

    underthesea joins the syllables of a word with one space whatever the
    original spacing was, so each syllable is searched separately and the
    word's span runs from its first to its last syllable. A word that cannot be
    found (should not happen: underthesea only rewrites ð→đ, undone by
    `for_segmenter`) is dropped rather than given a wrong offset.
    """
    spans: list[tuple[int, int, list[str]]] = []
    cursor = offset
    for word in words:
        syllables = word.split()
        if not syllables:
            continue
        positions: list[int] = []
        probe = cursor
        for syllable in syllables:
            found = haystack.find(syllable, probe)
            if found < 0:
                break
            positions.append(found)
            probe = found + len(syllable)
        if len(positions) != len(syllables):
            logger.debug("could not align segmented word %r", word)
            continue
        spans.append((positions[0], probe, syllables))
        cursor = probe
    return spans


def _has_word_char(text: str) -> bool:
    return bool(_WORD_CHAR.search(text))


# Chat shorthand that reads differently in a question than in a procedure name,
# applied before catalog.text's shared table. In a search query "tt" stands for
# tạm trú / thường trú and "hd" for hợp đồng; in a citizen's question "tt ... ntn"
# is "thủ tục" and "hd mình" is "hướng dẫn". Folded keys, one syllable each.
QUESTION_SHORTHAND: dict[str, str] = {
    "tt": "thu tuc",
    "hd": "huong dan",
    "tk": "tai khoan",
    "e": "em",
    "v": "vay",
    "hnay": "hom nay",
    "hqua": "hom qua",
}


def syllable_lemma(syllable: str, expand: bool = True) -> str:
    """Folded form of one syllable; with `expand`, a one-syllable abbreviation
    or teencode word is replaced by what it stands for ("đk" → "dang ky",
    "ko" → "khong", "cccd" → "can cuoc cong dan") using QUESTION_SHORTHAND, then
    catalog.text's shared table, so "đk ks" and "đăng ký khai sinh" give the same
    word features.

    Only one-syllable keys apply: multi-word entries ("bằng lái") would fire
    when underthesea groups the syllables into one token but not when it
    leaves them apart (typical without diacritics), making features depend on
    segmentation.
    """
    folded = fold(syllable)
    if expand and _ASCII_WORD.fullmatch(folded):
        return QUESTION_SHORTHAND.get(folded) or " ".join(expand_tokens([folded]))
    return folded


def tokenize_text(
    original: str,
    segment_char_limit: int = DEFAULT_SEGMENT_CHAR_LIMIT,
    expand_abbreviations: bool = True,
) -> list[Token]:
    """Tokens of `original` with offsets into `original` and folded lemmas.

    Pure punctuation/emoji tokens are dropped (as Rasa's WhitespaceTokenizer
    does); if nothing is left the whole visible text becomes one token so the
    featurizers and DIET always get at least one token for a non-empty message.
    """
    normalized = normalize_with_offsets(original)
    text = normalized.text
    if not text.strip():
        return []
    haystack = for_segmenter(text)

    head_end = len(text)
    if len(text) > segment_char_limit:
        # Cut at a whitespace so no word is split between the two halves.
        cut = text.rfind(" ", 0, segment_char_limit)
        head_end = cut if cut > 0 else segment_char_limit

    try:
        words = segment(haystack[:head_end])
    except Exception:  # underthesea must never take the bot down
        logger.exception("underthesea failed; falling back to whitespace split")
        words = haystack[:head_end].split()
    spans = _locate(words, haystack[:head_end], 0)
    spans.extend(
        (m.start(), m.end(), [m.group()]) for m in _NON_SPACE_RUN.finditer(haystack, head_end)
    )

    tokens = [
        _make_token(normalized, start, end, syllables, expand_abbreviations)
        for start, end, syllables in spans
        if _has_word_char(text[start:end])
    ]
    if not tokens:
        stripped_start = len(text) - len(text.lstrip())
        stripped_end = len(text.rstrip())
        tokens = [
            _make_token(
                normalized, stripped_start, stripped_end, text.split(), expand_abbreviations
            )
        ]
    return tokens


def _make_token(
    normalized: NormalizedText, start: int, end: int, syllables: list[str], expand: bool
) -> Token:
    orig_start, orig_end = normalized.span(start, end)
    lemma = " ".join(syllable_lemma(syllable, expand) for syllable in syllables).strip()
    return Token(
        normalized.original[orig_start:orig_end],
        orig_start,
        end=orig_end,
        lemma=lemma or normalized.text[start:end],
    )


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class VietnameseTokenizer(Tokenizer):
    """Word-segmenting tokenizer: underthesea words, original offsets, folded lemmas."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Same meaning as for Rasa's WhitespaceTokenizer (intent names).
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            # Characters of (normalised) text given to underthesea; the rest is
            # whitespace-split.
            "segment_char_limit": DEFAULT_SEGMENT_CHAR_LIMIT,
            # Lemma of one-syllable abbreviations/teencode = their expansion.
            "expand_abbreviations": True,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["underthesea"]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__({**self.get_default_config(), **config})
        self._segment_char_limit = int(self._config["segment_char_limit"])
        self._expand = bool(self._config["expand_abbreviations"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseTokenizer:
        warm_up()
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute)
        if not isinstance(text, str):
            return []
        tokens = tokenize_text(text, self._segment_char_limit, self._expand)
        return self._apply_token_pattern(tokens)
