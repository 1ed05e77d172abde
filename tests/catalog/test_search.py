"""Procedure search over the bundled catalog: quality on the labelled citizen
queries, hostile input, text folding and the curation overlay's validation.

The index is built once per module from the bundled portal records and
`catalog/overrides.yml`, through the same `search_entries` + `SearchIndex.build`
path the product uses (there from the database).
"""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import pytest
import yaml

from catalog.overrides import (
    DEFAULT_OVERRIDES_PATH,
    LEGAL_STATUSES,
    Overrides,
    OverridesError,
    load_overrides,
    search_entries,
    unknown_codes,
)
from catalog.search import Candidate, SearchEntry, SearchIndex
from catalog.source import iter_raw_records
from catalog.text import normalize_query
from core.vietnamese import fold

QUERIES_FILE = Path(__file__).with_name("search_queries.yml")
COMMON_FILE = Path(__file__).resolve().parents[2] / "catalog" / "data" / "common_procedures.yml"
STYLES = {
    "diacritics",
    "no_diacritics",
    "abbreviation",
    "typo",
    "question",
    "colloquial",
    "teencode",
}
TOP1_TARGET = 0.95
TOP3_TARGET = 0.99
# In the hand-checked common list but not in the bundled crawl (see overrides.yml).
KNOWN_MISSING_CODES = {"1.116410", "3.000722"}


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def records() -> list[dict]:
    return list(iter_raw_records())


@pytest.fixture(scope="module")
def catalog_codes(records: list[dict]) -> set[str]:
    return {r["ma_thu_tuc"] for r in records if r.get("ma_thu_tuc")}


@pytest.fixture(scope="module")
def overrides() -> Overrides:
    return load_overrides()


@pytest.fixture(scope="module")
def index(records: list[dict], overrides: Overrides) -> SearchIndex:
    return SearchIndex.build(search_entries(records, overrides))


@pytest.fixture(scope="module")
def query_sets() -> dict[str, list[dict]]:
    data = yaml.safe_load(QUERIES_FILE.read_text(encoding="utf-8"))
    assert set(data) == {"queries", "holdout"}
    return data


@pytest.fixture(scope="module")
def labelled(query_sets: dict[str, list[dict]]) -> list[dict]:
    """The gated set. `holdout` (written after tuning) is reported by the
    benchmark, not asserted here."""
    return query_sets["queries"]


# ------------------------------------------------------------------------- labelled quality
def test_labelled_set_is_well_formed(
    query_sets: dict[str, list[dict]], catalog_codes: set[str]
) -> None:
    assert len(query_sets["queries"]) >= 80
    seen = set()
    for item in query_sets["queries"] + query_sets["holdout"]:
        assert set(item) == {"query", "acceptable", "style"}, item
        assert isinstance(item["query"], str) and item["query"].strip(), item
        assert item["style"] in STYLES, item
        assert item["acceptable"], item
        missing = [code for code in item["acceptable"] if code not in catalog_codes]
        assert not missing, f"{item['query']!r}: codes not in the catalog: {missing}"
        assert item["query"] not in seen, f"duplicate query {item['query']!r}"
        seen.add(item["query"])


def test_labelled_set_covers_more_than_the_common_procedures(labelled: list[dict]) -> None:
    common = {str(p["code"]) for p in yaml.safe_load(COMMON_FILE.read_text(encoding="utf-8"))}
    uncommon = [q for q in labelled if not set(q["acceptable"]) & common]
    assert len(uncommon) >= 20, len(uncommon)


def test_search_quality_on_labelled_queries(index: SearchIndex, labelled: list[dict]) -> None:
    top1 = top3 = 0
    misses = []
    for item in labelled:
        codes = [c.code for c in index.search(item["query"], limit=3)]
        hit1 = bool(codes) and codes[0] in item["acceptable"]
        hit3 = any(code in item["acceptable"] for code in codes)
        top1 += hit1
        top3 += hit3
        if not hit1:
            misses.append(
                f"  {'top-3' if hit3 else 'MISS '} {item['query']!r} ({item['style']}): "
                f"got {codes}, want one of {item['acceptable']}"
            )
    n = len(labelled)
    print(f"\nsearch quality: top-1 {top1}/{n} = {top1 / n:.1%}, top-3 {top3}/{n} = {top3 / n:.1%}")
    print("\n".join(misses))
    assert top1 / n >= TOP1_TARGET, "\n".join(misses)
    assert top3 / n >= TOP3_TARGET, "\n".join(misses)


def test_generic_query_prefers_the_commune_level_variant(index: SearchIndex) -> None:
    results = index.search("làm căn cước", limit=10)
    codes = [c.code for c in results]
    assert codes[0] == "1.014061"
    # Provincial and central-level duplicates of the same procedure rank below.
    for other in ("2.000200", "1.001247"):
        if other in codes:
            assert codes.index(other) > 0


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("sổ đỏ", "1.013978"),
        ("sang tên sổ hồng", "1.013831"),
        ("bằng lái hết hạn", "3.000347"),
        ("nhập hộ khẩu", "1.004222"),
        ("giấy độc thân", "1.004873"),
        ("lý lịch tư pháp", "3.000333"),
        ("passport", "1.001456"),
        ("hộ chiếu", "1.001456"),
        ("CCCD", "1.014061"),
        ("CMND", "1.014061"),
        ("sang tên xe", "1.013076"),
        ("mất biển số xe", "1.013080"),
        ("giấy phép kinh doanh hộ", "1.001612"),
        ("khai tử", "1.000656"),
        ("kết hôn", "1.000894"),
        ("tạm trú", "1.004194"),
        ("thường trú", "1.004222"),
        ("tạm vắng", "1.003677"),
        ("công chứng bản sao", "2.000815"),
        ("chứng thực bản sao", "2.000815"),
    ],
)
def test_colloquial_names_find_their_procedure(index: SearchIndex, query: str, code: str) -> None:
    results = index.search(query)
    assert results and results[0].code == code, [(c.code, c.score) for c in results]


def test_exact_official_name_scores_100(index: SearchIndex) -> None:
    results = index.search("Thủ tục đăng ký khai sinh")
    assert results[0] == Candidate("1.001193", "Thủ tục đăng ký khai sinh", 100.0)


def test_procedure_code_in_the_text_is_an_exact_hit(index: SearchIndex) -> None:
    assert [c.code for c in index.search("1.014061")] == ["1.014061"]
    assert index.search("mã 1.001193 là thủ tục gì vậy")[0].code == "1.001193"


def test_results_shape(index: SearchIndex, records: list[dict]) -> None:
    assert len(index) == len({r["ma_thu_tuc"] for r in records})
    results = index.search("đăng ký khai sinh", limit=7)
    assert 1 <= len(results) <= 7
    assert [c.score for c in results] == sorted((c.score for c in results), reverse=True)
    assert len({c.code for c in results}) == len(results)  # aliases never duplicate a code
    for c in results:
        assert 0.0 <= c.score <= 100.0
        assert c.score == round(c.score, 1)
        assert c.name and "\n" not in c.name
    assert index.search("đăng ký khai sinh", limit=0) == []
    assert len(index.search("đăng ký khai sinh", limit=1)) == 1


def test_build_from_tuples_and_empty_index() -> None:
    entries = search_entries(
        [
            ("1.000001", "Đăng ký khai sinh", "Cấp xã", "Hộ tịch"),
            ("1.000001", "duplicate is ignored", "", ""),
            ("", "no code", "", ""),
            ("1.000002", "Đăng ký kết hôn", "Cấp xã", "Hộ tịch"),
        ]
    )
    assert [e.code for e in entries] == ["1.000001", "1.000002"]
    small = SearchIndex.build(entries)
    assert len(small) == 2
    assert small.search("dk kh")[0].code == "1.000002"
    assert SearchIndex.build([]).search("khai sinh") == []
    assert len(SearchIndex.build([])) == 0


def test_aliases_and_popularity_come_from_the_overlay(index: SearchIndex) -> None:
    small = SearchIndex.build(
        [
            SearchEntry("1.000001", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu"),
            SearchEntry("1.000002", "Cấp đổi Giấy chứng nhận", aliases=("đổi sổ đỏ",)),
        ]
    )
    assert small.search("doi so do")[0].code == "1.000002"


# ------------------------------------------------------------------------------- robustness
HOSTILE = [
    "",
    " ",
    "\n\t\r",
    "😀😀😀🎉",
    "\x00\x01\x02\x7f\x1b[31m",
    "\ufffd\ufffd\ufffd",
    "\u200b\u200c\u200d\ufeff",
    "a" * 10_000,
    "đăng ký khai sinh " * 700,
    "".join(chr(c) for c in range(0x2000, 0x2600)),
    "مرحبا שלום 你好 こんにちは",
    "🇻🇳" * 2000,
    "' OR 1=1; DROP TABLE procedures; --",
    "<script>alert(1)</script>",
    "%s %d {0} {name}",
    "\\" * 500,
    "1" * 5000,
    "1.9999999.000001",
    "x" + "\u0301" * 3000,
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_never_raises(index: SearchIndex, query: str) -> None:
    started = time.perf_counter()
    results = index.search(query)
    assert time.perf_counter() - started < 0.5  # truncated, never quadratic
    assert isinstance(results, list)
    assert all(isinstance(c, Candidate) and 0 <= c.score <= 100 for c in results)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "😀😀😀",
        "\x00\x01\x02",
        "asdkjh qwoeiu zxcmnb",
        "a" * 10_000,
        "???",
        "ok",
        "cho mình hỏi",
        "thủ tục",
        "xin chào ad ơi",
    ],
)
def test_empty_or_garbage_query_returns_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []


@pytest.mark.parametrize("query", [None, 42, b"\xff\xfe\x00", ["khai sinh"], object()])
def test_non_string_input_is_tolerated(index: SearchIndex, query: object) -> None:
    assert index.search(query) == []  # type: ignore[arg-type]


def test_bytes_input_is_decoded(index: SearchIndex) -> None:
    assert index.search("đăng ký kết hôn".encode())[0].code == "1.000894"


def test_long_message_still_finds_the_procedure(index: SearchIndex) -> None:
    message = "cho mình hỏi đăng ký kết hôn cần giấy tờ gì " + "ạ " * 5000
    assert index.search(message)[0].code == "1.000894"


def test_decomposed_and_invisible_characters_match(index: SearchIndex) -> None:
    nfd = unicodedata.normalize("NFD", "Đăng ký kết hôn")
    assert index.search(nfd)[0].code == "1.000894"
    assert index.search("đăng\u200b ký kết\u00a0hôn")[0].code == "1.000894"
    assert index.search("dangky kethon")[0].code == "1.000894"  # glued syllables


# --------------------------------------------------------------------------------- folding
def test_fold_maps_d_bar_that_strip_accents_keeps() -> None:
    assert fold("Đ") == "d"
    assert fold("đ") == "d"
    assert fold("ĐĂNG KÝ ĐẤT ĐAI") == "dang ky dat dai"


def test_fold_strips_every_vietnamese_diacritic() -> None:
    letters = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
    folded = fold(letters + letters.upper())
    assert folded.isascii() and folded.isalpha()
    assert set(folded) == set("aeiouyd")


def test_fold_accepts_decomposed_unicode() -> None:
    text = "Cấp thẻ căn cước cho người dưới 14 tuổi"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert fold(nfd) == fold(text) == "cap the can cuoc cho nguoi duoi 14 tuoi"
    assert fold("x\u0301\u0323") == "x"  # stray combining marks go


def test_fold_removes_zero_width_and_collapses_whitespace() -> None:
    assert fold("khai\u200bsinh") == "khaisinh"
    assert fold("\ufeff  đăng\u00a0\u00a0ký \t\n khai  sinh \u2060") == "dang ky khai sinh"
    assert fold("a\x00b") == "a b"  # control characters separate, never glue


def test_fold_is_idempotent_and_keeps_ascii() -> None:
    for text in ("Thủ tục hải quan", "GPLX hạng B2", "abc-123/2015/NĐ-CP", ""):
        assert fold(fold(text)) == fold(text)
    assert fold("123/2015/ND-CP") == "123/2015/nd-cp"


def test_normalize_query_expands_abbreviations_on_word_boundaries() -> None:
    assert normalize_query("đk ks cho bé") == "dang ky khai sinh cho be"
    assert normalize_query("ĐK KH") == "dang ky ket hon"
    assert normalize_query("gplx") == "giay phep lai xe"
    assert normalize_query("lltp") == "ly lich tu phap"
    assert normalize_query("cấp đổi gcn qsdđ") == "cap doi giay chung nhan quyen su dung dat"
    assert normalize_query("sổ đỏ") == "giay chung nhan quyen su dung dat"
    assert normalize_query("bằng lái") == "giay phep lai xe"
    # No expansion inside longer words.
    assert normalize_query("ksx ktx") == "ksx ktx"


def test_normalize_query_removes_question_words_but_not_name_words() -> None:
    assert normalize_query("Cho mình hỏi đk KS cho bé cần giấy tờ gì ạ?") == (
        "dang ky khai sinh cho be"
    )
    assert normalize_query("ad ơi làm sao để đổi bằng lái mất bao lâu") == "doi giay phep lai xe"
    assert normalize_query("mk muốn đk kết hôn thì cần j") == "dang ky ket hon"
    # Folded homographs of filler words survive inside names.
    assert normalize_query("căn cước") == "can cuoc"
    assert normalize_query("chứng minh nhân dân") == "chung minh nhan dan"
    assert normalize_query("bản sao giấy khai sinh") == "ban sao giay khai sinh"
    assert normalize_query("cấp lại thẻ") == "cap lai the"
    assert normalize_query("bảo hiểm xã hội") == "bao hiem xa hoi"


# ------------------------------------------------------------------------------- overrides
def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_overrides_are_valid_and_sourced(
    overrides: Overrides, catalog_codes: set[str]
) -> None:
    assert overrides.path == DEFAULT_OVERRIDES_PATH
    assert len(overrides.procedures) >= 34
    assert set(unknown_codes(overrides, catalog_codes)) <= KNOWN_MISSING_CODES
    common = {str(p["code"]) for p in yaml.safe_load(COMMON_FILE.read_text(encoding="utf-8"))}
    without_aliases = sorted(
        c
        for c in common
        if not overrides.procedures.get(c, None) or not overrides.procedures[c].aliases
    )
    assert not without_aliases, without_aliases
    for code, entry in overrides.procedures.items():
        for alias in entry.aliases:
            assert normalize_query(alias), f"{code}: alias {alias!r} normalises to nothing"
        if entry.fee_correction is not None:
            assert entry.fee_correction.source and code in entry.fee_correction.source
    for number, legal in overrides.legal_documents.items():
        assert legal.status in LEGAL_STATUSES
        assert legal.source, number


def test_load_overrides_parses_the_documented_schema(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
procedures:
  "1.014061":
    aliases: ["làm căn cước", "cccd", "CCCD"]
    popularity: 0.9
    fee_correction:
      amount_vnd: 135000
      text: "..."
      source: "Thông tư ..., điều ..."
  "1.000894": {}
legal_documents:
  "123/2015/NĐ-CP":
    status: superseded
    superseded_by: "999/2026/NĐ-CP"
    source: "..."
""",
    )
    loaded = load_overrides(path)
    entry = loaded.procedures["1.014061"]
    assert entry.aliases == ("làm căn cước", "cccd")  # case-only repeats dropped
    assert entry.popularity == 0.9
    assert entry.fee_correction is not None and entry.fee_correction.amount_vnd == 135000
    assert loaded.procedures["1.000894"].popularity == 0.0
    assert loaded.legal_documents["123/2015/NĐ-CP"].superseded_by == "999/2026/NĐ-CP"
    assert load_overrides(_write(tmp_path, "")).procedures == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("procedure:\n  {}\n", "procedure"),
        ('procedures:\n  "1.014061":\n    alias: ["x"]\n', "alias"),
        ('procedures:\n  "1.014061":\n    popularity: 1.5\n', "popularity"),
        ('procedures:\n  "1.014061":\n    popularity: -0.1\n', "popularity"),
        ('procedures:\n  "1.014061":\n    popularity: true\n', "popularity"),
        ('procedures:\n  "1.014061":\n    popularity: "high"\n', "popularity"),
        ("procedures:\n  1.014061:\n    popularity: 0.5\n", "quoted"),
        ('procedures:\n  "1014061":\n    popularity: 0.5\n', "1014061"),
        ('procedures:\n  "1.014061":\n    aliases: "cccd"\n', "aliases"),
        ('procedures:\n  "1.014061":\n    aliases: ["", "x"]\n', "aliases[0]"),
        (
            'procedures:\n  "1.014061":\n    fee_correction:\n      amount_vnd: 1\n      text: t\n',
            "source",
        ),
        (
            'procedures:\n  "1.014061":\n    fee_correction:\n      amount_vnd: -5\n      text: t\n'
            "      source: s\n",
            "amount_vnd",
        ),
        ('procedures:\n  "1.014061":\n    fee_correction:\n      amount: 5\n', "amount"),
        ('procedures:\n  "1.014061": {}\n  "1.014061": {}\n', "duplicate"),
        ('legal_documents:\n  "1/2020/TT-BCA":\n    status: obsolete\n    source: s\n', "status"),
        (
            'legal_documents:\n  "1/2020/TT-BCA":\n    status: superseded\n    source: s\n',
            "superseded_by",
        ),
        ('legal_documents:\n  "1/2020/TT-BCA":\n    status: in_force\n', "source"),
        (
            'legal_documents:\n  "1/2020/TT-BCA":\n    status: in_force\n    source: s\n'
            "    note: x\n",
            "note",
        ),
        ("procedures: [1, 2]\n", "procedures"),
        ("procedures: {\n", "YAML"),
    ],
)
def test_invalid_overrides_raise_with_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(OverridesError) as excinfo:
        load_overrides(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert expected in message


def test_missing_explicit_overrides_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OverridesError, match="not found"):
        load_overrides(tmp_path / "nope.yml")


def test_search_entries_applies_the_overlay(records: list[dict], overrides: Overrides) -> None:
    entries = {e.code: e for e in search_entries(records, overrides)}
    assert len(entries) == len(records)
    cccd = entries["1.014061"]
    assert "làm căn cước" in cccd.aliases
    assert cccd.popularity == overrides.procedures["1.014061"].popularity
    assert cccd.implementing_level == "Cấp xã"
    assert cccd.field
    assert entries["1.000005"].aliases == () and entries["1.000005"].popularity == 0.0
    assert all("\n" not in e.name and e.name == e.name.strip() for e in entries.values())
