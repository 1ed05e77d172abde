"""A message that carries a dossier code and that the classifier could not
place is a status look-up.

Citizens paste the codes they hold, ours ("hs–7k3m–9qxp") or the
one-stop-shop's national ones ("000.00.10.H12-251120-0003"), often with a few
words around them. The rule-based extractor (`bot.nlu.entities`) always finds
them, but the intent classifier has seen few or none of the national ones and
answers `nlu_fallback` ("tôi chưa hiểu ý bạn") or, misled by the digits, a
procedure question. Here, after the NLU, a message with a `dossier_code`
entity becomes `check_status` unless its intent is one that uses a code
itself (cancel, hand-off, submission, look-up) or a form is running (its
answers are the form's business). A message that is nothing but a code
("HS-AAAA-BBBB") is a look-up whatever the intent: the classifier reads the
letters of a code as words ("BBBB" as "bb", bye-bye: `goodbye`), and a code
alone can mean nothing else. Works with the shipped model (no
retraining), by wrapping `MessageProcessor.parse_message` like
`bot.form_answers`.
"""

from __future__ import annotations

import re
from typing import Any

from core.vietnamese import without_codes

STATUS_INTENT = "check_status"
# Intents that keep a dossier code for themselves ("rate": the 👍/👎 of a
# dossier carries its code, `/rate{..."dossier_code": …}`, and is no look-up).
KEPT_INTENTS = frozenset(
    {STATUS_INTENT, "cancel", "human_handoff", "submit_dossier", "deny", "goodbye", "help",
     "rate"}
)


# What may surround a code in a message that is only the code: spaces and
# punctuation ("HS-AAAA-BBBB.", "“HS-7K3M-9QXP”"), no letter or digit.
_NOTHING_ELSE = re.compile(r"[\W_]*")


def is_only_a_code(text: str) -> bool:
    """True when `text` is one or more dossier codes (ours or national) and
    nothing else but spaces and punctuation."""
    if not text or text.lstrip().startswith("/"):  # a button payload: its intent is given
        return False
    rest, found = without_codes(text)
    return bool(found) and _NOTHING_ELSE.fullmatch(rest) is not None


def reinterpret(parse_data: dict[str, Any], in_form: bool = False) -> dict[str, Any]:
    """`parse_data` with the intent set to check_status when it carries a
    dossier code and no intent that uses one, or is only a code (see module
    doc); unchanged otherwise, and always unchanged while a form runs
    (`in_form`)."""
    intent = (parse_data.get("intent") or {}).get("name")
    if in_form or intent == STATUS_INTENT:
        return parse_data
    if intent in KEPT_INTENTS and not is_only_a_code(str(parse_data.get("text") or "")):
        return parse_data
    entities = parse_data.get("entities") or []
    if not any(e.get("entity") == "dossier_code" and e.get("value") for e in entities):
        return parse_data
    updated = dict(parse_data)
    updated["intent"] = {"name": STATUS_INTENT, "confidence": 1.0}
    ranking = [r for r in parse_data.get("intent_ranking") or [] if r.get("name") != STATUS_INTENT]
    updated["intent_ranking"] = [{"name": STATUS_INTENT, "confidence": 1.0}, *ranking]
    return updated


def install() -> None:
    """Run `reinterpret` after Rasa's NLU on every message (idempotent)."""
    from bot.rasa_server import after_parse

    after_parse(
        "code_intent",
        lambda parse_data, tracker: reinterpret(
            parse_data, bool(getattr(tracker, "active_loop_name", None)) if tracker else False
        ),
    )
