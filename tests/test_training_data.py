"""NLU training data: valid Rasa YAML, enough varied examples, a deterministic generator."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import training_data as td
from catalog.answers import QUESTION_INTENTS

ROOT = Path(__file__).resolve().parents[1]
NLU_DATA = ROOT / "nlu_data"
HAND_WRITTEN = sorted((NLU_DATA / "nlu").glob("*.yml"))
FAQ = NLU_DATA / "faq.yml"
RASA_FILES = [*HAND_WRITTEN, FAQ]
TEMPLATES = NLU_DATA / "templates.yml"

ASK_INTENTS = list(QUESTION_INTENTS)
CORE_INTENTS = [
    *ASK_INTENTS,
    "submit_dossier",
    "check_status",
    "human_handoff",
    "inform",
    "cancel",
    "out_of_scope",
]
SMALL_TALK_INTENTS = ["greet", "goodbye", "thank", "affirm", "deny", "help", "bot_challenge"]
ALL_INTENTS = {*CORE_INTENTS, *SMALL_TALK_INTENTS, "faq"}
FAQ_TOPICS = {  # the topics the FAQ must cover
    "create_account",
    "vneid_login",
    "otp_not_received",
    "payment_methods",
    "payment_failed",
    "forgot_dossier_code",
    "result_by_post",
    "change_contact",
    "upload_failed",
    "digital_signature",
    "track_dossier",
    "supplement_dossier",
    "fee_refund",
    "working_hours",
    "browsers_apps",
}
DOSSIER_CODE = re.compile(r"\bhs-?([0-9a-z]{4})-?([0-9a-z]{4})\b", re.IGNORECASE)
CODE_ALPHABET = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def _load(path: Path) -> TrainingData:
    return load_data(str(path), language="vi")


@pytest.fixture(scope="module")
def hand_written() -> TrainingData:
    data = [_load(path) for path in RASA_FILES]
    return data[0].merge(*data[1:])


def _by_intent(data: TrainingData, full: bool = False) -> dict[str, list[str]]:
    examples: dict[str, list[str]] = defaultdict(list)
    key = "intent_response_key" if full else "intent"
    for message in data.intent_examples:
        examples[message.get(key) or message.get("intent")].append(message.get("text"))
    return examples


def _folded(text: str) -> str:
    return td._key(text)


# --------------------------------------------------------------------------- hand-written data


def _rasa_files_in_nlu_data() -> list[Path]:
    """Every file of nlu_data/ that Rasa's importer reads (also regex/lookup files of
    other owners), as `rasa train --data nlu_data` would pick them."""
    from rasa.shared.data import get_data_files, is_nlu_file

    return sorted(Path(p) for p in get_data_files([str(NLU_DATA)], is_nlu_file))


@pytest.mark.parametrize("path", RASA_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_training_file_loads_with_rasa(path: Path) -> None:
    data = _load(path)
    assert data.intent_examples, f"{path} has no examples"
    assert not data.entity_examples, f"{path}: annotate no entities (extractors do it)"


def test_rasa_importer_reads_all_nlu_data_and_skips_templates() -> None:
    """`rasa train --data nlu_data ...` must read our files and ignore templates.yml."""
    from rasa.shared.importers.rasa import RasaFileImporter

    files = _rasa_files_in_nlu_data()
    assert set(RASA_FILES) <= set(files)
    assert TEMPLATES not in files
    for path in files:  # files of other owners (regex features...) must load too
        _load(path)
    data = RasaFileImporter(training_data_paths=[str(NLU_DATA)]).get_nlu_data("vi")
    assert len(data.intent_examples) > 1000
    assert any(key.startswith("utter_faq/") for key in data.responses)


def test_intent_names_are_the_agreed_ones(hand_written: TrainingData) -> None:
    assert set(_by_intent(hand_written)) == ALL_INTENTS


@pytest.mark.parametrize("intent", CORE_INTENTS)
def test_core_intents_have_at_least_40_examples(hand_written: TrainingData, intent: str) -> None:
    examples = set(_by_intent(hand_written)[intent])
    assert len(examples) >= 40, f"{intent}: {len(examples)}"


@pytest.mark.parametrize("intent", SMALL_TALK_INTENTS)
def test_small_talk_intents_have_at_least_20_examples(
    hand_written: TrainingData, intent: str
) -> None:
    examples = set(_by_intent(hand_written)[intent])
    assert len(examples) >= 20, f"{intent}: {len(examples)}"


def test_no_example_under_two_intents_after_folding(hand_written: TrainingData) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for intent, texts in _by_intent(hand_written, full=True).items():
        for text in texts:
            owners[_folded(text)].add(intent)
    clashes = {text: sorted(intents) for text, intents in owners.items() if len(intents) > 1}
    assert not clashes


def test_no_duplicate_lines_in_hand_written_files() -> None:
    seen: dict[str, Path] = {}
    duplicates = []
    for intent, text, path in td.iter_hand_written():
        key = f"{intent}\x1f{text.lower()}"
        if key in seen:
            duplicates.append((intent, text, path.name, seen[key].name))
        seen[key] = path
    assert not duplicates


def test_hand_written_examples_mix_accented_and_unaccented(hand_written: TrainingData) -> None:
    for intent in CORE_INTENTS:
        texts = _by_intent(hand_written)[intent]
        plain = [t for t in texts if td.fold(t) == t.lower() and re.search("[a-z]", t)]
        accented = [t for t in texts if td.fold(t) != t.lower()]
        assert len(plain) >= 3, f"{intent}: too few examples without diacritics"
        assert len(accented) >= len(texts) // 2, f"{intent}: too few accented examples"


def test_dossier_codes_in_examples_use_the_code_alphabet(hand_written: TrainingData) -> None:
    codes = [
        "".join(m.groups()).upper()
        for text in _by_intent(hand_written)["check_status"]
        for m in DOSSIER_CODE.finditer(text)
    ]
    assert len(codes) >= 10
    for code in codes:
        assert set(code) <= CODE_ALPHABET, code


# --------------------------------------------------------------------------- FAQ


def test_faq_sub_intents_have_examples_and_responses(hand_written: TrainingData) -> None:
    faq = {
        key.split("/", 1)[1]: texts
        for key, texts in _by_intent(hand_written, full=True).items()
        if key.startswith("faq/")
    }
    assert len(faq) >= 15
    assert set(faq) >= FAQ_TOPICS
    for name, texts in faq.items():
        assert len(set(texts)) >= 8, f"faq/{name}: {len(set(texts))} examples"
    responses = hand_written.responses
    assert set(responses) == {f"utter_faq/{name}" for name in faq}
    for key, variants in responses.items():
        assert variants and all(v.get("text", "").strip() for v in variants), key


def test_faq_answers_invent_no_phone_numbers() -> None:
    data = yaml.safe_load(FAQ.read_text(encoding="utf-8"))
    for key, variants in data["responses"].items():
        for variant in variants:
            assert not re.search(r"\d{3,}[ .]?\d{3,}", variant["text"]), key


# --------------------------------------------------------------------------- templates


def test_templates_are_complete() -> None:
    templates, colloquial = td.load_templates()
    for intent in [*ASK_INTENTS, "submit_dossier"]:
        items = templates[intent]
        assert len(items) >= 15, f"{intent}: {len(items)} templates"
        assert len({td.fold(t) for t in items}) == len(items), f"{intent}: duplicate templates"
    assert set(templates) <= ALL_INTENTS
    for intent, items in templates.items():
        for template in items:
            assert template.count(td.PLACEHOLDER) == 1, (intent, template)
    assert colloquial


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("Thủ tục đăng ký khai sinh", "đăng ký khai sinh"),
        ("Cấp thẻ căn cước cho người dưới 14 tuổi", "cấp thẻ căn cước"),
        (
            "Cấp hộ chiếu phổ thông ở trong nước (thực hiện tại cấp tỉnh)",
            "cấp hộ chiếu phổ thông ở trong nước",
        ),
        ("Thủ tục đăng ký nhận cha, mẹ, con", "đăng ký nhận cha mẹ con"),
        (
            "Cấp, điều chỉnh, cấp lại Giấy phép nhập khẩu thuốc thú y",
            "cấp lại giấy phép nhập khẩu thuốc thú y",
        ),
        (
            "Đăng ký xe lần đầu trực tuyến toàn trình đối với xe sản xuất lắp ráp trong nước",
            "đăng ký xe lần đầu",
        ),
    ],
)
def test_shorten_name(name: str, short: str) -> None:
    assert td.shorten_name(name) == short


# --------------------------------------------------------------------------- generator


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("nlu")
    first = td.generate(out / "a" / "generated.yml", seed=13, per_template=3)
    second = td.generate(out / "b" / "generated.yml", seed=13, per_template=3)
    return first, second


def test_generator_is_deterministic(generated: tuple[Path, Path]) -> None:
    first, second = generated
    assert first.read_bytes() == second.read_bytes()


def test_generator_seed_changes_the_sample(tmp_path: Path, generated: tuple[Path, Path]) -> None:
    other = td.generate(tmp_path / "generated.yml", seed=7, per_template=3)
    assert other.read_bytes() != generated[0].read_bytes()


def test_generated_file_loads_with_rasa(generated: tuple[Path, Path]) -> None:
    data = _load(generated[0])
    counts = _by_intent(data)
    total = sum(len(v) for v in counts.values())
    assert 1000 <= total <= 3000, total
    assert not data.entity_examples
    assert set(counts) <= ALL_INTENTS
    for intent in [*ASK_INTENTS, "submit_dossier", "inform"]:
        assert len(counts[intent]) >= 60, f"{intent}: {len(counts[intent])}"
    texts = [t for v in counts.values() for t in v]
    assert not [t for t in texts if "{" in t or "}" in t]


def test_generated_and_hand_written_never_disagree(
    hand_written: TrainingData, generated: tuple[Path, Path]
) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for data in (hand_written, _load(generated[0])):
        for intent, texts in _by_intent(data, full=True).items():
            for text in texts:
                owners[_folded(text)].add(intent)
    assert not {text: intents for text, intents in owners.items() if len(intents) > 1}


def test_unaccented_templates_get_folded_mentions() -> None:
    templates, _ = td.load_templates()
    for items in templates.values():
        for template in items:
            filled = td._fill(template, "đăng ký khai sinh")
            if td.fold(template) == template.lower():  # typed without diacritics
                assert "dang ky khai sinh" in filled, filled
            else:
                assert "đăng ký khai sinh" in filled, filled


def test_procedure_mentions() -> None:
    mentions = td.procedure_mentions(seed=13)
    assert mentions == td.procedure_mentions(seed=13)
    assert len(mentions) == len(set(mentions))
    assert len(mentions) >= 400
    for mention in ("đăng ký khai sinh", "dang ky khai sinh", "đăng ký kết hôn", "dang ky ket hon"):
        assert mention in mentions
    for mention in mentions:
        assert mention == mention.lower()
        assert not mention.startswith("thủ tục")
        assert "(" not in mention and "," not in mention
        assert td.fold(mention) in mentions
