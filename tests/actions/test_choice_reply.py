"""Typed replies to "which one?" (actions.common.choice_by_name / choice_index):
the option's own button label counts (fresh-user trial: "bị mất" after the
căn cước variant question got "Tôi chưa rõ bạn chọn…")."""

from __future__ import annotations

import pytest

from actions import common as c

OPTIONS = [
    {"code": "1.014063", "name": "Cấp đổi thẻ căn cước",
     "label": "Cấp đổi (hư hỏng, hết hạn, đổi thông tin)"},
    {"code": "1.014064", "name": "Cấp lại thẻ căn cước", "label": "Cấp lại (bị mất)"},
    {"code": "1.014061", "name": "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên",
     "label": "Cấp lần đầu"},
]


@pytest.mark.parametrize(
    ("typed", "index"),
    [("bị mất", 1), ("bi mat roi", 1), ("hết hạn", 0), ("hư hỏng", 0), ("lần đầu", 2),
     ("cấp lại", 1), ("cap doi", 0), ("1.014061", 2)],
)
def test_a_label_or_name_picks_its_option(typed: str, index: int) -> None:
    assert c.choice_by_name(typed, OPTIONS) == index


@pytest.mark.parametrize("typed", ["cấp", "tôi muốn hỏi giá vàng", "ok"])
def test_nothing_distinctive_picks_nothing(typed: str) -> None:
    assert c.choice_by_name(typed, OPTIONS) is None


def test_options_without_labels_still_match_by_name() -> None:
    plain = [{k: v for k, v in o.items() if k != "label"} for o in OPTIONS]
    assert c.choice_by_name("cấp lại thẻ căn cước", plain) == 1
    assert c.choice_by_name("bị mất", plain) is None


def test_what_was_typed_beats_the_nlu_guess() -> None:
    # Re-test: "lần đầu" answered Cấp đổi because the procedure entity (the
    # search's first guess) was checked before the labels.
    from actions.procedure_actions import ActionAnswerProcedureQuestion

    resolve = ActionAnswerProcedureQuestion._resolve_choice
    assert resolve("1.014063", "lần đầu", OPTIONS) == 2
    assert resolve("1.014063", "số 2", OPTIONS) == 1
    assert resolve("1.014064", "cho tôi cái đó", OPTIONS) == 1  # nothing typed matches
    assert resolve(None, "cho tôi cái đó", OPTIONS) is None
