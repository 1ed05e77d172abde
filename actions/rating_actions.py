"""Ratings (issue 12): one tap after an answer or a finished dossier.

`rating_buttons(...)` gives the two buttons (👍 / 👎) any action can append
to its reply; they send `/rate{"rating": "5"|"1", "rating_kind": ...}`, which
Rasa routes to `action_save_rating` (rule in nlu_data/rules/ratings.yml, no
NLU involved). A web client may also send 1..5 and a `rating_comment`.
Contract for other helpers: /work/coord/ratings.md.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common as c


def rating_buttons(kind: str = "answer", dossier_code: str | None = None) -> list[dict[str, str]]:
    """The 👍 / 👎 buttons for an answer (kind "answer") or a dossier ("dossier")."""
    extra: dict[str, Any] = {"rating_kind": kind}
    if dossier_code:
        extra["dossier_code"] = dossier_code
    return [
        c.button("👍 Hữu ích", c.intent_payload("rate", {"rating": "5", **extra})),
        c.button("👎 Chưa được", c.intent_payload("rate", {"rating": "1", **extra})),
    ]


class ActionSaveRating(Action):
    """Stores the citizen's rating (training.ratings) and thanks them."""

    def name(self) -> str:
        return "action_save_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        from training.ratings import RatingError, record_rating

        entities = {e.get("entity"): e.get("value") for e in tracker.latest_message.get(
            "entities") or []}
        kind = str(entities.get("rating_kind") or "answer")
        try:
            with c.db_session() as session:
                rating = record_rating(
                    session, tracker.sender_id, c.channel_of(tracker), entities.get("rating"),
                    kind=kind if kind in ("answer", "dossier") else "answer",
                    comment=str(entities.get("rating_comment") or ""),
                    procedure=tracker.get_slot("procedure"),
                    dossier_code=entities.get("dossier_code"),
                )
                score = rating.score
        except RatingError:
            dispatcher.utter_message(text="Xin lỗi, tôi chưa nhận được đánh giá. Bạn bấm lại nhé.")
            return []
        if score <= 2:
            dispatcher.utter_message(
                text="Cảm ơn bạn đã cho biết. Câu hỏi này sẽ được chuyển để cải thiện trợ lý. "
                "Bạn có thể hỏi lại theo cách khác, hoặc gặp cán bộ để được hỗ trợ.",
                buttons=[c.button("👤 Gặp cán bộ", c.intent_payload("human_handoff"))],
            )
        else:
            dispatcher.utter_message(text="Cảm ơn bạn đã đánh giá!")
        return []
