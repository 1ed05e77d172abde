"""Facet detection on messages as citizens type them (catalog.facets).

The teencode cases come from the fresh-user trial of issue 11: a question for
the documents and the fee in chat shorthand got only the fee answer.
"""

from __future__ import annotations

import pytest

from catalog.facets import detect_facets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lam cccd can j, het bn tien", ("ask_documents", "ask_fee")),
        ("lm cccd can nhug j vs mat bn tien", ("ask_documents", "ask_fee")),
        ("dk ks cho be can gt j, ton bao nhieu", ("ask_documents", "ask_fee")),
        ("hs cần j, lệ phí bn", ("ask_documents", "ask_fee")),
        ("rút bhxh 1 lần cần j ạ", ("ask_documents",)),
        ("bn ngay thi co ket qua", ("ask_processing_time",)),
        # The typed cue word still counts after expansion rewrites it.
        ("dang ky tam tru tren vneid nhu the nao", ("ask_online",)),
        ("Làm giấy khai sinh cho con thì nộp ở đâu vậy?", ("ask_agency",)),
    ],
)
def test_facets_in_teencode_and_plain_messages(text: str, expected: tuple[str, ...]) -> None:
    assert detect_facets(text) == expected


def test_facets_follow_the_order_asked() -> None:
    assert detect_facets("phi bn, can giay to gi") == ("ask_fee", "ask_documents")


@pytest.mark.parametrize("text", ["", "/ask_fee", "sổ đỏ", "cảm ơn nhé"])
def test_no_facet_when_nothing_is_asked(text: str) -> None:
    assert detect_facets(text) == ()
