"""Due dates of dossiers in working days (ngày làm việc), from the procedure's
processing time in the catalog (`procedure_methods.time_value/time_unit`).

Rules (documented choices, see console/README.md):
- The clock starts on the day the dossier was received (its first "received"
  event; the submission time when it was never received). Processing time is
  counted from the next working day, as the one-stop-shop counts it.
- "Ngày làm việc" (and a missing unit) -> N working days: Monday-Friday
  minus public holidays; "Ngày" -> N calendar days; "Giờ" -> ceil(N/8)
  working days; "Tháng" -> N*30 calendar days.
- When a procedure has several submission methods, the online one
  ("Trực tuyến") is used (dossiers come from the chat), else the first with
  a time.
- Public holidays: the `holidays` of the office-hours file
  (dossiers/office_hours.yml, or TTHC_OFFICE_HOURS_FILE): `annual` "MM-DD"
  and one-off `dates` "YYYY-MM-DD".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.orm import ProcedureMethodRow
from core.db import PROJECT_ROOT
from core.settings import get_settings
from dossiers.validation import VIETNAM_TZ

OFFICE_HOURS_FILE = PROJECT_ROOT / "dossiers" / "office_hours.yml"


@dataclass(frozen=True)
class Holidays:
    """Closed days: fixed (month, day) every year and one-off dates."""

    annual: frozenset[tuple[int, int]] = frozenset()
    dates: frozenset[date] = frozenset()

    def closed(self, day: date) -> bool:
        """True on a weekend or a public holiday."""
        return day.weekday() >= 5 or (day.month, day.day) in self.annual or day in self.dates


@lru_cache(maxsize=4)
def load_holidays(path: str | None = None) -> Holidays:
    """Holidays from the office-hours YAML (missing file or section: none)."""
    file = Path(path or get_settings().handoff.office_hours_file or OFFICE_HOURS_FILE)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return Holidays()
    section = data.get("holidays") or {}
    annual = set()
    for item in section.get("annual") or []:
        try:
            month, day = (int(part) for part in str(item).split("-"))
            annual.add((month, day))
        except ValueError:
            continue
    dates = set()
    for item in section.get("dates") or []:
        try:
            dates.add(date.fromisoformat(str(item)))
        except ValueError:
            continue
    return Holidays(frozenset(annual), frozenset(dates))


def add_working_days(start: date, days: int, holidays: Holidays) -> date:
    """The date `days` working days after `start` (`start` itself not counted)."""
    current = start
    remaining = max(0, days)
    while remaining > 0:
        current += timedelta(days=1)
        if not holidays.closed(current):
            remaining -= 1
    return current


@dataclass(frozen=True)
class ProcessingTime:
    value: float
    unit: str  # as in the catalog ("Ngày làm việc", "Ngày", "Giờ", "Tháng", "")
    method: str

    def label(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"{number} {self.unit or 'ngày làm việc'} ({self.method})"


def processing_time(db: Session, procedure_code: str) -> ProcessingTime | None:
    """The processing time used for due dates (see module rules), or None."""
    rows = db.execute(
        select(ProcedureMethodRow)
        .where(ProcedureMethodRow.procedure_code == procedure_code)
        .order_by(ProcedureMethodRow.position)
    ).scalars().all()
    timed = [row for row in rows if row.time_value and row.time_value > 0]
    if not timed:
        return None
    online = [row for row in timed if "trực tuyến" in (row.channel or "").lower()]
    row = (online or timed)[0]
    return ProcessingTime(float(row.time_value), row.time_unit or "", row.channel or "")


def due_date(start: datetime, time: ProcessingTime, holidays: Holidays) -> date:
    """The last day to return the result for a dossier received at `start`."""
    day = start.astimezone(VIETNAM_TZ).date()
    unit = (time.unit or "").strip().lower()
    if unit == "ngày":
        return day + timedelta(days=math.ceil(time.value))
    if unit == "tháng":
        return day + timedelta(days=math.ceil(time.value * 30))
    if unit == "giờ":
        return add_working_days(day, math.ceil(time.value / 8), holidays)
    return add_working_days(day, math.ceil(time.value), holidays)


def today_vn(now: datetime | None = None) -> date:
    return (now or datetime.now(VIETNAM_TZ)).astimezone(VIETNAM_TZ).date()
