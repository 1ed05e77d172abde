"""VietnameseTokenizer: word segmentation, offsets into the original text, lemmas."""

from __future__ import annotations

import unicodedata

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.normalize import normalize_with_offsets
from bot.nlu.tokenizer import VietnameseTokenizer, tokenize_text


def _triples(text: str) -> list[tuple[str, int, int, str]]:
    return [(t.text, t.start, t.end, t.lemma) for t in tokenize_text(text)]


def _assert_offsets(text: str) -> None:
    for token in tokenize_text(text):
        assert text[token.start : token.end] == token.text


def test_multi_syllable_words_with_diacritics() -> None:
    text = "Tôi muốn đăng ký khai sinh cho con"
    assert _triples(text) == [
        ("Tôi", 0, 3, "toi"),
        ("muốn", 4, 8, "muon"),
        ("đăng ký", 9, 16, "dang ky"),
        ("khai sinh", 17, 26, "khai sinh"),
        ("cho", 27, 30, "cho"),
        ("con", 31, 34, "con"),
    ]


def test_without_diacritics_same_lemmas() -> None:
    accented = " ".join(t.lemma for t in tokenize_text("Đăng ký khai sinh cho con"))
    plain = " ".join(t.lemma for t in tokenize_text("dang ky khai sinh cho con"))
    assert accented == plain == "dang ky khai sinh cho con"
    _assert_offsets("dang ky khai sinh cho con")


def test_lemma_folds_d_stroke_and_case() -> None:
    tokens = tokenize_text("ĐĂNG KÝ Đổi bằng lái")
    assert tokens[0].lemma == "dang ky"
    assert " ".join(t.lemma for t in tokens) == "dang ky doi bang lai"
    assert all("đ" not in t.lemma and "Đ" not in t.lemma for t in tokens)


def test_hoa_is_not_rewritten() -> None:
    # underthesea's default token normalisation would turn "hoà" into "hòa".
    tokens = tokenize_text("hoà giải tranh chấp")
    assert tokens[0].text == "hoà giải"
    assert "hoà" in tokens[0].text


def test_nfd_input_offsets_point_at_original_characters() -> None:
    nfc = "Đăng ký khai sinh ở đâu?"
    nfd = unicodedata.normalize("NFD", nfc)
    assert len(nfd) > len(nfc)
    tokens = tokenize_text(nfd)
    assert [t.lemma for t in tokens] == ["dang ky", "khai sinh", "o", "dau"]
    for token in tokens:
        assert nfd[token.start : token.end] == token.text
        # the slice is the NFD spelling of the same word
        assert unicodedata.normalize("NFC", token.text) in nfc
    assert unicodedata.normalize("NFC", tokens[0].text) == "Đăng ký"


def test_zero_width_characters_are_ignored_but_offsets_stay_exact() -> None:
    text = "\ufeffđăng\u200b ký khai sinh\u200d"
    tokens = tokenize_text(text)
    assert [t.lemma for t in tokens] == ["dang ky", "khai sinh"]
    for token in tokens:
        assert text[token.start : token.end] == token.text
    assert tokens[0].start == 1  # after the BOM


def test_double_spaces_inside_a_word() -> None:
    text = "đăng   ký  khai sinh"
    tokens = tokenize_text(text)
    assert tokens[0].text == "đăng   ký"
    assert tokens[0].lemma == "dang ky"
    _assert_offsets(text)


def test_codes_and_numbers_stay_single_tokens() -> None:
    assert [t.text for t in tokenize_text("hồ sơ HS-7K2M-Q9XD ngày 15/3/1990")] == [
        "hồ sơ",
        "HS-7K2M-Q9XD",
        "ngày",
        "15/3/1990",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "\u200b\u200b", "😀😀😀", "...???!!!", "Привет 你好 đăng ký",
        "a\u0301\u0301\u0301",
    ],
)
def test_hostile_input_does_not_crash(text: str) -> None:
    tokens = tokenize_text(text)
    for token in tokens:
        assert text[token.start : token.end] == token.text
    if text.strip() and any(not unicodedata.category(c).startswith("C") for c in text):
        assert tokens, "a visible message gets at least one token"


def test_mixed_scripts_keep_each_word() -> None:
    assert [t.text for t in tokenize_text("Привет 你好 đăng ký")] == ["Привет", "你好", "đăng ký"]


def test_long_message_is_capped_but_fully_tokenized() -> None:
    text = ("Tôi muốn đăng ký khai sinh cho con. " * 400)[:10_000]
    tokens = tokenize_text(text)
    assert tokens[-1].end <= len(text)
    assert tokens[-1].end >= len(text.rstrip()) - 12  # the tail is whitespace-split, not dropped
    starts = [t.start for t in tokens]
    assert starts == sorted(starts)
    for token in tokens[:50] + tokens[-50:]:
        assert text[token.start : token.end] == token.text


def test_normalize_with_offsets_maps_nfd_clusters() -> None:
    original = unicodedata.normalize("NFD", "hệ")
    normalized = normalize_with_offsets(original)
    assert normalized.text == "hệ"
    assert normalized.span(1, 2) == (1, len(original))


def test_component_sets_tokens_on_messages() -> None:
    tokenizer = VietnameseTokenizer(VietnameseTokenizer.get_default_config())
    message = Message(data={TEXT: "làm cccd ở đâu"})
    tokenizer.process([message])
    tokens = message.get(TOKENS_NAMES[TEXT])
    assert [t.text for t in tokens] == ["làm", "cccd", "ở", "đâu"]
    assert [t.lemma for t in tokens] == ["lam", "can cuoc cong dan", "o", "dau"]


def test_abbreviations_expand_in_lemmas() -> None:
    tokens = tokenize_text("đk ks cho bé cần j")
    assert [t.text for t in tokens] == ["đk", "ks", "cho", "bé", "cần", "j"]
    assert " ".join(t.lemma for t in tokens) == "dang ky khai sinh cho be can gi"
    assert [t.lemma for t in tokenize_text("đk ks", expand_abbreviations=False)] == ["dk", "ks"]


def test_question_shorthand_reads_as_in_a_question() -> None:
    # In a question "tt" is "thủ tục" and "bn" "bao nhiêu"; catalog search keeps
    # its own reading of "tt" (tạm trú / thường trú) for procedure names.
    lemmas = " ".join(t.lemma for t in tokenize_text("tt đổi gplx ntn, hết bn v ad"))
    assert lemmas.startswith("thu tuc ")
    assert lemmas.endswith("bao nhieu vay admin")
    assert [t.lemma for t in tokenize_text("hd e")] == ["huong dan", "em"]
    from catalog.text import expand_tokens

    assert expand_tokens(["tt"]) == ["tam", "tru", "thuong", "tru"]


def test_expansion_off_in_component_config() -> None:
    tokenizer = VietnameseTokenizer(
        {**VietnameseTokenizer.get_default_config(), "expand_abbreviations": False}
    )
    message = Message(data={TEXT: "làm cccd"})
    tokenizer.process([message])
    assert [t.lemma for t in message.get(TOKENS_NAMES[TEXT])] == ["lam", "cccd"]
