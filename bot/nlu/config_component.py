"""The base of our graph components that are made from their config alone.

Rasa builds a graph component through `create(config, model_storage, resource,
execution_context)`. The regex and procedure extractors and the intent guard
train nothing and store nothing, so all three are built the same way: the
defaults of `get_default_config()` overridden by `config.yml`, and training
data passed on unchanged. (The tokenizer keeps Rasa's `Tokenizer` base, which
tokenizes the training data, and its own `create` that warms underthesea up.)
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData


class ConfigOnlyComponent(GraphComponent):
    """A graph component built from its config alone (see the module doc).

    Subclasses read their settings from `self._config`."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        """Rasa's constructor hook: nothing is loaded, so `cls(config)`."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn: the training data goes on unchanged (entities or
        intents set on training examples are not needed downstream)."""
        return training_data
