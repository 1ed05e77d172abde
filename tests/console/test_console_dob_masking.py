"""Dates of birth typed into the dossier form are masked in console transcripts
like on the dossier page ("**/**/1990", dossiers.validation.mask_date), in
whatever format they reappear; other dates stay; `reveal=True` shows them."""

from __future__ import annotations

from pathlib import Path

from console.conversations import TrackerReader, mask_text
from tests.console.tracker_rows import TrackerRows, tracker_reader

SENDER = "fx-dob"


def _events() -> list[dict[str, object]]:
    events = TrackerRows(SENDER)
    add, user = events.add, events.user

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
    return events.rows


def _reader(tmp_path: Path) -> TrackerReader:
    return tracker_reader(tmp_path, _events())


def test_dates_of_birth_are_masked_until_revealed(tmp_path: Path) -> None:
    reader = _reader(tmp_path)
    try:
        masked = reader.transcript(SENDER, reveal=False)
        assert masked is not None
        text = "\n".join(m.text for m in masked.messages)
        for clear in ("15/3/1990", "02-01-2025", "ngày 2 tháng 1 năm 2025"):
            assert clear not in text
        # The citizen typed the prompt's own example: masked where the citizen wrote it and
        # where the bot repeats it, kept in the prompt sent before (the bot's own example).
        said = "\n".join(m.text for m in masked.messages
                         if m.kind == "user" or "Ngày sinh:" in m.text)
        assert "15/03/1990" not in said
        assert "tôi sinh ngày **/**/1990" in text and "Ngày sinh: **/**/1990" in text
        assert "**/**/2025" in text
        assert "05/12/2026" in text  # not a date of birth: kept
        assert "(ví dụ 15/03/1990)" in text  # an example in a prompt is the bot's, not an echo
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
