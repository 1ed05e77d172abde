"""`tthc evaluate --dialogue` end to end on a handful of messages: the real
action server and Rasa server (the session's `servers`, newest model in
models/), each message from a fresh sender, classified and reported. The full
sets run in `make test` through the CLI; this checks the plumbing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu import dialogue_eval as de
from tests.e2e.conftest import Servers

pytestmark = pytest.mark.slow


def test_a_few_messages_through_the_real_dialogue(servers: Servers, tmp_path: Path) -> None:
    bare = de.load_items(de.DEFAULT_BARE_NAMES, de.BARE)[:3]
    real = de.load_items(de.DEFAULT_REAL_MESSAGES, de.REAL)
    items = bare + [i for i in real if i.in_scope][:4] + [i for i in real if not i.in_scope][:1]

    results = de.run_items(items, servers.say, workers=2)

    assert [r.item.id for r in results] == [i.id for i in items]
    assert [r.error for r in results if r.error] == []
    for result in results:
        assert result.kind in de.KINDS and result.kind != "error"
        assert result.reply, f"{result.item.id}: no reply at all"
        if result.kind in ("direct", "wrong"):
            assert result.code is not None
        if result.kind in ("short_choice", "long_choice"):
            assert set(result.options) & set(result.item.procedures)
    summary = de.score(results)
    assert summary[de.BARE]["n"] == 3 and summary[de.REAL]["n"] == 4
    md, js = de.write_reports(results, summary, tmp_path, {"model": "session", "messages": 8})
    assert md.exists() and js.exists()
