"""`tthc catalog lint`: find what a maintainer must check before citizens see it.

The seed problem of this domain is stale legal bases, so the first check uses
the curated legal-document statuses of `catalog/overrides.yml`. The others
catch fee cells that contradict their own note (a "Miễn phí" cell whose note
states a fee) and procedures that lack fee or time information.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.repository import CatalogRepository, CuratedProcedure, LegalStatus

STALE_STATUSES = frozenset({"superseded", "repealed"})

# An amount of money in a note: "135.000 đồng", "2,000,000 VNĐ", "50000đ".
_MONEY = re.compile(
    r"(?<![\d/])(\d{1,3}(?:[.,]\d{3})+|\d{4,})\s*(?:/\s*\S+\s*)?(?:đồng|đ\b|vnđ|vnd|việt nam đồng)",
    re.IGNORECASE,
)
_FREE = re.compile(r"miễn phí|không thu|miễn lệ phí", re.IGNORECASE)


# "123/2015/NĐ-CP" inside "Nghị định số 123/2015/NĐ-CP" or "Luật số 27/2023/QH15".
_DOCUMENT_NUMBER = re.compile(r"\d[\w.]*(?:/[\w.\-]+)+")


def bare_numbers(number_cell: str) -> list[str]:
    """The document numbers written in a legal-basis number cell."""
    return _DOCUMENT_NUMBER.findall(number_cell)


@dataclass(frozen=True)
class Finding:
    code: str
    kind: str  # stale_legal_basis | fee_contradicts_note | missing_fee | missing_time
    message: str


def money_in(text: str) -> list[int]:
    """Amounts in VND stated in `text` (non-zero only)."""
    amounts = []
    for match in _MONEY.finditer(text or ""):
        value = int(re.sub(r"[.,]", "", match.group(1)))
        if value:
            amounts.append(value)
    return amounts


def lint_procedure(curated: CuratedProcedure, statuses: dict[str, LegalStatus]) -> list[Finding]:
    p = curated.procedure
    findings: list[Finding] = []
    for legal in p.legal_basis:
        status = next(
            (statuses[n] for n in bare_numbers(legal.number or "") if n in statuses), None
        )
        if status and status.status in STALE_STATUSES:
            replacement = f", thay bằng {status.superseded_by}" if status.superseded_by else ""
            findings.append(
                Finding(
                    p.code,
                    "stale_legal_basis",
                    f"căn cứ {legal.number} đã {status.status}{replacement}",
                )
            )
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


def lint_catalog(repo: CatalogRepository) -> list[Finding]:
    statuses = repo.legal_statuses()
    findings: list[Finding] = []
    for curated in repo.iter_curated():
        findings.extend(lint_procedure(curated, statuses))
    return findings
