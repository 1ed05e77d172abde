"""What the conversation and dossier lists share in their filters: reading the
query string or form (`FilterParams`) and turning a date range typed in Vietnam
time into UTC bounds (`day_bounds`). Plain Python, no Sanic, so the query
modules stay testable without a web app."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from dossiers.validation import VIETNAM_TZ

MAX_PARAM_CHARS = 200
TRUE_VALUES = frozenset({"1", "on", "true"})


class FilterParams:
    """Typed reads of request args or form values (anything with `.get(name)`).

    Values are stripped and cut to `MAX_PARAM_CHARS`; malformed dates read as
    None rather than an error, because a filter form must never fail to load."""

    def __init__(self, params: Any) -> None:
        self.params = params

    def text(self, name: str) -> str:
        """The value as a trimmed string, "" when absent."""
        return str(self.params.get(name) or "").strip()[:MAX_PARAM_CHARS]

    def day(self, name: str) -> date | None:
        """An ISO date (YYYY-MM-DD), None when absent or malformed."""
        value = self.text(name)
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            return None

    def flag(self, name: str) -> bool:
        """A checkbox: "1", "on" or "true"."""
        return self.text(name) in TRUE_VALUES


def day_bounds(
    day_from: date | None, day_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """UTC instants of the start of `day_from` and of the day after `day_to`
    (both days in Vietnam time, UTC+7; either may be None: no bound)."""
    start = (
        datetime.combine(day_from, time.min, tzinfo=VIETNAM_TZ).astimezone(timezone.utc)
        if day_from else None
    )
    end = (
        datetime.combine(day_to + timedelta(days=1), time.min, tzinfo=VIETNAM_TZ)
        .astimezone(timezone.utc) if day_to else None
    )
    return start, end
