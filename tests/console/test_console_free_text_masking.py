"""Personal data the citizen types in free text (no form) is masked in
transcripts, list texts, exports and the search of users who may not reveal
the conversation, with the scrubber's definition (training.scrub); skip words
and the bot's own examples are not masked by value (fresh-user trial)."""

from __future__ import annotations

from pathlib import Path

from console.conversations import (
    ConversationFilter,
    TrackerReader,
    mask_message,
    masked_summary_text,
    rows_for_export,
)
from tests.console.tracker_rows import TrackerRows, tracker_reader

FREE = "p1"
FORM = "f1"
SKIP = "s1"
TRIAL_MESSAGE = (
    "Tôi tên là Hoàng Thị Lan, sinh ngày 02/09/1985, nhà ở số 45 Hàng Bạc, Hoàn Kiếm. "
    "Mất CCCD số 001185009876, cần làm lại gấp. SĐT 0903123456, email lan.hoang@gmail.com"
)
# Everything personal in TRIAL_MESSAGE, as typed and folded as one would search it.
TRIAL_CLEAR = ("Hoàng Thị Lan", "02/09/1985", "45 Hàng Bạc", "Hoàn Kiếm", "001185009876",
               "0903123456", "lan.hoang@gmail.com")
TRIAL_QUERIES = ("hoang thi lan", "02/09/1985", "hang bac", "hoan kiem", "001185009876",
                 "0903123456", "lan.hoang")
FORM_QUERIES = ("0912345678", "001090123456", "nguyen van an", "ly thuong kiet")


def _events() -> list[dict[str, object]]:
    free = TrackerRows(FREE)
    free.user(TRIAL_MESSAGE, intent="ask_documents")
    free.add("bot", {"text": "Xin lỗi, tôi chưa tìm thấy thủ tục phù hợp với “Tôi tên là "
                             "Hoàng Thị Lan, sinh ngày 02/09/1985…”."})

    form = TrackerRows(FORM)
    form.user("tôi muốn nộp hồ sơ cấp lại căn cước", intent="submit_dossier")
    for slot, prompt, answer, value in (
        ("full_name", "Cho tôi xin họ và tên đầy đủ của bạn?", "nguyễn văn an", "Nguyễn Văn An"),
        ("citizen_id", "Số căn cước của bạn?", "001090123456", "001090123456"),
        ("phone", "Số điện thoại của bạn?", "0912345678", "0912345678"),
        ("address", "Địa chỉ của bạn?", "12 Lý Thường Kiệt, Cửa Nam, Hà Nội",
         "12 Lý Thường Kiệt, Cửa Nam, Hà Nội"),
    ):
        form.add("slot", {"name": "requested_slot", "value": slot})
        form.add("bot", {"text": prompt})
        form.user(answer)
        form.add("slot", {"name": slot, "value": value})
    form.add("slot", {"name": "requested_slot", "value": None})
    form.add("bot", {"text": "• Họ và tên: Nguyễn Văn An\n• Số điện thoại: 0912345678\n"
                             "• Địa chỉ: 12 Lý Thường Kiệt, Cửa Nam, Hà Nội"})

    skip = TrackerRows(SKIP)
    skip.add("slot", {"name": "requested_slot", "value": "father_name"})
    skip.add("bot", {"text": 'Họ và tên của cha trẻ là gì? (gõ "bỏ qua" nếu chưa xác định được '
                             "cha)", "data": {"buttons": [{"title": "bỏ qua",
                                                           "payload": "bỏ qua"}]}})
    skip.user("bỏ qua")
    skip.add("slot", {"name": "father_name", "value": ""})
    skip.add("slot", {"name": "requested_slot", "value": "mother_name"})
    skip.add("bot", {"text": "Họ và tên của mẹ trẻ là gì?"})
    skip.user("hủy")  # not a name: the form re-asks
    skip.add("bot", {"text": "Bạn có chắc muốn hủy hồ sơ này không?",
                     "data": {"buttons": [{"title": "❌ Hủy hồ sơ", "payload": "/affirm"}]}})
    skip.add("slot", {"name": "requested_slot", "value": "date_of_birth"})
    skip.add("bot", {"text": "Bạn sinh ngày nào? (ví dụ 15/03/1990)"})
    skip.user("15/03/1990")
    skip.add("slot", {"name": "date_of_birth", "value": "1990-03-15"})
    skip.add("slot", {"name": "requested_slot", "value": "child_date_of_birth"})
    skip.add("bot", {"text": "Trẻ sinh ngày nào? (ví dụ 05/01/2025)"})
    skip.user("bỏ qua")
    skip.add("slot", {"name": "requested_slot", "value": None})
    skip.add("bot", {"text": "• Ngày sinh: 15/03/1990\n• Họ và tên cha: (bỏ qua)"})
    return free.rows + form.rows + skip.rows


def _reader(tmp_path: Path) -> TrackerReader:
    return tracker_reader(tmp_path, _events())


def _texts(reader: TrackerReader, sender: str, *, reveal: bool = False) -> list[str]:
    transcript = reader.transcript(sender, reveal=reveal)
    assert transcript is not None
    return [m.text for m in transcript.messages] + [
        b for m in transcript.messages for b in m.buttons]


def _found(reader: TrackerReader, query: str, reveal: object = False) -> set[str]:
    return {s.sender_id for s in reader.search(ConversationFilter(q=query),
                                               reveal=reveal)}  # type: ignore[arg-type]


def test_free_text_personal_data_is_masked_in_transcripts_lists_and_exports(
    tmp_path: Path,
) -> None:
    reader = _reader(tmp_path)
    try:
        masked = "\n".join(_texts(reader, FREE))
        for clear in TRIAL_CLEAR:
            assert clear not in masked, clear
        assert "Mất CCCD số ********9876" in masked and "SĐT *******456" in masked
        # The bot quoting the question repeats it masked, as the citizen's line is.
        assert "phù hợp với “Tôi tên là [họ tên], sinh ngày [ngày]…”" in masked
        revealed = "\n".join(_texts(reader, FREE, reveal=True))
        assert all(clear in revealed for clear in TRIAL_CLEAR)
        summary = reader.summary(FREE)
        assert summary is not None
        listed = masked_summary_text(summary)
        assert not any(clear in listed for clear in TRIAL_CLEAR)
        exported = repr(rows_for_export(reader, [FREE, FORM], {}))
        for clear in (*TRIAL_CLEAR, "Nguyễn Văn An", "0912345678", "Lý Thường Kiệt"):
            assert clear not in exported, clear
        assert "Hoàng Thị Lan" in repr(rows_for_export(reader, [FREE], {}, reveal=True))
    finally:
        reader.close()


def test_search_matches_only_what_the_user_could_see(tmp_path: Path) -> None:
    reader = _reader(tmp_path)
    try:
        for query in TRIAL_QUERIES:
            assert FREE not in _found(reader, query), query  # a trainer: no reveal right
            assert FREE not in _found(reader, query, lambda sender: False), query
            assert FREE in _found(reader, query, True), query
        for query in FORM_QUERIES:
            # An officer who may not reveal f1 (another agency's dossier) cannot find it.
            assert FORM not in _found(reader, query, lambda sender: sender != FORM), query
            assert FORM in _found(reader, query, lambda sender: True), query
        # What stays visible is still found, without diacritics.
        assert _found(reader, "mat cccd") == {FREE}
        assert _found(reader, "cap lai can cuoc") == {FORM}
    finally:
        reader.close()


def test_skip_words_and_the_bots_own_examples_are_not_masked(tmp_path: Path) -> None:
    reader = _reader(tmp_path)
    try:
        texts = _texts(reader, SKIP)
        joined = "\n".join(texts)
        assert "b. q." not in joined and "h." not in joined
        assert texts.count("bỏ qua") == 3  # two answers and the button
        assert 'gõ "bỏ qua" nếu' in joined and "❌ Hủy hồ sơ" in joined
        assert "(ví dụ 15/03/1990)" in joined and "(ví dụ 05/01/2025)" in joined
        # Where the bot echoes the citizen's data (the summary), it is masked.
        assert "• Ngày sinh: **/**/1990" in joined and "15/03/1990\n" not in joined
        assert "**/**/1990" in texts  # the citizen's answer
    finally:
        reader.close()


def test_mask_message_keeps_value_masks_and_scrubs_the_rest() -> None:
    known = [("name", "Nguyễn Văn An"), ("address", "12 Lý Thường Kiệt, Cửa Nam, Hà Nội")]
    assert mask_message("tên tôi là Nguyễn Văn An, ở 12 Lý Thường Kiệt, Cửa Nam, Hà Nội",
                        known) == "tên tôi là N. V. A., ở ***, Hà Nội"
    assert mask_message("email a.b@c.vn, ngày 02/09/1985") == "email [email], ngày [ngày]"
    assert mask_message("làm hộ chiếu mất bao nhiêu tiền") == "làm hộ chiếu mất bao nhiêu tiền"
