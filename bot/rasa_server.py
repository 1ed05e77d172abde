"""Rasa's command line with our per-message performance fixes applied.

`tthc run`, `make shell`, the end-to-end tests and the load benchmark start
Rasa as `python -m bot.rasa_server run ...` instead of `python -m rasa run ...`.
The arguments are Rasa's own; before handing over, this module replaces two
methods of Rasa 3.6.21 whose cost we measured on every message
(`benchmarks/conversation_load.py` under py-spy; see docs/benchmarks.md):

- `RemoteAction._validate_action_result` calls `jsonschema.validate(result,
  spec)` for every custom action the server runs. `validate` first checks the
  *schema* against its meta-schema and builds a new validator, ~49 ms per call
  on our machine, and a form message runs one or two custom actions. We build
  the validator once and check only the response (~2 ms). Rasa's behaviour is
  unchanged: the same schema, the same `ValidationError` with the same hint.
- `Event.resolve_by_type` walks the whole tree of Event subclasses (through
  `inspect.isabstract`) for each event it deserialises, and the SQL tracker
  store deserialises the whole conversation on every message (~10 % of the
  server's time). We keep a name -> class map, filled the same way (the first
  class in Rasa's walk order wins) and refreshed on a miss, so event classes
  imported later are still found.

The replacements are installed by `install()`, which checks it is patching the
Rasa version it was written against and does nothing otherwise.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
PATCHED_RASA_VERSION = "3.6.21"


@functools.lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    """The jsonschema validator of Rasa's action-server response format, built once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Rasa's RemoteAction._validate_action_result with a cached validator."""
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    try:
        _action_response_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise


_EVENT_CLASSES: dict[str, type] = {}


def _resolve_event_type(type_name: str, default: type | None = None) -> type | None:
    """Rasa's Event.resolve_by_type with a name -> class map."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    found = _EVENT_CLASSES.get(type_name)
    if found is None:
        for event_class in all_subclasses(Event):
            _EVENT_CLASSES.setdefault(event_class.type_name, event_class)
        found = _EVENT_CLASSES.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # Rasa: backwards compatibility with old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def after_parse(
    marker: str, transform: Callable[[dict[str, Any], Any], dict[str, Any]]
) -> None:
    """Wrap Rasa's `MessageProcessor.parse_message` so that `transform(parse_data,
    tracker)` rewrites the NLU's answer before any policy sees it (tracker may be
    None). Idempotent per `marker`: installing the same step twice wraps once.
    Used by the steps that read a message in the light of the conversation
    (form answers, pasted dossier codes)."""
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor.parse_message
    flag = f"_tthc_{marker}"
    wrapped: Any = original
    while wrapped is not None:  # any layer of the chain may already be this step
        if getattr(wrapped, flag, False):
            return
        wrapped = getattr(wrapped, "__wrapped__", None)

    @functools.wraps(original)
    async def parse_message(
        self: Any, message: Any, tracker: Any = None, only_output_properties: bool = True
    ) -> dict[str, Any]:
        parse_data = await original(self, message, tracker, only_output_properties)
        return transform(parse_data, tracker)

    setattr(parse_message, flag, True)
    MessageProcessor.parse_message = parse_message


class HandleMessageLayer:
    """One gate in front of Rasa's `MessageProcessor.handle_message`.

    A gate module keeps one layer; its `handle_message(self, message)` hands
    what it does not take to `layer.original(self, message)`, the handler that
    was in place when the gate was installed. Gates installed later stack on
    top, so installation order is the order they see a message (last first)."""

    def __init__(self) -> None:
        self.original: Any = None

    def install(self, handler: Callable[..., Any]) -> bool:
        """Put `handler` in front of the current `handle_message`; False (and
        nothing changed) when this layer is already installed."""
        from rasa.core.processor import MessageProcessor

        if self.original is not None:
            return False
        self.original = MessageProcessor.handle_message
        MessageProcessor.handle_message = handler
        return True


# Start of Rasa 3.6's warnings that quote a whole `/intent{...}` message
# (rasa/shared/core/training_data/story_reader/yaml_story_reader.py).
PAYLOAD_WARNING_PREFIX = "Failed to parse arguments in line"


def install() -> bool:
    """Apply the fixes; False (and nothing changed) on another Rasa version."""
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event

    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_event_type)
    # Not a speed fix: answers to the dossier form's question are read as
    # answers before any intent (issue 14; see bot/form_answers.py).
    from bot import form_answers

    form_answers.install()
    # Not a speed fix either: Rasa warns about a malformed `/intent{...}` line by
    # quoting the whole line, so anything a citizen typed after the intent (an ID
    # number, a phone) would reach the server's log. The message is still parsed
    # as Rasa parses it; only the quoting is dropped.
    _unquote_payload_warnings()
    return True


def _unquote_payload_warnings() -> None:
    """Replace Rasa's warnings that quote a citizen's `/...` message by one that
    does not. At the source, not with a `warnings` filter: Rasa's start-up puts
    its own "once" filter in front of every filter installed before it (found
    when the filter alone still let the ID number through the live server)."""
    import rasa.shared.utils.io as rasa_io
    from rasa.shared.core.training_data.story_reader import yaml_story_reader as reader

    original = rasa_io.raise_warning
    if getattr(original, "_tthc_unquoted", False):
        return

    def raise_warning(message: Any, category: Any = None, docs: Any = None, **kwargs: Any) -> None:
        if isinstance(message, str) and message.startswith(PAYLOAD_WARNING_PREFIX):
            log.warning("a /intent{...} message was partly malformed (text not logged)")
            return
        original(message, category, docs, **kwargs)

    raise_warning._tthc_unquoted = True  # type: ignore[attr-defined]  # idempotence marker
    rasa_io.raise_warning = raise_warning
    reader.structlogger = _UnquotedLogger(reader.structlogger)


class _UnquotedLogger:
    """Rasa's structlog logger of the story reader, without the `user_text` it
    attaches to "message.parsing.failed" (a `/...` message that is no payload)."""

    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped

    def warning(self, event: str, **values: Any) -> Any:
        if "user_text" in values:
            values["user_text"] = "(not logged)"
        return self._wrapped.warning(event, **values)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


def main() -> None:
    install()
    from bot import handoff_gate, supplement_gate

    supplement_gate.install()  # "đã bổ sung xong" while a supplement waits (issue 13)
    from bot import code_intent

    code_intent.install()  # a pasted dossier code the classifier missed is a look-up
    from bot import rating_comment

    rating_comment.install()  # the message after 👎 is its comment (issue 12)

    handoff_gate.install()  # silent while an officer holds a conversation
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
