"""`tthc catalog import`: raw portal records + curation overlay → database.

The import is idempotent: each procedure carries a hash of its parsed content
and overlay, so a re-run only touches what changed, and `if_changed` skips the
whole run when neither the source nor the overlay changed since the last
successful import. A record that cannot be parsed is reported with its code
and reason; the others are still imported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from catalog.legal import derive_registry, merge_curated
from catalog.orm import (
    CatalogImportRow,
    LegalDocumentRow,
    LegalDocumentStatusRow,
    ProcedureAliasRow,
    ProcedureDocumentRow,
    ProcedureLegalBasisRow,
    ProcedureMethodRow,
    ProcedureRow,
)
from catalog.overrides import DEFAULT_OVERRIDES_PATH, Overrides, load_overrides
from catalog.parser import ParseError, parse_record
from catalog.repository import (
    CatalogRepository,
    CuratedProcedure,
    FeeCorrection,
    entry_row,
    procedure_rows,
)
from catalog.source import DEFAULT_SOURCE, iter_raw_records
from core.db import session_scope, utcnow

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportFailure:
    code: str
    source: str
    reason: str


@dataclass
class ImportSummary:
    source: str
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: bool = False
    failures: list[ImportFailure] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.inserted + self.updated + self.unchanged


def _fingerprint(paths: list[Path]) -> str:
    """Hash of the input files, so `--if-changed` can skip an unchanged import."""
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.name).encode())
            digest.update(file.read_bytes())
    # The parser's own code is an input too: a parser fix must re-import.
    for module in ("parser.py", "fees.py", "legal.py"):
        digest.update(Path(__file__).with_name(module).read_bytes())
    return digest.hexdigest()


def curate(
    procedure_code: str, overrides: Overrides
) -> tuple[tuple[str, ...], float, FeeCorrection | None]:
    """The overlay entry for one procedure: aliases, popularity, fee correction."""
    entry = overrides.procedures.get(procedure_code)
    if entry is None:
        return (), 0.0, None
    correction = None
    if entry.fee_correction is not None:
        fc = entry.fee_correction
        correction = FeeCorrection(fc.amount_vnd, fc.text, fc.source)
    return tuple(entry.aliases), float(entry.popularity), correction


def _content_hash(curated: CuratedProcedure) -> str:
    payload = {
        "procedure": curated.procedure.to_dict(),
        "source_agency": curated.procedure.source_agency,
        "aliases": list(curated.aliases),
        "popularity": curated.popularity,
        "fee_correction": None
        if curated.fee_correction is None
        else [
            curated.fee_correction.amount_vnd,
            curated.fee_correction.text,
            curated.fee_correction.source,
        ],
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


# Parents first, so inserts satisfy the foreign keys.
CATALOG_TABLES = (
    ProcedureRow.__table__,
    ProcedureMethodRow.__table__,
    ProcedureDocumentRow.__table__,
    ProcedureLegalBasisRow.__table__,
    ProcedureAliasRow.__table__,
)


def _delete_procedures(session: Session, codes: list[str]) -> None:
    for start in range(0, len(codes), 500):
        batch = codes[start : start + 500]
        # Children explicitly too: not every database enforces ON DELETE CASCADE
        # the same way (SQLite only with its foreign_keys pragma).
        for table in reversed(CATALOG_TABLES[1:]):
            session.execute(delete(table).where(table.c.procedure_code.in_(batch)))
        session.execute(delete(ProcedureRow).where(ProcedureRow.code.in_(batch)))


def _store_legal_statuses(session: Session, overrides: Overrides) -> None:
    session.execute(delete(LegalDocumentStatusRow))
    for number, entry in sorted(overrides.legal_documents.items()):
        session.add(
            LegalDocumentStatusRow(
                number=number,
                status=entry.status,
                superseded_by=entry.superseded_by,
                source=entry.source,
            )
        )


def _store_registry(
    session: Session,
    legal_rows: list[tuple[str, str | None, str, str]],
    fee_notes: list[tuple[str, str]],
    overrides: Overrides,
) -> int:
    """Rebuild the legal-document registry from every parsed procedure and the
    curated statuses; returns the number of registry rows."""
    curated = {
        number: {
            "status": entry.status,
            "superseded_by": entry.superseded_by,
            "source": entry.source,
            "expired_on": entry.expired_on,
            "title": entry.title,
        }
        for number, entry in overrides.legal_documents.items()
    }
    registry = merge_curated(derive_registry(legal_rows, fee_notes), curated)
    session.execute(delete(LegalDocumentRow))
    rows = [entry_row(entry) for _, entry in sorted(registry.items())]
    for start in range(0, len(rows), 1000):
        session.execute(LegalDocumentRow.__table__.insert(), rows[start : start + 1000])
    return len(rows)


def import_catalog(
    session_factory: sessionmaker,
    source: Path | None = None,
    overrides_path: Path | None = None,
    *,
    if_changed: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import every record of `source` with the overlay of `overrides_path`.

    Runs in one transaction, so readers see the old or the new catalog, never
    half of it. Procedures no longer in the source are removed.
    """
    source = Path(source) if source else DEFAULT_SOURCE
    overrides_path = Path(overrides_path) if overrides_path else DEFAULT_OVERRIDES_PATH
    overrides = load_overrides(overrides_path)
    fingerprint = _fingerprint([source, overrides_path])
    summary = ImportSummary(source=str(source))

    with session_scope(session_factory) as session:
        repo = CatalogRepository(session)
        last = repo.last_import()
        if if_changed and last is not None and last.fingerprint == fingerprint and repo.count():
            summary.skipped = True
            summary.records = last.records
            summary.unchanged = repo.count()
            return summary

        run = CatalogImportRow(source=str(source), fingerprint=fingerprint)
        session.add(run)
        existing = dict(session.execute(select(ProcedureRow.code, ProcedureRow.content_hash)).all())
        seen: set[str] = set()
        changed: list[str] = []
        pending: dict[str, list[dict[str, Any]]] = {table.name: [] for table in CATALOG_TABLES}
        records = list(iter_raw_records(source))
        summary.records = len(records)
        legal_rows: list[tuple[str, str | None, str, str]] = []
        fee_notes: list[tuple[str, str]] = []
        for index, raw in enumerate(records, start=1):
            if progress:
                progress(index, len(records))
            code = str(raw.get("ma_thu_tuc") or "").strip()
            try:
                procedure = parse_record(raw, source_agency=raw.source_agency)
            except ParseError as exc:
                summary.failures.append(ImportFailure(code or "?", raw.source_name, str(exc)))
                continue
            if procedure.code in seen:
                summary.failures.append(
                    ImportFailure(procedure.code, raw.source_name, "duplicate procedure code")
                )
                continue
            seen.add(procedure.code)
            legal_rows.extend(
                (procedure.code, lb.number, lb.title, lb.doc_type) for lb in procedure.legal_basis
            )
            fee_notes.extend(
                (procedure.code, note)
                for note in dict.fromkeys(m.fee.note for m in procedure.methods if m.fee.note)
            )
            aliases, popularity, correction = curate(procedure.code, overrides)
            curated = CuratedProcedure(procedure, aliases, popularity, correction)
            content_hash = _content_hash(curated)
            if existing.get(procedure.code) == content_hash:
                summary.unchanged += 1
                continue
            if procedure.code in existing:
                summary.updated += 1
                changed.append(procedure.code)
            else:
                summary.inserted += 1
            for table, rows in procedure_rows(curated, content_hash).items():
                pending[table].extend(rows)

        # Replace changed procedures wholesale (children go with them through
        # ON DELETE CASCADE), then insert everything with executemany.
        stale = set(existing) - seen if seen else set()
        _delete_procedures(session, changed + sorted(stale))
        summary.removed = len(stale)
        for table in CATALOG_TABLES:
            rows = pending[table.name]
            for start in range(0, len(rows), 1000):
                session.execute(table.insert(), rows[start : start + 1000])
        _store_legal_statuses(session, overrides)
        _store_registry(session, legal_rows, fee_notes, overrides)

        run.records = summary.records
        run.inserted = summary.inserted
        run.updated = summary.updated
        run.unchanged = summary.unchanged
        run.removed = summary.removed
        run.failures = [f.__dict__ for f in summary.failures]
        run.finished_at = utcnow()
    return summary
