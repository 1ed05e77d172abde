"""The catalog in the database: import, round trip, idempotence, overlay, lint,
search from the stored catalog — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import catalog
from catalog.importer import import_catalog
from catalog.lint import lint_catalog, money_in
from catalog.parser import parse_record
from catalog.repository import CatalogRepository
from catalog.source import iter_raw_records
from core.db import session_scope
from tests.conftest import TestDatabase, isolated_database

TOTAL_RECORDS = 2642


def test_full_import_stores_every_record(catalog_db: TestDatabase) -> None:
    with session_scope(catalog_db.new_factory()) as session:
        repo = CatalogRepository(session)
        assert repo.count() == TOTAL_RECORDS
        stats = repo.stats()
    assert stats["procedures"] == TOTAL_RECORDS
    assert stats["last_import"]["failed"] == 0
    assert sum(stats["by_source_agency"].values()) == TOTAL_RECORDS
    assert stats["aliases"] > 50  # the overlay is applied


def test_round_trip_equals_parser_output(catalog_db: TestDatabase) -> None:
    """What `show` returns is exactly what the parser produced."""
    raws = {r["ma_thu_tuc"]: r for r in iter_raw_records()}
    with session_scope(catalog_db.new_factory()) as session:
        repo = CatalogRepository(session)
        for code in ("1.001193", "3.000347", "1.014061", "2.000815"):
            stored = repo.get(code)
            assert stored is not None
            expected = parse_record(raws[code], source_agency=raws[code].source_agency)
            assert stored.to_dict() == expected.to_dict()
            assert stored.source_agency == raws[code].source_agency


def test_reimport_is_idempotent(catalog_db: TestDatabase) -> None:
    factory = catalog_db.new_factory()
    again = import_catalog(factory)
    assert again.inserted == again.updated == again.removed == 0
    assert again.unchanged == TOTAL_RECORDS
    skipped = import_catalog(factory, if_changed=True)
    assert skipped.skipped


def test_overlay_fee_correction_and_aliases_are_stored(catalog_db: TestDatabase) -> None:
    with session_scope(catalog_db.new_factory()) as session:
        curated = CatalogRepository(session).get_curated("3.000347")
    assert curated is not None
    # The portal cell says "Miễn phí" for a driving licence; the overlay fixes it.
    assert curated.fee_correction is not None
    assert curated.fee_correction.amount_vnd == 135000
    assert curated.fee_correction.source
    assert any("bằng lái" in alias.lower() for alias in curated.aliases)


def test_search_from_the_database(catalog_db: TestDatabase) -> None:
    catalog.reset_caches()
    try:
        results = catalog.search("dang ky khai sinh can giay to gi", url=catalog_db.url)
        assert results[0].code == "1.001193"
        assert results == sorted(results, key=lambda c: -c.score)
    finally:
        catalog.reset_caches()


def test_unknown_code_is_none(catalog_db: TestDatabase) -> None:
    with session_scope(catalog_db.new_factory()) as session:
        assert CatalogRepository(session).get("9.999999") is None


def test_lint_reports_contradictory_fees_and_missing_data(catalog_db: TestDatabase) -> None:
    with session_scope(catalog_db.new_factory()) as session:
        findings = lint_catalog(CatalogRepository(session))
    kinds = {f.kind for f in findings}
    assert "fee_contradicts_note" in kinds
    # A curated correction silences the contradiction for that procedure.
    assert not any(f.code == "3.000347" and f.kind == "fee_contradicts_note" for f in findings)
    assert all(f.code and f.message for f in findings)


def test_money_in_reads_vietnamese_amounts() -> None:
    assert money_in("Lệ phí: 135.000 đồng/lần") == [135000]
    assert money_in("2,000,000 Việt Nam Đồng") == [2000000]
    assert money_in("Miễn phí") == []
    assert money_in("Thông tư 37/2023/TT-BTC") == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_superseded_legal_basis_is_linted_and_failures_reported(
    kind: str, tmp_path: Path
) -> None:
    """A small source with one broken record: the rest imports, the failure is
    reported with its code, and a superseded legal document is linted."""
    source = tmp_path / "raw" / "bo-tu-phap"
    source.mkdir(parents=True)
    raws = {r["ma_thu_tuc"]: r for r in iter_raw_records()}
    import json

    for code in ("1.001193", "1.000894"):
        (source / f"{code}.json").write_text(json.dumps(raws[code], ensure_ascii=False))
    (source / "9.000001.json").write_text('{"ma_thu_tuc": "9.000001"}')  # no name: unparsable
    overrides = tmp_path / "overrides.yml"
    overrides.write_text(
        yaml.safe_dump(
            {
                "legal_documents": {
                    "123/2015/NĐ-CP": {
                        "status": "superseded",
                        "superseded_by": "999/2026/NĐ-CP",
                        "source": "test fixture",
                    }
                }
            },
            allow_unicode=True,
        )
    )
    with isolated_database(kind, tmp_path) as database:
        factory = database.new_factory()
        summary = import_catalog(factory, tmp_path / "raw", overrides)
        assert summary.imported == 2
        assert [f.code for f in summary.failures] == ["9.000001"]
        with session_scope(factory) as session:
            findings = lint_catalog(CatalogRepository(session))
        stale = [f for f in findings if f.kind == "stale_legal_basis"]
        # Both records cite the Civil Status decree 123/2015/NĐ-CP.
        assert {f.code for f in stale} == {"1.001193", "1.000894"}
        assert "999/2026/NĐ-CP" in stale[0].message
        # Removing a record from the source removes it from the catalog.
        (source / "1.000894.json").unlink()
        again = import_catalog(factory, tmp_path / "raw", overrides)
        assert again.removed == 1
        with session_scope(factory) as session:
            assert CatalogRepository(session).get("1.000894") is None
