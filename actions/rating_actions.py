"""Ratings (issue 12): one tap after an answer or a dossier, and a comment.

When the buttons are offered (kept sparse so the chat is not cluttered):
- a procedure answer: on the FIRST answer about a procedure in the
  conversation (no earlier bot message of the conversation offered them for
  that procedure); follow-up questions about the same procedure get no new buttons
  (`actions.procedure_actions._answer`);
- a dossier: on the "filed, your code is …" message, and when the citizen
  looks up a dossier that is finished (completed or rejected)
  (`actions.dossier_actions`, `actions.status_actions`); a dossier rating is
  stored only for a dossier this sender filed on this channel.

Rating the same thing again (same sender, channel and procedure or dossier)
updates the earlier rating (`training.ratings.record_rating`).

`rating_buttons(...)` (defined in `dossiers.rating_buttons`, shared with the
pushed notification of a finished dossier) gives the two buttons (👍 / 👎); they send
`/rate{"rating": "5"|"1", "rating_kind": ...}`, which Rasa routes to
`action_save_rating` (rule in nlu_data/rules/ratings.yml, no NLU involved).
Every channel renders them as one-tap buttons: Telegram inline keyboard
(callback id → payload), Zalo `oa.query.show` (the payload comes back as the
message), web chat and REST (buttons in the JSON). A payload can be typed by
anyone, so it is validated: rating 1..5 (or 👍/👎), kind "answer"/"dossier",
a dossier code of the usual shape.

A thumb typed right after the buttons counts as the tap (`bot.rating_comment`);
one typed when nothing was offered is not stored, and not thanked.

After a bad rating (≤ 2) the assistant asks for an optional comment; the
citizen's next free-text message is stored as that rating's comment
(scrubbed of personal data) unless it is clearly a new question or request
(`bot.rating_comment` decides, after the NLU, and sends it here as
`rate{"rating_comment": …}` without a rating).
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common as c
from core.wording import say
from dossiers.rating_buttons import (
    rating_buttons,  # noqa: F401 (re-exported for the actions)
    typed_rating,
)

RATING_KINDS = ("answer", "dossier")
# Ours (HS-XXXX-XXXX) or a one-stop-shop code (000.00.10.H12-251120-0003).
_DOSSIER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{3,63}$")
COMMENT_PROMPT = say("rating.comment_prompt")
# Entities a rating payload carries at most once.
_SINGLE = ("rating", "rating_kind", "dossier_code", "rating_comment")


def _own_dossier_code(session: Any, code: str, tracker: Tracker) -> str | None:
    """The stored code of dossier `code` when this sender filed it on this
    channel (who else could rate it?), else None — whether it does not exist
    or is someone else's (the reply does not tell which)."""
    from dossiers.service import DossierError, get_dossier

    try:
        view = get_dossier(session, code, sender_id=tracker.sender_id,
                           channel=c.channel_of(tracker))
    except DossierError:
        return None
    return str(view.code)


class ActionSaveRating(Action):
    """Stores the citizen's rating (training.ratings) and thanks them; a
    message carrying only a `rating_comment` adds it to their latest rating."""

    def name(self) -> str:
        return "action_save_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        from training.ratings import RatingError, add_comment, record_rating

        found = [(e.get("entity"), e.get("value")) for e in tracker.latest_message.get(
            "entities") or []]
        entities = dict(found)
        # A typed `/rate{"rating":[1,2]}` comes as one entity per item: refused.
        names = [name for name, _ in found if name in _SINGLE]
        if len(names) != len(set(names)):
            dispatcher.utter_message(text=say("rating.not_received"))
            return []
        comment = str(entities.get("rating_comment") or "")
        if entities.get("rating") in (None, "") and typed_rating(
            comment.strip() or c.latest_text(tracker).strip()
        ):
            # A thumb typed when no rating was offered (`bot.rating_comment`
            # makes it the tap when one was): nothing is stored, so no thanks.
            dispatcher.utter_message(text=say("rating.not_offered"))
            return []
        if entities.get("rating") in (None, "") and comment.strip():
            with c.db_session() as session:
                stored = add_comment(session, tracker.sender_id, c.channel_of(tracker), comment)
            dispatcher.utter_message(
                text=say("rating.comment_saved") if stored else say("rating.comment_thanks")
            )
            return []
        kind = str(entities.get("rating_kind") or "answer")
        code = entities.get("dossier_code")
        try:
            if kind not in RATING_KINDS:
                raise RatingError(f"unknown rating kind {kind!r}")
            if code is not None and not _DOSSIER_CODE.match(str(code)):
                raise RatingError("not a dossier code")
            if (kind == "dossier") != (code is not None):
                raise RatingError("a dossier code goes with a dossier rating only")
            with c.db_session() as session:
                if code is not None:
                    code = _own_dossier_code(session, str(code), tracker)
                    if code is None:
                        dispatcher.utter_message(text=say("rating.dossier_not_found"))
                        return []
                rating = record_rating(
                    session, tracker.sender_id, c.channel_of(tracker), entities.get("rating"),
                    kind=kind,
                    comment=comment,
                    procedure=tracker.get_slot("procedure"),
                    dossier_code=str(code) if code else None,
                )
                score = rating.score
        except RatingError:
            dispatcher.utter_message(text=say("rating.not_received"))
            return []
        if score <= 2 and not comment.strip():
            dispatcher.utter_message(
                text=COMMENT_PROMPT,
                buttons=[c.button(say("button.human"), c.intent_payload("human_handoff"))],
            )
        elif score <= 2:
            dispatcher.utter_message(
                text=say("rating.low_with_comment"),
                buttons=[c.button(say("button.human"), c.intent_payload("human_handoff"))],
            )
        else:
            dispatcher.utter_message(text=say("rating.thanks"))
        return []
