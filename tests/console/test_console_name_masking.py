"""Person names typed into the dossier form are masked in transcripts, list
texts and the masked search, like ID numbers, phones and addresses (issue 11
follow-up); `reveal=True` (the audited path) shows them."""

from __future__ import annotations

from pathlib import Path

from console.conversations import ConversationFilter, TrackerReader, mask_text
from tests.console.tracker_rows import TrackerRows, tracker_reader

SENDER = "fx-names"


def _events() -> list[dict[str, object]]:
    events = TrackerRows(SENDER)
    add = events.add

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
    return events.rows


def _reader(tmp_path: Path) -> TrackerReader:
    return tracker_reader(tmp_path, _events())


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
