"""Reading the raw portal records bundled in `catalog/data/`.

The archive holds one JSON object per procedure as crawled from
dichvucong.gov.vn (see catalog/data/SOURCES.md), laid out as
`raw/<agency-dir>/<code>.json`. A directory with the same layout (or any tree of
`*.json` records) can be given instead.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_SOURCE = DATA_DIR / "raw_all_7_agencies.tar.gz"


class RawRecord(dict[str, Any]):
    """A raw portal record; `source_agency` is the agency folder it came from."""

    source_agency: str = ""
    source_name: str = ""


def _make_record(data: Any, name: str) -> RawRecord:
    record = RawRecord(data if isinstance(data, dict) else {})
    parts = Path(name).parts
    record.source_agency = parts[-2] if len(parts) >= 2 else ""
    record.source_name = name
    return record


def iter_raw_records(source: Path | None = None) -> Iterator[RawRecord]:
    """Yield every raw record of `source` (a .tar.gz archive or a directory),
    sorted by file name so imports are deterministic.

    A file that is not valid JSON yields an empty record (no `ma_thu_tuc`), so
    the importer can report it with its file name instead of stopping.
    """
    source = Path(source) if source else DEFAULT_SOURCE
    if source.is_dir():
        for path in sorted(source.rglob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                data = {}
            yield _make_record(data, str(path.relative_to(source)))
        return
    # Read the archive as a stream (random access into a .gz re-decompresses
    # from the start for every member), then sort by name.
    records: list[RawRecord] = []
    with tarfile.open(source, "r|*") as archive:
        for member in archive:
            if not (member.isfile() and member.name.endswith(".json")):
                continue
            handle = archive.extractfile(member)
            try:
                data = json.loads(handle.read().decode("utf-8")) if handle else {}
            except (ValueError, UnicodeDecodeError):
                data = {}
            records.append(_make_record(data, member.name))
    records.sort(key=lambda r: r.source_name)
    yield from records
