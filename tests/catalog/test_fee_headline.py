"""Fee headlines never contradict the portal's note (catalog.fee_headline), on
the real bundled records."""

from __future__ import annotations

from datetime import date

from catalog import answers, fees
from catalog.fee_headline import case_amounts, note_charges
from catalog.model import Procedure
from core.vietnamese import fold

DAY = date(2026, 1, 15)


def _lines(procedure: Procedure) -> list[str]:
    text = answers.answer_fee(procedure, today=DAY).text
    return [line for line in text.splitlines() if line.startswith("• ")]


def test_foreign_marriage_is_not_called_free(all_procedures: dict[str, Procedure]) -> None:
    # The cell says "Miễn phí", the note: "Mức lệ phí cụ thể do Hội đồng nhân dân
    # tỉnh ... quyết định" (a fee is charged, set by the province).
    for code in ("2.000806", "2.000513", "1.000094"):
        for line in _lines(all_procedures[code]):
            amount = line.split(": ", 1)[1]
            assert not amount.startswith("Miễn phí"), line
            assert "nêu có thu lệ phí (xem ghi chú)" in amount, line


def test_driving_licence_gives_the_range_of_the_note(
    all_procedures: dict[str, Procedure],
) -> None:
    lines = _lines(all_procedures["3.000346"])
    assert lines and all(
        "từ 60.000 đến 350.000 đồng tùy trường hợp (xem ghi chú)" in x for x in lines
    )
    # Never a flat 60.000 đ, and the note's own mark is not repeated.
    assert not any(x.split(": ", 1)[1].startswith("60.000") for x in lines)
    assert not any("(xem ghi chú) (xem ghi chú" in x for x in lines)


def test_passport_renewal_cases_and_plain_fees_unchanged(
    all_procedures: dict[str, Procedure],
) -> None:
    assert all("từ 200.000 đến 400.000 đồng" in x for x in _lines(all_procedures["1.001471"]))
    # One amount in the note: the headline stays that amount; free stays free.
    assert _lines(all_procedures["3.000349"]) == ["• Trực tiếp: 135.000 đồng"]
    assert _lines(all_procedures["3.000352"]) == ["• Trực tiếp: Miễn phí"]
    # Dated rules are untouched (reduction in force, change announced).
    line = _lines(all_procedures["1.014063"])[0]
    assert "đã giảm, bằng 50% mức thu" in line


def test_no_headline_of_the_catalog_contradicts_its_note(
    all_procedures: dict[str, Procedure],
) -> None:
    """The survey of the report: before the fix 156 of 2,642 procedures (413
    channel lines) had a headline saying "Miễn phí" while the note charges,
    or one flat amount while the note names several."""
    bad = []
    for procedure in all_procedures.values():
        for method in procedure.methods:
            today = fees.fee_on(method, DAY)
            if today.rule is not None and today.rule.kind != "base":
                continue  # a dated rule read from the note itself
            first = answers.describe_fee_today(method, DAY).split(";")[0]
            cases = case_amounts(method)
            shown = [f"{a:,}".replace(",", ".") for a in (cases[:1] + cases[-1:])]
            called_free = fold(first).startswith("mien phi") and note_charges(method)
            one_of_many = len(cases) >= 2 and not all(amount in first for amount in shown)
            if called_free or one_of_many:
                bad.append((procedure.code, method.channel, first))
    assert bad == []
