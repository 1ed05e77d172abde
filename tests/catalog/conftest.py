"""Fixtures for the catalog suites: every bundled record parsed once per session."""

from __future__ import annotations

import pytest

from catalog.model import Procedure
from catalog.parser import parse_record
from catalog.source import iter_raw_records


@pytest.fixture(scope="session")
def all_procedures() -> dict[str, Procedure]:
    """The 2,642 bundled portal records, parsed (code → Procedure)."""
    procedures = {}
    for raw in iter_raw_records():
        procedure = parse_record(raw)
        procedures[procedure.code] = procedure
    return procedures
