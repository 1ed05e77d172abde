"""Dated fee rules (catalog/fees.py) on real records, with a fixed clock before,
inside and after each validity window, and the fee answer built from them."""

from __future__ import annotations

from datetime import date

import pytest

from catalog import answers
from catalog.fees import fee_on, parse_fee_rules, today
from catalog.model import CHANNEL_IN_PERSON, CHANNEL_ONLINE, Fee, Procedure, ProcessingTime
from catalog.model import SubmissionMethod as Method


def _method(procedure: Procedure, channel: str) -> Method:
    return next(m for m in procedure.methods if m.channel == channel)


def _on(procedure: Procedure, channel: str, day: date) -> int | None:
    return fee_on(_method(procedure, channel), day).amount_vnd


# (code, channel, day, fee that day): the note's windows, read by hand from each record.
CASES = [
    # Căn cước exchange: 50.000 đ; online 50 % in 2025; everyone 50 % 01/7/2025-31/12/2026
    # (Thông tư 64/2025/TT-BTC).
    ("1.014063", CHANNEL_IN_PERSON, date(2024, 12, 31), 50_000),
    ("1.014063", CHANNEL_ONLINE, date(2024, 12, 31), 50_000),
    ("1.014063", CHANNEL_ONLINE, date(2025, 3, 1), 25_000),
    ("1.014063", CHANNEL_IN_PERSON, date(2025, 3, 1), 50_000),
    ("1.014063", CHANNEL_IN_PERSON, date(2025, 7, 1), 25_000),
    ("1.014063", CHANNEL_IN_PERSON, date(2026, 11, 30), 25_000),
    ("1.014063", CHANNEL_IN_PERSON, date(2026, 12, 31), 25_000),
    ("1.014063", CHANNEL_IN_PERSON, date(2027, 1, 1), 50_000),
    # Căn cước re-issue: 70.000 đ, same windows.
    ("1.014064", CHANNEL_IN_PERSON, date(2025, 6, 30), 70_000),
    ("1.014064", CHANNEL_IN_PERSON, date(2026, 1, 15), 35_000),
    ("1.014064", CHANNEL_ONLINE, date(2027, 1, 1), 70_000),
    # Passport: the online 160.000 đ applied only until 31/12/2023 (Thông tư 44/2023/TT-BTC).
    ("1.001456", CHANNEL_ONLINE, date(2023, 12, 31), 160_000),
    ("1.001456", CHANNEL_ONLINE, date(2024, 1, 1), None),
    ("1.001456", CHANNEL_IN_PERSON, date(2024, 1, 1), 200_000),
    # Driving licence exchange / re-issue: 135.000 đ, online 115.000 đ 01/12/2023-31/12/2025.
    ("3.000347", CHANNEL_ONLINE, date(2023, 11, 30), 135_000),
    ("3.000347", CHANNEL_ONLINE, date(2024, 6, 1), 115_000),
    ("3.000347", CHANNEL_IN_PERSON, date(2024, 6, 1), 135_000),
    ("3.000347", CHANNEL_ONLINE, date(2026, 1, 1), 135_000),
    ("3.000348", CHANNEL_ONLINE, date(2025, 12, 31), 115_000),
    ("3.000348", CHANNEL_ONLINE, date(2026, 11, 30), 135_000),
    # Residence registration: no window, the cell's fee every day.
    ("1.004222", CHANNEL_IN_PERSON, date(2020, 1, 1), 20_000),
    ("1.004222", CHANNEL_ONLINE, date(2030, 1, 1), 10_000),
    # Household business registration: no window.
    ("1.001612", CHANNEL_IN_PERSON, date(2026, 11, 30), 50_000),
    # Border pass: 40.000 đ only until 31/12/2024 (Thông tư 43/2024/TT-BTC).
    ("1.001200", CHANNEL_ONLINE, date(2024, 12, 31), 40_000),
    ("1.001200", CHANNEL_ONLINE, date(2025, 1, 1), None),
    # Aviation certificate: 80 % of 5.000.000 đ from 01/7/2024 to 31/12/2024.
    ("1.002899", "Dịch vụ bưu chính", date(2024, 6, 30), 5_000_000),
    ("1.002899", "Dịch vụ bưu chính", date(2024, 7, 1), 4_000_000),
    ("1.002899", "Dịch vụ bưu chính", date(2025, 1, 1), 5_000_000),
    # Foreign law firm licence: 10.000.000 đ from 01/7/2025 to 31/12/2026, 20.000.000 đ otherwise.
    ("2.000851", CHANNEL_ONLINE, date(2025, 6, 30), 20_000_000),
    ("2.000851", CHANNEL_ONLINE, date(2025, 7, 1), 10_000_000),
    ("2.000851", CHANNEL_ONLINE, date(2027, 1, 1), 20_000_000),
    # "Miễn phí kể từ ngày 07/4/2026 đến 30/6/2026" (Thông tư 40/2026/TT-BTC).
    ("1.000597", "Dịch vụ bưu chính", date(2026, 4, 6), 2_400_000),
    ("1.000597", "Dịch vụ bưu chính", date(2026, 4, 7), 0),
    ("1.000597", "Dịch vụ bưu chính", date(2026, 6, 30), 0),
    ("1.000597", "Dịch vụ bưu chính", date(2026, 7, 1), 2_400_000),
]


@pytest.mark.parametrize(("code", "channel", "day", "expected"), CASES)
def test_fee_on_a_day(
    all_procedures: dict[str, Procedure], code: str, channel: str, day: date, expected: int | None
) -> None:
    assert _on(all_procedures[code], channel, day) == expected


def test_at_least_ten_records_with_windows_are_pinned() -> None:
    assert len({code for code, *_ in CASES}) >= 10


def test_next_change_and_source(all_procedures: dict[str, Procedure]) -> None:
    method = _method(all_procedures["1.014063"], CHANNEL_IN_PERSON)
    inside = fee_on(method, date(2026, 11, 30))
    assert inside.rule is not None and inside.rule.kind == "reduction"
    assert inside.rule.source == "64/2025/TT-BTC" and inside.rule.percent == 50
    assert (inside.next_change, inside.next_amount_vnd) == (date(2027, 1, 1), 50_000)
    after = fee_on(method, date(2027, 3, 1))
    assert after.next_change is None and after.rule is not None and after.rule.kind == "base"
    assert all(r.valid_until and r.valid_until < date(2027, 3, 1) for r in after.expired)


def test_expired_rule_is_never_current(all_procedures: dict[str, Procedure]) -> None:
    """Over every record and a few days: the rule giving the fee is active that day."""
    for day in (date(2023, 1, 1), date(2025, 3, 1), date(2026, 11, 30), date(2027, 6, 1)):
        for procedure in all_procedures.values():
            for method in procedure.methods:
                result = fee_on(method, day)
                if result.rule is not None:
                    rule = result.rule
                    assert rule.valid_until is None or rule.valid_until >= day, procedure.code
                    assert rule.valid_from is None or rule.valid_from <= day, procedure.code
                    assert rule not in result.expired


def test_fee_answer_states_todays_fee_change_and_source(
    all_procedures: dict[str, Procedure],
) -> None:
    text = answers.answer_fee(all_procedures["1.014063"], today=date(2026, 11, 30)).text
    assert "áp dụng ngày 30/11/2026" in text
    in_person = next(line for line in text.splitlines() if line.startswith("• Trực tiếp"))
    assert ": 25.000 đồng (đã giảm, bằng 50% mức thu theo 64/2025/TT-BTC)" in in_person
    assert "từ 01/01/2027: 50.000 đồng" in in_person
    later = answers.answer_fee(all_procedures["1.014063"], today=date(2027, 2, 1)).text
    in_person = next(line for line in later.splitlines() if line.startswith("• Trực tiếp"))
    assert ": 50.000 đồng;" in in_person and "25.000 đồng (đã giảm" not in later
    assert "mức 25.000 đồng theo 64/2025/TT-BTC đã hết hạn ngày 31/12/2026" in in_person


def test_passport_online_fee_from_expired_circular_is_not_current(
    all_procedures: dict[str, Procedure],
) -> None:
    text = answers.answer_fee(all_procedures["1.001456"], today=date(2026, 11, 30)).text
    online = next(line for line in text.splitlines() if line.startswith("• Trực tuyến"))
    assert "đã hết hạn" in online and "31/12/2023" in online and "44/2023/TT-BTC" in online
    assert not online.startswith("• Trực tuyến, Dịch vụ bưu chính: 160.000")
    inside = answers.answer_fee(all_procedures["1.001456"], today=date(2023, 8, 1)).text
    assert "Trực tuyến, Dịch vụ bưu chính: 160.000 đồng" in inside
    assert "từ 01/01/2024: Cổng DVC không ghi mức sau đó" in inside


def test_clock_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTHC_TODAY", "2025-03-01")
    assert today() == date(2025, 3, 1)
    monkeypatch.setenv("TTHC_TODAY", "not a date")
    with pytest.raises(ValueError):
        today()


def test_unusual_notes_do_not_crash() -> None:
    def method(amount: int | None, note: str) -> Method:
        return Method(CHANNEL_ONLINE, ProcessingTime(None, None, ""), Fee(amount, "x", note))

    assert parse_fee_rules(method(None, "")) == ()
    rules = parse_fee_rules(method(100_000, "áp dụng đến hết ngày 31/02/2025"))  # no such day
    assert [r.kind for r in rules] == ["base"] and rules[0].valid_until is None
    rules = parse_fee_rules(method(100_000, "Kể từ ngày 01/01/2025 bằng 150% mức thu"))
    assert [r.kind for r in rules] == ["base"]


def test_curated_fee_where_the_record_is_silent(all_procedures: dict[str, Procedure]) -> None:
    """Among the 50 most asked procedures (overlay popularity/aliases) the ones
    with no fee cell carry a curated fee, marked as curated, with its source."""
    from catalog.importer import curate
    from catalog.overrides import load_overrides
    from catalog.repository import CuratedProcedure

    overrides = load_overrides()
    for code in ("1.014061", "1.014062"):
        procedure = all_procedures[code]
        assert not any(m.fee.text.strip() for m in procedure.methods)
        aliases, popularity, correction = curate(code, overrides)
        assert correction is not None and correction.source
        text = answers.answer_fee(CuratedProcedure(procedure, aliases, popularity, correction)).text
        assert "📌 Mức phí do nhóm duy trì bổ sung (Cổng DVC không ghi): Miễn phí" in text
        assert "(nguồn: Cổng Dịch vụ công quốc gia" in text and "Curated" not in text


def test_no_citizen_answer_shows_a_maintainers_note(all_procedures: dict[str, Procedure]) -> None:
    """The `source` of a fee correction is the maintainers' note (English,
    issue numbers, archive paths): citizens see a Vietnamese source line (the
    national portal and the documents the note cites), never the note."""
    from catalog.importer import curate
    from catalog.overrides import load_overrides
    from catalog.repository import CuratedProcedure

    overrides = load_overrides()
    corrected = [code for code, entry in overrides.procedures.items()
                 if entry.fee_correction is not None and code in all_procedures]
    assert len(corrected) >= 4
    for code in corrected:
        aliases, popularity, correction = curate(code, overrides)
        assert correction is not None
        curated = CuratedProcedure(all_procedures[code], aliases, popularity, correction)
        # The documents the note cites may be shown (as "căn cứ"): not part of the check.
        note = answers.NUMBER_RE.sub("§", " ".join(correction.source.split()))
        fragments = {note[i:i + 30] for i in range(0, max(len(note) - 30, 1), 15)}
        for intent in answers.QUESTION_LABELS:
            text = answers.answer_for_intent(intent, curated).text
            text = answers.NUMBER_RE.sub("§", " ".join(text.split()))
            assert not [f for f in fragments if f in text], (code, intent)
            assert "Curated" not in text and "issue" not in text, (code, intent)
        fee = answers.answer_fee(curated).text
        assert "(nguồn: Cổng Dịch vụ công quốc gia" in fee, code
        for number in answers._numbers_in(correction.source):
            assert number in fee, (code, number)
