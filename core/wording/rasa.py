"""Rasa responses (``utter_*``) rendered from the wording file, so the texts Rasa says itself
have the same single source as the texts the actions say.

``render_responses()`` returns the whole text of ``bot/domain/responses.yml``; ``tthc domain
build`` writes it (``bot.domain_build.GENERATED``) and ``--check``/the tests compare it with the
committed file. Buttons are structure, not wording: their payloads are listed here, their
titles are keys of ``vi.yml``.
"""
from __future__ import annotations

import yaml

from core.wording import DEFAULT_LANGUAGE, messages, say

RESPONSE_PREFIX = "responses."

# response name -> ((wording key of the button title, payload), ...)
RESPONSE_BUTTONS: dict[str, tuple[tuple[str, str], ...]] = {
    "utter_out_of_scope": (("button.what_i_do", "/help"),),
}

HEADER = (
    "# GENERATED from core/wording/vi.yml by `tthc domain build` — do not edit.\n"
    "# Change a text in core/wording/vi.yml (keys responses.utter_*), then run\n"
    "# `tthc domain build`; a test fails while this file is stale.\n"
)


def response_keys(language: str = DEFAULT_LANGUAGE) -> list[str]:
    """The wording keys under ``responses.`` (one per Rasa response), in file order."""
    return [key for key in messages(language) if key.startswith(RESPONSE_PREFIX)]


def render_responses(language: str = DEFAULT_LANGUAGE) -> str:
    """The full text of ``bot/domain/responses.yml`` (Rasa 3.1 domain format)."""
    responses: dict[str, list[dict[str, object]]] = {}
    for key in response_keys(language):
        name = key[len(RESPONSE_PREFIX):]
        entry: dict[str, object] = {"text": say(key, language=language)}
        buttons = RESPONSE_BUTTONS.get(name, ())
        if buttons:
            entry["buttons"] = [
                {"title": say(title, language=language), "payload": payload}
                for title, payload in buttons
            ]
        responses[name] = [entry]
    unknown = set(RESPONSE_BUTTONS) - set(responses)
    if unknown:
        raise KeyError(f"buttons for responses missing from {language}.yml: {sorted(unknown)}")
    body = yaml.safe_dump(
        {"version": "3.1", "responses": responses},
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    return HEADER + body
