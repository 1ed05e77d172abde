"""Helpers shared by the custom actions: database access, message parsing,
button payloads, slot names.

Actions stay thin: facts come from `catalog`, dossiers from `dossiers`; this
module only adapts Rasa's tracker to those APIs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Tracker

from catalog import resolution
from catalog.answers import QUESTION_INTENTS  # noqa: F401  (re-exported for the actions)
from core.db import session_scope
from core.vietnamese import fold, is_procedure_code

log = logging.getLogger(__name__)


# Slots (names shared with bot/domain/*.yml).
SLOT_PROCEDURE = "procedure"
SLOT_OPTIONS = "procedure_options"
SLOT_PENDING_INTENT = "pending_intent"
SLOT_AWAITING_CHOICE = "awaiting_procedure_choice"
SLOT_AWAITING_PHONE = "awaiting_phone_last4"
SLOT_STATUS_CODE = "status_code_pending"
SLOT_DOSSIER_CODE = "dossier_code"

# Candidates asked of the search; a choice shows at most resolution.MAX_OPTIONS.
MAX_OPTIONS = 5

# The thresholds live in catalog.resolution (one place, with how they were
# chosen); re-exported for the actions that compare scores themselves.
CONFIDENT_SCORE = resolution.CONFIDENT_SCORE
AMBIGUITY_MARGIN = resolution.AMBIGUITY_MARGIN
MIN_SCORE = resolution.MIN_SCORE


# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------

# `db_session()` is the kernel's unit of work on the process-wide pool
# (`core.db`: one pool per database per process, shared with the channels):
# commit on success, roll back on error.
db_session = session_scope


def reset_caches() -> None:
    """Forget engines and catalog caches (tests point TTHC_DATABASE_URL elsewhere)."""
    import catalog

    catalog.reset_caches()


# ---------------------------------------------------------------------------
# Reading the tracker
# ---------------------------------------------------------------------------


def latest_intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def latest_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    return text if isinstance(text, str) else ""


def latest_entity(tracker: Tracker, entity: str) -> str | None:
    """Value of the first `entity` of the latest message, as a string."""
    for item in tracker.latest_message.get("entities") or []:
        if item.get("entity") == entity and item.get("value") not in (None, ""):
            value = item["value"]
            return value if isinstance(value, str) else str(value)
    return None


def channel_of(tracker: Tracker) -> str:
    """Input channel of the conversation; stored with dossiers so that equal
    sender ids of two channels never see each other's dossiers."""
    return tracker.get_latest_input_channel() or "unknown"


# ---------------------------------------------------------------------------
# Candidates from the NLU
# ---------------------------------------------------------------------------


def candidates_of(tracker: Tracker) -> list[dict[str, Any]] | None:
    """The ranked search hits the NLU attached to the latest message, or None
    when the message carried none (a button payload, a test story)."""
    raw = tracker.latest_message.get("procedure_candidates")
    if raw is None:
        return None
    out = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and is_procedure_code(item.get("code"), loose=True):
            try:
                score = float(item.get("score") or 0.0)
            except (TypeError, ValueError):
                score = 0.0
            out.append({"code": item["code"], "name": str(item.get("name") or ""), "score": score})
    out.sort(key=lambda c: -c["score"])
    return out


def is_ambiguous(candidates: Sequence[dict[str, Any]], text: str = "") -> bool:
    """Several variants remain: ask instead of guessing (`catalog.resolution`)."""
    return resolution.resolve(candidates, text).outcome is resolution.Outcome.AMBIGUOUS


def close_candidates(candidates: Sequence[dict[str, Any]], text: str = "") -> list[dict[str, Any]]:
    """The options worth offering when asking "which one?" (at most
    `resolution.MAX_OPTIONS`, each with a short `label`)."""
    return [o.as_dict() for o in resolution.resolve(candidates, text).options]


# ---------------------------------------------------------------------------
# Choosing among offered options: "2", "số 2", "cái thứ hai", a name
# ---------------------------------------------------------------------------

_ORDINALS = {
    "nhat": 1,
    "mot": 1,
    "dau": 1,
    "dau tien": 1,
    "hai": 2,
    "nhi": 2,
    "ba": 3,
    "tu": 4,
    "bon": 4,
    "nam": 5,
    "cuoi": -1,
    "cuoi cung": -1,
}
_NUMBER_RE = re.compile(r"(?<!\d)([1-9])(?!\d)")
_ORDINAL_RE = re.compile(
    r"(?:^|\b)(?:so|cai|muc|thu tuc|lua chon|chon|phuong an|y)?\s*(?:thu\s+)?"
    r"(nhat|mot|dau tien|dau|hai|nhi|ba|tu|bon|nam|cuoi cung|cuoi)\b"
)


def choice_index(text: str, count: int) -> int | None:
    """0-based index chosen by number or ordinal word, or None.

    "2", "số 2", "chọn 2", "cái thứ hai", "thứ 3", "cái cuối" all work; a
    number out of range gives None so the caller can re-ask.
    """
    folded = fold(text).strip()
    if not folded or len(folded) > 60:
        return None
    numbers = _NUMBER_RE.findall(folded)
    if len(numbers) == 1 and not re.search(r"\d{2,}", folded):
        index = int(numbers[0]) - 1
        return index if 0 <= index < count else None
    match = _ORDINAL_RE.search(folded)
    if match and ("thu" in folded or len(folded.split()) <= 3):
        value = _ORDINALS[match.group(1)]
        index = count - 1 if value == -1 else value - 1
        return index if 0 <= index < count else None
    return None


def choice_by_name(text: str, options: Sequence[dict[str, Any]]) -> int | None:
    """Index of the option whose name or button label the citizen typed (fuzzy,
    diacritics-insensitive), when exactly one option matches best. The label
    counts because it is what the question showed: "bị mất" picks "Cấp lại
    (bị mất)" (catalog.resolution's variant labels)."""
    from rapidfuzz import fuzz
    from rapidfuzz.utils import default_process

    folded = fold(text).strip()
    if len(folded) < 3:
        return None
    scores = [
        max(fuzz.token_set_ratio(folded, fold(o.get("name", ""))),
            # Labels carry punctuation ("Cấp lại (bị mất)"): compare words only.
            fuzz.token_set_ratio(folded, fold(o["label"]), processor=default_process)
            if o.get("label") else 0.0,
            100.0 if folded == fold(o.get("code", "")) else 0.0)
        for o in options
    ]
    if not scores:
        return None
    best = max(scores)
    if best < 70 or scores.count(best) > 1:
        return None
    return scores.index(best)


# ---------------------------------------------------------------------------
# Buttons
# ---------------------------------------------------------------------------


def intent_payload(intent: str, entities: dict[str, Any] | None = None) -> str:
    """A "/intent{json}" payload Rasa parses without the NLU model."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def button(title: str, payload: str) -> dict[str, str]:
    return {"title": title, "payload": payload}
