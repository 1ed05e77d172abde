"""Citizen-facing wording (issue 15.6): one file, one voice, every key used and defined.

The code is scanned (``ast``) for ``say("key", name=...)`` calls: each key must exist in
``core/wording/vi.yml`` with exactly the placeholders passed, every key of the file must be
used, and the Rasa responses generated from it must be the committed ones.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from core.wording import MissingPlaceholder, messages, placeholders, say
from core.wording.rasa import RESPONSE_BUTTONS, RESPONSE_PREFIX, render_responses

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("actions", "bot", "catalog", "console", "core", "dossiers", "training")
IMPORTS_SAY = re.compile(r"^\s*from core\.wording import [^\n]*\bsay\b", re.M)
RESPONSES_FILE = ROOT / "bot" / "domain" / "responses.yml"


def _say_calls() -> list[tuple[str, int, str | None, frozenset[str] | None]]:
    """(file, line, key or None when not a literal, keyword names or None with **values)."""
    calls = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            if not IMPORTS_SAY.search(source) and not path.is_relative_to(ROOT / "core/wording"):
                continue  # another function called say (e.g. a CLI's print helper)
            tree = ast.parse(source, filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name != "say" or not node.args:
                    continue
                first = node.args[0]
                key = first.value if isinstance(first, ast.Constant) else None
                if any(k.arg is None for k in node.keywords):
                    names = None
                else:
                    names = frozenset(k.arg for k in node.keywords if k.arg != "language")
                rel = str(path.relative_to(ROOT))
                calls.append((rel, node.lineno, key if isinstance(key, str) else None, names))
    return calls


CALLS = _say_calls()


def test_the_code_uses_wording() -> None:
    assert len(CALLS) > 50  # the scan itself works (a broken scan would pass everything)


def test_every_key_is_a_literal_and_exists_with_its_placeholders() -> None:
    texts = messages()
    problems = []
    for file, line, key, names in CALLS:
        where = f"{file}:{line}"
        if file.startswith("core/wording/"):
            continue  # the loader and the generator pass keys through
        if key is None:
            problems.append(f"{where}: say() needs a literal key (the test cannot check others)")
        elif key not in texts:
            problems.append(f"{where}: unknown wording key {key!r}")
        elif names is not None and names != placeholders(key):
            problems.append(
                f"{where}: {key!r} has placeholders {sorted(placeholders(key))}, "
                f"the code passes {sorted(names)}"
            )
    assert not problems, "\n".join(problems)


def test_no_unused_key() -> None:
    used = {key for _f, _l, key, _n in CALLS if key}
    used |= {title for buttons in RESPONSE_BUTTONS.values() for title, _payload in buttons}
    unused = [k for k in messages() if k not in used and not k.startswith(RESPONSE_PREFIX)]
    assert not unused, f"keys of vi.yml no code says: {unused}"


def test_one_voice_toi_ban() -> None:
    """The assistant is "tôi", the citizen "bạn": no "em", "anh/chị" (issue 15.6)."""
    other_voice = re.compile(r"\b[Aa]nh/chị\b|\b[Aa]nh chị\b|\bEm\b|(?<!trẻ )\bem\b")
    wrong = {k: t for k, t in messages().items() if other_voice.search(t)}
    assert not wrong, wrong


def test_committed_rasa_responses_are_current() -> None:
    assert RESPONSES_FILE.read_text(encoding="utf-8") == render_responses(), (
        "bot/domain/responses.yml is stale: run `tthc domain build`"
    )
    domain = yaml.safe_load(RESPONSES_FILE.read_text(encoding="utf-8"))
    assert domain["responses"]["utter_out_of_scope"][0]["buttons"] == [
        {"title": "📋 Tôi làm được gì", "payload": "/help"}
    ]
    # ONE source: no other domain file writes responses by hand.
    for other in sorted((ROOT / "bot" / "domain").glob("*.yml")):
        if other != RESPONSES_FILE:
            assert "responses" not in (yaml.safe_load(other.read_text("utf-8")) or {}), other


def test_say_fills_placeholders() -> None:
    assert say("channel.text_cut", limit=4000).startswith("Tin nhắn của bạn rất dài")
    assert "4000 ký tự" in say("channel.text_cut", limit=4000)
    assert say("channel.expired_button", unused="ignored") == say("channel.expired_button")


def test_unknown_key_and_missing_placeholder_are_loud() -> None:
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        say("no.such.key")
    with pytest.raises(MissingPlaceholder, match="limit"):
        say("channel.text_cut")


def test_a_malformed_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.wording as wording

    for bad in ("a:\n  b: 3\n", "a: 'x {} y'\n", "a: 'x {oops'\n", "'a.b': x\n"):
        (tmp_path / "xx.yml").write_text(bad, encoding="utf-8")
        monkeypatch.setattr(wording, "WORDING_DIR", tmp_path)
        wording.messages.cache_clear()
        try:
            with pytest.raises(ValueError):
                wording.messages("xx")
        finally:
            monkeypatch.undo()
            wording.messages.cache_clear()


def test_wording_imports_no_outer_layer() -> None:
    outer = re.compile(
        r"^\s*(?:from|import)\s+(actions|bot|catalog|console|dossiers|training)\b", re.M
    )
    for path in (ROOT / "core" / "wording").rglob("*.py"):
        assert not outer.search(path.read_text(encoding="utf-8")), path
