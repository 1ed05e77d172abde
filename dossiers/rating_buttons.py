"""The 👍 / 👎 rating buttons (issue 12), one definition for every layer.

The actions offer them in the chat (`actions.rating_actions`, re-exported
there), and the dossier service attaches them to the pushed notification of a
finished dossier (`dossiers.service.change_status`), which lives below the
actions layer and must not import it. Each button sends
`/rate{"rating": "5"|"1", "rating_kind": ..., "dossier_code"?: ...}`, which
Rasa routes to `action_save_rating` without the NLU (rule in
nlu_data/rules/ratings.yml), whatever the channel the tap came from.
"""

from __future__ import annotations

import json
from typing import Any

from core.wording import say

# Dossier statuses after which the citizen is asked to rate the dossier.
RATED_STATUSES: tuple[str, ...] = ("completed", "rejected")


def _payload(intent: str, entities: dict[str, Any]) -> str:
    # Same "/intent{json}" form as actions.common.intent_payload (compact JSON).
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def rating_buttons(kind: str = "answer", dossier_code: str | None = None) -> list[dict[str, str]]:
    """The 👍 / 👎 buttons (Rasa shape `{"title", "payload"}`) for an answer
    (kind "answer") or a dossier ("dossier", with its code)."""
    extra: dict[str, Any] = {"rating_kind": kind}
    if dossier_code:
        extra["dossier_code"] = dossier_code
    return [
        {
            "title": say("rating.useful_button"),
            "payload": _payload("rate", {"rating": "5", **extra}),
        },
        {
            "title": say("rating.not_useful_button"),
            "payload": _payload("rate", {"rating": "1", **extra}),
        },
    ]
