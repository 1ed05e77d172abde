"""Fuzzy procedure search over the whole catalog (≈2,600 procedures).

A citizen's text ("dk ks cho bé cần gì", "sang ten so do", "làm căn cước")
is ranked against every procedure's official name and curated aliases.

Why not a single `rapidfuzz.process.extract`: character similarity alone
cannot tell that "khai sinh" matters more than "thủ tục"/"cấp"/"đăng ký", and
it favours whichever long name happens to contain the query's letters. The
score therefore combines

1. *token evidence*, weighted by rarity (IDF) over the catalog, with three
   levels of token matching: exact folded syllable, the same "phonetic key"
   (the spelling confusions Vietnamese typists make: tr/ch, s/x, final y/i,
   gi/d), and — for unknown tokens — the closest catalog syllables by edit
   distance (rapidfuzz). Coverage is measured both ways: how much of the
   query a name explains, and how much of the name the query asks for (so
   "đăng ký khai sinh" prefers the plain procedure to the "... có yếu tố
   nước ngoài" variant); syllable bigrams reward word order ("khai sinh"
   rather than "khai ... sinh");
2. *string similarity* from rapidfuzz (token_set_ratio / WRatio on folded
   text), which catches typos inside words and also proposes candidates the
   token step missed;
3. curated *aliases* (an exact alias hit scores 100) and small priors used as
   tie-breakers: the overlay's popularity, commune level (where citizens
   actually file), and an age check ("cho bé 10 tuổi" vs "dưới 14 tuổi").

Scores are 0..100 (1 decimal), comparable across queries: 100 is an exact
name/alias (or a procedure code typed in the text), ≥ 85 a confident match,
60–85 plausible (worth a "did you mean"), below 60 weak; below 35 nothing is
returned. Everything here is pure Python + numpy + rapidfuzz; the whole
catalog builds in well under a second and a query costs ~1–3 ms of CPU.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from rapidfuzz import fuzz, process

from catalog.text import folded_name_tokens, query_tokens
from core.vietnamese import PROCEDURE_CODE_IN_TEXT, fold

__all__ = ["Candidate", "SearchEntry", "SearchIndex"]


@dataclass(frozen=True)
class SearchEntry:
    """What the index needs to know about one procedure."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    popularity: float = 0.0
    implementing_level: str = ""
    field: str = ""


@dataclass(frozen=True)
class Candidate:
    """One search hit; `score` is 0..100, higher is better, 1 decimal."""

    code: str
    name: str
    score: float


# --- tuning constants (see module docstring for the why) --------------------------------------
_MAX_QUERY_CHARS = 1000  # hostile input: a pasted 10,000-character message
_MAX_FUZZY_CHARS = 120  # rapidfuzz cost grows with length; names start with what matters
_TOKEN_CANDIDATES = 40  # re-ranked after token scoring
_FUZZY_CANDIDATES = 12  # proposed by whole-string similarity
_PREFIX_WIDTHS = (24, 40, 64, _MAX_FUZZY_CHARS)  # name prefixes compared with the query
_MAX_OOV_LOOKUPS = 6  # edit-distance lookups per query
_MIN_SCORE = 35.0  # below this a hit is noise: garbage queries return []

_W_QUERY_COVERAGE = 0.50
_W_BIGRAM_COVERAGE = 0.15
_W_NAME_COVERAGE = 0.35
_W_TOKENS = 0.70
_W_STRING = 0.30

# Vietnamese is head-initial: the action and the head noun come first ("công
# chứng bản sao CMND" is about certifying, not about the ID card), modifiers
# and objects follow. Later tokens weigh up to this fraction less.
_POSITION_DECAY = 0.25

_Q_EXACT = 1.0
_Q_PHONETIC = 0.85
_Q_EDIT = 0.75

_POPULARITY_POINTS = 4.0
_LEVEL_POINTS = 1.0
_AGE_MATCH_POINTS = 4.0
_AGE_MISMATCH_POINTS = -10.0

_ONSET_TR = re.compile(r"^tr")
_ONSET_X = re.compile(r"^x")
_ONSET_GI = re.compile(r"^gi(?=[aeou])")
_FINAL_Y = re.compile(r"(?<=[bcdfghklmnpqrstvx])y$")


def phonetic_key(token: str) -> str:
    """Collapse the spellings Vietnamese typists confuse (dialect and IME):
    tr/ch, x/s, gi/d before a vowel, final y/i ("ky"/"ki", "ly"/"li").

    Only used as a weaker match than the exact syllable.
    """
    key = _ONSET_TR.sub("ch", token)
    key = _ONSET_X.sub("s", key)
    key = _ONSET_GI.sub("d", key)
    return _FINAL_Y.sub("i", key)


_AGE_UNDER = re.compile(r"\bduoi (\d+) tuoi\b")
_AGE_FROM = re.compile(r"\btu (?:du )?(\d+) tuoi(?: tro len)?\b")
_QUERY_AGE = re.compile(r"\b(\d{1,3}) tuoi\b")


def _age_bounds(folded_name: str) -> tuple[int, int] | None:
    """(min_age, max_age_inclusive) stated by a name, e.g. "dưới 14 tuổi" → (0, 13)."""
    under = _AGE_UNDER.search(folded_name)
    above = _AGE_FROM.search(folded_name)
    if not under and not above:
        return None
    low = int(above.group(1)) if above else 0
    high = int(under.group(1)) - 1 if under else 200
    return low, high


def _string_similarity(query: str, text: str) -> float:
    """Character-level similarity 0..1 of folded query and folded name/alias."""
    return (
        fuzz.token_set_ratio(query, text, processor=None) + fuzz.WRatio(query, text, processor=None)
    ) / 200.0


def _level_prior(level: str) -> float:
    """Citizens file at the commune (xã) level; central-level (bộ) variants of
    the same procedure exist for special cases."""
    folded = fold(level)
    if "xa" in folded.split():
        return 1.0
    if "tinh" in folded.split():
        return 0.5
    return 0.0


# "(thực hiện tại cấp tỉnh)", "(cấp TW)", "... thực hiện tại cấp tỉnh, cấp xã": the
# level at which a variant of the same procedure is filed. Kept out of the
# name's core so that "Cấp lại thẻ căn cước" and "Cấp lại thẻ căn cước (thực
# hiện tại cấp tỉnh)" are equally complete answers to "cấp lại thẻ căn cước"
# (the level prior then decides), while a query that mentions "tỉnh" can still
# match the qualifier.
_LEVEL_WORD = r"(?:tinh|bo|xa|huyen|tw|trung uong)"
_LEVEL_QUALIFIER = re.compile(
    rf"\(\s*(?:thuc hien\s+)?(?:(?:tai|o)\s+)?cap {_LEVEL_WORD}\s*\)"
    rf"|,?\s*(?:thuc hien\s+)?tai cap {_LEVEL_WORD}(?:\s*,\s*cap {_LEVEL_WORD})*\s*$"
)


def _split_name(name: str) -> tuple[list[str], list[str]]:
    """(core tokens, level-qualifier tokens) of an official name."""
    folded = fold(name)
    qualifier = ""
    if "cap " in folded and ("(" in folded or "tai cap" in folded):  # skip the regex mostly
        qualifier = " ".join(m.group(0) for m in _LEVEL_QUALIFIER.finditer(folded))
    core = _LEVEL_QUALIFIER.sub(" ", folded) if qualifier else folded
    tokens = folded_name_tokens(core)
    # "Thủ tục ..." prefixes a third of the names inconsistently; it carries no
    # meaning for the citizen.
    if tokens[:2] == ["thu", "tuc"] and len(tokens) > 2:
        tokens = tokens[2:]
    qual_tokens = folded_name_tokens(qualifier.replace("tw", "trung uong"))
    if "trung" in qual_tokens or "bo" in qual_tokens:
        # Central level is the ministry itself: citizens say "ở Bộ Công an".
        qual_tokens += ["bo", "trung", "uong"]
    return tokens, qual_tokens


@dataclass
class _Doc:
    entry: int  # index into SearchIndex._entries
    tokens: tuple[str, ...]  # core name / alias tokens
    qualifier: tuple[str, ...]  # level words: matchable, but not required
    text: str  # folded core text for rapidfuzz (truncated)


class SearchIndex:
    """Immutable, thread-safe (read-only after `build`) search index."""

    def __init__(self) -> None:  # use build()
        self._entries: list[SearchEntry] = []
        self._docs: list[_Doc] = []
        self._prefix_texts: dict[int, list[str]] = {}
        self._vocab: dict[str, int] = {}
        self._terms: list[str] = []
        self._idf = np.zeros(0)
        self._postings: list[np.ndarray] = []
        self._by_key: dict[str, list[int]] = {}
        self._term_key: dict[str, str] = {}
        self._oov_weight = 1.0
        self._unknown_bigram_weight = 1.0
        self._bigrams: dict[tuple[str, str], tuple[list[int], float]] = {}
        self._doc_weight = np.zeros(0)
        self._entry_prior = np.zeros(0)
        self._entry_age: list[tuple[int, int] | None] = []
        self._code_to_entry: dict[str, int] = {}

    # --------------------------------------------------------------------------------- build
    @classmethod
    def build(cls, entries: Iterable[SearchEntry]) -> SearchIndex:
        """Index `entries` (a repeated code keeps its first entry)."""
        index = cls()
        for entry in entries:
            if not entry.code or entry.code in index._code_to_entry:
                continue
            index._code_to_entry[entry.code] = len(index._entries)
            index._entries.append(entry)

        ages: list[tuple[int, int] | None] = []
        for e_idx, entry in enumerate(index._entries):
            name_toks, qualifier = _split_name(entry.name)
            ages.append(_age_bounds(" ".join(name_toks)))
            index._add_doc(e_idx, name_toks, qualifier)
            seen = {tuple(name_toks)}
            for alias in entry.aliases:
                toks = query_tokens(alias)
                if toks and tuple(toks) not in seen:
                    seen.add(tuple(toks))
                    index._add_doc(e_idx, toks, ())

        n_docs = len(index._docs)
        vocab = index._vocab
        keys = [phonetic_key(term) for term in index._terms]  # once per term, not per use
        postings: list[list[int]] = [[] for _ in index._terms]
        bigram_docs: dict[tuple[str, str], list[int]] = {}
        core_ids: list[list[int]] = []
        for d_idx, doc in enumerate(index._docs):
            ids = [vocab[t] for t in doc.tokens]
            unique = set(ids)
            core_ids.append(list(unique))
            for t_idx in unique.union(vocab[t] for t in doc.qualifier):
                postings[t_idx].append(d_idx)
            doc_keys = [keys[t] for t in ids]
            for pair in set(pairwise(doc_keys)):
                bigram_docs.setdefault(pair, []).append(d_idx)

        index._postings = [np.asarray(p, dtype=np.int32) for p in postings]
        df = np.asarray([len(p) for p in postings], dtype=float)
        index._idf = np.log1p(n_docs / np.maximum(df, 1.0))
        # Plain lists: numpy converts the few a query touches; converting all
        # ~25k up front would cost a tenth of the build.
        index._bigrams = {
            pair: (ids, math.log1p(n_docs / len(ids))) for pair, ids in bigram_docs.items()
        }
        for t_idx, key in enumerate(keys):
            index._by_key.setdefault(key, []).append(t_idx)

        index._term_key = dict(zip(index._terms, keys, strict=True))

        idf = index._idf
        index._oov_weight = 0.5 * float(np.median(idf)) if len(idf) else 1.0
        bigram_idf = [w for _, w in index._bigrams.values()]
        index._unknown_bigram_weight = 0.5 * float(np.median(bigram_idf)) if bigram_idf else 1.0
        index._doc_weight = np.asarray([float(idf[ids].sum()) or 1.0 for ids in core_ids])
        index._prefix_texts = {w: [doc.text[:w] for doc in index._docs] for w in _PREFIX_WIDTHS}
        levels = {e.implementing_level for e in index._entries}
        level_prior = {level: _level_prior(level) for level in levels}
        index._entry_prior = np.asarray(
            [
                _POPULARITY_POINTS * min(max(float(e.popularity or 0.0), 0.0), 1.0)
                + _LEVEL_POINTS * level_prior[e.implementing_level]
                for e in index._entries
            ]
        )
        index._entry_age = ages
        return index

    def _add_doc(self, entry: int, tokens: Sequence[str], qualifier: Sequence[str]) -> None:
        if not tokens:
            return
        for term in (*tokens, *qualifier):
            if term not in self._vocab:
                self._vocab[term] = len(self._terms)
                self._terms.append(term)
        text = " ".join(tokens)[:_MAX_FUZZY_CHARS]
        self._docs.append(
            _Doc(
                entry=entry,
                tokens=tuple(tokens),
                qualifier=tuple(t for t in qualifier if t not in tokens),
                text=text,
            )
        )

    def __len__(self) -> int:
        return len(self._entries)

    # -------------------------------------------------------------------------------- search
    def search(self, query: str, limit: int = 5) -> list[Candidate]:
        """Best-first candidates for a citizen's `query` ([] for empty/garbage).

        Never raises on odd input (None, bytes, emoji, control characters,
        very long text); those yield [] or whatever their readable part finds.
        """
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            limit = 5
        if limit <= 0 or not self._entries:
            return []
        if isinstance(query, bytes):
            query = query.decode("utf-8", errors="ignore")
        if not isinstance(query, str) or not query.strip():
            return []
        query = query[:_MAX_QUERY_CHARS]

        scores = self._score(query, limit)
        if not scores:
            return []
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        out: list[Candidate] = []
        for e_idx, score in ranked:
            if score < _MIN_SCORE or len(out) >= limit:
                break
            entry = self._entries[e_idx]
            out.append(Candidate(entry.code, entry.name, round(min(score, 100.0), 1)))
        return out

    def _score(self, query: str, limit: int) -> dict[int, float]:
        """Raw (uncapped) scores per entry index for the candidates worth ranking."""
        results: dict[int, float] = {}
        # A procedure code typed or pasted by the citizen is an exact answer.
        for code in PROCEDURE_CODE_IN_TEXT.findall(query):
            e_idx = self._code_to_entry.get(code)
            if e_idx is not None and e_idx not in results:
                results[e_idx] = 200.0 - len(results)
        if results:  # the rest of "mã 1.001193 là gì" is not a name to match
            query = PROCEDURE_CODE_IN_TEXT.sub(" ", query)

        tokens = self._split_glued(query_tokens(query))
        if not tokens:
            return results
        q_text = " ".join(tokens)
        q_fuzzy = q_text[:_MAX_FUZZY_CHARS]

        token_score, q_cov = self._token_scores(tokens)
        candidates: set[int] = set()
        if token_score is not None:
            top = min(_TOKEN_CANDIDATES, len(token_score))
            best = np.argpartition(-token_score, top - 1)[:top]
            candidates.update(int(d) for d in best if token_score[d] > 0)
        # Whole-string typo candidates. Token-based scorers (WRatio,
        # token_set_ratio) cost 20-60 ms over the whole catalog, plain
        # Levenshtein ratio ~1 ms; comparing against name *prefixes* of about
        # the query's length approximates a partial match, because a
        # procedure name starts with what it is.
        width = next((w for w in _PREFIX_WIDTHS if w >= len(q_fuzzy) + 8), _PREFIX_WIDTHS[-1])
        for _, _, d_idx in process.extract(
            q_fuzzy,
            self._prefix_texts[width],
            scorer=fuzz.ratio,
            processor=None,
            limit=_FUZZY_CANDIDATES,
            score_cutoff=55,
        ):
            candidates.add(int(d_idx))
        if not candidates:
            return results

        q_age = _QUERY_AGE.search(q_text)
        age = int(q_age.group(1)) if q_age else None
        q_tuple = tuple(tokens)

        # Best possible final score per candidate (string similarity = 1):
        # candidates are scored in that order and the loop stops once no
        # remaining one can enter the top `limit`. This skips most of the
        # (comparatively slow) rapidfuzz scoring.
        bounded: list[tuple[float, int, float, float]] = []
        for d_idx in candidates:
            e_idx = self._docs[d_idx].entry
            tok = float(token_score[d_idx]) if token_score is not None else 0.0
            extra = float(self._entry_prior[e_idx])
            bounds = self._entry_age[e_idx]
            if age is not None and bounds is not None:
                low, high = bounds
                extra += _AGE_MATCH_POINTS if low <= age <= high else _AGE_MISMATCH_POINTS
            upper = 100.0 * (_W_TOKENS * tok + _W_STRING)
            if self._docs[d_idx].tokens == q_tuple:
                upper = max(upper, 100.0)
            upper += extra
            bounded.append((upper, d_idx, tok, extra))
        bounded.sort(reverse=True)

        kth = -math.inf
        for upper, d_idx, tok, extra in bounded:
            if upper <= kth:
                break
            doc = self._docs[d_idx]
            base = 100.0 * (_W_TOKENS * tok + _W_STRING * _string_similarity(q_fuzzy, doc.text))
            if doc.tokens == q_tuple:
                base = max(base, 100.0)  # the query *is* this name or alias
            score = base + extra
            # Without any token evidence a string-only match is weak (typo'd
            # garbage resembles *something* in 2,600 names).
            if q_cov is not None and q_cov[d_idx] <= 0:
                score *= 0.6
            e_idx = doc.entry
            if score > results.get(e_idx, -math.inf):
                results[e_idx] = score
                if len(results) >= limit:
                    kth = heapq.nlargest(limit, results.values())[-1]
        return results

    def _key(self, token: str) -> str:
        """`phonetic_key`, precomputed for catalog syllables."""
        key = self._term_key.get(token)
        return key if key is not None else phonetic_key(token)

    def _split_glued(self, tokens: list[str]) -> list[str]:
        """Split syllables typed without spaces ("dangky", "khaisinh") when both
        halves are catalog syllables."""
        out: list[str] = []
        for tok in tokens:
            if tok in self._vocab or len(tok) < 5 or self._key(tok) in self._by_key:
                out.append(tok)
                continue
            splits = [
                (tok[:cut], tok[cut:])
                for cut in range(1, len(tok))
                if tok[:cut] in self._vocab and tok[cut:] in self._vocab
            ]
            if not splits:
                out.append(tok)
                continue
            # "kethon" splits as "ke thon" and "ket hon": prefer a word pair
            # that names actually contain.
            splits.sort(
                key=lambda lr: (self._key(lr[0]), self._key(lr[1])) in self._bigrams, reverse=True
            )
            out.extend(splits[0])
        return out

    def _alternatives(self, token: str, budget: list[int]) -> list[tuple[int, float]]:
        """(term index, match quality) for one query token."""
        alts: dict[int, float] = {}
        exact = self._vocab.get(token)
        if exact is not None:
            alts[exact] = _Q_EXACT
        for t_idx in self._by_key.get(self._key(token), ()):
            alts.setdefault(t_idx, _Q_PHONETIC)
        if not alts and len(token) >= 4 and not token.isdigit() and budget[0] > 0:
            budget[0] -= 1
            for _, sim, t_idx in process.extract(
                token, self._terms, scorer=fuzz.ratio, processor=None, limit=3, score_cutoff=75
            ):
                alts[int(t_idx)] = _Q_EDIT * sim / 100.0
        return list(alts.items())

    def _token_scores(self, tokens: list[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """IDF-weighted coverage score per document (0..1) and the query coverage."""
        n_docs = len(self._docs)
        acc = np.zeros(n_docs)
        q_weight = 0.0
        budget = [_MAX_OOV_LOOKUPS]
        seen: set[str] = set()
        matched = False
        for position, token in enumerate(tokens):
            if token in seen:
                continue
            seen.add(token)
            decay = 1.0 - _POSITION_DECAY * position / max(len(tokens) - 1, 1)
            alts = self._alternatives(token, budget)
            if not alts:
                # Unknown everywhere: it cannot pick a document, but it is
                # content the answer does not explain ("ăn cơm" must not look
                # like a full match of "án"). Half weight: stray chat words
                # the filler list missed should not sink real queries.
                q_weight += self._oov_weight * decay
                continue
            matched = True
            # A known syllable weighs what it weighs; its phonetic siblings may
            # match (typos) but must not lend it their rarity ("chung" is
            # common, its sibling "trung" is not).
            exact = self._vocab.get(token)
            if exact is not None:
                weight = float(self._idf[exact])
            else:
                weight = max(float(self._idf[t]) for t, _ in alts)
            weight *= decay
            q_weight += weight
            if len(alts) == 1:
                t_idx, quality = alts[0]
                acc[self._postings[t_idx]] += weight * quality
                continue
            best = np.zeros(n_docs)
            for t_idx, quality in alts:
                ids = self._postings[t_idx]
                best[ids] = np.maximum(best[ids], quality)
            acc += weight * best
        if not matched or q_weight <= 0:
            return None, None

        q_cov = np.minimum(acc / q_weight, 1.0)
        d_cov = np.minimum(acc / self._doc_weight, 1.0)

        keys = [self._key(t) for t in tokens]
        b_acc = np.zeros(n_docs)
        b_weight = 0.0
        for pair in dict.fromkeys(pairwise(keys)):
            hit = self._bigrams.get(pair)
            if hit is not None:
                pair_ids, idf = hit
                b_acc[pair_ids] += idf
                b_weight += idf
            else:  # a word pair no name contains: evidence against every name
                b_weight += self._unknown_bigram_weight
        b_cov = np.minimum(b_acc / b_weight, 1.0) if b_weight > 0 else q_cov

        score = _W_QUERY_COVERAGE * q_cov + _W_BIGRAM_COVERAGE * b_cov + _W_NAME_COVERAGE * d_cov
        return score, q_cov
