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
import re
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


# A typed thumb: the emoji alone, maybe repeated, with the skin-tone
# modifiers and variation selector phones add ("👍🏻", "👎️", "👍👍").
_THUMB_SCORES = {"\U0001F44D": "5", "\U0001F44E": "1"}
_THUMB_DECORATION = re.compile("[\uFE0E\uFE0F\U0001F3FB-\U0001F3FF\\s]")
RATING_PAYLOAD_PREFIX = "/rate"


def typed_rating(text: object) -> str | None:
    """The rating ("5" for 👍, "1" for 👎) of a message that is only a thumb
    emoji, as the buttons would send it; None for any other text."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    bare = _THUMB_DECORATION.sub("", text)
    if not bare or len(set(bare)) != 1:
        return None
    return _THUMB_SCORES.get(bare[0])


def payload_entities(payload: object) -> dict[str, Any] | None:
    """The entities of a rating button's payload (`/rate{...}`), None for
    another payload or one that is not a JSON object."""
    if not isinstance(payload, str) or not payload.startswith(RATING_PAYLOAD_PREFIX + "{"):
        return None
    try:
        entities = json.loads(payload[len(RATING_PAYLOAD_PREFIX):])
    except ValueError:
        return None
    return entities if isinstance(entities, dict) else None


# What `action_save_rating` answers when it stores nothing (a malformed payload,
# someone else's dossier, a thumb typed where no rating was offered): a rating
# followed by one of these asks for no comment (bot.rating_comment) and feeds
# no inbox item (training.inbox).
RATING_REFUSALS = frozenset(
    {say("rating.not_received"), say("rating.dossier_not_found"), say("rating.not_offered")}
)
