"""bot.rasa_server: Rasa's action-response validation, with the validator built once."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_server

VALID = {
    "events": [{"event": "slot", "name": "full_name", "value": "Lê Văn Hùng", "timestamp": None}],
    "responses": [
        {"text": "Ngày sinh của bạn?", "buttons": [{"title": "Hủy", "payload": "/cancel"}]}
    ],
}


@pytest.fixture(scope="module")
def remote_action() -> RemoteAction:
    assert rasa_server.install(), "bot.rasa_server no longer matches the installed Rasa"
    return RemoteAction("validate_dossier_form", None)


def test_install_replaces_rasa_validation(remote_action: RemoteAction) -> None:
    assert RemoteAction._validate_action_result is rasa_server._validate_action_result


def test_valid_response_passes(remote_action: RemoteAction) -> None:
    assert remote_action._validate_action_result(VALID) is True
    assert remote_action._validate_action_result({"events": [], "responses": []}) is True


@pytest.mark.parametrize(
    "response",
    [
        {"events": "not a list"},
        {"events": [{"name": "full_name"}]},  # an event without its type
        {"events": [{"event": "slot", "timestamp": "yesterday"}]},
    ],
)
def test_invalid_response_is_rejected_with_rasa_hint(
    remote_action: RemoteAction, response: dict
) -> None:
    with pytest.raises(ValidationError) as raised:
        remote_action._validate_action_result(response)
    assert "Failed to validate Action server response" in raised.value.message


def test_event_types_resolve_as_in_rasa(remote_action: RemoteAction) -> None:
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
    from rasa.shared.utils.common import all_subclasses

    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("action") is ActionExecuted
    for event_class in all_subclasses(Event):  # the first class of Rasa's walk wins
        first = next(c for c in all_subclasses(Event) if c.type_name == event_class.type_name)
        assert Event.resolve_by_type(event_class.type_name) is first
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no-such-event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no-such-event")
    events = [SlotSet("full_name", "Lê Văn Hùng"), UserUttered("xin chào")]
    assert [Event.from_parameters(e.as_dict()) for e in events] == events


def test_event_class_defined_later_is_found(remote_action: RemoteAction) -> None:
    from rasa.shared.core.events import Event, SlotSet

    Event.resolve_by_type("slot")  # fills the map

    class LateEvent(SlotSet):
        type_name = "tthc_test_late_event"

    assert Event.resolve_by_type("tthc_test_late_event") is LateEvent


def test_validator_is_built_once() -> None:
    assert rasa_server._action_response_validator() is rasa_server._action_response_validator()


@pytest.mark.parametrize(
    "text",
    [
        '/affirm{"so_cccd": "001090123456", "phone": "0912345678"}',  # so_cccd: not an entity
        '/submit_dossier{"so_cccd": "001090123456"',  # no closing brace
        '/inform{so_cccd:001090123456, phone: 0912345678}',  # not JSON
        '/nonexistent_intent{"citizen_id": "001090123456"}',  # not an intent
        "/001090123456",
        '/{"phone": "0912345678"}',  # no intent at all: Rasa's structlog warning
    ],
)
def test_a_malformed_payload_line_is_not_quoted_in_the_log(
    text: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Fresh-user trial: Rasa's warnings quoted the whole line (ID number, phone)
    # on the server's output. Rasa's start-up puts its own "once" filter in front
    # of any filter, so the test does the same before parsing.
    import warnings

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.training_data.message import Message

    rasa_server.install()
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("once", category=UserWarning)
        YAMLStoryReader.unpack_regex_message(
            Message(data={"text": text}), domain=Domain.load("bot/domain")
        )
    shown = [str(w.message) for w in caught]
    out = capsys.readouterr()
    everything = " ".join([*shown, out.out, out.err, caplog.text])
    assert "001090123456" not in everything and "0912345678" not in everything
