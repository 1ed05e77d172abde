"""Procedure names and facts the console shows next to codes (read from the catalog tables)."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.orm import ProcedureRow

_lock = threading.Lock()
_names: dict[str, str] = {}


def procedure_names(db: Session) -> dict[str, str]:
    """code -> name of every catalog procedure (loaded once per process; the
    catalog changes only on `tthc catalog import`, which restarts nothing but
    only adds names, so a miss triggers a reload)."""
    with _lock:
        if not _names:
            _names.update(dict(db.execute(select(ProcedureRow.code, ProcedureRow.name)).all()))
        return _names


def procedure_name(db: Session, code: str | None) -> str:
    """The name of procedure `code` ("" when unknown)."""
    if not code:
        return ""
    names = procedure_names(db)
    if code not in names:
        row = db.get(ProcedureRow, code)
        if row is not None:
            with _lock:
                names[code] = row.name
    return names.get(code, "")
