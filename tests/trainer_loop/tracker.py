"""A Rasa-shaped SQL tracker store for the training tests.

Writes rows into an `events` table with the columns and JSON shape Rasa 3.6's
SQLTrackerStore uses (see tests/console/data/tracker_events.json for a real
dump), so the inbox collector reads exactly what it reads in production.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import Engine

from training.inbox import EVENTS


class FakeTracker:
    """Append conversations turn by turn: `user(...)`, `bot(...)`, `action(...)`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url)
        EVENTS.metadata.create_all(self.engine)
        self.clock = time.time() - 3600

    def _add(self, sender: str, type_name: str, data: dict[str, Any], **columns: Any) -> None:
        self.clock += 1.0
        data = {"event": type_name, "timestamp": self.clock, **data}
        with self.engine.begin() as connection:
            connection.execute(
                insert(EVENTS).values(
                    sender_id=sender,
                    type_name=type_name,
                    timestamp=self.clock,
                    intent_name=columns.get("intent_name"),
                    action_name=columns.get("action_name"),
                    data=json.dumps(data, ensure_ascii=False),
                )
            )

    def user(
        self,
        sender: str,
        text: str,
        intent: str,
        confidence: float = 0.95,
        *,
        procedure: str | None = None,
        candidates: list[tuple[str, float]] = (),  # type: ignore[assignment]
        channel: str = "rest",
        entities: list[dict[str, Any]] | None = None,
    ) -> None:
        """A citizen message with Rasa's parse_data (procedure entity when given)."""
        ents = list(entities or [])
        if procedure:
            ents.append({"entity": "procedure", "value": procedure})
        parse = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": ents,
            "text": text,
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "procedure_candidates": [
                {"code": code, "name": code, "score": score} for code, score in candidates
            ],
        }
        self._add(
            sender,
            "user",
            {"text": text, "parse_data": parse, "input_channel": channel},
            intent_name=intent,
        )

    def bot(self, sender: str, text: str, buttons: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        """A bot reply; `buttons` are (title, payload)."""
        data = {"buttons": [{"title": t, "payload": p} for t, p in buttons]} if buttons else {}
        self._add(sender, "bot", {"text": text, "data": data})

    def action(self, sender: str, name: str) -> None:
        self._add(sender, "action", {"name": name}, action_name=name)

    def at(self, when: float) -> None:
        """Write the following events from POSIX time `when` on (1 s apart)."""
        self.clock = when - 1.0

    def close(self) -> None:
        self.engine.dispose()
