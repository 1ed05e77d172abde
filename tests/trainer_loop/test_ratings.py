"""Ratings: one tap (👍/👎 or 1..5) stored by the real action with the
conversation's procedure, the comment scrubbed; a bad rating offers an
officer; the buttons' payloads are what the rule and the inbox expect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.rating_actions import ActionSaveRating, rating_buttons
from core.db import session_scope
from tests.actions.action_helpers import actions_database, make_tracker, run
from training.orm import Rating
from training.ratings import RatingError, parse_score

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_scores() -> None:
    assert [parse_score(v) for v in ("👍", "👎", "3", 4, "5.0")] == [5, 1, 3, 4, 5]
    for bad in ("0", "6", "", None, "tuyệt"):
        with pytest.raises(RatingError):
            parse_score(bad)


def test_buttons_match_the_domain_and_the_rule() -> None:
    buttons = rating_buttons("dossier", "HS-ABCD-1234")
    assert [b["title"][0] for b in buttons] == ["👍", "👎"]
    payload = buttons[1]["payload"]
    assert payload.startswith("/rate{")
    entities = json.loads(payload[len("/rate"):])
    assert entities == {"rating": "1", "rating_kind": "dossier", "dossier_code": "HS-ABCD-1234"}
    domain = yaml.safe_load((PROJECT_ROOT / "bot/domain/ratings.yml").read_text("utf-8"))
    assert "rate" in domain["intents"] and "action_save_rating" in domain["actions"]
    assert {"rating", "rating_kind"} <= set(domain["entities"])
    rules = yaml.safe_load((PROJECT_ROOT / "nlu_data/rules/ratings.yml").read_text("utf-8"))
    assert rules["rules"][0]["steps"] == [{"intent": "rate"}, {"action": "action_save_rating"}]


def test_action_stores_the_rating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with actions_database(tmp_path, monkeypatch) as database:
        good = CollectingDispatcher()
        run(ActionSaveRating(), good, make_tracker(
            '/rate{"rating":"5","rating_kind":"answer"}', "rate",
            entities=[{"entity": "rating", "value": "5"},
                      {"entity": "rating_kind", "value": "answer"}],
            slots={"procedure": "1.001193"}, sender_id="zl-1", channel="zalo"), {})
        assert "Cảm ơn" in good.messages[0]["text"]
        bad = CollectingDispatcher()
        run(ActionSaveRating(), bad, make_tracker(
            "/rate", "rate",
            entities=[{"entity": "rating", "value": "1"},
                      {"entity": "rating_comment",
                       "value": "sai rồi, gọi tôi 0912345678"}]), {})
        assert bad.messages[0]["buttons"][0]["payload"] == "/human_handoff"
        broken = CollectingDispatcher()
        run(ActionSaveRating(), broken, make_tracker(
            "/rate", "rate", entities=[{"entity": "rating", "value": "9"}]), {})
        assert "chưa nhận được" in broken.messages[0]["text"]
        with session_scope(database.new_factory()) as db:
            rows = db.execute(select(Rating).order_by(Rating.id)).scalars().all()
            stored = [(r.sender_id, r.channel, r.kind, r.score, r.procedure, r.comment)
                      for r in rows]
    assert stored == [
        ("zl-1", "zalo", "answer", 5, "1.001193", ""),
        ("citizen-1", "telegram", "answer", 1, None, "sai rồi, gọi tôi [số điện thoại]"),
    ]
