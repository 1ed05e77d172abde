"""Model rows mapped once (catalog.repository): every field of the model
dataclasses is stored and read back, and every column is accounted for."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect as sa_inspect

from catalog.legal import LegalEntry
from catalog.model import (
    Document,
    Fee,
    FeeRule,
    LegalDocument,
    Procedure,
    ProcessingTime,
    SubmissionMethod,
)
from catalog.orm import LegalDocumentRow, ProcedureRow
from catalog.repository import (
    CatalogRepository,
    CuratedProcedure,
    FeeCorrection,
    entry_from_row,
    entry_row,
    procedure_rows,
)
from tests.conftest import DATABASE_KINDS, isolated_database

RULES = (
    FeeRule("base", 100000, text="Lệ phí: 100.000 đồng"),
    FeeRule(
        "reduction", 50000, date(2025, 1, 1), date(2025, 12, 31), percent=50,
        online_only=True, source="64/2025/TT-BTC", text="bằng 50% mức thu",
    ),
)
PROCEDURE = Procedure(
    code="9.000001",
    name="Thủ tục thử",
    field="Hộ tịch",
    implementing_level="Cấp Xã",
    agencies=["UBND cấp xã", "Công an"],
    competent_authority="UBND",
    url="https://dichvucong.gov.vn/x",
    decision="1/QĐ",
    procedure_type="TTHC",
    subjects="Công dân",
    steps="Bước 1",
    requirements="Không",
    result="Giấy",
    source_agency="bo-tu-phap",
    methods=[
        SubmissionMethod("Trực tiếp", ProcessingTime(5.0, "Ngày làm việc", "5 ngày"),
                         Fee(100000, "100.000 đ", "ghi chú"), "mô tả", RULES),
        SubmissionMethod("Trực tuyến", ProcessingTime(None, None, "Ngay"), Fee(None, "", "")),
    ],
    documents=[
        Document("Tờ khai", 1, 0, form="mau.docx", case="Trường hợp 1", kind="declaration"),
        Document("Bản sao", 0, 1),
    ],
    legal_basis=[LegalDocument("123/2015/NĐ-CP", "Nghị định", "Nghị định"),
                 LegalDocument(None, "Văn bản không số")],
)
ENTRY = LegalEntry(
    number="123/2015/NĐ-CP", doc_type="Nghị định", issuer="Chính phủ",
    issue_date=date(2015, 11, 15), title="Quy định chi tiết", status="amended",
    amended_by=("1/2020/NĐ-CP", "2/2021/NĐ-CP"), replaced_by="3/2024/NĐ-CP",
    expired_on=date(2026, 1, 1), status_source="curated", origin="curated", cited_by=7,
)


def _columns(model: type) -> set[str]:
    return {c.key for c in sa_inspect(model).columns}


def test_rows_fill_every_column_but_generated_ids():
    curated = CuratedProcedure(PROCEDURE, ("thu",), 1.5, FeeCorrection(1, "1 đ", "x"))
    rows = procedure_rows(curated, "hash")
    for table, table_rows in rows.items():
        mapper = next(m for m in ProcedureRow.registry.mappers if m.local_table.name == table)
        expected = _columns(mapper.class_) - {"id"}
        assert all(set(row) == expected for row in table_rows), table
    assert set(entry_row(ENTRY)) == _columns(LegalDocumentRow)
    method_row = rows["procedure_methods"][0]
    assert (method_row["time_value"], method_row["fee_note"]) == (5.0, "ghi chú")
    assert method_row["fee_rules"][1]["valid_from"] == "2025-01-01"  # JSON: ISO dates


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_every_field_survives_the_database(kind: str, tmp_path: Path):
    with isolated_database(kind, tmp_path) as database:
        factory = database.new_factory()
        curated = CuratedProcedure(PROCEDURE, ("thu", "thử"), 2.0, None)
        with factory() as session, session.begin():
            for table, table_rows in procedure_rows(curated, "h").items():
                mapper = next(m for m in ProcedureRow.registry.mappers
                              if m.local_table.name == table)
                if table_rows:
                    session.execute(mapper.local_table.insert(), table_rows)
            session.execute(LegalDocumentRow.__table__.insert(), [entry_row(ENTRY)])
        with factory() as session:
            repo = CatalogRepository(session)
            stored = repo.get(PROCEDURE.code)
            assert stored == PROCEDURE
            assert isinstance(stored.methods[0].fee_rules, tuple)
            again = repo.get_curated(PROCEDURE.code)
            assert again is not None and again.aliases == ("thu", "thử")
            assert again.legal == {ENTRY.number: ENTRY}
            row = session.get(LegalDocumentRow, ENTRY.number)
            assert entry_from_row(row) == ENTRY
            assert isinstance(entry_from_row(row).amended_by, tuple)


def test_a_changed_field_changes_the_row():
    # Guards the "by name" mapping: each field lands in its own column.
    for spec in fields(Document):
        value = 9 if spec.type == "int" else "changed"
        document = replace(PROCEDURE.documents[1], **{spec.name: value})
        row = procedure_rows(CuratedProcedure(replace(PROCEDURE, documents=[document]),
                                              (), 0.0, None), "h")["procedure_documents"][0]
        assert row[spec.name] == value
