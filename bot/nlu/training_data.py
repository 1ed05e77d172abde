"""Deterministic generator of NLU training examples that name a procedure.

The hand-written examples in `nlu_data/nlu/*.yml` and `nlu_data/faq.yml` carry
the variety of how citizens write. This module adds breadth over *procedure
names*. It fills the `{procedure}` templates of `nlu_data/templates.yml` with
mentions taken from the catalog:

- catalog names shortened the way people say them: no leading "Thủ tục", no
  parentheses, no trailing qualifiers after commas or "đối với ...", lowercase;
- curated aliases from `catalog/overrides.yml` (when that file exists);
- the `colloquial_mentions` of the templates file;
- the accent-folded (no-diacritic) variant of each of the above.

Common procedures (in `catalog/data/common_procedures.yml` or having aliases)
are drawn more often than a deterministic sample of ~300 other procedures.
The generator can also add accent-stripped copies of a deterministic subset of
the hand-written examples.

The same inputs (data files, seed, per_template) give byte-identical output:
there are no sets in iteration order, seeded `random.Random` instances only, and
hashlib for subset selection.

Usage::

    python -m bot.nlu.training_data var/nlu/generated.yml [--seed 13] [--per-template 3]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import random
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from core.vietnamese import fold  # NFC, lowercase, no diacritics, đ → d

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NLU_DATA_DIR = PROJECT_ROOT / "nlu_data"
HAND_WRITTEN_FILES_GLOB = "nlu/*.yml"
FAQ_FILE = NLU_DATA_DIR / "faq.yml"
TEMPLATES_FILE = NLU_DATA_DIR / "templates.yml"
OVERRIDES_FILE = PROJECT_ROOT / "catalog" / "overrides.yml"
COMMON_PROCEDURES_FILE = PROJECT_ROOT / "catalog" / "data" / "common_procedures.yml"
# The held-out evaluation set: a filled template that happens to equal one of its
# sentences is dropped, so the evaluation never scores a sentence trained on. The
# dialogue sets of issue 9 (`items`) are held out the same way.
HELD_OUT_FILE = PROJECT_ROOT / "tests" / "nlu" / "test_set.yml"
DIALOGUE_SET_FILES = (
    PROJECT_ROOT / "tests" / "nlu" / "bare_names.yml",
    PROJECT_ROOT / "tests" / "nlu" / "real_messages.yml",
)

PLACEHOLDER = "{procedure}"
OTHER_SAMPLE_SIZE = 300
# Share (in %) of the accented hand-written examples that get an accent-stripped copy.
STRIPPED_COPY_PERCENT = 50

# ---------------------------------------------------------------------------------------------
# Shortening official names
# ---------------------------------------------------------------------------------------------

_PARENS = re.compile(r"\([^)]*\)?|\[[^\]]*\]?")
_LEADING_THU_TUC = re.compile(r"^(thủ tục|tthc)\s*[:\-–]?\s*", re.IGNORECASE)
_SEGMENT_SPLIT = re.compile(r"\s*[,;/]\s*")
# Qualifiers after which an official name only narrows the case; people stop before them.
_CUT_MARKERS = (
    " đối với ",
    " trong trường hợp ",
    " trường hợp ",
    " thực hiện tại ",
    " thực hiện bằng ",
    " thực hiện ở ",
    " bằng dịch vụ công",
    " theo quy định",
    " theo hình thức",
    " thông qua ",
    " trực tuyến",
    " tại cấp ",
    " không thuộc ",
    " thuộc ",
    " cho ",
    " do ",
    " của ",
    " gồm ",
    " khi ",
    " để ",
    " vào ",
    " với ",
    " về ",
    " từ ",
    " tại ",
    " trên ",
    " theo ",
)
_TRAILING_STOPWORDS = frozenset(
    ("của", "và", "cho", "về", "tại", "đối", "với", "các", "có", "từ", "để", "trong"),
) | frozenset(("theo", "do", "là", "hoặc", "được", "đã", "bị", "những", "một"))
# Words a name must keep before a marker for the cut to apply (3 for the weak markers).
MIN_CUT_WORDS = {
    " đối với ": 2,
    " trong trường hợp ": 2,
    " trường hợp ": 2,
    " thực hiện tại ": 2,
    " thực hiện bằng ": 2,
    " thực hiện ở ": 2,
    " bằng dịch vụ công": 2,
    " theo quy định": 2,
    " theo hình thức": 2,
    " thông qua ": 2,
    " trực tuyến": 2,
    " tại cấp ": 2,
    " cho ": 2,
}
# Longer shortened names are not sampled: nobody types them, and cutting them at a word
# count splits Vietnamese compounds ("quỹ tín | dụng").
MAX_MENTION_WORDS = 10
# A name cut at a comma or qualifier must keep this many syllables to still name something.
MIN_CUT_SYLLABLES = 4


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return " ".join(text.replace("\u00a0", " ").split())


def shorten_name(name: str) -> str:
    """A catalog name shortened the way people say it, lowercase.

    >>> shorten_name("Thủ tục đăng ký khai sinh")
    'đăng ký khai sinh'
    >>> shorten_name("Cấp thẻ căn cước cho người dưới 14 tuổi")
    'cấp thẻ căn cước'
    >>> shorten_name("Cấp, điều chỉnh, cấp lại Giấy phép nhập khẩu, xuất khẩu thuốc thú y")
    'cấp lại giấy phép nhập khẩu'
    """
    text = _clean(_PARENS.sub(" ", _clean(name)))
    text = _clean(_LEADING_THU_TUC.sub("", text)).lower()
    if ":" in text:  # "Liên thông điện tử: đăng ký khai sinh, ..." -> the part after the colon
        head, _, tail = text.partition(":")
        text = tail.strip() if len(tail.split()) >= 2 else head.strip()
    segments = [s for s in _SEGMENT_SPLIT.split(text) if s]
    if not segments:
        return ""
    # "Cấp, điều chỉnh, cấp lại Giấy phép X" lists verbs first: skip the short leading items.
    index = next((i for i, s in enumerate(segments) if len(s.split()) >= 3), 0)
    chosen = segments[index]
    # "nhận cha, mẹ, con": one-word items right after the chosen segment belong to it.
    for follower in segments[index + 1 :]:
        if len(follower.split()) != 1:
            break
        chosen = f"{chosen} {follower}"
    for marker in _CUT_MARKERS:
        cut = chosen.find(marker)
        if cut > 0 and len(chosen[:cut].split()) >= MIN_CUT_WORDS.get(marker, 3):
            chosen = chosen[:cut]
    words = chosen.replace(".", " ").split()
    if len(words) < MIN_CUT_SYLLABLES and fold(" ".join(words)) != fold(text):
        return ""  # "đăng ký lại", "hải quan": a cut this short no longer names the procedure
    while len(words) > 2 and words[-1] in _TRAILING_STOPWORDS:
        words.pop()
    while len(words) > 2 and " ".join(words[-2:]) == "đối với":
        del words[-2:]
    return " ".join(words)


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


# libyaml's safe loader when available: the pure-Python one needs seconds for the catalog files.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_YAML_LOADER)  # a safe loader (C or Python)


def load_templates(path: Path = TEMPLATES_FILE) -> tuple[dict[str, list[str]], list[str]]:
    """(intent -> templates, colloquial mentions), in file order."""
    data = _read_yaml(path) or {}
    templates = {
        str(intent): [_clean(str(t)) for t in items or []]
        for intent, items in (data.get("procedure_templates") or {}).items()
    }
    colloquial = [_clean(str(m)) for m in data.get("colloquial_mentions") or []]
    return templates, colloquial


def load_excluded_fragments(path: Path = TEMPLATES_FILE) -> list[str]:
    """Folded fragments that disqualify a mention (`exclude_mentions_containing`)."""
    data = _read_yaml(path) or {}
    return [fold(str(f)) for f in data.get("exclude_mentions_containing") or [] if str(f).strip()]


def load_aliases(path: Path = OVERRIDES_FILE) -> dict[str, list[str]]:
    """code -> curated aliases from catalog/overrides.yml ({} when the file is absent)."""
    data = _read_yaml(path) or {}
    procedures = (data.get("procedures") or {}) if isinstance(data, dict) else {}
    aliases: dict[str, list[str]] = {}
    for code in sorted(procedures, key=str):
        entry = procedures[code] or {}
        names = [_clean(str(a)) for a in entry.get("aliases") or [] if str(a).strip()]
        if names:
            aliases[str(code)] = names
    return aliases


def load_held_out_keys(
    path: Path = HELD_OUT_FILE, dialogue_sets: Iterable[Path] = DIALOGUE_SET_FILES
) -> frozenset[str]:
    """Keys (see `_key`) of the held-out evaluation sentences (`examples` of the
    NLU set, `items` of the dialogue sets); files that do not exist add nothing."""
    keys: set[str] = set()
    for file, field in ((path, "examples"), *((p, "items") for p in dialogue_sets)):
        data = _read_yaml(file) if Path(file).exists() else None
        items = (data.get(field) or []) if isinstance(data, dict) else []
        keys.update(_key(str(e.get("text") or "")) for e in items if isinstance(e, dict))
    return frozenset(keys)


def load_common_codes(path: Path = COMMON_PROCEDURES_FILE) -> list[str]:
    data = _read_yaml(path) or []
    return [str(item["code"]) for item in data if isinstance(item, dict) and item.get("code")]


def load_catalog_names() -> dict[str, str]:
    """code -> official name of every raw portal record, sorted by code."""
    return dict(_catalog_names())


@functools.lru_cache(maxsize=1)
def _catalog_names() -> tuple[tuple[str, str], ...]:
    """Read once per process: the archive is read-only data shipped with the code."""
    from catalog.source import iter_raw_records

    names: dict[str, str] = {}
    for record in iter_raw_records():
        code = str(record.get("ma_thu_tuc") or "").strip()
        name = _clean(str(record.get("ten_thu_tuc") or ""))
        if code and name and code not in names:
            names[code] = name
    return tuple(sorted(names.items()))


def iter_hand_written(nlu_data_dir: Path = NLU_DATA_DIR) -> Iterator[tuple[str, str, Path]]:
    """(intent, example, file) of every hand-written example, files in sorted order."""
    paths = sorted(nlu_data_dir.glob(HAND_WRITTEN_FILES_GLOB))
    faq = nlu_data_dir / FAQ_FILE.name
    if faq.exists():
        paths.append(faq)
    for path in paths:
        data = _read_yaml(path) or {}
        for block in data.get("nlu") or []:
            intent = block.get("intent")
            if not intent:
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("-"):
                    text = _clean(line[1:])
                    if text:
                        yield str(intent), text, path


# ---------------------------------------------------------------------------------------------
# Mentions
# ---------------------------------------------------------------------------------------------


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        item = _sanitize(item)
        if item and item not in seen:
            seen[item] = None
    return list(seen)


def _sanitize(text: str) -> str:
    """No characters that Rasa's example syntax or YAML block scalars treat specially."""
    text = re.sub(r"[\[\]{}()\"“”‘’«»`]", " ", text)
    return _clean(text).strip(" -:,;.")


def mention_pools(seed: int = 13) -> tuple[list[str], list[str]]:
    """(common mentions, other mentions) before folding, deterministic for a seed.

    Common: shortened names of the common procedures and of every procedure with
    aliases, their aliases and the colloquial mentions of the templates file.
    Other: shortened names of a seeded sample of OTHER_SAMPLE_SIZE remaining procedures.
    """
    names = load_catalog_names()
    aliases = load_aliases()
    _, colloquial = load_templates()
    common_codes = _unique([*load_common_codes(), *aliases])
    common: list[str] = []
    for code in common_codes:
        if code in names:
            common.append(shorten_name(names[code]))
        common.extend(_mention(a) for a in aliases.get(code, []))
    common.extend(_mention(m) for m in colloquial)
    excluded = load_excluded_fragments()
    common = [m for m in _unique(common) if _allowed(m, excluded)]

    # Distinct, sayable short names of the other procedures (first code wins), then a sample.
    seen = {fold(m) for m in common}
    candidates: list[str] = []
    for code, name in names.items():
        if code in common_codes:
            continue
        short = shorten_name(name)
        if (
            2 <= len(short.split()) <= MAX_MENTION_WORDS
            and fold(short) not in seen
            and _allowed(short, excluded)
        ):
            seen.add(fold(short))
            candidates.append(short)
    rng = random.Random(f"tthc-mentions:{seed}")
    sample = rng.sample(candidates, min(OTHER_SAMPLE_SIZE, len(candidates)))
    other = _unique(sorted(sample, key=lambda m: (fold(m), m)))
    return common, other


def _mention(text: str) -> str:
    """An alias or colloquial mention in the shape of shortened names: lowercase, no leading
    "thủ tục", no parentheses or list punctuation."""
    text = _clean(_PARENS.sub(" ", _clean(text)))
    text = _LEADING_THU_TUC.sub("", text).lower()
    return _clean(re.sub(r"[,;:]", " ", text))


def _allowed(mention: str, excluded: list[str]) -> bool:
    folded = fold(mention)
    return bool(folded) and not any(fragment in folded for fragment in excluded)


def _with_folded(mentions: Iterable[str]) -> list[str]:
    return _unique(v for m in mentions for v in (m, fold(m)))


def procedure_mentions(seed: int = 13) -> list[str]:
    """Every procedure mention the generator may use, each followed by its
    accent-folded variant when that differs: common ones first, then the sample."""
    common, other = mention_pools(seed)
    return _with_folded([*common, *other])


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def _key(text: str) -> str:
    """Identity of an example for duplicate detection (folded, punctuation-insensitive)."""
    return " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())


def _is_unaccented(template: str) -> bool:
    return fold(template) == template.lower()


# Mentions that describe a situation ("mất sổ đỏ", "căn cước hết hạn") read well as a
# subject ("mất sổ đỏ cần giấy gì") but not after "muốn"/"để" ("tôi muốn mất sổ đỏ").
_SITUATION = re.compile(r"^(bi )?mat |(het han|bi mat|bi hong)$")
_VERB_SLOT_WORDS = frozenset({"muon", "mun", "de"})


def _fits(template: str, mention: str) -> bool:
    before = template.partition(PLACEHOLDER)[0].split()
    if before and fold(before[-1]) in _VERB_SLOT_WORDS:
        return not _SITUATION.search(fold(mention))
    return True


def _fill(template: str, mention: str) -> str:
    """`template` with `mention` in place of {procedure}; folded mention in a folded template,
    and no doubled verb at the junction ("làm {procedure}" + "làm sổ đỏ" -> "làm sổ đỏ")."""
    if _is_unaccented(template):
        mention = fold(mention)
    before, _, after = template.partition(PLACEHOLDER)
    head = before.split()
    words = mention.split()
    if head and words and len(words) > 1 and fold(head[-1]) == fold(words[0]):
        words = words[1:]
    return _sanitize(" ".join([before, " ".join(words), after]))


def _stable_percent(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100


def _slots_per_template(per_template: int) -> int:
    """Mentions per template: `per_template` common ones plus `per_template - 1` others."""
    return per_template + max(per_template - 1, 1)


def balanced_mentions(
    common: list[str], other: list[str], seed: int, per_template: int
) -> list[str]:
    """One deterministic sequence of mentions shared by every intent: seeded
    shuffles of the common and the other pool, interleaved in the ratio
    per_template : per_template - 1 (common names are what citizens ask about)."""
    rng = random.Random(f"tthc-balanced:{seed}")
    commons = rng.sample(common, len(common))
    others = rng.sample(other, len(other))
    n_common, n_other = per_template, max(per_template - 1, 1)
    sequence: list[str] = []
    while commons or others:
        sequence += commons[:n_common] + others[:n_other]
        commons, others = commons[n_common:], others[n_other:]
    return sequence


def generate_examples(
    seed: int = 13, per_template: int = 3, stripped_copies: bool = True
) -> dict[str, list[str]]:
    """intent -> generated examples (no duplicates of each other or of hand-written data)."""
    templates, _ = load_templates()
    common, other = mention_pools(seed)
    hand_written = list(iter_hand_written())

    # Folded key -> intent, hand-written first: a generated text whose folded form belongs
    # to another intent is dropped (no example under two intents after folding).
    owner: dict[str, str] = {}
    seen: set[str] = set()  # exact (lowercased) texts, to drop plain duplicates
    for intent, text, _path in hand_written:
        owner.setdefault(_key(text), intent)
        seen.add(text.lower())

    held_out = load_held_out_keys()
    out: dict[str, list[str]] = {}

    def add(intent: str, text: str) -> None:
        key = _key(text)
        if not key or key in held_out:
            return
        if owner.setdefault(key, intent) != intent or text.lower() in seen:
            return
        seen.add(text.lower())
        out.setdefault(intent, []).append(text)

    # Counterbalanced mentions: every intent walks the same mention sequence, so a
    # procedure name occurs (about) once under each intent and its words carry no
    # intent signal. With mentions drawn independently per intent, a name seen only
    # under ask_procedure pulled "làm căn cước cho con ở đâu" away from ask_agency.
    # Every intent fills as many slots as the one with the most templates, cycling
    # through its own templates (inform, with 5 bare-name templates, reuses each).
    sequence = balanced_mentions(common, other, seed, per_template)
    filled_templates = {
        intent: [t for t in intent_templates if PLACEHOLDER in t]
        for intent, intent_templates in templates.items()
    }
    most = max((len(t) for t in filled_templates.values()), default=0)
    slots = most * _slots_per_template(per_template)
    for intent, filled in filled_templates.items():
        if not filled:
            continue
        for index, mention in enumerate(sequence[:slots]):
            template = filled[index % len(filled)]
            if _fits(template, mention):
                add(intent, _fill(template, mention))

    if stripped_copies:
        for intent, text, _path in hand_written:
            stripped = fold(text)
            if stripped == text.lower():
                continue  # already without diacritics
            if _stable_percent(seed, intent, text) < STRIPPED_COPY_PERCENT:
                add(intent, stripped)
    return out


def render_yaml(examples: dict[str, list[str]], seed: int, per_template: int) -> str:
    lines = [
        "# GENERATED by bot/nlu/training_data.py - do not edit, regenerate instead.",
        f"# seed={seed} per_template={per_template}",
        'version: "3.1"',
        "nlu:",
    ]
    for intent, texts in examples.items():
        if not texts:
            continue
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in texts)
    return "\n".join(lines) + "\n"


def generate(out_path: Path, seed: int = 13, per_template: int = 3) -> Path:
    """Write a Rasa NLU YAML file of filled templates and accent-stripped copies
    of a deterministic subset of the hand-written examples. Same inputs give
    byte-identical output. Returns `out_path`."""
    out_path = Path(out_path)
    examples = generate_examples(seed=seed, per_template=per_template)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(render_yaml(examples, seed, per_template).encode("utf-8"))
    return out_path


def count_examples(path: Path) -> dict[str, int]:
    """intent -> number of examples in a file written by `generate`."""
    counts: dict[str, int] = {}
    intent = ""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("- intent: "):
            intent = line.removeprefix("- intent: ").strip()
        elif line.startswith("    - ") and intent:
            counts[intent] = counts.get(intent, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output YAML, e.g. var/nlu/generated.yml")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--per-template", type=int, default=3)
    args = parser.parse_args(argv)
    path = generate(args.out, seed=args.seed, per_template=args.per_template)
    counts = count_examples(path)
    for intent, count in counts.items():
        print(f"{intent:32} {count:5}")
    print(f"wrote {sum(counts.values())} examples to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
