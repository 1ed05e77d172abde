"""Lexical retrieval over the catalog's own text, fused with the fuzzy name search.

`catalog.search` ranks procedure *names and aliases*; a citizen's story
("mở một tiệm tạp hóa nhỏ ở nhà ...") often names none of them but uses words
that the procedure's *other* text has: its result ("Giấy chứng nhận đăng ký
hộ kinh doanh"), its subjects ("hộ gia đình, cá nhân kinh doanh") and its
document names. `RetrievalIndex` ranks that text with BM25 (the `bm25s`
library) and `fuse` combines the two rankings by reciprocal rank.

Text units: accent-folded syllables (acronyms and colloquial words expanded
by `catalog.text`) plus each pair of adjacent syllables joined by "_" — the
compound words of Vietnamese ("khai_sinh", "kinh_doanh") without a segmenter
at build time. (Syllables only for the long fields halves the build but
lost one right answer on the issue-9 real messages: kept the pairs.)
underthesea's segmenter costs ~9 ms per procedure name on the 2-core CI
machine (measured: 300 names in 2.7 s), i.e. >20 s for names alone and
minutes with documents, against a 2 s index-build budget; the
adjacent-pair units give BM25 the same compound evidence (a compound matches
when both syllables are adjacent in both texts) for ~1 s of CPU (measured,
docs/benchmarks.md).

Pure Python + numpy + bm25s; knows nothing of Rasa.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import bm25s

from catalog.text import expand_tokens, query_tokens, tokenize
from core.vietnamese import fold

__all__ = [
    "LEXICAL_POINTS",
    "RRF_K",
    "RetrievalDoc",
    "RetrievalIndex",
    "fuse",
    "get_retrieval_index",
    "retrieval_docs",
]

log = logging.getLogger(__name__)

# Reciprocal-rank fusion: a lexical rank r adds LEXICAL_POINTS * (RRF_K + 1) / (RRF_K + r)
# points to the fuzzy score (rank 1: LEXICAL_POINTS, rank 3: half of it with RRF_K = 1).
RRF_K = 1.0
LEXICAL_POINTS = 10.0
# A procedure only the lexical ranking found starts from this share of the best
# fuzzy score (it still needs a good lexical rank to be offered).
LEXICAL_ONLY_BASE = 0.75

_MAX_FIELD_CHARS = 200
_MAX_DOCUMENTS = 5
_MAX_DOCUMENT_CHARS = 100


@dataclass(frozen=True)
class RetrievalDoc:
    """The text of one procedure that lexical retrieval reads. Names and
    aliases count twice (they say what the procedure is)."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    result: str = ""
    subjects: str = ""
    documents: tuple[str, ...] = ()


def _units(tokens: Sequence[str]) -> list[str]:
    return [*tokens, *(f"{a}_{b}" for a, b in pairwise(tokens))]


def doc_units(doc: RetrievalDoc) -> list[str]:
    """Index units of `doc` (see the module docstring)."""
    heads = [doc.name, *doc.aliases]
    tails = [
        doc.result[:_MAX_FIELD_CHARS],
        doc.subjects[:_MAX_FIELD_CHARS],
        *(d[:_MAX_DOCUMENT_CHARS] for d in doc.documents[:_MAX_DOCUMENTS]),
    ]
    units: list[str] = []
    for text in heads:
        units.extend(_units(expand_tokens(tokenize(fold(text)))) * 2)
    for text in tails:
        if text:
            units.extend(_units(expand_tokens(tokenize(fold(text)))))
    return units


class RetrievalIndex:
    """BM25 over the catalog text of every procedure (read-only after `build`)."""

    def __init__(self) -> None:  # use build()
        self._codes: list[str] = []
        self._names: list[str] = []
        self._vocab_ids: dict[str, int] = {}
        self._bm25: Any = None

    @classmethod
    def build(cls, docs: Iterable[RetrievalDoc]) -> RetrievalIndex:
        """Index `docs` (a repeated code keeps its first doc)."""
        index = cls()
        corpus: list[list[str]] = []
        seen: set[str] = set()
        for doc in docs:
            if not doc.code or doc.code in seen:
                continue
            seen.add(doc.code)
            units = doc_units(doc)
            if not units:
                continue
            index._codes.append(doc.code)
            index._names.append(doc.name)
            corpus.append(units)
        if corpus:
            # Token ids built here (one dict pass) rather than by bm25s from strings.
            vocab: dict[str, int] = {}
            ids = [[vocab.setdefault(u, len(vocab)) for u in units] for units in corpus]
            index._bm25 = bm25s.BM25()
            index._bm25.index(bm25s.tokenization.Tokenized(ids, vocab), show_progress=False)
            index._vocab_ids = vocab
        return index

    def __len__(self) -> int:
        return len(self._codes)

    def search(self, query: str, limit: int = 10) -> list[tuple[str, str, float]]:
        """(code, name, BM25 score) best first for a citizen's text; [] for
        empty or unknown text. Never raises on odd input."""
        if self._bm25 is None or not isinstance(query, str) or not query.strip():
            return []
        vocab = self._vocab_ids
        units = [vocab[u] for u in _units(query_tokens(query, max_tokens=120)) if u in vocab]
        if not units:
            return []
        k = max(1, min(int(limit), len(self._codes)))
        query_ids = bm25s.tokenization.Tokenized([units], vocab)
        ids, scores = self._bm25.retrieve(query_ids, k=k, show_progress=False, n_threads=1)
        return [
            (self._codes[int(i)], self._names[int(i)], float(s))
            for i, s in zip(ids[0], scores[0], strict=True)
            if float(s) > 0
        ]


def fuse(
    fuzzy: Sequence[dict[str, Any]],
    lexical: Sequence[tuple[str, str, float]],
    limit: int = 8,
) -> list[dict[str, Any]]:
    """Fuzzy candidates (dicts with code, name, score 0..100) re-ranked with
    the lexical ranking by reciprocal rank: a procedure at lexical rank r gains
    `LEXICAL_POINTS * (RRF_K + 1) / (RRF_K + r)`; one only the lexical ranking
    found starts from `LEXICAL_ONLY_BASE` × the best fuzzy score. Best first."""
    best = {c["code"]: dict(c) for c in fuzzy}
    top = max((c["score"] for c in fuzzy), default=0.0)
    for rank, (code, name, _) in enumerate(lexical, start=1):
        bonus = LEXICAL_POINTS * (RRF_K + 1.0) / (RRF_K + rank)
        if code in best:
            best[code]["score"] = round(best[code]["score"] + bonus, 1)
        elif top > 0:
            score = round(LEXICAL_ONLY_BASE * top + bonus, 1)
            best[code] = {"code": code, "name": name, "score": score}
    return sorted(best.values(), key=lambda c: (-c["score"], c["code"]))[:limit]


def retrieval_docs(session: Any) -> list[RetrievalDoc]:
    """The retrieval text of every procedure in the catalog database, in four
    queries (no per-row loading)."""
    from sqlalchemy import select

    from catalog.orm import ProcedureAliasRow, ProcedureDocumentRow, ProcedureRow

    aliases: dict[str, list[str]] = {}
    for code, alias in session.execute(
        select(ProcedureAliasRow.procedure_code, ProcedureAliasRow.alias)
    ):
        aliases.setdefault(code, []).append(alias)
    documents: dict[str, list[str]] = {}
    for code, name in session.execute(
        select(ProcedureDocumentRow.procedure_code, ProcedureDocumentRow.name).order_by(
            ProcedureDocumentRow.procedure_code, ProcedureDocumentRow.position
        )
    ):
        documents.setdefault(code, []).append(name or "")
    rows = session.execute(
        select(ProcedureRow.code, ProcedureRow.name, ProcedureRow.result, ProcedureRow.subjects)
        .order_by(ProcedureRow.code)
    )
    return [
        RetrievalDoc(
            code=code,
            name=name or "",
            aliases=tuple(aliases.get(code, ())),
            result=result or "",
            subjects=subjects or "",
            documents=tuple(documents.get(code, ())),
        )
        for code, name, result, subjects in rows
    ]


_lock = threading.Lock()
_indexes: dict[str, RetrievalIndex] = {}


def get_retrieval_index(url: str | None = None) -> RetrievalIndex:
    """The process-wide retrieval index over the catalog at `url` (built once;
    `reset_retrieval_cache()` after a re-import in the same process). Raises
    whatever the database raises: callers decide how loud to be."""
    from core.db import database_url, session_factory

    url = url or database_url()
    with _lock:
        index = _indexes.get(url)
        if index is None:
            with session_factory(url)() as session:
                docs = retrieval_docs(session)
            index = _indexes[url] = RetrievalIndex.build(docs)
        return index


def reset_retrieval_cache() -> None:
    """Forget the retrieval indexes (tests, re-imports)."""
    with _lock:
        _indexes.clear()
