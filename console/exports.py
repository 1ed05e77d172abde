"""CSV and XLSX exports (openpyxl) of tabular data, as Sanic responses.

CSV is UTF-8 with a BOM so Excel opens Vietnamese text correctly; cells that
start with = + - @ are prefixed with an apostrophe in both formats (formula
injection: citizens type the text that ends up in these files).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sanic.response import HTTPResponse, raw

FORMATS = ("csv", "xlsx")
_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_DANGEROUS_START):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 (with BOM) CSV bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence[Any]], title: str) -> bytes:
    """XLSX workbook bytes with one sheet `title` (bold header, frozen first row)."""
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook opens on its one worksheet
    sheet.title = title[:31]
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = cell.font.copy(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([_safe(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(
    header: Sequence[str], rows: Sequence[Sequence[Any]], *, fmt: str, basename: str
) -> HTTPResponse:
    """A download response in `fmt` ("csv" or "xlsx"); raises ValueError otherwise."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        body, mime = to_csv(header, rows), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body = to_xlsx(header, rows, basename)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return raw(
        body,
        content_type=mime,
        headers={"Content-Disposition": f'attachment; filename="{basename}-{stamp}.{fmt}"'},
    )
