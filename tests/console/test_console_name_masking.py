"""Person names typed into the dossier form are masked in transcripts, list
texts and the masked search, like ID numbers, phones and addresses (issue 11
follow-up); `reveal=True` (the audited path) shows them."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import insert

from console.conversations import ConversationFilter, TrackerReader, mask_text
from core.db import make_engine
from training.tracker_events import EVENTS

SENDER = "fx-names"


def _events() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def add(type_name: str, data: dict[str, object], **extra: object) -> None:
        rows.append({"sender_id": SENDER, "type_name": type_name,
                     "timestamp": 1_700_000_000 + len(rows), "data": json.dumps(data),
                     "intent_name": None, "action_name": None, **extra})

    add("user", {"text": "tôi muốn nộp hồ sơ khai sinh", "input_channel": "rest",
                 "parse_data": {"intent": {"name": "submit_dossier", "confidence": 0.99}}},
        intent_name="submit_dossier")
    add("slot", {"name": "requested_slot", "value": "full_name"})
    add("bot", {"text": "Cho tôi xin họ và tên đầy đủ của bạn?"})
    add("user", {"text": "nguyễn văn an", "input_channel": "rest",
                 "parse_data": {"intent": {"name": "inform", "confidence": 0.9}}},
        intent_name="inform")
    add("slot", {"name": "full_name", "value": "Nguyễn Văn An"})
    add("slot", {"name": "requested_slot", "value": "father_name"})
    add("bot", {"text": "Họ và tên cha của trẻ là gì?"})
    add("user", {"text": "Trần Minh Hùng", "input_channel": "rest",
                 "parse_data": {"intent": {"name": "inform", "confidence": 0.9}}},
        intent_name="inform")
    add("slot", {"name": "father_name", "value": "Trần Minh Hùng"})
    add("slot", {"name": "requested_slot", "value": None})
    add("bot", {"text": "Người nộp: Nguyễn Văn An; cha: Trần Minh Hùng. Anh xác nhận nhé?"})
    return rows


def _reader(tmp_path: Path) -> TrackerReader:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = make_engine(url)
    EVENTS.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), _events())
    engine.dispose()
    return TrackerReader(url)


def test_names_are_masked_until_revealed(tmp_path: Path) -> None:
    reader = _reader(tmp_path)
    try:
        masked = reader.transcript(SENDER, reveal=False)
        assert masked is not None
        text = "\n".join(m.text for m in masked.messages)
        for clear in ("Nguyễn Văn An", "nguyễn văn an", "Trần Minh Hùng"):
            assert clear not in text
        assert "n. v. a." in text and "N. V. A." in text and "T. M. H." in text
        assert "Anh xác nhận" in text  # whole words only: "Anh" is not a name here
        revealed = reader.transcript(SENDER, reveal=True)
        assert revealed is not None
        assert "Trần Minh Hùng" in "\n".join(m.text for m in revealed.messages)
        summary = reader.summary(SENDER)
        assert summary is not None
        # Search without the reveal right runs over masked text: no probing by name.
        assert reader.search(ConversationFilter(q="tran minh hung")) == []
        assert [s.sender_id for s in reader.search(
            ConversationFilter(q="tran minh hung"), reveal=True)] == [SENDER]
    finally:
        reader.close()


def test_mask_text_names_whole_words() -> None:
    assert mask_text("An ơi, Anh An", [("name", "An")]) == "A. ơi, Anh A."
