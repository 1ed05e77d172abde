"""`tthc catalog ...` contracts: JSON shapes other parts rely on, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import catalog
from bot.cli import main
from core.db import PROJECT_ROOT
from tests.conftest import TestDatabase


@pytest.fixture
def cli_db(catalog_db: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> TestDatabase:
    monkeypatch.setenv("TTHC_DATABASE_URL", catalog_db.url)
    catalog.reset_caches()
    yield catalog_db
    catalog.reset_caches()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_search_json_contract(cli_db: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys, "catalog", "search", "lam ho chieu o dau", "--json", "--limit", "3"
    )
    assert status == 0
    rows = json.loads(out)
    assert 1 <= len(rows) <= 3
    assert all(set(row) == {"code", "name", "score"} for row in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert rows[0]["code"] == "1.001456"


def test_show_json_contract(cli_db: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "catalog", "show", "1.001193", "--json")
    assert status == 0
    data = json.loads(out)
    for key in ("code", "name", "field", "implementing_level", "agencies", "url", "steps",
                "result", "methods", "documents", "legal_basis"):
        assert key in data, key
    assert isinstance(data["agencies"], list)
    method = data["methods"][0]
    assert set(method["processing_time"]) >= {"value", "unit", "text"}
    assert set(method["fee"]) >= {"amount_vnd", "text"}
    # Civil-status times are bare numbers: the unit stays empty, never invented.
    assert method["processing_time"]["value"] == 1
    assert method["processing_time"]["unit"] is None
    assert set(data["documents"][0]) >= {"name", "originals", "copies", "form", "case"}
    assert any(lb["number"] == "123/2015/NĐ-CP" for lb in data["legal_basis"])


def test_show_json_carries_kinds_fee_rules_and_legal_statuses(
    cli_db: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10's structure: documents with kind and case, dated fee rules,
    legal statuses (README "Catalog JSON")."""
    status, out, _ = run_cli(capsys, "catalog", "show", "1.014063", "--json")
    assert status == 0
    data = json.loads(out)
    assert {d["kind"] for d in data["documents"]} <= {
        "declaration", "submit", "conditional", "present", "note"
    }
    assert data["documents"][0]["kind"] == "declaration"
    rules = data["methods"][0]["fee_rules"]
    assert rules[0]["kind"] == "base" and rules[0]["amount_vnd"] == 50000
    reduction = next(r for r in rules if r["valid_from"] == "2025-07-01")
    assert reduction == {
        "kind": "reduction", "amount_vnd": 25000, "valid_from": "2025-07-01",
        "valid_until": "2026-12-31", "percent": 50, "online_only": False,
        "source": "64/2025/TT-BTC", "text": reduction["text"],
    }
    statuses = data["legal_statuses"]
    assert statuses["64/2025/TT-BTC"]["expired_on"] == "2026-12-31"
    assert set(statuses["64/2025/TT-BTC"]) >= {
        "number", "doc_type", "issuer", "issue_date", "title", "status", "amended_by",
        "replaced_by", "expired_on", "status_source",
    }
    status, out, _ = run_cli(capsys, "catalog", "show", "2.000986", "--json")
    replaced = json.loads(out)["legal_statuses"]["81/2006/QH11"]
    assert (replaced["status"], replaced["replaced_by"]) == ("replaced", "68/2020/QH14")


def test_lint_csv_review_queue(cli_db: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys, "catalog", "lint", "--kind", "stale_legal_basis", "--format", "csv"
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "code,kind,number,status,replaced_by,source,message"
    assert any(line.startswith("2.000986,stale_legal_basis,81/2006/QH11,replaced,68/2020/QH14,")
               for line in lines)


def test_show_unknown_code_exits_2(
    cli_db: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "catalog", "show", "9.999999")
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "9.999999" in err


def test_human_show_lint_stats(cli_db: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "catalog", "show", "3.000347")
    assert status == 0
    assert "Đổi giấy phép lái xe" in out and "135.000" in out
    status, out, err = run_cli(capsys, "catalog", "lint", "--kind", "fee_contradicts_note")
    assert status == 0
    assert "fee_contradicts_note" in out and "findings" in err
    status, out, _ = run_cli(capsys, "catalog", "stats", "--json")
    assert json.loads(out)["procedures"] == 2642


def test_bad_limit_and_unreachable_database(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A closed port: the command must fail at once with a clear message.
    monkeypatch.setenv("TTHC_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/none")
    status, _, err = run_cli(capsys, "catalog", "stats")
    assert status == 1
    assert "Cannot reach the database" in err


def test_console_script_is_installed() -> None:
    """`tthc` exists in the venv and prints its help."""
    script = PROJECT_ROOT / ".venv" / "bin" / "tthc"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    result = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "catalog" in result.stdout
