"""`tthc catalog lint`: find what a maintainer must check before citizens see it.

The seed problem of this domain is stale legal bases, so the first check uses
the legal-document registry (`catalog/legal.py`: statuses derived from the
catalog plus the curated ones of `catalog/overrides.yml`): every procedure
citing a replaced or expired document is reported with the replacement and the
source of the status, one finding per procedure and document — a review queue
for maintainers (`tthc catalog lint --format csv`). The other checks catch fee
cells that contradict their own note (a "Miễn phí" cell whose note states a
fee) and procedures that lack fee or time information.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from catalog.fees import format_date, today
from catalog.legal import LegalEntry, is_stale, resolve_replacement
from catalog.repository import CatalogRepository, CuratedProcedure, LegalStatus

STALE_STATUSES = frozenset({"superseded", "repealed", "replaced", "expired"})

# An amount of money in a note: "135.000 đồng", "2,000,000 VNĐ", "50000đ".
_MONEY = re.compile(
    r"(?<![\d/])(\d{1,3}(?:[.,]\d{3})+|\d{4,})\s*(?:/\s*\S+\s*)?(?:đồng|đ\b|vnđ|vnd|việt nam đồng)",
    re.IGNORECASE,
)
_FREE = re.compile(r"miễn phí|không thu|miễn lệ phí", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One thing to review. For stale_legal_basis: `number` is the cited
    document, `replaced_by` the newest replacement (None for an expiry),
    `source` where the status comes from."""

    code: str
    kind: str  # stale_legal_basis | fee_contradicts_note | missing_fee | missing_time
    message: str
    number: str | None = None
    status: str | None = None
    replaced_by: str | None = None
    source: str | None = None


CSV_COLUMNS = ("code", "kind", "number", "status", "replaced_by", "source", "message")


def findings_csv(findings: Sequence[Finding]) -> str:
    """The findings as CSV with a header row (CSV_COLUMNS), for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        writer.writerow([getattr(f, column) or "" for column in CSV_COLUMNS])
    return out.getvalue()


def _stale_findings(
    curated: CuratedProcedure, registry: Mapping[str, LegalEntry], day: date
) -> list[Finding]:
    p = curated.procedure
    findings = []
    for number in dict.fromkeys(lb.number for lb in p.legal_basis if lb.number):
        entry = registry.get(number)
        if entry is None or not is_stale(entry, day):
            continue
        replacement = resolve_replacement(number, registry)
        if replacement:
            message = f"căn cứ {number} đã được thay thế bởi {replacement}"
        else:
            when = f" từ {format_date(entry.expired_on)}" if entry.expired_on else ""
            message = f"căn cứ {number} đã hết hiệu lực{when}"
        findings.append(
            Finding(
                p.code,
                "stale_legal_basis",
                message,
                number=number,
                status=entry.status,
                replaced_by=replacement,
                source=entry.status_source,
            )
        )
    return findings


def money_in(text: str) -> list[int]:
    """Amounts in VND stated in `text` (non-zero only)."""
    amounts = []
    for match in _MONEY.finditer(text or ""):
        value = int(re.sub(r"[.,]", "", match.group(1)))
        if value:
            amounts.append(value)
    return amounts


def lint_procedure(
    curated: CuratedProcedure,
    statuses: dict[str, LegalStatus] | None = None,
    *,
    registry: Mapping[str, LegalEntry] | None = None,
    day: date | None = None,
) -> list[Finding]:
    """Findings for one procedure. Stale legal bases come from `registry`
    (default: the entries the CuratedProcedure carries) as of `day` (default
    today); `statuses` (the older curated-status table) is accepted for
    callers that still pass it and is not needed otherwise."""
    p = curated.procedure
    findings = _stale_findings(curated, registry or curated.legal, day or today())
    fee_rows = [m for m in p.methods if m.fee.text.strip()]
    if not fee_rows and curated.fee_correction is None:
        findings.append(Finding(p.code, "missing_fee", "không có thông tin phí, lệ phí"))
    if not p.methods or not any(m.processing_time.text.strip() for m in p.methods):
        findings.append(Finding(p.code, "missing_time", "không có thời hạn giải quyết"))
    for method in fee_rows:
        note = method.fee.note
        main_text = method.fee.text.replace(note, "") if note else method.fee.text
        if _FREE.search(main_text) and money_in(method.fee.note):
            if curated.fee_correction is not None:
                break  # a maintainer already decided what the fee is
            findings.append(
                Finding(
                    p.code,
                    "fee_contradicts_note",
                    f"{method.channel}: ô phí ghi 'Miễn phí' nhưng ghi chú nêu "
                    f"{money_in(method.fee.note)[0]:,} đồng".replace(",", "."),
                )
            )
            break  # one finding per procedure is enough to send a maintainer there
    return findings


def lint_catalog(repo: CatalogRepository, day: date | None = None) -> list[Finding]:
    """Every finding over the catalog, procedures in code order."""
    registry = repo.legal_registry()
    day = day or today()
    findings: list[Finding] = []
    for curated in repo.iter_curated():
        findings.extend(lint_procedure(curated, registry=registry, day=day))
    return findings
