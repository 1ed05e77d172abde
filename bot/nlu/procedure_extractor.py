"""Which administrative procedure a message is about: the `procedure` entity.

A learned entity tagger cannot cover ~2,600 procedure names from a few
thousand examples, so the entity comes from the catalog's fuzzy search
(`catalog.search.SearchIndex`), which already folds diacritics, expands
abbreviations ("đk ks", "cccd", "gplx") and tolerates typos.

Search always finds *something* that resembles a short message ("Vâng ạ" is a
fuzzy match for "Khai báo tạm vắng"), so the extractor is deliberately
conservative before it emits the entity:

1. The message is reduced to its *procedure part*: folded, abbreviations
   expanded, question/filler words removed (`catalog.text.query_tokens`), then
   the *aspect* phrases removed — the words that say what the citizen asks
   about the procedure (fee, duration, place, online, legal basis, documents,
   submitting, status) and never name one. Searching the reduced query also
   keeps "nộp hồ sơ khai tử" from matching "Gia hạn nộp hồ sơ khai thuế".
2. Fewer than `min_content_tokens` content syllables left (greetings, "ok",
   "cảm ơn", "còn lệ phí thì sao?") → no search at all, no entity.
3. Long messages (a story, then the questions) are also searched clause by
   clause (`split_clauses`); a code's score is the best of the whole-message
   query and its clauses (clauses discounted by `CLAUSE_WEIGHT`, so a detail
   mentioned in passing does not outrank what the whole message is about).
   That ranking is then fused (`catalog.retrieval.fuse`, reciprocal rank)
   with BM25 over the catalog's own text (names, aliases, results, subjects,
   document names), which finds "mở tiệm tạp hóa" → hộ kinh doanh.
4. The entity is emitted only when `catalog.resolution.resolve` is CONFIDENT
   (the same decision the actions take, situation cues included: "mất" picks
   "cấp lại"); `procedure_candidates` is output either way so the dialogue can
   ask which variant or offer "did you mean ..." for weaker matches.

The search index is loaded once per process (first component load) and
shared by every instance, never per message.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.config_component import ConfigOnlyComponent
from catalog.resolution import Outcome, resolve, variant_queries
from catalog.retrieval import fuse
from catalog.text import (
    PhraseTable,
    expand_tokens,
    name_tokens,
    query_tokens,
    replace_phrases,
    tokenize,
)

logger = logging.getLogger(__name__)

PROCEDURE_ENTITY = "procedure"
CANDIDATES_KEY = "procedure_candidates"

# Folded phrases that describe the *aspect* of a question, not a procedure.
# Matched on whole tokens after catalog.text's expansion, longest first.
# Single syllables are listed only when no procedure name needs them alone
# ("xa" is also "xã hội", "so" is "sổ", so neither is here).
ASPECT_PHRASES: tuple[str, ...] = (
    # documents
    "thanh phan ho so", "ho so gom", "giay to", "can mang", "mang theo", "chuan bi",
    "bo ho so", "ho so", "giay gi", "can them",
    # fee
    "le phi", "phi", "bao nhieu tien", "het bao nhieu", "mat tien", "ton tien", "mat phi",
    "mien phi", "chi phi", "dong phi", "phan tram",
    # processing time
    "bao lau", "mat bao lau", "may ngay", "bao nhieu ngay", "may thang", "ngay lam viec",
    "co ket qua", "ket qua", "kq", "tra ket qua", "lay ngay", "lay duoc", "nhan duoc", "nhanh nhat",
    # place / agency
    "o dau", "nop o dau", "lam o dau", "co quan nao", "co quan", "o xa", "o tinh",
    "o phuong", "len tinh", "len xa", "len phuong", "ra xa", "ra phuong",
    "uy ban nhan dan", "uy ban phuong", "uy ban xa", "uy ban", "bo phan mot cua", "mot cua",
    # online ("vneid" is expanded to "dinh danh dien tu" by catalog.text; the
    # eID procedures themselves keep their words, only "on VNeID" goes)
    "online", "onl", "truc tuyen", "tren mang", "qua mang", "tren dinh danh dien tu",
    "tren dien thoai", "qua dien thoai",
    "qua dinh danh dien tu", "bang dinh danh dien tu", "dich vu cong", "cong dich vu cong",
    "dvc", "toan trinh", "qua buu dien", "buu chinh",
    # legal basis
    "nghi dinh", "thong tu", "can cu phap ly", "can cu vao", "quy dinh", "van ban",
    "luat nao", "theo luat",
    # submitting / status
    "nop ho so", "nop hs", "nop", "tinh trang", "trang thai", "kiem tra", "tra cuu",
    "xong chua", "den dau", "duyet chua",
    # contact details typed next to the question ("sđt 09...")
    "so dien thoai", "dien thoai", "email",
    # how / chat words that catalog.text keeps (it only strips them in phrases)
    "thu tuc", "huong dan", "cach lam", "cac buoc", "trinh tu", "quy trinh",
    "lam", "muon", "phai", "giup", "voi", "luon", "thi", "la", "va", "hay",
    "nao", "khong", "duoc", "chua", "nhe", "a", "ad", "admin", "oi",
)

# Tokens that may stay in the reduced query but are too generic to count as
# naming a procedure (a message of only these is not about one).
GENERIC_TOKENS: frozenset[str] = frozenset(
    [
        "ban", "toi", "minh", "em", "e", "anh", "chi", "ong", "ba", "be", "con", "vay", "v",
        "the", "sao", "roi", "rui", "nua", "them", "cai", "nay", "do", "kia", "ay", "day", "xin",
        "chao", "cam", "on", "vang", "dung", "sai", "ok", "oke", "uh", "um", "da", "khong", "co",
        "hoi", "biet", "noi", "gi", "nhung", "cac", "mot", "hai", "bot", "ai", "tra", "loi",
        "nguoi", "that", "can", "bo", "nhan", "vien", "ho", "tro", "giup", "trang", "web", "app",
        "cap", "dang", "ky", "lam", "giay", "moi", "lai", "doi", "so", "cho", "huy", "thoi", "di",
        "nhe", "nha", "nhi", "ha", "hen", "a", "neu", "khi", "luc", "gio", "bay", "ngay", "hom",
        "nam", "thang", "tuan", "xong", "xu", "ly", "giai", "quyet", "theo", "cu", "tren",
        "trong", "o", "len", "xuong", "ra", "vao", "ve", "tu", "den", "tai", "boi", "vi", "de",
        "se", "sau", "truoc", "dau", "ma", "xem", "tien", "het", "mat", "gio", "thi", "co",
    ]
)

_ASPECT_TABLE = PhraseTable({phrase: "" for phrase in ASPECT_PHRASES})


def strip_aspects(tokens: Sequence[str]) -> list[str]:
    """Remove aspect phrases (longest match first) from folded query tokens."""
    return replace_phrases(tokens, _ASPECT_TABLE)


def _is_identifier(token: str) -> bool:
    """Phone/ID numbers and dossier codes: long digit runs or letter+digit mixes.
    Short numbers stay ("dưới 14 tuổi", "phiếu số 2" matter to the search), and
    so do short form codes ("ct07")."""
    digits = sum(ch.isdigit() for ch in token)
    # Short form codes ("ct07", "tk1") name things citizens ask for; longer
    # mixes ("7k2mq9xd", "079203001234") are identifiers.
    return digits >= 5 or (0 < digits < len(token) and (digits >= 3 or len(token) > 5))


def procedure_query(text: str) -> tuple[str, int]:
    """(reduced query, number of content tokens) for `text`."""
    tokens = [t for t in strip_aspects(query_tokens(text)) if not _is_identifier(t)]
    # Numbers and ages are never a name on their own; short form codes ("ct07") are.
    content = sum(
        1 for t in tokens if t not in GENERIC_TOKENS and any(ch.isalpha() for ch in t)
    )
    return " ".join(tokens), content


# A variant found for the situation ("cấp lại" when the message says "mất")
# enters just below the best candidate; the situation cue then decides.
VARIANT_MIN_SCORE = 80.0
VARIANT_OFFSET = 2.0
# A clause's own score counts this much: the whole message decides first.
CLAUSE_WEIGHT = 0.85
MAX_CLAUSES = 5
# Shorter messages are one clause.
_CLAUSE_MIN_CHARS = 60
_CLAUSE_SPLIT = re.compile(r"[.?!;\n]+|,\s+|\s+(?:nhưng|nhung|mà|ma|thì|thi)\s+")


def split_clauses(text: str) -> list[str]:
    """The clauses of a long message worth searching on their own ([] for a
    short one): sentences and comma-separated parts, at most `MAX_CLAUSES`
    (the last ones: the questions come at the end of a story)."""
    if not isinstance(text, str) or len(text) < _CLAUSE_MIN_CHARS:
        return []
    parts = [p.strip() for p in _CLAUSE_SPLIT.split(text[:1000])]
    parts = [p for p in parts if len(p) >= 6]
    if len(parts) < 2:
        return []
    return parts[-MAX_CLAUSES:]


# --------------------------------------------------------------------------- the index

_index_lock = threading.Lock()
# The process-wide indexes by kind ("search", "retrieval"), loaded once.
_shared: dict[str, Any] = {}
_index_source = ""


class CatalogUnavailable(RuntimeError):
    """The catalog database cannot be read: the NLU refuses to guess codes."""


def _load_shared(kind: str, build: Callable[[], Any]) -> Any:
    """`_shared[kind]`, built by `build()` on first use under the lock.

    A database failure is loud: it is logged as an error and raised as
    `CatalogUnavailable` (the NLU must never name codes the database lacks,
    which a silent fallback to the bundled records would do)."""
    with _index_lock:
        if _shared.get(kind) is not None:
            return _shared[kind]
        try:
            _shared[kind] = build()
        except Exception as exc:
            logger.error("catalog database unavailable: %s", exc)
            raise CatalogUnavailable(
                f"The procedure catalog could not be read ({exc}). Run `tthc catalog import` "
                "(or `make catalog`) and check TTHC_DATABASE_URL."
            ) from exc
        return _shared[kind]


def _search_index_from_database() -> Any:
    global _index_source
    from catalog import get_search_index

    index = get_search_index()
    _index_source = "database"
    return index


def _retrieval_index_from_database() -> Any:
    from catalog.retrieval import get_retrieval_index

    return get_retrieval_index()


def load_search_index() -> Any:
    """The process-wide catalog search index, from the catalog database.

    A database failure raises `CatalogUnavailable` (see `_load_shared`). Tests
    and tools that want the bundled records say so with
    `set_search_index(build_bundled_index())`.
    """
    return _load_shared("search", _search_index_from_database)


def load_retrieval_index() -> Any:
    """The process-wide BM25 index over the catalog database's text; a
    database failure is loud (`CatalogUnavailable`), as for the search index."""
    return _load_shared("retrieval", _retrieval_index_from_database)


def build_bundled_index() -> Any:
    from catalog.overrides import load_overrides, search_entries
    from catalog.search import SearchIndex
    from catalog.source import iter_raw_records

    try:
        overrides = load_overrides()
    except FileNotFoundError:
        overrides = None
    return SearchIndex.build(search_entries(iter_raw_records(), overrides))


def _index_from_database() -> bool:
    """True when the shared search index was loaded from the database (not
    set by a test with `set_search_index`)."""
    return _index_source == "database"


def set_search_index(index: Any) -> None:
    """Use `index` for every ProcedureEntityExtractor of this process (tests)."""
    with _index_lock:
        _shared["search"] = index


# --------------------------------------------------------------------------- the span


def _token_keys(lemma: str) -> list[str]:
    """Folded syllables of a token lemma plus their abbreviation expansions."""
    syllables = tokenize(lemma)
    return [*syllables, *expand_tokens(syllables)]


def best_span(
    text: str, tokens: Sequence[Any], candidate_name: str, query: str
) -> tuple[int, int]:
    """Offsets of the part of `text` that names the procedure.

    A token *matches* when one of its folded syllables (or their expansion,
    so "ks" counts for "khai sinh") is both in the reduced query and in the
    candidate's name (or the query is an alias, then in the query). The span
    starts from the matching tokens that carry content and grows over
    adjacent matching tokens ("đăng ký" before "khai sinh"). Falls back to the
    whole (stripped) text when no token matches.
    """
    query_set = set(query.split())
    # Words both asked for and in the official name; when the match came from
    # an alias (no shared words, e.g. "sổ đỏ"), every query word counts.
    useful = (query_set & set(name_tokens(candidate_name))) or query_set
    keys = [_token_keys(t.lemma) for t in tokens]
    matching = [any(k in useful for k in ks) for ks in keys]
    core = [
        i
        for i, ks in enumerate(keys)
        if any(k in useful and k not in GENERIC_TOKENS and not _is_identifier(k) for k in ks)
    ]
    if not core:
        stripped = text.strip()
        start = text.find(stripped) if stripped else 0
        return start, start + len(stripped)
    first, last = core[0], core[-1]
    while first > 0 and matching[first - 1]:
        first -= 1
    while last + 1 < len(tokens) and matching[last + 1]:
        last += 1
    return tokens[first].start, tokens[last].end


# --------------------------------------------------------------------------- component


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class ProcedureEntityExtractor(ConfigOnlyComponent, EntityExtractorMixin):
    """Sets the `procedure` entity (national procedure code) from catalog search."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Candidates output in `procedure_candidates`.
            "candidates": 5,
            # Content syllables required after removing aspect/filler words.
            "min_content_tokens": 1,
            # Intents whose confident prediction means "no procedure here"
            # (only used when an intent classifier ran before this component).
            "skip_intents": [
                "greet", "goodbye", "thank", "bot_challenge", "human_handoff", "help",
            ],
            "skip_intent_confidence": 0.8,
            # Reduced queries whose candidates are kept (LRU); 0 disables.
            "cache_size": 4096,
        }

    def __init__(
        self, config: dict[str, Any], index: Any = None, retrieval: Any = None
    ) -> None:
        super().__init__(config)
        self._limit = max(1, int(self._config["candidates"]))
        self._min_content = int(self._config["min_content_tokens"])
        self._skip_intents = frozenset(self._config["skip_intents"] or ())
        self._skip_confidence = float(self._config["skip_intent_confidence"])
        self._index = index if index is not None else load_search_index()
        # Lexical retrieval comes from the database with the index; an index
        # passed in (tests) brings its own retrieval or none.
        if index is None and retrieval is None:
            retrieval = _shared.get("retrieval")
            if retrieval is None and _index_from_database():
                retrieval = load_retrieval_index()
        self._retrieval = retrieval
        # Reduced query -> candidates. Citizens ask about the same few dozen
        # procedures over and over; a hit saves the ~20-30 ms catalog search.
        # Per instance (one per loaded model); a failed search raises, so it
        # is not cached.
        self._cached_search = functools.lru_cache(maxsize=max(0, int(self._config["cache_size"])))(
            self._index_search
        )

    def _skipped_by_intent(self, message: Message) -> bool:
        intent = message.get(INTENT) or {}
        return (
            intent.get("name") in self._skip_intents
            and float(intent.get("confidence") or 0.0) >= self._skip_confidence
        )

    def _off_topic(self, message: Message) -> bool:
        """Confident chit-chat or portal FAQ: candidates are kept (the intent
        guard may still find a procedure question) but no entity is set."""
        intent = message.get(INTENT) or {}
        return (
            intent.get("name") in ("out_of_scope", "faq")
            and float(intent.get("confidence") or 0.0) >= self._skip_confidence
        )

    def candidates_for(self, text: str) -> tuple[list[dict[str, Any]], str]:
        """(candidates as dicts, reduced query) — [] when the message names no procedure.

        The whole message's reduced query, plus each clause of a long message
        (scores × `CLAUSE_WEIGHT`), fused with BM25; then the variants the
        situation asks for ("mất" → cấp lại) when the candidates lack them
        (`catalog.resolution.variant_queries`). Best first.
        """
        candidates, query = self._candidates(text)
        if not candidates:
            return candidates, query
        extra = {}
        top = candidates[0]["score"]
        for variant_query in variant_queries(candidates, text)[:2]:
            for hit in self._search(variant_query)[0][:3]:
                if hit["score"] >= VARIANT_MIN_SCORE and hit["code"] not in extra:
                    extra[hit["code"]] = {**hit, "score": round(top - VARIANT_OFFSET, 1)}
        if not extra:
            return candidates, query
        known = {c["code"] for c in candidates}
        added = [c for code, c in extra.items() if code not in known]
        merged = sorted([*candidates, *added], key=lambda c: (-c["score"], c["code"]))
        return merged[: self._limit + len(added)], query

    def _candidates(self, text: str) -> tuple[list[dict[str, Any]], str]:
        candidates, query = self._search(text)
        clauses = split_clauses(text)
        if not clauses:
            return candidates, query
        best = {c["code"]: c for c in candidates}
        for clause in clauses:
            for hit in self._search(clause, min_content=2)[0]:
                score = round(hit["score"] * CLAUSE_WEIGHT, 1)
                if hit["code"] not in best or best[hit["code"]]["score"] < score:
                    best[hit["code"]] = {**hit, "score": score}
        merged = sorted(best.values(), key=lambda c: (-c["score"], c["code"]))
        if self._retrieval is not None:
            try:
                lexical = self._retrieval.search(text, limit=10)
            except Exception:  # retrieval must never take the NLU down
                logger.exception("lexical retrieval failed for %r", text[:200])
                lexical = []
            merged = fuse(merged, lexical, limit=self._limit)
        return merged[: self._limit], query

    def _search(self, text: str, min_content: int = 0) -> tuple[list[dict[str, Any]], str]:
        query, content = procedure_query(text)
        if content < max(self._min_content, min_content) or not query:
            return [], query
        try:
            candidates = self._cached_search(query)
        except Exception:  # search must never take the NLU down
            logger.exception("procedure search failed for %r", text[:200])
            return [], query
        return [dict(c) for c in candidates], query  # copies: the cached dicts stay intact

    def _index_search(self, query: str) -> tuple[dict[str, Any], ...]:
        hits = self._index.search(query, limit=self._limit)
        return tuple({"code": c.code, "name": c.name, "score": float(c.score)} for c in hits)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                message.set(CANDIDATES_KEY, [], add_to_output=True)
                continue
            if self._skipped_by_intent(message):
                message.set(CANDIDATES_KEY, [], add_to_output=True)
                continue
            candidates, query = self.candidates_for(text)
            message.set(CANDIDATES_KEY, candidates, add_to_output=True)
            resolution = resolve(candidates, text)
            if resolution.outcome is not Outcome.CONFIDENT or self._off_topic(message):
                continue
            best = resolution.options[0].as_dict()
            best["score"] = min(best["score"], 100.0)
            start, end = best_span(
                text, message.get(TOKENS_NAMES[TEXT]) or [], best["name"], query
            )
            confidence = round(min(best["score"], 100.0) / 100.0, 4)
            entity = {
                "entity": PROCEDURE_ENTITY,
                "start": start,
                "end": end,
                "value": best["code"],
                "confidence": confidence,
                "confidence_entity": confidence,
            }
            message.set(
                ENTITIES,
                message.get(ENTITIES, []) + self.add_extractor_name([entity]),
                add_to_output=True,
            )
        return messages
