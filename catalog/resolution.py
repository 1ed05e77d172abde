"""From ranked search candidates to one decision: which procedure a message is about.

Every caller (the NLU's `ProcedureEntityExtractor`, the procedure and dossier
actions) turns the catalog's ranked candidates into the same four outcomes
through `resolve`:

- `CONFIDENT`: one procedure; answer it directly;
- `AMBIGUOUS`: two or three variants remain; ask one short question whose
  options carry short distinguishing labels ("Bị mất, hỏng" / "Hết hạn, đổi
  thông tin");
- `WEAK`: only loose matches; offer them as "did you mean" (at most three);
- `NONE`: nothing worth showing.

Before deciding, `resolve` reads what the citizen said about their situation
and moves the variants of one procedure family accordingly (see `_CUES`):
lost → "cấp lại"; damaged → "cấp lại" and "cấp đổi" alike (the catalog uses
either, depending on the document: a torn vehicle registration is "Đổi
chứng nhận đăng ký xe"; the family decides, or the citizen is asked);
expired, an age milestone (25/40/60) or changed
information → "cấp đổi"/"đổi"; a child under 14 → the under-14 card; a foreign
partner → "có yếu tố nước ngoài" (the border-area variant only when a border
commune is mentioned); a lost register book or a registration made long ago →
"đăng ký lại"; central-level variants only when a ministry or the central level
is named. Level variants of the same name ("... (thực hiện tại cấp tỉnh)")
are collapsed into the one citizens file.

Thresholds (scores are `catalog.search` scores, 0..100) live here and nowhere
else; they were chosen on the quick dialogue set of issue 9 (40 bare names, 30
story messages, 6 out-of-scope questions; `docs/benchmarks.md`, "Candidate
resolution"): a top score of `CONFIDENT_SCORE` with `AMBIGUITY_MARGIN` over the
runner-up (after the situation cues) was right in every case measured, and
out-of-catalog questions (traffic fines, chit-chat) never scored above
`MIN_SCORE` once their question words are removed.

Pure Python; knows nothing of Rasa.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from core.vietnamese import fold
from core.wording import say

__all__ = [
    "AMBIGUITY_MARGIN",
    "CONFIDENT_SCORE",
    "EXACT_SCORE",
    "MAX_OPTIONS",
    "MIN_SCORE",
    "SUGGESTION_SCORE",
    "Option",
    "Outcome",
    "Resolution",
    "resolve",
    "variant_tags",
]

# --- thresholds (the one place; see the module docstring for how they were chosen) ----------
# An exact official name or curated alias scores 100 in `catalog.search`.
EXACT_SCORE = 100.0
# A top candidate this good, with this margin over the runner-up, is answered directly.
CONFIDENT_SCORE = 60.0
AMBIGUITY_MARGIN = 6.0
# Below this nothing is asked about: the candidates are only suggestions.
MIN_SCORE = 50.0
# Below this a candidate is not even suggested.
SUGGESTION_SCORE = 45.0
# A choice never offers more than this many options (a longer list is not a
# question a citizen can answer at a glance).
MAX_OPTIONS = 3
# The only candidate above MIN_SCORE wins alone with this much over MIN_SCORE
# and over the runner-up.
LONE_MARGIN = 5.0
# Options offered beside the best: within this many points of it.
OPTION_WINDOW = 2 * AMBIGUITY_MARGIN

# Situation cues: points added to a variant the citizen's words point at, and
# taken from variants they rule out.
CUE_BOOST = 12.0
CUE_PENALTY = 10.0
# Special-case variants (foreign element, border area, central level, "đăng
# ký lại") lose this much when nothing in the message asks for them.
UNASKED_PENALTY = 6.0


class Outcome(str, Enum):
    """What a message's candidates amount to."""

    CONFIDENT = "confident"
    AMBIGUOUS = "ambiguous"
    WEAK = "weak"
    NONE = "none"


@dataclass(frozen=True)
class Option:
    """One procedure offered or chosen. `score` is after situation cues (may
    exceed 100); `label` is a short distinguishing label for buttons."""

    code: str
    name: str
    score: float
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "score": self.score, "label": self.label}


@dataclass(frozen=True)
class Resolution:
    """The decision. `options` is best first: one option when CONFIDENT, two
    or three when AMBIGUOUS, up to three suggestions when WEAK, none when
    NONE. `question` is the short distinguishing question for AMBIGUOUS."""

    outcome: Outcome
    options: tuple[Option, ...] = ()
    question: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def code(self) -> str | None:
        """The procedure code when CONFIDENT, else None."""
        return self.options[0].code if self.outcome is Outcome.CONFIDENT and self.options else None


# --------------------------------------------------------------------------- variants

# Folded-name patterns → variant tag.
_NAME_TAGS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reissue", re.compile(r"\bcap lai\b|\blam lai\b")),
    ("exchange", re.compile(r"\bcap doi\b|^(?:thu tuc )?doi\b")),
    ("reregister", re.compile(r"\bdang ky lai\b")),
    ("foreign", re.compile(r"\byeu to nuoc ngoai\b|\bnguoi nuoc ngoai\b")),
    ("border", re.compile(r"\bbien gioi\b")),
    ("under14", re.compile(r"\bduoi 14 tuoi\b")),
    ("central", re.compile(r"\bcap trung uong\)?$|\bcuc quan ly xuat nhap canh\b")),
    ("mobile", re.compile(r"\bluu dong\b")),
    ("lost_report", re.compile(r"\btrinh bao mat\b")),
    ("adjust", re.compile(r"\bdieu chinh\b")),
)

# Folded-message patterns → situation cue.
_CUES: dict[str, re.Pattern[str]] = {
    "lost": re.compile(
        r"\b(?:bi|lam|danh|that|da bi) mat\b"
        r"|\bmat (?:het |luon |cai |ca |mat )?(?:so|the|giay|bang|ho chieu|vi|cccd|can cuoc|cmnd"
        r"|passport|ca vet|ho so|tui|balo|dien thoai|sach)\b"
        r"|\bthat lac\b|\bdanh roi\b|\bcuon troi\b|\btroi mat\b|\bbi trom\b|\bbi cuop\b"
    ),
    # Damaged: the catalog calls it "cấp lại" for some documents and "đổi" for
    # others (vehicle registration), so both are wanted and the family decides.
    "damaged": re.compile(
        r"\bhu hong\b|\bbi hong\b|\bhong (?:mat|roi|het)\b|\b(?:bi )?rach\b|\bbi chay\b"
        r"|\bchay (?:mat|het)\b|\bbi uot\b|\bmo chu\b|\bbong troc\b|\bgay\b|\bmoi an\b"
        r"|\bnat\b|\bo vang\b"
    ),
    "renew": re.compile(
        r"\bhet han\b|\bsap het han\b|\bqua han\b|\bhet hieu luc\b"
        r"|\b(?:du |tron |sap |len )?(?:25|40|60) tuoi\b|\btuoi (?:25|40|60)\b"
        r"|\b(?:in |bi |ghi )sai\b|\bsai (?:ngay sinh|ten|ho ten|dia chi|que quan|gioi tinh)\b"
        r"|\bthay doi (?:thong tin|ho ten|ten|dia chi|noi thuong tru|gioi tinh)\b"
        r"|\bdoi (?:sang|qua) (?:mau moi|the|can cuoc)\b|\bmau moi\b|\bsai thong tin\b"
        r"|\bcu nat\b|\bcu qua\b|\bdoi (?:the|bang|so|giay|can cuoc|cccd|ho chieu)\b"
        r"|\bcap doi\b|\bdoi lai\b"
    ),
    "under14": re.compile(
        r"\bduoi (?:14|6) tuoi\b|(?<![\d.,])\b(?:[0-9]|1[0-3]) tuoi\b|\btre em\b|\btre so sinh\b"
    ),
    "foreign": re.compile(
        r"\bnuoc ngoai\b|\bngoai quoc\b|\bquoc tich\b|\bviet kieu\b|\bdinh cu\b"
        r"|\bnguoi (?:trung quoc|han|han quoc|nhat|nhat ban|dai loan|my|phap|duc|uc|anh|lao"
        r"|campuchia|thai|thai lan|nga|singapore|malaysia|philippines|an do|canada|tay)\b"
        r"|\b(?:vo|chong|ban trai|ban gai|nguoi yeu) (?:la )?(?:nguoi )?"
        r"(?:tay|ngoai quoc|trung quoc|han quoc|nhat|dai loan|my|lao|campuchia)\b"
    ),
    "border": re.compile(r"\bbien gioi\b|\bgiap bien\b|\bxa bien\b"),
    "reregister": re.compile(
        r"\bdang ky lai\b|\bso (?:ho tich|goc|dang ky)\b.*\b(?:mat|chay|hong|khong con)\b"
        r"|\b(?:mat|chay|hong|khong con)\b.*\bso (?:ho tich|goc|dang ky)\b"
        r"|\bso (?:luu|ho tich|goc)\b.*\b(?:hu|hong|chay|mat|khong con)\b"
        r"|\bkhong con luu\b|\btu (?:lau|nam 19\d\d)\b|\bngay xua\b|\btruoc day da\b"
    ),
    "central": re.compile(
        r"\bbo (?:cong an|ngoai giao|tu phap|quoc phong|giao thong)\b|\bcuc quan ly\b"
        r"|\btrung uong\b|\bcap bo\b"
    ),
    "mobile": re.compile(r"\bluu dong\b|\bden nha\b|\bbenh nang\b|\bnam vien\b"),
    "adjust": re.compile(r"\bthay doi thiet ke\b|\bdieu chinh\b|\bsua doi giay phep\b"),
}

# Variants a cue points at (+) and rules out (-).
_CUE_EFFECTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "lost": (frozenset({"reissue", "lost_report"}), frozenset({"exchange", "first"})),
    "damaged": (frozenset({"reissue", "exchange"}), frozenset({"first"})),
    "adjust": (frozenset({"adjust"}), frozenset({"first"})),
    "renew": (frozenset({"exchange"}), frozenset({"reissue", "first", "lost_report"})),
    "under14": (frozenset({"under14"}), frozenset()),
    "foreign": (frozenset({"foreign"}), frozenset()),
    "border": (frozenset({"border"}), frozenset()),
    "reregister": (frozenset({"reregister"}), frozenset()),
    "central": (frozenset({"central"}), frozenset()),
    "mobile": (frozenset({"mobile"}), frozenset()),
}
# Variants that are special cases: only when asked for.
_SPECIAL = {"foreign": "foreign", "border": "border", "central": "central",
            "reregister": "reregister", "mobile": "mobile"}

# Level qualifiers that tell level variants of one procedure apart.
_LEVEL_QUALIFIER = re.compile(
    r"\s*\((?:thuc hien )?(?:tai |o )?cap (?:xa|huyen|tinh|tw|trung uong|bo)\)"
    r"|\s*,?\s*(?:thuc hien )?tai cap (?:xa|huyen|tinh|trung uong|bo)(?:\s*,\s*cap \w+)*\s*$"
    r"|\s+tai (?:cong an cap tinh|cuc quan ly xuat nhap canh.*)$"
)
_LEADING_THU_TUC = re.compile(r"^thu tuc\s+")
_LEADING_THU_TUC_TITLE = re.compile(r"^Thủ tục\s+", re.IGNORECASE)


def variant_tags(name: str) -> frozenset[str]:
    """Variant tags of an official name ("Cấp lại thẻ căn cước" → {"reissue"})."""
    folded = _LEADING_THU_TUC.sub("", fold(name))
    tags = {tag for tag, pattern in _NAME_TAGS if pattern.search(folded)}
    if folded.startswith("cap ") and not tags & {"reissue", "exchange"}:
        tags.add("first")
    return frozenset(tags)


def situation_cues(text: str) -> frozenset[str]:
    """Situation cues in a citizen's message ("mất ví" → {"lost"})."""
    folded = fold(text or "")
    return frozenset(cue for cue, pattern in _CUES.items() if pattern.search(folded))


def _family_key(name: str) -> str:
    """The name without its level qualifier: level variants share it."""
    folded = _LEADING_THU_TUC.sub("", fold(name))
    return " ".join(_LEVEL_QUALIFIER.sub("", folded).split())


def _adjusted(score: float, tags: frozenset[str], cues: frozenset[str]) -> float:
    for cue in cues:
        wanted, unwanted = _CUE_EFFECTS[cue]
        if tags & wanted:
            score += CUE_BOOST
        elif tags & unwanted:
            score -= CUE_PENALTY
    for tag, cue in _SPECIAL.items():
        if tag in tags and cue not in cues:
            score -= UNASKED_PENALTY
    return score


# The words that name a variant, to look for it when the situation asks for it
# and the candidates lack it ("mẹ Việt bố người Nhật ... khai sinh" → "đăng ký
# khai sinh có yếu tố nước ngoài").
_CUE_QUERIES: dict[str, str] = {
    "foreign": "co yeu to nuoc ngoai",
    "border": "co yeu to nuoc ngoai tai khu vuc bien gioi",
    "lost": "cap lai",
    "damaged": "cap doi",
    "renew": "cap doi",
    "reregister": "dang ky lai",
    "under14": "cho nguoi duoi 14 tuoi",
    "adjust": "cap dieu chinh",
}


def variant_queries(candidates: Iterable[Any], text: str) -> list[str]:
    """Search queries for the variants the citizen's situation asks for that
    the candidates lack: the best candidate's core name plus the variant's
    words. The caller searches them and adds the hits to the candidates."""
    triples = _triples(candidates)
    if not triples:
        return []
    _, name, _ = max(triples, key=lambda t: t[2])
    tags = variant_tags(name)
    core = " ".join(_VARIANT_WORDS.sub(" ", _family_key(name)).split())
    queries = []
    for cue in sorted(situation_cues(text)):
        wanted = _CUE_EFFECTS[cue][0]
        if tags & wanted or cue not in _CUE_QUERIES:
            continue
        if any(variant_tags(n) & wanted and _one_family([name, n]) for _, n, _ in triples):
            continue
        verb = "dang ky" if core.startswith(("ket hon", "khai sinh", "khai tu", "nhan cha")) else ""
        queries.append(" ".join(f"{verb} {core} {_CUE_QUERIES[cue]}".split()))
    return queries


# --------------------------------------------------------------------------- labels

_TAG_LABELS = {
    "reissue": say("resolution.case.reissue"),
    "exchange": say("resolution.case.exchange"),
    "first": say("resolution.case.first"),
    "reregister": say("resolution.case.reregister"),
    "foreign": say("resolution.case.foreign"),
    "border": say("resolution.case.border"),
    "under14": say("resolution.case.under14"),
    "lost_report": say("resolution.case.lost_report"),
    "mobile": say("resolution.case.mobile"),
}
_MAX_LABEL = 40


def _clip(text: str, limit: int = _MAX_LABEL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,;") + "…"


_VARIANT_WORDS = re.compile(
    r"\b(?:thu tuc|cap lai|cap doi|cap|doi|dang ky lai|dang ky|co yeu to nuoc ngoai"
    r"|tai khu vuc bien gioi|cho nguoi duoi 14 tuoi|cho nguoi tu du 14 tuoi tro len|luu dong"
    r"|do bi mat|bi mat|hu hong|trinh bao mat)\b"
)


def _core_words(name: str) -> set[str]:
    """The words of a name without its variant and level words."""
    return set(_VARIANT_WORDS.sub(" ", _family_key(name)).split())


def _one_family(names: Sequence[str]) -> bool:
    """True when the names are variants of one procedure (same core words)."""
    cores = [_core_words(n) for n in names]
    for i, a in enumerate(cores):
        for b in cores[i + 1 :]:
            union = a | b
            if union and len(a & b) / len(union) < 0.6:
                return False
    return True


def _labels(options: Sequence[tuple[str, str, float]]) -> list[str]:
    """Short labels telling `options` apart: within one procedure family a
    variant label when each option has a distinct one ("Cấp lại (bị mất,
    hỏng)"), otherwise the clipped name."""
    names = [name for _, name, _ in options]
    plain = [_clip(_LEADING_THU_TUC_TITLE.sub("", name)) for name in names]
    if not _one_family(names):
        return plain if len(set(plain)) == len(plain) else [_clip(n, 60) for n in names]
    tags = [variant_tags(name) for name in names]
    labels: list[str] = []
    for i, own in enumerate(tags):
        others: set[str] = set().union(*(t for j, t in enumerate(tags) if j != i))
        distinct = [t for t in _TAG_LABELS if t in own and t not in others]
        labels.append(_TAG_LABELS[distinct[0]] if distinct else plain[i])
    return labels if len(set(labels)) == len(labels) else plain


def _question(labels: Sequence[str]) -> str:
    lowered = [label[:1].lower() + label[1:] for label in labels]
    return say("resolution.question", options=", ".join(lowered[:-1]), last=lowered[-1])


# --------------------------------------------------------------------------- resolve


def _triples(candidates: Iterable[Any]) -> list[tuple[str, str, float]]:
    """(code, name, score) from `Candidate`s or dicts; malformed ones are skipped."""
    out: list[tuple[str, str, float]] = []
    for item in candidates or ():
        if isinstance(item, Mapping):
            code, name, score = item.get("code"), item.get("name"), item.get("score")
        else:
            code = getattr(item, "code", None)
            name = getattr(item, "name", None)
            score = getattr(item, "score", None)
        try:
            value = float(score)  # type: ignore[arg-type]  # any object: ValueError/TypeError caught below
        except (TypeError, ValueError):
            continue
        if isinstance(code, str) and code:
            out.append((code, str(name or ""), value))
    return out


def resolve(candidates: Iterable[Any], text: str = "") -> Resolution:
    """The decision for a message's ranked `candidates` (best first or not).

    `candidates` are `catalog.search.Candidate`s or dicts with `code`, `name`
    and `score` (0..100; malformed items are ignored). `text` is what the
    citizen wrote; its situation cues re-rank the variants of a procedure
    family. Never raises on odd input: no usable candidate → `NONE`.
    """
    triples = _triples(candidates)
    if not triples:
        return Resolution(Outcome.NONE)
    cues = situation_cues(text)
    exact = {code for code, _, score in triples if score >= EXACT_SCORE}
    tagged = [(code, name, score, variant_tags(name)) for code, name, score in triples]
    best_by_family: dict[str, tuple[str, str, float]] = {}
    for code, name, score, tags in tagged:
        adjusted = _adjusted(score, tags, cues)
        # The plain variant gives way when the situation asks for a variant of
        # the same procedure that is among the candidates ("vợ người Hàn" →
        # kết hôn có yếu tố nước ngoài, not the plain kết hôn).
        for cue in cues:
            wanted = _CUE_EFFECTS[cue][0]
            if tags & wanted:
                continue
            if any(t & wanted and _one_family([name, n]) for _, n, _, t in tagged):
                adjusted -= CUE_PENALTY
                break
        family = _family_key(name)
        if family not in best_by_family or adjusted > best_by_family[family][2]:
            best_by_family[family] = (code, name, adjusted)
    ranked = sorted(best_by_family.values(), key=lambda t: (-t[2], t[0]))
    top_code, top_name, top = ranked[0]
    second = ranked[1][2] if len(ranked) > 1 else -1.0

    if top < SUGGESTION_SCORE:
        return Resolution(Outcome.NONE, tags=cues)
    best = (Option(top_code, top_name, round(top, 1)),)
    if top < MIN_SCORE:
        weak = [t for t in ranked if t[2] >= SUGGESTION_SCORE][:MAX_OPTIONS]
        suggestions = tuple(Option(c, n, round(s, 1)) for c, n, s in weak)
        return Resolution(Outcome.WEAK, suggestions, tags=cues)
    exact_alone = top_code in exact and second < top
    # A lone winner: nothing else within the option window, or the only
    # plausible candidate by a clear margin.
    lone = top - second >= OPTION_WINDOW or (
        top >= MIN_SCORE + LONE_MARGIN and second < MIN_SCORE and top - second >= LONE_MARGIN
    )
    if exact_alone or lone or (top >= CONFIDENT_SCORE and top - second >= AMBIGUITY_MARGIN):
        return Resolution(Outcome.CONFIDENT, best, tags=cues)
    close = [t for t in ranked if t[2] >= max(MIN_SCORE, top - OPTION_WINDOW)][:MAX_OPTIONS]
    if len(close) == 1:
        outcome = Outcome.CONFIDENT if top >= CONFIDENT_SCORE else Outcome.WEAK
        return Resolution(outcome, best, tags=cues)
    labels = _labels(close)
    options = tuple(
        Option(code, name, round(score, 1), label)
        for (code, name, score), label in zip(close, labels, strict=True)
    )
    return Resolution(Outcome.AMBIGUOUS, options, question=_question(labels), tags=cues)
