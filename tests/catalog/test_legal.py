"""The legal-document registry (catalog/legal.py): normalised numbers, one row
per document, statuses derived from the catalog and curated with a source, the
lint's review queue and the answers' warning."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from catalog import answers
from catalog.legal import (
    STATUS_AMENDED,
    STATUS_EXPIRED,
    STATUS_REPLACED,
    LegalEntry,
    derive_registry,
    doc_type_of,
    is_stale,
    issuer_of,
    normalize_number,
    stale_note,
)
from catalog.lint import CSV_COLUMNS, findings_csv, lint_catalog
from catalog.model import Procedure
from catalog.orm import LegalDocumentRow
from catalog.repository import CatalogRepository
from core.db import session_scope
from tests.conftest import TestDatabase

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Luật số 32/2024/QH15", "32/2024/QH15"),
        ("32/2024/QH15", "32/2024/QH15"),
        ("Luất số 146/2025/QH15", "146/2025/QH15"),
        ("Nghị định số  01/2021/NĐ-CP", "01/2021/NĐ-CP"),
        ("Nghị định 1/2021/ND-CP", "01/2021/NĐ-CP"),
        ("Thông tư số 03/2023/TT-BTP", "03/2023/TT-BTP"),
        ("163/QĐ-BTP", "163/QĐ-BTP"),
        ("", None),
        (None, None),
    ],
)
def test_normalize_number(cell: str | None, expected: str | None) -> None:
    assert normalize_number(cell) == expected


def test_type_and_issuer_from_the_number() -> None:
    assert (doc_type_of("32/2024/QH15"), issuer_of("32/2024/QH15")) == ("Luật", "Quốc hội")
    assert (doc_type_of("01/2021/NĐ-CP"), issuer_of("01/2021/NĐ-CP")) == ("Nghị định", "Chính phủ")
    assert (doc_type_of("03/2023/TT-BTP"), issuer_of("03/2023/TT-BTP")) == (
        "Thông tư",
        "Bộ Tư pháp",
    )
    assert doc_type_of("1/2020/QH14", "Bộ luật Dân sự") == "Bộ luật"


def _registry(all_procedures: dict[str, Procedure]) -> dict[str, LegalEntry]:
    rows = [
        (p.code, lb.number, lb.title, lb.doc_type)
        for p in all_procedures.values()
        for lb in p.legal_basis
    ]
    notes = [(p.code, m.fee.note) for p in all_procedures.values() for m in p.methods]
    return derive_registry(rows, notes)


def test_every_legal_basis_row_is_normalised(all_procedures: dict[str, Procedure]) -> None:
    """No number keeps a "Luật số"/"Nghị định số" prefix or a space; one
    document, one registry row."""
    prefix = re.compile(
        r"^(?:luật|luất|bộ luật|nghị định|nghị quyết|thông tư|quyết định|pháp lệnh|số)\b",
        re.IGNORECASE,
    )
    numbers = set()
    for procedure in all_procedures.values():
        for lb in procedure.legal_basis:
            if lb.number is None:
                continue
            assert not prefix.match(lb.number), (procedure.code, lb.number)
            assert " " not in lb.number and lb.number == normalize_number(lb.number)
            numbers.add(lb.number)
    registry = _registry(all_procedures)
    assert set(registry) == numbers
    # One document, one row: no two keys name the same document.
    canonical = [re.sub(r"^0+", "", n).upper() for n in registry]
    assert len(canonical) == len(set(canonical))
    assert "32/2024/QH15" in registry and "Luật số 32/2024/QH15" not in registry
    assert registry["32/2024/QH15"].cited_by >= 118


def test_statuses_derived_from_the_catalog(all_procedures: dict[str, Procedure]) -> None:
    registry = _registry(all_procedures)
    # A newer law of the same name cited elsewhere in the catalog.
    housing = registry["65/2014/QH13"]
    assert (housing.status, housing.replaced_by) == (STATUS_REPLACED, "27/2023/QH15")
    assert "Luật Nhà ở" in (housing.status_source or "")
    assert registry["78/2006/QH10"].replaced_by == "38/2019/QH14"  # Luật Quản lý thuế
    # A validity period in a fee note.
    circular = registry["44/2023/TT-BTC"]
    assert (circular.status, circular.expired_on) == (STATUS_EXPIRED, date(2023, 12, 31))
    reduction = registry["64/2025/TT-BTC"]
    assert reduction.expired_on == date(2026, 12, 31)
    assert not is_stale(reduction, TODAY) and is_stale(reduction, date(2027, 1, 1))
    # A title that says "sửa đổi, bổ sung ... Thông tư số 55/2021/TT-BCA".
    amended = registry["55/2021/TT-BCA"]
    assert amended.status == STATUS_AMENDED and "53/2025/TT-BCA" in amended.amended_by
    assert not is_stale(amended, TODAY)
    # Every derived status says where it comes from.
    assert all(e.status_source for e in registry.values() if e.status != "unverified")


def test_stale_note_wording() -> None:
    registry = {
        "81/2006/QH11": LegalEntry(
            "81/2006/QH11", status=STATUS_REPLACED, replaced_by="68/2020/QH14"
        ),
        "1/2000/TT-X": LegalEntry(
            "1/2000/TT-X", status=STATUS_EXPIRED, expired_on=date(2020, 1, 1)
        ),
    }
    assert stale_note("81/2006/QH11", registry, TODAY) == (
        "⚠️ Căn cứ pháp lý 81/2006/QH11 đã được thay thế bởi 68/2020/QH14; "
        "thông tin có thể đã thay đổi."
    )
    assert "đã hết hiệu lực từ 01/01/2020" in stale_note("1/2000/TT-X", registry, TODAY)
    assert stale_note("99/2099/QH99", registry, TODAY) == ""


def test_registry_table_lint_and_answers(catalog_db: TestDatabase) -> None:
    """The imported registry (derived + curated), the lint's review queue, and
    the warning in the answers."""
    with session_scope(catalog_db.new_factory()) as session:
        repo = CatalogRepository(session)
        rows = session.query(LegalDocumentRow).count()
        registry = repo.legal_registry()
        findings = lint_catalog(repo, day=TODAY)
        residence = repo.get_curated("2.000986")
        passport = repo.get_curated("1.001456")
    assert rows == len(registry) > 1000
    # Curated replacements with their public source.
    for old, new in [
        ("81/2006/QH11", "68/2020/QH14"),
        ("65/2014/QH13", "27/2023/QH15"),
        ("45/2013/QH13", "31/2024/QH15"),
        ("01/2021/NĐ-CP", "168/2025/NĐ-CP"),
    ]:
        entry = registry[old]
        assert (entry.status, entry.replaced_by) == (STATUS_REPLACED, new), old
        assert entry.status_source and "vbpl.vn" in entry.status_source
    assert registry["81/2006/QH11"].origin == "curated"
    # The lint reports every procedure citing a stale document, with the replacement.
    stale = {(f.code, f.number): f for f in findings if f.kind == "stale_legal_basis"}
    assert stale[("2.000986", "81/2006/QH11")].replaced_by == "68/2020/QH14"
    assert stale[("1.007765", "65/2014/QH13")].replaced_by == "27/2023/QH15"
    assert stale[("1.010010", "01/2021/NĐ-CP")].replaced_by == "168/2025/NĐ-CP"
    assert stale[("1.001456", "44/2023/TT-BTC")].status == STATUS_EXPIRED
    assert all(f.source for f in stale.values())
    expected = set()
    with session_scope(catalog_db.new_factory()) as session:
        for curated in CatalogRepository(session).iter_curated():
            for lb in curated.procedure.legal_basis:
                if lb.number and is_stale(registry.get(lb.number), TODAY):
                    expected.add((curated.procedure.code, lb.number))
    assert set(stale) == expected and len(expected) >= 25
    table = list(csv.reader(io.StringIO(findings_csv(list(stale.values())))))
    assert tuple(table[0]) == CSV_COLUMNS and len(table) == len(stale) + 1
    # The assistant tells the citizen.
    assert residence is not None and passport is not None
    text = answers.answer_documents(residence).text
    assert "81/2006/QH11 đã được thay thế bởi 68/2020/QH14; thông tin có thể đã thay đổi" in text
    legal = answers.answer_legal_basis(residence).text
    assert "Căn cứ pháp lý 81/2006/QH11 đã được thay thế bởi 68/2020/QH14" in legal
    fee = answers.answer_fee(passport, today=TODAY).text
    assert "44/2023/TT-BTC đã hết hiệu lực từ 31/12/2023; thông tin có thể đã thay đổi" in fee
