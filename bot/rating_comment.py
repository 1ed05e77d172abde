"""The message after a bad rating is its comment, unless it is clearly something else.

After 👎 (or a rating ≤ 2) `action_save_rating` asks "bạn có muốn góp ý
thêm?". The citizen's next message is read here, after the NLU and before any
policy (wrapping `MessageProcessor.parse_message` like `bot.code_intent`):
it becomes `rate{"rating_comment": <text>}` — which the existing rule routes
to `action_save_rating`, so the shipped model needs no retraining — when

- the previous turn was exactly that: the latest user message was a `rate`
  with a rating of 1-2 and no comment, answered by `action_save_rating`;
- it is typed text (not a button payload) and no form is running;
- it is not clearly a new question or request: its intent is not one of
  `KEPT_INTENTS` with confidence ≥ `QUESTION_CONFIDENCE`, and it names no
  procedure confidently (a procedure candidate scoring ≥ the catalog's
  confident score). "lệ phí khai sinh bao nhiêu" is answered, "trả lời sai
  rồi, không đúng ý tôi" is stored as the comment;
- but feedback is a comment even with a confident intent: a message that
  does not end in a question ("?" or a question word such as "không", "sao",
  "gì", "bao nhiêu") and has a complaint cue (`FEEDBACK_CUES`: "khó hiểu",
  "thiếu", "sai", "chưa đúng", "dài dòng", …). "câu trả lời thiếu lệ phí, khó
  hiểu quá" is the comment (the NLU reads "lệ phí" as a fee question),
  "thiếu giấy tờ gì thì sao?" is answered.

Anything else is left alone (the window is that one message). A rating
that was refused (a dossier not the sender's, a malformed payload) asked for
no comment: the next message is read as usual.

A typed thumb ("👍", "👎🏻") is no comment. Right after a bot turn that
offered the rating buttons it is that tap: the message becomes the `rate`
its button would have sent (same rating, kind and dossier code). Otherwise
it is left to the NLU ("👍" may be a yes).
"""

from __future__ import annotations

import re
from typing import Any

from catalog.resolution import CONFIDENT_SCORE
from core.vietnamese import fold, nfc
from dossiers.rating_buttons import RATING_REFUSALS, payload_entities, typed_rating

RATING_INTENT = "rate"
QUESTION_CONFIDENCE = 0.7
# Intents that are a new question or request, never a comment.
KEPT_INTENTS = frozenset(
    {
        "ask_procedure", "ask_documents", "ask_fee", "ask_processing_time", "ask_agency",
        "ask_online", "ask_legal_basis", "inform", "submit_dossier", "check_status",
        "human_handoff", "cancel", "greet", "help", "goodbye", "deny", "thank", "faq",
    }
)
# Procedure candidates at or above this score name a procedure (one threshold, the catalog's).
CONFIDENT_CANDIDATE = CONFIDENT_SCORE
# Complaint / feedback cues (whole words). Matched with diacritics when the
# message has them ("sai" must not match "Sài Gòn"), folded when typed without.
FEEDBACK_CUES = (
    "khó hiểu", "không hiểu", "chưa hiểu", "thiếu", "sai", "chưa đúng", "không đúng",
    "dài dòng", "lan man", "rườm rà", "chưa rõ", "không rõ", "khó đọc", "không đủ",
    "chưa đủ", "vô ích", "không hữu ích", "chưa hữu ích", "chán", "tệ", "dở",
    "không liên quan", "lỗi thời", "cũ rồi", "nhầm",
)
# A message ending in one of these (or in "?") is a question, whatever its cues.
QUESTION_ENDINGS = (
    "không", "ko", "k", "chưa", "sao", "gì", "nào", "đâu", "bao nhiêu", "mấy", "hả",
    "nhỉ", "chứ", "ai", "bao giờ", "bao lâu", "được không",
)


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


def is_feedback(text: str) -> bool:
    """A complaint about the answer, not a question: no question at its end and
    at least one of `FEEDBACK_CUES` (module doc)."""
    lowered = " ".join(nfc(text).lower().split())
    folded = fold(text)
    accented = lowered != folded  # typed with diacritics: match them
    words = lowered if accented else folded
    stripped = words.rstrip(" .!…~")
    if stripped.endswith("?"):
        return False
    endings = QUESTION_ENDINGS if accented else tuple(fold(w) for w in QUESTION_ENDINGS)
    if any(stripped == w or stripped.endswith(" " + w) for w in endings):
        return False
    cues = FEEDBACK_CUES if accented else tuple(fold(c) for c in FEEDBACK_CUES)
    return any(_has_word(words, cue) for cue in cues)


def _rating_of(message: dict[str, Any]) -> tuple[int | None, bool]:
    """(score, has_comment) of a `rate` message's entities."""
    score: int | None = None
    commented = False
    for entity in message.get("entities") or []:
        if entity.get("entity") == "rating":
            try:
                score = int(float(str(entity.get("value"))))
            except ValueError:
                score = None
        elif entity.get("entity") == "rating_comment" and str(entity.get("value") or "").strip():
            commented = True
    return score, commented




def awaiting_comment(tracker: Any) -> bool:
    """True when the conversation's last turn was a bad rating without a comment
    that `action_save_rating` answered (the comment question), not refused."""
    if tracker is None or getattr(tracker, "active_loop_name", None):
        return False
    latest = getattr(tracker, "latest_message", None)
    parse = getattr(latest, "parse_data", None) or {}
    if ((parse.get("intent") or {}).get("name")) != RATING_INTENT:
        return False
    score, commented = _rating_of(parse)
    if score is None or score > 2 or commented:
        return False
    for event in reversed(list(getattr(tracker, "events", []) or [])):
        name = getattr(event, "action_name", None)
        kind = getattr(event, "type_name", "")
        if kind == "user":
            return False
        if kind == "bot" and getattr(event, "text", None) in RATING_REFUSALS:
            return False
        if name and name != "action_listen":
            return name == "action_save_rating"
    return False


def offered_rating(tracker: Any, rating: str) -> dict[str, Any] | None:
    """The payload entities of the `rating` button ("5"/"1") of the last bot
    turn (the bot messages since the previous user message), None when that
    turn offered no rating buttons."""
    if tracker is None:
        return None
    for event in reversed(list(getattr(tracker, "events", []) or [])):
        kind = getattr(event, "type_name", "")
        if kind == "user":
            return None
        if kind != "bot":
            continue
        for button in (getattr(event, "data", None) or {}).get("buttons") or []:
            entities = payload_entities((button or {}).get("payload"))
            if entities is not None and str(entities.get("rating")) == rating:
                return entities
    return None


def _as_tap(parse_data: dict[str, Any], entities: dict[str, Any]) -> dict[str, Any]:
    """`parse_data` as the `rate` message of the button with `entities`."""
    updated = dict(parse_data)
    updated["intent"] = {"name": RATING_INTENT, "confidence": 1.0}
    updated["intent_ranking"] = [{"name": RATING_INTENT, "confidence": 1.0}]
    updated["entities"] = [
        {"entity": name, "value": value, "extractor": "rating_comment"}
        for name, value in entities.items()
    ]
    return updated


def is_clearly_a_question(parse_data: dict[str, Any]) -> bool:
    """A new question or request (module doc), which must not be swallowed."""
    intent = parse_data.get("intent") or {}
    name = str(intent.get("name") or "").split("/")[0]
    confidence = intent.get("confidence")
    if name in KEPT_INTENTS and isinstance(confidence, (int, float)) and (
        confidence >= QUESTION_CONFIDENCE
    ):
        return True
    for candidate in parse_data.get("procedure_candidates") or []:
        try:
            if float(candidate.get("score") or 0) >= CONFIDENT_CANDIDATE:
                return True
        except (TypeError, ValueError, AttributeError):
            continue
    return False


def reinterpret(parse_data: dict[str, Any], tracker: Any) -> dict[str, Any]:
    """`parse_data` turned into the comment of the bad rating just given, or
    into the tap of a rating button for a typed thumb, when the module doc's
    conditions hold; unchanged otherwise."""
    text = str(parse_data.get("text") or "").strip()
    if not text or text.startswith("/"):
        return parse_data
    rating = typed_rating(text)
    if rating is not None:
        in_form = bool(getattr(tracker, "active_loop_name", None))
        offered = None if in_form else offered_rating(tracker, rating)
        return parse_data if offered is None else _as_tap(parse_data, offered)
    if not awaiting_comment(tracker):
        return parse_data
    if is_clearly_a_question(parse_data) and not is_feedback(text):
        return parse_data
    previous = getattr(tracker.latest_message, "parse_data", None) or {}
    kind = next(
        (e.get("value") for e in previous.get("entities") or []
         if e.get("entity") == "rating_kind"),
        "answer",
    )
    updated = dict(parse_data)
    updated["intent"] = {"name": RATING_INTENT, "confidence": 1.0}
    updated["intent_ranking"] = [{"name": RATING_INTENT, "confidence": 1.0}]
    updated["entities"] = [
        {"entity": "rating_comment", "value": text, "start": 0, "end": len(text),
         "extractor": "rating_comment"},
        {"entity": "rating_kind", "value": kind, "extractor": "rating_comment"},
    ]
    return updated


def install() -> None:
    """Run `reinterpret` after Rasa's NLU on every message (idempotent)."""
    from bot.rasa_server import after_parse

    after_parse("rating_comment", reinterpret)
