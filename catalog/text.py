"""Vietnamese text normalisation shared by procedure search and the NLU tokenizer.

Citizens type procedure names with or without diacritics, with abbreviations
("đk ks", "cccd", "gplx"), teencode ("ko", "dc", "j") and question words around
the name ("... cần giấy tờ gì", "cho mình hỏi ..."). Search compares *folded*
text: lowercase, no diacritics, đ → d. Folding loses distinctions ("căn" and
"cần" both become "can"), which is acceptable for retrieval because the other
words of a procedure name disambiguate, and it is what users who type without
diacritics produce anyway.

Character-level folding (`fold`: NFC, lowercase, no diacritics, đ → d,
invisible characters dropped) is `core.vietnamese.fold`; this module adds the
procedure vocabulary on top of it:

- `normalize_query(text)`: `fold` + tokenisation + expansion of the
  abbreviation / teencode table + removal of question and filler words that
  are never part of a procedure name.

`normalize_name(text)` is the variant for official procedure names: it only
expands unambiguous acronyms that also occur in official names ("TNHH",
"BHXH"), because colloquial expansions ("sổ đỏ", "kh") would corrupt formal text
that happens to contain the same letters ("sơ đồ").

The abbreviation, teencode and filler tables below are the single place where
this vocabulary lives; `catalog/overrides.yml` holds per-procedure aliases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from core.vietnamese import fold

__all__ = [
    "ACRONYMS",
    "COLLOQUIAL",
    "FILLER_PHRASES",
    "PhraseTable",
    "expand_tokens",
    "folded_name_tokens",
    "name_tokens",
    "normalize_name",
    "normalize_query",
    "query_tokens",
    "replace_phrases",
    "tokenize",
]

# --------------------------------------------------------------------------------------------
# Tokenisation
# --------------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^a-z0-9]+")
_LEADING_ZEROS = re.compile(r"\b0+(?=\d)")


def tokenize(folded: str) -> list[str]:
    """Word tokens of already folded text: runs of [a-z0-9].

    Leading zeros are dropped ("06 tuổi", "mức độ 02" → "6", "2") because
    official names pad numbers that citizens never pad.
    """
    return _NON_WORD.sub(" ", _LEADING_ZEROS.sub("", folded)).split()


# --------------------------------------------------------------------------------------------
# Vocabulary tables (folded forms). Keys and values are space-separated token
# sequences; matching is on whole tokens, so "kt" never fires inside "ktx".
# --------------------------------------------------------------------------------------------

# Unambiguous acronyms that official names also use. Expanded in names and
# queries alike, so "công ty TNHH" matches "trách nhiệm hữu hạn" both ways.
ACRONYMS: dict[str, str] = {
    "cccd": "can cuoc cong dan",
    "cmnd": "chung minh nhan dan",
    "cmt": "chung minh nhan dan",
    "gplx": "giay phep lai xe",
    "lltp": "ly lich tu phap",
    "gcn": "giay chung nhan",
    "qsdd": "quyen su dung dat",
    "qsd": "quyen su dung",
    "hkd": "ho kinh doanh",
    "gpkd": "giay phep kinh doanh",
    "dkkd": "dang ky kinh doanh",
    "gcndkkd": "giay chung nhan dang ky kinh doanh",
    "bhxh": "bao hiem xa hoi",
    "bhyt": "bao hiem y te",
    "bhtn": "bao hiem that nghiep",
    "tnld": "tai nan lao dong",
    "bhtnld": "bao hiem tai nan lao dong",
    "bnn": "benh nghe nghiep",
    "tnhh": "trach nhiem huu han",
    "mtv": "1 thanh vien",
    "ctcp": "cong ty co phan",
    "tncn": "thu nhap ca nhan",
    "tndn": "thu nhap doanh nghiep",
    "gtgt": "gia tri gia tang",
    "ttdb": "tieu thu dac biet",
    "mst": "ma so thue",
    "xnc": "xuat nhap canh",
    "ubnd": "uy ban nhan dan",
    "dsphsk": "duong suc phuc hoi suc khoe",
    # Number words: official names write "một lần", citizens write "1 lần".
    "mot": "1",
}

# Colloquial abbreviations, teencode and everyday names. Queries and aliases
# only: these would corrupt official names ("so do" is also "sơ đồ").
COLLOQUIAL: dict[str, str] = {
    # Procedure vocabulary (see the brief's list).
    "dk": "dang ky",
    "dky": "dang ky",
    "dki": "dang ky",
    "dangky": "dang ky",
    "dangki": "dang ky",
    "ks": "khai sinh",
    "kh": "ket hon",
    "kt": "khai tu",
    "cc": "can cuoc",
    "cancuoc": "can cuoc",
    "blx": "giay phep lai xe",
    "bang lai xe": "giay phep lai xe",
    "bang lai": "giay phep lai xe",
    "hk": "ho khau",
    # "tt" is genuinely ambiguous between the two; keep both, the rest of the
    # query decides.
    "tt": "tam tru thuong tru",
    "hc": "ho chieu",
    "passport": "ho chieu",
    "visa": "thi thuc",
    "so do": "giay chung nhan quyen su dung dat",
    "so hong": "giay chung nhan quyen su dung dat",
    "ca vet": "chung nhan dang ky xe",
    "cavet": "chung nhan dang ky xe",
    "ca vet xe": "chung nhan dang ky xe",
    "oto": "o to",
    "xe hoi": "xe o to",
    "cty": "cong ty",
    "dn": "doanh nghiep",
    "vneid": "dinh danh dien tu",
    "lam lai": "cap lai",
    "lam moi": "cap",
    # Teencode and chat shorthand.
    "j": "gi",
    "k": "khong",
    "ko": "khong",
    "kg": "khong",
    "khg": "khong",
    "hok": "khong",
    "dc": "duoc",
    # "bn" in a citizen's question is "bao nhiêu" (phí bn, bn ngày), far more
    # often than "bạn".
    "bn": "bao nhieu",
    "kq": "ket qua",
    "onl": "online",
    "mun": "muon",
    "vk": "vo",
    "ck": "chong",
    "ntn": "nhu the nao",
    "mk": "minh",
    "mik": "minh",
    "mn": "moi nguoi",
    "lm": "lam",
    "ng": "nguoi",
    "nc": "nuoc",
    "ng nc ngoai": "nguoi nuoc ngoai",
    "nn": "nuoc ngoai",
    "vs": "voi",
    "r": "roi",
    "cx": "cung",
    "z": "vay",
    "bik": "biet",
    "bit": "biet",
    "trc": "truoc",
    "hs": "ho so",
    "ad": "admin",
    "gd": "gia dinh",
    "sdt": "so dien thoai",
}

# Question, politeness and chat words that are never part of a procedure
# name. Removed from queries after expansion, longest phrase first. Single
# words are listed only when they do not collide with a folded word that
# occurs in official names ("minh" is also "chứng minh", "hoi" is "xã hội",
# "can" is "căn cước", "the" is "thẻ", "sao" is "bản sao"): such words are
# only removed inside the phrases below.
FILLER_PHRASES: tuple[str, ...] = (
    # Greetings / addressing.
    "xin chao", "chao admin", "admin oi", "admin", "ban oi", "anh oi", "chi oi",
    "em oi", "moi nguoi oi", "moi nguoi", "alo", "oi",
    # "Let me ask".
    "cho minh hoi", "cho em hoi", "cho toi hoi", "cho chau hoi", "cho hoi", "xin hoi",
    "minh muon hoi", "em muon hoi", "toi muon hoi", "muon hoi", "hoi ve", "hoi chut",
    "minh muon", "em muon", "toi muon", "chau muon", "minh can", "em can", "toi can",
    "minh dang", "em dang", "toi dang", "cua minh", "cua em", "cua toi",
    "giup minh", "giup em", "giup toi", "tu van giup",
    # How / what / where / when / how much.
    "lam the nao de", "lam the nao", "lam sao de", "lam sao", "nhu the nao", "the nao",
    "ra sao", "the sao", "cach nao",
    "can nhung giay to gi", "can giay to gi", "giay to gi", "can nhung gi", "can chuan bi gi",
    "chuan bi gi", "can nhung giay to nao", "giay to nao", "ho so gom nhung gi",
    "ho so gom gi", "ho so gi", "ho so can", "can gi", "gom nhung gi", "nhung gi", "gi",
    "mat bao lau", "trong bao lau", "bao lau", "mat may ngay", "bao nhieu ngay", "may ngay",
    "khi nao", "luc nao", "la gi", "la sao", "nghia la gi",
    "o dau", "lam o dau", "nop o dau", "tai dau", "cho nao",
    "bao nhieu tien", "het bao nhieu", "ton bao nhieu", "mat bao nhieu", "bao nhieu",
    "le phi bao nhieu", "phi bao nhieu",
    "co duoc khong", "duoc khong", "co phai", "co can", "phai lam gi", "phai lam sao",
    "co the", "cac buoc", "thu tuc", "tthc", "online",
    "thi can", "thi phai", "thi sao", "thi lam sao", "thi lam the nao",
    # Particles that only occur at the tail of a chat message are handled by
    # `_TRAILING_PARTICLES`.
)

# Words removed only at the end of a query ("... được không ạ", "... nhé").
_TRAILING_PARTICLES = frozenset(
    {"a", "ah", "nhe", "nhi", "vay", "khong", "chua", "ha", "hen", "roi", "ne", "di", "duoc"}
)
# Words removed only at the start of a query.
# "làm" as the first word is the generic verb of "làm căn cước / làm hộ chiếu /
# làm sổ đỏ"; elsewhere it is kept because folding merges it with "lâm" (lâm
# nghiệp, kiểm lâm).
_LEADING_WORDS = frozenset({"em", "minh", "toi", "chau", "xin", "lam on", "vui long", "lam"})


class PhraseTable:
    """Token-phrase → replacement table for `replace_phrases` (a replacement of
    "" removes the phrase).

    `starts` (the first token of every phrase) lets `replace_phrases` skip most
    tokens with one set lookup: official names are rewritten thousands of
    times per index build.
    """

    __slots__ = ("phrases", "span", "starts")

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.phrases = {tuple(k.split()): tuple(v.split()) for k, v in mapping.items()}
        self.span = max((len(k) for k in self.phrases), default=1)
        self.starts = frozenset(key[0] for key in self.phrases)


_ACRONYM_TABLE = PhraseTable(ACRONYMS)
_EXPANSION_TABLE = PhraseTable({**ACRONYMS, **COLLOQUIAL})
_FILLER_TABLE = PhraseTable({phrase: "" for phrase in FILLER_PHRASES})
_LEADING_TABLE = {tuple(w.split()) for w in _LEADING_WORDS}


def replace_phrases(tokens: Sequence[str], table: PhraseTable) -> list[str]:
    """Greedy left-to-right, longest-match-first phrase replacement on tokens.

    Replacements are not re-scanned, so an expansion never triggers another
    one ("dk" → "dang ky" stays as is even if "ky" were a key).
    """
    phrases, starts = table.phrases, table.starts
    out: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        if tokens[i] not in starts:  # fast path: most tokens start no phrase
            out.append(tokens[i])
            i += 1
            continue
        for length in range(min(table.span, n - i), 0, -1):
            replacement = phrases.get(tuple(tokens[i : i + length]))
            if replacement is not None:
                out.extend(replacement)
                i += length
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _strip_edges(tokens: list[str]) -> list[str]:
    """Drop chat particles at the tail and pronoun/politeness openers at the head."""
    while tokens and tokens[-1] in _TRAILING_PARTICLES:
        tokens.pop()
    changed = True
    while changed and tokens:
        changed = False
        for length in (2, 1):
            if tuple(tokens[:length]) in _LEADING_TABLE:
                del tokens[:length]
                changed = True
                break
    return tokens


def query_tokens(text: str, max_chars: int = 1000, max_tokens: int = 48) -> list[str]:
    """Tokens of a citizen's query after folding, expansion and filler removal.

    `max_chars`/`max_tokens` bound the work for hostile input (a 10,000
    character paste): the procedure name is in the first sentence in practice.
    """
    if not isinstance(text, str) or not text:
        return []
    tokens = tokenize(fold(text[:max_chars]))[:max_tokens]
    tokens = replace_phrases(tokens, _EXPANSION_TABLE)
    tokens = replace_phrases(tokens, _FILLER_TABLE)
    return _strip_edges(tokens)


def normalize_query(text: str) -> str:
    """Folded query with abbreviations/teencode expanded and question words
    removed, as one space-separated string.

    >>> normalize_query("Cho mình hỏi đk KS cho bé cần giấy tờ gì ạ?")
    'dang ky khai sinh cho be'
    """
    return " ".join(query_tokens(text))


def normalize_name(text: str) -> str:
    """Folded official name with unambiguous acronyms expanded ("TNHH", "BHXH")."""
    return " ".join(name_tokens(text))


def name_tokens(text: str) -> list[str]:
    """Tokens of an official procedure name (see `normalize_name`)."""
    if not isinstance(text, str) or not text:
        return []
    return folded_name_tokens(fold(text))


def folded_name_tokens(folded: str) -> list[str]:
    """`name_tokens` for text that is already folded (saves a second fold)."""
    return replace_phrases(tokenize(folded), _ACRONYM_TABLE)


def expand_tokens(tokens: Iterable[str]) -> list[str]:
    """Apply the acronym + colloquial expansion table to already folded tokens."""
    return replace_phrases(list(tokens), _EXPANSION_TABLE)
