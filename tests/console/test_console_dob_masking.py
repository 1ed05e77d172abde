"""Dates of birth typed into the dossier form are masked in console transcripts
like on the dossier page ("**/**/1990", dossiers.validation.mask_date), in
whatever format they reappear; other dates stay; `reveal=True` shows them."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import insert

from console.conversations import TrackerReader, mask_text
from core.db import make_engine
from training.tracker_events import EVENTS

SENDER = "fx-dob"


def _events() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def add(type_name: str, data: dict[str, object], **extra: object) -> None:
        rows.append({"sender_id": SENDER, "type_name": type_name,
                     "timestamp": 1_700_000_000 + len(rows), "data": json.dumps(data),
                     "intent_name": None, "action_name": None, **extra})

    def user(text: str) -> None:
        add("user", {"text": text, "input_channel": "rest",
                     "parse_data": {"intent": {"name": "inform", "confidence": 0.9}}},
            intent_name="inform")

    add("slot", {"name": "requested_slot", "value": "date_of_birth"})
    add("bot", {"text": "Bạn sinh ngày nào? (ví dụ 15/03/1990)"})
    user("tôi sinh ngày 15/03/1990")
    add("slot", {"name": "date_of_birth", "value": "1990-03-15"})
    add("slot", {"name": "requested_slot", "value": "child_date_of_birth"})
    add("bot", {"text": "Ngày sinh của trẻ?"})
    user("ngày 2 tháng 1 năm 2025")
    add("slot", {"name": "child_date_of_birth", "value": "2025-01-02"})
    add("slot", {"name": "requested_slot", "value": None})
    add("bot", {"text": "Ngày sinh: 15/3/1990; trẻ sinh 02-01-2025. Hạn trả kết quả 05/12/2026."})
    return rows


def _reader(tmp_path: Path) -> TrackerReader:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = make_engine(url)
    EVENTS.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), _events())
    engine.dispose()
    return TrackerReader(url)


def test_dates_of_birth_are_masked_until_revealed(tmp_path: Path) -> None:
    reader = _reader(tmp_path)
    try:
        masked = reader.transcript(SENDER, reveal=False)
        assert masked is not None
        text = "\n".join(m.text for m in masked.messages)
        for clear in ("15/03/1990", "15/3/1990", "02-01-2025", "ngày 2 tháng 1 năm 2025"):
            assert clear not in text
        assert "tôi sinh ngày **/**/1990" in text and "Ngày sinh: **/**/1990" in text
        assert "**/**/2025" in text
        assert "05/12/2026" in text  # not a date of birth: kept
        assert "(ví dụ 15/03/1990)" not in text  # the example equals the real one: masked too
        revealed = reader.transcript(SENDER, reveal=True)
        assert revealed is not None
        assert "tôi sinh ngày 15/03/1990" in "\n".join(m.text for m in revealed.messages)
        summary = reader.summary(SENDER)
        assert summary is not None and "15/03/1990" not in summary.folded_masked
    finally:
        reader.close()


def test_mask_text_dob_any_format() -> None:
    known = [("dob", "1990-03-15")]
    assert mask_text("sinh 15.3.1990, 1990-03-15", known) == "sinh **/**/1990, **/**/1990"
    assert mask_text("ngày 15 tháng 03 năm 1990", known) == "ngày **/**/1990"
    assert mask_text("16/03/1990", known) == "16/03/1990"
    assert mask_text("15/03/1990", [("dob", "không nhớ")]) == "15/03/1990"
