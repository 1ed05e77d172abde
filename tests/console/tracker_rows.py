"""Rasa tracker-store rows built by hand for console transcript tests, and a
`TrackerReader` over a SQLite tracker store holding them."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import insert

from console.conversations import TrackerReader
from core.db import make_engine
from training.tracker_events import EVENTS


class TrackerRows:
    """Events of one conversation, one second apart, in Rasa's `events` table shape."""

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.rows: list[dict[str, object]] = []

    def add(self, type_name: str, data: dict[str, object], **extra: object) -> None:
        self.rows.append({"sender_id": self.sender, "type_name": type_name,
                          "timestamp": 1_700_000_000 + len(self.rows), "data": json.dumps(data),
                          "intent_name": None, "action_name": None, **extra})

    def user(self, text: str, intent: str = "inform", confidence: float = 0.9) -> None:
        self.add("user", {"text": text, "input_channel": "rest",
                          "parse_data": {"intent": {"name": intent, "confidence": confidence}}},
                 intent_name=intent)


def tracker_reader(tmp_path: Path, rows: list[dict[str, object]]) -> TrackerReader:
    """A TrackerReader over a fresh SQLite tracker store under `tmp_path` holding `rows`."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = make_engine(url)
    EVENTS.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), rows)
    engine.dispose()
    return TrackerReader(url)
