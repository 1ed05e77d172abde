"""Tests of `catalog.parser` against the real crawl (catalog/data/raw_all_7_agencies.tar.gz).

The pinned expectations below were checked by hand against each record's raw
`cach_thuc_thuc_hien` / `thanh_phan_ho_so` / `can_cu_phap_ly` / `ket_qua_xu_ly`
text, so a change in the splitting rules that alters them is a real regression.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping
from typing import Any

import pytest

from catalog.model import CHANNEL_IN_PERSON, CHANNEL_ONLINE, CHANNEL_POST, Procedure
from catalog.parser import (
    ParseError,
    clean_result,
    is_note_row,
    parse_documents,
    parse_legal_basis,
    parse_methods,
    parse_record,
    split_agencies,
)
from catalog.source import RawRecord, iter_raw_records

HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
ONLINE, POST, IN_PERSON = CHANNEL_ONLINE, CHANNEL_POST, CHANNEL_IN_PERSON


@pytest.fixture(scope="module")
def raw_records() -> dict[str, RawRecord]:
    """Every raw record of the bundled archive, by procedure code (read once)."""
    return {record["ma_thu_tuc"]: record for record in iter_raw_records()}


@pytest.fixture(scope="module")
def parsed(raw_records: dict[str, RawRecord]) -> dict[str, Procedure]:
    """Lazily parsed records: `parsed[code]` parses on first access."""

    class _Lazy(dict):
        def __missing__(self, code: str) -> Procedure:
            self[code] = parse_record(raw_records[code])
            return self[code]

    return _Lazy()


def _times(p: Procedure) -> list[tuple[float | None, str | None]]:
    return [(m.processing_time.value, m.processing_time.unit) for m in p.methods]


# ------------------------------------------------------------ the whole archive


def test_all_records_parse(raw_records: dict[str, RawRecord]) -> None:
    failures = []
    procedures = []
    for code, record in raw_records.items():
        try:
            procedures.append(parse_record(record))
        except ParseError as exc:  # pragma: no cover - the assertion reports it
            failures.append((code, str(exc)))
    assert len(raw_records) == 2642
    assert failures == []
    # Sanity of the whole: every record has a code, a name and its source folder;
    # almost all have a methods table; text is NFC everywhere.
    assert all(p.code and p.name and p.source_agency for p in procedures)
    assert sum(1 for p in procedures if p.methods) == 2642
    assert sum(len(p.documents) for p in procedures) > 14000
    assert sum(len(p.legal_basis) for p in procedures) > 10000
    for p in procedures:
        for m in p.methods:
            assert m.channel in (ONLINE, POST, IN_PERSON)
            assert unicodedata.is_normalized("NFC", m.fee.text + m.description)
            assert m.fee.amount_vnd is None or m.fee.amount_vnd == 0 or m.fee.amount_vnd >= 1000
        assert "Từ khóa" not in p.result and "Nộp hồ sơ" not in p.result


def test_to_dict_is_json_ready(parsed: dict[str, Procedure]) -> None:
    data = parsed["1.001193"].to_dict()
    assert data["online"] is True
    assert data["methods"][0]["processing_time"] == {"value": 1.0, "unit": None, "text": "1"}
    assert data["legal_basis"][0] == {
        "number": "85/2019/TT-BTC",
        "title": "Thông tư Hướng dẫn về phí và lệ phí thuộc thẩm quyền quyết định của Hội đồng"
        " nhân dân tỉnh, thành phố trực thuộc Trung ương",
        "doc_type": "Thông tư",
    }


# ----------------------------------------------------------- pinned records


def test_3_000347_driving_licence_free_cell_with_fee_in_note(parsed: dict[str, Procedure]) -> None:
    p = parsed["3.000347"]
    assert p.name == "Đổi giấy phép lái xe"
    assert p.source_agency == "bo-cong-an"
    assert p.decision == "1025/QĐ-BCA"
    assert p.implementing_level == "Cấp bộ"
    assert [m.channel for m in p.methods] == [ONLINE, IN_PERSON]
    assert _times(p) == [(5, "Ngày làm việc")] * 2
    for m in p.methods:
        # The cell says "Miễn phí"; the note gives the real fee: both are kept.
        assert m.fee.amount_vnd == 0
        assert m.fee.text.startswith("Miễn phí (- Lệ phí cấp giấy phép lái xe: 135.000 đồng/lần.")
        assert "135.000 đồng/lần" in m.fee.note
        assert "115.000 đồng/lần cấp" in m.fee.note
        assert m.fee.note in m.fee.text
    assert [(d.originals, d.copies) for d in p.documents] == [
        (1, 0),
        (1, 0),
        (1, 0),
        (1, 0),
        (0, 1),
    ]
    assert p.documents[0].name.startswith("Đề nghị đổi giấy phép lái xe theo mẫu quy định tại")
    assert p.documents[2].name == (
        "Hộ chiếu còn thời hạn sử dụng (đối với người nước ngoài, người Việt Nam định cư ở"
        " nước ngoài)"
    )
    assert all(d.case is None and d.form is None for d in p.documents)
    assert [lb.number for lb in p.legal_basis] == [
        "12/2025/TT-BCA",
        "06/2025/TT-BTC",
        "37/2023/TT-BTC",
        "63/2023/TT-BTC",
    ]
    assert p.legal_basis[0].title.startswith("Thông tư số 12/2025/TT-BCA ngày 28/02/2025")
    assert p.result == "Giấy phép lái xe (Mã: KQ.G01.000185)"
    assert p.agencies == ["Cục cảnh sát giao thông", "Công an tỉnh", "Công an cấp Xã"]


def test_3_000348_driving_licence_reissue(parsed: dict[str, Procedure]) -> None:
    p = parsed["3.000348"]
    assert [m.channel for m in p.methods] == [ONLINE, IN_PERSON]
    assert {m.fee.amount_vnd for m in p.methods} == {0}
    assert all(
        m.fee.note.startswith("Lệ phí cấp giấy phép lái xe: 135.000 đồng/lần.") for m in p.methods
    )
    assert p.agencies == ["Công an cấp Xã", "Cục cảnh sát giao thông", "Công an tỉnh"]
    assert len(p.documents) == 5


def test_1_001193_birth_registration_bare_number_time(parsed: dict[str, Procedure]) -> None:
    p = parsed["1.001193"]
    assert p.name == "Thủ tục đăng ký khai sinh"
    assert p.field == "Hộ tịch"
    assert p.decision == "163/QĐ-BTP"
    assert p.agencies == []  # "Không có thông tin"
    assert p.requirements == ""
    assert [m.channel for m in p.methods] == [ONLINE, POST, IN_PERSON]
    # "Trực tuyến1Miễn phí": a bare number, no unit is invented.
    assert [m.processing_time for m in p.methods] == [p.methods[0].processing_time] * 3
    assert p.methods[0].processing_time.value == 1
    assert p.methods[0].processing_time.unit is None
    assert p.methods[0].processing_time.text == "1"
    assert [(m.fee.amount_vnd, m.fee.text, m.fee.note) for m in p.methods] == [
        (0, "Miễn phí", "")
    ] * 3
    cases = [d.case for d in p.documents]
    assert cases[0] == "* Giấy tờ phải nộp:"
    assert "* Giấy tờ phải xuất trình:" in cases and "* Lưu ý:" in cases
    assert cases[-1] is None  # the last group is introduced by "--"
    submit = [d for d in p.documents if not is_note_row(d)]
    assert len(submit) == 8
    assert submit[0].name == (
        "Trường hợp trẻ em bị bỏ rơi thì phải có biên bản về việc trẻ bị bỏ rơi do cơ quan có"
        " thẩm quyền lập."
    )
    assert (submit[0].originals, submit[0].copies) == (1, 0)
    assert submit[-1].name.startswith("Mẫu hộ tịch điện tử tương tác đăng ký khai sinh")
    notes = [d for d in p.documents if is_note_row(d)]
    assert notes[0].name.startswith("Trường hợp người yêu cầu đã nộp bản điện tử Giấy chứng sinh")
    assert notes[0].case == "* Giấy tờ phải nộp:"
    assert [lb.number for lb in p.legal_basis] == [
        "85/2019/TT-BTC",
        "104/2022/NĐ-CP",
        "123/2015/NĐ-CP",
        "08/2025/TT-BTP",
        "18/2026/NĐ-CP",
        "87/2020/NĐ-CP",
        "04/2024/TT-BTP",
        "03/2023/TT-BTP",  # "Thông tư số " prefix normalised away
        "106/2021/TT-BTC",
        "04/2020/TT-BTP",
        "07/2025/NĐ-CP",
        "120/2025/NĐ-CP",
        "66.7/2025/NQ-CP",
        "60/2014/QH13",
        "01/2022/TT-BTP",
    ]
    # Numbers inside titles stay in the title.
    titles = {lb.number: lb.title for lb in p.legal_basis}
    assert titles["123/2015/NĐ-CP"].startswith("Nghị định số 123/2015/NĐ-CP ngày 15/11/2015")
    assert titles["04/2024/TT-BTP"].startswith(
        "Sửa đổi, bổ sung một số điều của Thông tư số 02/2020"
    )
    assert titles["60/2014/QH13"] == "Luật 60/2014/QH13"
    assert p.result == "Giấy khai sinh (Mã: KQ.G15.000031)"


def test_1_003213_fee_in_usd(parsed: dict[str, Procedure]) -> None:
    p = parsed["1.003213"]
    assert [m.channel for m in p.methods] == [ONLINE, POST, IN_PERSON]
    for m in p.methods:
        assert m.processing_time.value is None and m.processing_time.text == ""
        assert m.fee.amount_vnd is None  # 150 USD is not a VND amount
        assert m.fee.text.startswith(
            "150 USD (Mức lệ phí được quy đổi ra đồng tiền của nước sở tại"
        )
        assert m.fee.note.endswith("mở tài khoản công bố.")
        assert m.description.startswith("Nộp cho Cơ quan đại diện của Việt Nam tại nước ngoài")
    assert p.result == "Giấy chứng nhận nuôi con nuôi trong nước (Mã: KQ.G15.000002)"


def test_1_001471_passport_several_rows_per_channel(parsed: dict[str, Procedure]) -> None:
    p = parsed["1.001471"]
    assert [m.channel for m in p.methods] == [ONLINE, POST, IN_PERSON, ONLINE, IN_PERSON, POST]
    assert [m.processing_time.value for m in p.methods] == [5, 5, 5, 3, 3, 3]
    assert {m.processing_time.unit for m in p.methods} == {"Ngày làm việc"}
    for m in p.methods:
        assert m.fee.amount_vnd == 200000  # "200,000 Việt Nam Đồng"
        assert "400.000đ/hộ chiếu (Thông tư số 25/2021/TT-BTC" in m.fee.note  # nested parens
    assert p.methods[0].description == (
        "nộp hồ sơ trực tuyến qua Cổng dịch vụ công quốc gia hoặc Cổng dịch vụ công Bộ Công an.\n"
        "Không quá 05 ngày làm việc kể từ ngày nhận đầy đủ hồ sơ theo quy định."
    )
    assert p.agencies == ["Cục quản lý xuất nhập cảnh"]


def test_1_007632_dotted_amounts_in_note_and_numbered_cases(parsed: dict[str, Procedure]) -> None:
    p = parsed["1.007632"]
    assert [m.channel for m in p.methods] == [POST, IN_PERSON]
    assert _times(p) == [(15, "Ngày")] * 2
    for m in p.methods:
        assert m.fee.amount_vnd == 0
        assert "Cấp lại do hết hạn: 1.200.000 VNĐ" in m.fee.note
        assert "Cấp lại do mất, hỏng: 300.000 VNĐ" in m.fee.note
    first_case = (
        "1/ Hồ sơ đề nghị cấp lại Giấy chứng nhận đăng ký hành nghề kiểm toán đối với trường hợp"
        " Giấy chứng nhận đăng ký hành nghề kiểm toán hết thời hạn bao gồm:"
    )
    assert [d.case == first_case for d in p.documents] == [True] * 3 + [False] * 4
    assert p.documents[2].name.startswith("b) 02 ảnh màu 3x4cm")
    assert (p.documents[2].originals, p.documents[2].copies) == (2, 0)
    assert p.documents[3].case.startswith("2/ Hồ sơ đề nghị cấp lại")  # type: ignore[union-attr]
    assert p.documents[3].name == "Số lượng hồ sơ: 01 (bộ)" and is_note_row(p.documents[3])
    assert [(lb.number, lb.title) for lb in p.legal_basis] == [
        ("67/2011/QH12", "Luật kiểm toán độc lập số 67/2011/QH12")
    ]
    assert p.result == ""  # the page has no result


def test_1_002438_single_channel_decomposed_text_and_forms(
    raw_records: dict[str, RawRecord], parsed: dict[str, Procedure]
) -> None:
    raw = raw_records["1.002438"]["cach_thuc_thuc_hien"]
    assert not unicodedata.is_normalized("NFC", raw)  # stored as NFD
    p = parsed["1.002438"]
    assert [m.channel for m in p.methods] == [IN_PERSON]
    m = p.methods[0]
    assert (m.processing_time.value, m.processing_time.unit) == (7, "Ngày làm việc")
    assert (m.fee.amount_vnd, m.fee.text, m.fee.note) == (
        2000,
        "2,000 Việt Nam Đồng (2.000 đồng/thẻ)",
        "2.000 đồng/thẻ",
    )
    assert [(d.name, d.form) for d in p.documents[:2]] == [
        ("Đơn đề nghị cấp đổi thẻ bảo hiểm y tế", "Mau01-ĐN(BHYT) (1).doc"),
        (
            "c) Danh sách người lao động đang tham gia bảo hiểm xã hội trong Công an nhân dân"
            " (nếu có);",
            "Mau02-DS(BHYT).doc",
        ),
    ]
    assert [d.form for d in p.documents[2:]] == ["Mau01-DS(BHYT).doc", "Mau02-DS(BHYT).doc"]
    assert [lb.number for lb in p.legal_basis] == ["09/2015/TTLT-BCA-BYT-BTC", "19/2010/TT-BTC"]
    assert p.agencies == [
        "Bộ Công an",
        "Công an cấp Tỉnh",
        "Bảo hiểm xã hội tỉnh",
        "Cục Chính sách",
    ]
    assert p.result == "Thẻ bảo hiểm y tế (BHYT) (Mã: KQ.G01.000291)"


def test_2_000048_one_channel_no_time_and_glued_law_number(parsed: dict[str, Procedure]) -> None:
    p = parsed["2.000048"]
    assert len(p.methods) == 1
    m = p.methods[0]
    assert m.channel == IN_PERSON
    assert (m.processing_time.value, m.processing_time.unit, m.processing_time.text) == (
        None,
        None,
        "",
    )
    assert (m.fee.amount_vnd, m.fee.text, m.fee.note) == (20000, "20,000 VNĐ", "")
    assert [(d.originals, d.copies) for d in p.documents] == [(1, 1), (1, 0), (0, 1), (1, 0)]
    # "... 01 bản chính có xác nhận ...;1 bản chính": the count inside the name is text.
    assert p.documents[1].name == (
        "Văn bản đề nghị tái xuất khẩu: 01 bản chính có xác nhận của cơ quan chủ quản;"
    )
    # "Luật 54/2014/QH1354/2014/QH13": the title's number is glued to the column's.
    assert [(lb.number, lb.title) for lb in p.legal_basis] == [
        ("143/2015/TT-BTC", "Thông tư 143/2015/TT-BTC"),
        ("187/2013/NĐ-CP", "Nghị định số 187/2013/NĐ-CP"),
        (
            "38/2015/TT-BTC",
            "Quy định về thủ tục hải quan; kiểm tra, giám sát hải quan; thuế xuất khẩu thuế nhập"
            " khẩu và quản lý thuế đối vớỉ hàng hoá xuất khẩu, nhập khẩu.",
        ),
        ("54/2014/QH13", "Luật 54/2014/QH13"),
        ("08/2015/NĐ-CP", "Nghị định 08/2015/NĐ-CP"),
        ("45/2022/TT-BTC", "Thông tư 45/2022/TT-BTC"),
    ]
    assert p.decision == "1681"


def test_1_005103_bare_time_glued_to_amount(parsed: dict[str, Procedure]) -> None:
    # "Trực tuyến140,000 Việt Nam Đồng(- Xe ô tô từ 10 chỗ trở lên)- Thời hạn ...":
    # time "1" + fee "40,000" (the lệ phí for cars of 10+ seats is 40.000 đ).
    p = parsed["1.005103"]
    assert [m.channel for m in p.methods] == [ONLINE, POST, IN_PERSON]
    for m in p.methods:
        assert m.processing_time == p.methods[0].processing_time
        assert (m.processing_time.value, m.processing_time.unit) == (1, None)
        assert m.fee.amount_vnd == 40000
        assert m.fee.note.strip() == "- Xe ô tô từ 10 chỗ trở lên"
        assert m.description.startswith("- Thời hạn kiểm tra, đánh giá hồ sơ: ngay trong ngày")
        assert "\n- Thời hạn kiểm tra, đánh giá xe:" in m.description
    assert p.documents[0].case == "* Trường hợp kiểm định lần đầu"
    assert "* Trường hợp kiểm định định kỳ" in {d.case for d in p.documents}
    assert p.result == (
        "Thông báo kết quả kiểm tra, đánh giá (Mã: KQ.G04.000499)\n"
        "Giấy hẹn trả Giấy chứng nhận kiểm định (Mã: KQ.G04.000500)"
    )


def test_implausible_vnd_amounts_are_not_trusted(parsed: dict[str, Procedure]) -> None:
    # "Trực tuyến120 VNĐTrực tiếp120 VNĐ": time 1, fee "20 VNĐ" (20.000 đ meant).
    p = parsed["1.007642"]
    assert [(m.channel, m.processing_time.value, m.processing_time.unit) for m in p.methods] == [
        (ONLINE, 1, None),
        (IN_PERSON, 1, None),
    ]
    assert [(m.fee.amount_vnd, m.fee.text) for m in p.methods] == [(None, "20 VNĐ")] * 2
    # "Trực tuyến1100 VNĐDịch vụ bưu chính1100 VNĐTrực tiếp125 VNĐ"
    q = parsed["2.002032"]
    assert [(m.processing_time.text, m.fee.text, m.fee.amount_vnd) for m in q.methods] == [
        ("1", "100 VNĐ", None),
        ("1", "100 VNĐ", None),
        ("1", "25 VNĐ", None),
    ]


def test_1_004194_temporary_residence_cases_and_form(parsed: dict[str, Procedure]) -> None:
    p = parsed["1.004194"]
    assert [(m.channel, m.fee.amount_vnd) for m in p.methods] == [
        (ONLINE, 7000),
        (IN_PERSON, 10000),
    ]
    assert "thu 7.000 đồng/lần đăng ký" in p.methods[0].fee.note
    cases = [d.case for d in p.documents]
    assert cases[:3] == ["* Hồ sơ đăng ký tạm trú gồm:"] * 3
    assert cases[3:5] == ["* Đăng ký tạm trú theo danh sách, hồ sơ gồm:"] * 2
    assert cases[5] == (
        "Đăng ký tạm trú tại nơi đơn vị đóng quân trong Công an nhân dân, Quân đội nhân nhân"
        " (đơn vị đóng quân, nhà ở công vụ) hồ sơ gồm:"
    )
    form_rows = [d for d in p.documents if d.form]
    assert [d.form for d in form_rows] == ["1.MuCT01banhnhkmtheoThngts53.doc"] * 3
    assert form_rows[1].name == (
        "Tờ khai thay đổi thông tin cư trú (của từng người) (Mẫu CT01 ban hành kèm theo Thông tư"
        " số 53/2025/TT-BCA)."
    )
    assert (form_rows[1].originals, form_rows[1].copies) == (1, 0)
    assert is_note_row(p.documents[0]) and p.documents[0].name.startswith("Ví dụ:")
    # "...53/2025/TT-BCAThông tư số 66/2023/TT-BCA Sửa đổi ...": a title start, not a cell.
    assert [lb.number for lb in p.legal_basis][:2] == ["53/2025/TT-BCA", "66/2023/TT-BCA"]
    assert p.legal_basis[1].title.startswith("Thông tư số 66/2023/TT-BCA Sửa đổi, bổ sung")


def test_1_014061_id_card_template_files(parsed: dict[str, Procedure]) -> None:
    p = parsed["1.014061"]
    assert [(m.channel, m.fee.amount_vnd, m.fee.text) for m in p.methods] == [
        (IN_PERSON, None, ""),
        (ONLINE, None, ""),
    ]
    assert [d.form for d in p.documents] == [
        "Mẫu DC01 Phiếu thu thập thông tin dân cư.docx",
        "Mẫu DC02 Phiếu đề nghị giải quyết thủ tục về căn cước.doc",
        None,
    ]
    assert p.documents[1].name == (
        "Phiếu đề nghị giải quyết thủ tục về căn cước (Mẫu DC02 ban hành kèm theo Thông tư số"
        " 17/2024/TT-BCA của Bộ Công an)"
    )
    assert [lb.number for lb in p.legal_basis] == [
        "17/2024/TT-BCA",
        "16/2024/TT-BCA",
        "53/2025/TT-BCA",
        "26/2023/QH15",
        "70/2024/NĐ-CP",
        "18/2024/TT-BCA",
        "190/2025/NQ-QH15",
    ]
    assert p.legal_basis[3].title == "Luật Căn cước"
    assert p.result == "Thẻ căn cước (Mã: KQ.G01.000023)"


def test_1_003586_numbers_with_doc_type_words(parsed: dict[str, Procedure]) -> None:
    # "LuậtLuật 18/2017/QH14Luật sửa đổi ...Luật số 146/2025/QH15Thông tư02/2026/TT-BNNMT"
    p = parsed["1.003586"]
    assert [(lb.number, lb.title) for lb in p.legal_basis] == [
        ("18/2017/QH14", "Luật"),
        (
            "146/2025/QH15",
            "Luật sửa đổi, bổ sung một số điều của 15 luật trong lĩnh vực nông nghiệp và môi"
            " trường",
        ),
        ("02/2026/TT-BNNMT", "Thông tư"),
    ]
    assert _times(p) == [(2, None)] * 3


def test_1_000597_unclosed_fee_note(parsed: dict[str, Procedure]) -> None:
    # "Miễn phí(2.400.000 Đồng (Cấp lại ...; 15.000.000 Đồng (... (Miễn phí kể từ ...
    # TT-BTC) Trường hợp cấp lại ...": the note never closes; it ends at its last ")".
    p = parsed["1.000597"]
    assert [m.channel for m in p.methods] == [POST, IN_PERSON]
    m = p.methods[0]
    assert m.fee.amount_vnd == 0
    assert m.fee.note.startswith("2.400.000 Đồng (Cấp lại do mất, rách, hỏng; 15.000.000 Đồng")
    assert m.fee.note.endswith("theo Thông tư số 40/2026/TT-BTC")
    assert m.description.startswith("Trường hợp cấp lại giấy chứng nhận do bị mất, rách, hỏng:")


def test_1_001521_sections_recut_from_raw_text(
    raw_records: dict[str, RawRecord], parsed: dict[str, Procedure]
) -> None:
    # The crawler cut "trinh_tu_thuc_hien" at "(Thành phần hồ sơ)" inside the steps
    # and stored the rest of the steps as the documents table.
    raw = raw_records["1.001521"]
    assert raw["trinh_tu_thuc_hien"].endswith("mục 5.3 (")
    assert parse_documents(raw["thanh_phan_ho_so"]) == []
    p = parsed["1.001521"]
    assert p.steps.startswith("Bước 1. Lập, nộp hồ sơ NLĐ lập hồ sơ theo quy định tại mục 5.3")
    assert p.steps.endswith("di chuyển hưởng chế độ BHXH tại huyện/tỉnh khác.")
    assert len(p.documents) == 8
    assert p.documents[0].case.startswith(  # type: ignore[union-attr]
        "Trường hợp không quy định là bản chính thì có thể nộp bản sao hợp lệ."
    )
    assert [lb.number for lb in p.legal_basis][:2] == ["56/2017/TT-BYT", "143/2018/NĐ-CP"]


def test_3_000337_methods_recut_from_raw_text(
    raw_records: dict[str, RawRecord], parsed: dict[str, Procedure]
) -> None:
    # The crawler cut the fee table at "Căn cứ pháp lý: Thông tư 269/2016..." inside
    # a fee note and stored the rest of the table as the legal basis.
    raw = raw_records["3.000337"]
    assert raw["cach_thuc_thuc_hien"].endswith("100 VNĐ(")
    p = parsed["3.000337"]
    assert [m.channel for m in p.methods] == [ONLINE, POST, IN_PERSON]
    assert _times(p) == [(1, "Ngày")] * 3
    assert all(m.fee.note.startswith("Căn cứ pháp lý: Thông tư 269/2016/TT-BTC") for m in p.methods)
    assert p.legal_basis == []  # the page says "Không có thông tin"
    assert p.agencies == ["Cục an ninh mạng và phòng, chống tội phạm sử dụng công nghệ cao"]


def test_1_007689_tax_time_phrase(parsed: dict[str, Procedure]) -> None:
    p = parsed["1.007689"]
    assert [m.channel for m in p.methods] == [ONLINE, POST, IN_PERSON]
    for m in p.methods:
        assert m.processing_time.value is None and m.processing_time.unit is None
        assert m.processing_time.text == "Không phải trả kết quả cho người nộp thuế"
        assert m.fee.amount_vnd == 0
    assert p.methods[0].description.startswith("Bằng phương thức điện tử qua Cổng dịch vụ công")


def test_1_014237_enumerated_description_is_not_a_fee_note(parsed: dict[str, Procedure]) -> None:
    # "Trực tiếp14 Ngày làm việcKhông có thông tin(1) Trường hợp thay đổi tên ..."
    p = parsed["1.014237"]
    assert [(m.channel, m.processing_time.value) for m in p.methods] == [
        (IN_PERSON, 14),
        (POST, 14),
        (ONLINE, 14),
        (IN_PERSON, 26),
        (POST, 26),
        (ONLINE, 26),
    ]
    for m in p.methods:
        assert (m.fee.amount_vnd, m.fee.text, m.fee.note) == (None, "", "")
    assert p.methods[0].description.startswith(
        "(1) Trường hợp thay đổi tên tổ chức, cá nhân thăm dò khoáng sản:\n*Cách thực hiện:"
    )
    assert p.methods[3].description.startswith("(2) Trường hợp trả lại một phần diện tích")


def test_1_012787_quantity_glued_to_a_form_number(parsed: dict[str, Procedure]) -> None:
    # "... theo Mẫu số 181 bản chính,1 bản sao": name ends "Mẫu số 18", 1 + 1.
    p = parsed["1.012787"]
    d = p.documents[2]
    assert d.name == "Đơn đăng ký biến động đất đai, tài sản gắn liền với đất theo Mẫu số 18"
    assert (d.originals, d.copies) == (1, 1)
    assert d.case is not None and d.case.startswith("a) Đối với trường hợp chủ đầu tư dự án")


def test_1_012575_several_results(parsed: dict[str, Procedure]) -> None:
    p = parsed["1.012575"]
    assert p.result == (
        "Giấy chứng nhận đăng ký xe (Mã: KQ.G01.000014)\nBiển số xe (Mã: KQ.G01.000015)"
    )
    assert [m.channel for m in p.methods] == [ONLINE]
    assert p.agencies == ["Công an tỉnh", "Công an cấp Xã"]


# --------------------------------------------------------------- unit helpers


def test_methods_from_the_issue_examples() -> None:
    text = (
        HEADER + "Trực tuyến7 Ngày làm việc10,000 Việt Nam Đồng(ghi chú (lồng) Trực tiếp tại)"
        "Mô tả trực tuyếnDịch vụ bưu chính2 Giờ2.000.000 VNĐTrực tiếp5 Ngày làm việcMiễn phí"
        "Trực tuyến3 ThángLệ phí: 135.000 đồng"
    )
    methods = parse_methods(text)
    assert [m.channel for m in methods] == [ONLINE, POST, IN_PERSON, ONLINE]
    assert [(m.processing_time.value, m.processing_time.unit) for m in methods] == [
        (7, "Ngày làm việc"),
        (2, "Giờ"),
        (5, "Ngày làm việc"),
        (3, "Tháng"),
    ]
    assert [m.fee.amount_vnd for m in methods] == [10000, 2000000, 0, 135000]
    assert methods[0].fee.note == "ghi chú (lồng) Trực tiếp tại"
    assert methods[0].fee.text == "10,000 Việt Nam Đồng (ghi chú (lồng) Trực tiếp tại)"
    assert methods[0].description == "Mô tả trực tuyến"
    assert methods[3].fee.text == "Lệ phí: 135.000 đồng"


@pytest.mark.parametrize("empty", ["", None, "Không có thông tin", HEADER, "  \n "])
def test_methods_empty(empty: str | None) -> None:
    assert parse_methods(empty or "") == []


@pytest.mark.parametrize(
    "garbage", ["xyz", HEADER + "Nộp trực tiếp tại UBND", "Trực tuyến", HEADER + "(((", "123"]
)
def test_methods_garbage_is_a_parse_error(garbage: str) -> None:
    with pytest.raises(ParseError, match="malformed methods table"):
        parse_methods(garbage)


def test_documents_and_legal_helpers() -> None:
    docs = parse_documents(
        "Trường hợp 1: cá nhânTên giấy tờMẫu đơn, tờ khaiSố lượng- Tờ khai theo mẫu;"
        "Mau-01.docx1 bản chínhBản sao CCCD0 bản chính,2 bản saoGhi chú0 bản chính"
        "--Tên giấy tờMẫu đơn, tờ khaiSố lượngẢnh 4x6 (02 ảnh)2 bản chính"
    )
    assert [(d.name, d.form, d.originals, d.copies, d.case) for d in docs] == [
        ("Tờ khai theo mẫu;", "Mau-01.docx", 1, 0, "Trường hợp 1: cá nhân"),
        ("Bản sao CCCD", None, 0, 2, "Trường hợp 1: cá nhân"),
        ("Ghi chú", None, 0, 0, "Trường hợp 1: cá nhân"),
        ("Ảnh 4x6 (02 ảnh)", None, 2, 0, None),
    ]
    assert parse_documents("Không có thông tin") == []
    assert parse_documents("--") == []
    legal = parse_legal_basis(
        "Tên văn bản pháp lýMã văn bảnNghị định số 123/2015/NĐ-CP ngày 15/11/2015 của Chính phủ"
        "123/2015/NĐ-CPLuật số 146/2025/QH15Luật số 146/2025/QH15Quyết định công bố163/QĐ-BTP"
    )
    assert [(lb.number, lb.title) for lb in legal] == [
        ("123/2015/NĐ-CP", "Nghị định số 123/2015/NĐ-CP ngày 15/11/2015 của Chính phủ"),
        ("146/2025/QH15", "Luật số 146/2025/QH15"),  # number normalised, title as written
        ("163/QĐ-BTP", "Quyết định công bố"),
    ]
    assert parse_legal_basis("Không có thông tin") == []
    assert parse_legal_basis("Tên văn bản pháp lýMã văn bảnLuật Hộ tịch") == [
        parse_legal_basis("Tên văn bản pháp lýMã văn bảnLuật Hộ tịch")[0]
    ]
    assert parse_legal_basis("Tên văn bản pháp lýMã văn bảnLuật Hộ tịch")[0].number is None


def test_agencies_and_result_helpers() -> None:
    assert split_agencies("Cục Thuế - Bộ tài chính, Thuế tỉnh, thành phố, Thuế cơ sở") == [
        "Cục Thuế - Bộ tài chính",
        "Thuế tỉnh, thành phố",
        "Thuế cơ sở",
    ]
    assert split_agencies("Bộ Quốc phòng, Bộ Văn hóa, Thể thao và Du lịch; Sở Xây dựng") == [
        "Bộ Quốc phòng",
        "Bộ Văn hóa, Thể thao và Du lịch",
        "Sở Xây dựng",
    ]
    assert split_agencies("Ủy ban Nhân dân\xa0xã,\xa0phường,\xa0thị trấn.") == [
        "Ủy ban Nhân dân xã, phường, thị trấn"
    ]
    assert split_agencies("Không có thông tin") == []
    assert clean_result("Văn bản tố tụng của Tòa án theo tiến trình giải quyếtMã: VBTT") == (
        "Văn bản tố tụng của Tòa án theo tiến trình giải quyết (Mã: VBTT)"
    )
    assert clean_result("Không có thông tinTừ khóaKhông có thông tinMô tảKhông có thông tin") == ""


# ------------------------------------------------------------- malformed input

MINIMAL = {"ma_thu_tuc": "1.000001", "ten_thu_tuc": "Thủ tục thử"}


def test_minimal_record_gives_empty_sections() -> None:
    p = parse_record(MINIMAL, source_agency="bo-thu")
    assert (p.code, p.name, p.source_agency) == ("1.000001", "Thủ tục thử", "bo-thu")
    assert p.methods == [] and p.documents == [] and p.legal_basis == [] and p.agencies == []
    assert p.result == "" and p.steps == "" and p.url == ""


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({}, "missing procedure code"),
        ({"ten_thu_tuc": "x"}, "missing procedure code"),
        ({"ma_thu_tuc": None, "ten_thu_tuc": "x"}, "missing procedure code"),
        ({"ma_thu_tuc": "  ", "ten_thu_tuc": "x"}, "missing procedure code"),
        ({"ma_thu_tuc": "abc", "ten_thu_tuc": "x"}, "malformed procedure code"),
        ({"ma_thu_tuc": 1.001193, "ten_thu_tuc": "x"}, "must be a string"),
        ({"ma_thu_tuc": "1.001193"}, "missing procedure name"),
        ({"ma_thu_tuc": "1.001193", "ten_thu_tuc": "Không có thông tin"}, "missing procedure name"),
        ({**MINIMAL, "cach_thuc_thuc_hien": "garbage"}, "malformed methods table"),
        ({**MINIMAL, "thanh_phan_ho_so": ["a", "b"]}, "must be a string"),
        ({**MINIMAL, "raw_text": 42}, "must be a string"),
    ],
)
def test_malformed_records_raise_parse_error(record: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_record(record)


@pytest.mark.parametrize("not_a_mapping", [None, "1.001193", 42, ["ma_thu_tuc"]])
def test_non_mapping_raises_parse_error(not_a_mapping: Any) -> None:
    with pytest.raises(ParseError, match="must be a mapping"):
        parse_record(not_a_mapping)


def test_none_fields_are_empty() -> None:
    record = {key: None for key in ("trinh_tu_thuc_hien", "cach_thuc_thuc_hien", "ket_qua_xu_ly")}
    p = parse_record({**MINIMAL, **record, "co_quan_thuc_hien": None, "raw_text": None})
    assert p.methods == [] and p.steps == "" and p.result == ""


_FRAGMENTS = (
    "Trực tuyến", "Trực tiếp", "Dịch vụ bưu chính", "5 Ngày làm việc", "1", "Miễn phí",
    "10,000 Việt Nam Đồng", "USD", "(", ")", "Không có thông tin", "Tên giấy tờ",
    "Mẫu đơn, tờ khaiSố lượng", "1 bản chính", ",1 bản sao", "Mau.docx", "123/2015/NĐ-CP",
    "Tên văn bản pháp lýMã văn bản", "Luật số ", "Mã: KQ.G01.1", "Từ khóa", "Mô tả", " ", "\n",
    "Căn cứ pháp lý", "Thành phần hồ sơ", "Cách Thức Thực Hiện", "\u0301", "\xa0", "\ufeff",
)  # fmt: skip


def test_garbage_never_raises_anything_but_parse_error() -> None:
    rng = random.Random(20260101)
    keys = (
        "trinh_tu_thuc_hien", "cach_thuc_thuc_hien", "thanh_phan_ho_so", "can_cu_phap_ly",
        "co_quan_thuc_hien", "yeu_cau_dieu_kien", "ket_qua_xu_ly", "raw_text", "linh_vuc",
    )  # fmt: skip
    outcomes = {"ok": 0, "error": 0}
    for _ in range(400):
        record: dict[str, Any] = dict(MINIMAL)
        for key in keys:
            record[key] = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(0, 12)))
        record["cach_thuc_thuc_hien"] = rng.choice(["", HEADER]) + record["cach_thuc_thuc_hien"]
        try:
            p = parse_record(record)
        except ParseError:
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
            assert isinstance(p.to_dict(), Mapping)
    assert outcomes["ok"] > 0 and outcomes["error"] > 0
