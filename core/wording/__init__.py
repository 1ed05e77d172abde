"""Citizen-facing wording: every sentence the assistant says to a citizen, in one file per
language, in one voice ("tôi" for the assistant, "bạn" for the citizen).

The texts live in ``core/wording/vi.yml`` (nested YAML; a text's key is its dotted path, e.g.
``status.ask_phone_last4``). Officers and maintainers change wording there without reading code;
the code only names keys::

    from core.wording import say
    say("status.ask_phone_last4", code="HS-7K3M-9QXP")

Placeholders are ``{name}`` (``str.format`` syntax; write ``{{``/``}}`` for a literal brace).
Texts under ``responses.`` are Rasa responses (``utter_*``), rendered into
``bot/domain/responses.yml`` by ``bot.domain_responses``. The file is read once per process
(it is immutable data, so caching it is fine); ``tests/core/test_wording.py`` checks that every
key the code uses exists, no key is unused and placeholders match.
"""
from __future__ import annotations

import string
from functools import cache
from pathlib import Path
from typing import Any

import yaml

WORDING_DIR = Path(__file__).resolve().parent
DEFAULT_LANGUAGE = "vi"

__all__ = [
    "DEFAULT_LANGUAGE", "WORDING_DIR", "MissingPlaceholder", "messages", "placeholders", "say",
]


class MissingPlaceholder(ValueError):
    """A text needs a ``{placeholder}`` the caller did not pass (names the key and the field)."""


def _flatten(node: Any, prefix: str, out: dict[str, str], path: Path) -> None:
    if isinstance(node, dict):
        for name, child in node.items():
            if not isinstance(name, str) or not name or "." in name:
                raise ValueError(f"{path}: bad wording key {name!r} under {prefix or '<root>'}")
            _flatten(child, f"{prefix}.{name}" if prefix else name, out, path)
        return
    if not isinstance(node, str):
        raise ValueError(f"{path}: {prefix} must be a text, not {type(node).__name__}")
    placeholders_of(node, key=prefix)  # a malformed {…} fails at load time, not mid-chat
    out[prefix] = node


@cache
def messages(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """Every text of ``core/wording/<language>.yml`` as ``{dotted key: text}``.

    Read once per process. Raises ``FileNotFoundError`` for a language without a file and
    ``ValueError`` for a malformed file (non-text leaves, dotted or empty names, bad braces)."""
    path = WORDING_DIR / f"{language}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, str] = {}
    _flatten(data, "", out, path)
    return out


def placeholders_of(text: str, key: str = "") -> frozenset[str]:
    """The ``{name}`` fields of one text. Raises ``ValueError`` for positional (``{}``/``{0}``)
    or unbalanced braces."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"wording {key!r}: {exc}") from None
    for _literal, field, _spec, _conv in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise ValueError(f"wording {key!r}: placeholder {{{field}}} must be a name")
        names.add(field)
    return frozenset(names)


def placeholders(key: str, language: str = DEFAULT_LANGUAGE) -> frozenset[str]:
    """The placeholder names of the text ``key`` (``KeyError`` if there is no such key)."""
    return placeholders_of(messages(language)[key], key)


def say(key: str, /, *, language: str = DEFAULT_LANGUAGE, **values: Any) -> str:
    """The text ``key`` with its ``{placeholders}`` filled from ``values``.

    Raises ``KeyError`` for an unknown key and ``MissingPlaceholder`` when a placeholder of the
    text has no value. Extra values are ignored, so removing a placeholder from the wording
    never breaks a conversation (the wording test still reports it)."""
    try:
        text = messages(language)[key]
    except KeyError:
        raise KeyError(f"no citizen wording {key!r} in {language}.yml") from None
    missing = placeholders_of(text, key) - values.keys()
    if missing:
        given = ", ".join(sorted(values)) or "nothing"
        raise MissingPlaceholder(f"wording {key!r} needs {', '.join(sorted(missing))}; got {given}")
    return text.format(**values) if "{" in text or "}" in text else text
