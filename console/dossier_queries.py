"""Dossier lists for the console: filters, agency scope, due dates.

Agency of a dossier = the first implementing agency of its procedure in the
catalog, else its competent authority, else its implementing level ("Cấp
xã"). An officer whose account has an agency sees only dossiers of that
agency (compared without diacritics/case); an officer without one, a
supervisor and an auditor see all (`dossiers.all_agencies`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.orm import ProcedureRow
from console.auth import StaffView
from console.duedates import Holidays, due_date, load_holidays, processing_time, today_vn
from console.filters import FilterParams, day_bounds
from core.vietnamese import fold
from dossiers.codes import normalize_code
from dossiers.orm import DOSSIER_STATUSES, Dossier, DossierEvent, HandoffRequest
from dossiers.service import status_label
from dossiers.validation import VIETNAM_TZ, mask_name

OPEN_STATUSES = frozenset({"submitted", "received", "processing"})
MAX_ROWS = 5000


def agency_from(agencies: Any, authority: str | None, level: str | None) -> str:
    """The agency label from a procedure's columns (see module docstring)."""
    named = [a for a in (agencies or []) if isinstance(a, str) and a.strip()]
    if named:
        return named[0].strip()
    return (authority or level or "").strip()


def agency_of(procedure: ProcedureRow | None) -> str:
    """The agency label of a procedure row ("" for an unknown procedure)."""
    if procedure is None:
        return ""
    return agency_from(
        procedure.agencies, procedure.competent_authority, procedure.implementing_level
    )


# Only the columns the agency needs: loading ProcedureRow entities would also
# load their methods, documents, legal bases and aliases (lazy="selectin").
_AGENCY_COLUMNS = (
    ProcedureRow.agencies, ProcedureRow.competent_authority, ProcedureRow.implementing_level
)


def catalog_agencies(db: Session) -> list[str]:
    """Every agency label a dossier can carry (`agency_from` over the whole
    catalog), sorted: the values an officer's agency may take."""
    rows = db.execute(select(*_AGENCY_COLUMNS)).all()
    return sorted({agency for agency in (agency_from(*row) for row in rows) if agency})


def known_agency(db: Session, typed: str) -> str | None:
    """The catalog's spelling of the agency `typed` (matched without
    diacritics/case, as `may_see` compares), or None when no dossier can carry it."""
    wanted = fold(typed)
    return next((a for a in catalog_agencies(db) if fold(a) == wanted), None) if wanted else None


def may_see(staff: StaffView, agency: str) -> bool:
    """True when `staff` may see a dossier of `agency`."""
    if staff.can("dossiers.all_agencies") or not staff.agency:
        return True
    return fold(staff.agency) == fold(agency)


def may_reveal_conversation(db: Session, staff: StaffView, sender_id: str) -> bool:
    """True when `staff` (who holds `personal.reveal`) may reveal the personal
    data of the conversation of `sender_id`. The agency limit of dossiers
    applies: an officer limited to an agency may reveal a conversation only
    when every dossier of that sender is of their agency; a conversation
    without a dossier only when it is a hand-off they hold or held (assigned
    to or closed by them). All-agency roles and officers without an agency: always."""
    if staff.can("dossiers.all_agencies") or not staff.agency:
        return True
    agencies = db.execute(
        select(*_AGENCY_COLUMNS)
        .select_from(Dossier)
        .outerjoin(ProcedureRow, ProcedureRow.code == Dossier.procedure_code)
        .where(Dossier.sender_id == sender_id)
    ).all()
    if agencies:
        return all(may_see(staff, agency_from(*row)) for row in agencies)
    held = db.execute(
        select(HandoffRequest.id).where(
            HandoffRequest.sender_id == sender_id,
            (HandoffRequest.assigned_to == staff.username)
            | (HandoffRequest.closed_by == staff.username),
        ).limit(1)
    ).first()
    return held is not None


@dataclass(frozen=True)
class DossierFilter:
    code: str = ""
    status: str = ""
    procedure: str = ""
    agency: str = ""
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False

    @classmethod
    def from_params(cls, params: Any) -> DossierFilter:
        p = FilterParams(params)
        text, day = p.text, p.day
        status = text("status")
        return cls(
            code=text("code"), status=status if status in DOSSIER_STATUSES else "",
            procedure=text("procedure"), agency=text("agency"),
            date_from=day("date_from"), date_to=day("date_to"),
            overdue=p.flag("overdue"),
        )

    def as_query(self) -> dict[str, str]:
        out = {k: getattr(self, k) for k in ("code", "status", "procedure", "agency")
               if getattr(self, k)}
        for k in ("date_from", "date_to"):
            if getattr(self, k):
                out[k] = getattr(self, k).isoformat()
        if self.overdue:
            out["overdue"] = "1"
        return out


@dataclass(frozen=True)
class DossierRow:
    code: str
    procedure_code: str
    procedure_name: str
    agency: str
    status: str
    status_label: str
    channel: str
    applicant: str  # masked name
    created_at: datetime
    received_at: datetime | None
    due: date | None
    overdue: bool
    processing_time: str


class DueDates:
    """Due-date computation with per-procedure processing times cached for one request."""

    def __init__(self, db: Session, holidays: Holidays | None = None) -> None:
        self.db = db
        self.holidays = holidays or load_holidays()
        self._times: dict[str, Any] = {}
        self.today = today_vn()

    def for_dossier(
        self, procedure_code: str, status: str, start: datetime
    ) -> tuple[date | None, bool, str]:
        """(due date, overdue?, processing-time label) of a dossier."""
        if procedure_code not in self._times:
            self._times[procedure_code] = processing_time(self.db, procedure_code)
        pt = self._times[procedure_code]
        if pt is None:
            return None, False, ""
        due = due_date(start, pt, self.holidays)
        return due, status in OPEN_STATUSES and due < self.today, pt.label()


def received_times(db: Session, dossier_ids: Iterable[int]) -> dict[int, datetime]:
    """dossier id -> time of its first "received" event."""
    ids = list(dossier_ids)
    out: dict[int, datetime] = {}
    for chunk in range(0, len(ids), 500):
        rows = db.execute(
            select(DossierEvent.dossier_id, DossierEvent.created_at)
            .where(DossierEvent.dossier_id.in_(ids[chunk:chunk + 500]))
            .where(DossierEvent.status == "received")
            .order_by(DossierEvent.id)
        ).all()
        for dossier_id, at in rows:
            out.setdefault(dossier_id, at)
    return out


def search_dossiers(db: Session, staff: StaffView, filters: DossierFilter) -> list[DossierRow]:
    """Dossiers `staff` may see that match `filters`, newest first (at most MAX_ROWS)."""
    query = select(Dossier, *_AGENCY_COLUMNS).outerjoin(
        ProcedureRow, ProcedureRow.code == Dossier.procedure_code
    )
    if filters.code:
        normalized = normalize_code(filters.code)
        if normalized:
            query = query.where(Dossier.code == normalized)
        else:
            query = query.where(Dossier.code.contains(filters.code.strip().upper()))
    if filters.status:
        query = query.where(Dossier.status == filters.status)
    start, end = day_bounds(filters.date_from, filters.date_to)
    if start is not None:
        query = query.where(Dossier.created_at >= start)
    if end is not None:
        query = query.where(Dossier.created_at < end)
    rows = db.execute(query.order_by(Dossier.id.desc()).limit(MAX_ROWS)).all()
    received = received_times(db, [row[0].id for row in rows])
    due_dates = DueDates(db)
    procedure = fold(filters.procedure) if filters.procedure else ""
    agency_filter = fold(filters.agency) if filters.agency else ""
    out: list[DossierRow] = []
    for dossier, agencies, authority, level in rows:
        agency = agency_from(agencies, authority, level)
        if not may_see(staff, agency):
            continue
        if agency_filter and agency_filter != fold(agency):
            continue
        if procedure and procedure not in fold(dossier.procedure_code) and procedure not in fold(
            dossier.procedure_name or ""
        ):
            continue
        received_at = received.get(dossier.id)
        due, overdue, label = due_dates.for_dossier(
            dossier.procedure_code, dossier.status, received_at or dossier.created_at
        )
        if filters.overdue and not overdue:
            continue
        out.append(
            DossierRow(
                code=dossier.code, procedure_code=dossier.procedure_code,
                procedure_name=dossier.procedure_name, agency=agency, status=dossier.status,
                status_label=status_label(dossier.status), channel=dossier.channel,
                applicant=mask_name(dossier.applicant_name), created_at=dossier.created_at,
                received_at=received_at, due=due, overdue=overdue, processing_time=label,
            )
        )
    return out


def agencies_in_use(db: Session) -> list[str]:
    """Agency labels of the procedures that have dossiers (for the filter list)."""
    rows = db.execute(
        select(*_AGENCY_COLUMNS).where(
            ProcedureRow.code.in_(select(Dossier.procedure_code).distinct())
        )
    ).all()
    return sorted({agency for agency in (agency_from(*row) for row in rows) if agency})


EXPORT_HEADER = [
    "code", "procedure_code", "procedure_name", "agency", "status", "channel",
    "applicant (masked)", "created_at", "received_at", "due_date", "overdue",
]


def export_rows(rows: list[DossierRow]) -> list[list[Any]]:
    """Export rows (applicant name masked; no ID, phone or address)."""

    def vn(value: datetime | None) -> str:
        return value.astimezone(VIETNAM_TZ).strftime("%Y-%m-%d %H:%M") if value else ""

    return [
        [r.code, r.procedure_code, r.procedure_name, r.agency, r.status_label, r.channel,
         r.applicant, vn(r.created_at), vn(r.received_at), r.due.isoformat() if r.due else "",
         "x" if r.overdue else ""]
        for r in rows
    ]
