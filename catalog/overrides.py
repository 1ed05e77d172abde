"""The maintainers' curation overlay (`catalog/overrides.yml`).

The portal records are the source of truth, but they lack what citizens need
to *find* a procedure (everyday names: "sổ đỏ", "bằng lái", "CCCD") and
sometimes state a fee wrongly (a "Miễn phí" cell whose own note gives
135.000 đồng). The overlay adds, per procedure code:

- `aliases`: names citizens use, matched by search like the official name;
- `popularity` (0..1): a prior so a generic query ("làm căn cước") prefers the
  commune-level procedure most people mean over central-level variants;
- `fee_correction`: a corrected fee, always with its `source`;

and, per legal document number, a curated `status` (in force, amended,
superseded, repealed) that `tthc catalog lint` uses to flag stale legal bases.

The file is validated strictly: a typo in a key would otherwise silently drop
curation, so unknown keys, bad statuses, out-of-range popularity, unquoted
codes and duplicate keys raise `OverridesError` naming the file and key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from catalog.search import SearchEntry
from core.vietnamese import PROCEDURE_CODE_RE

__all__ = [
    "DEFAULT_OVERRIDES_PATH",
    "LEGAL_STATUSES",
    "FeeCorrectionOverride",
    "LegalDocumentOverride",
    "Overrides",
    "OverridesError",
    "ProcedureOverride",
    "load_overrides",
    "parse_overrides",
    "search_entries",
    "unknown_codes",
]

DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent / "overrides.yml"

# "superseded"/"repealed" are the older words for the registry's "replaced"/"expired".
LEGAL_STATUSES: frozenset[str] = frozenset(
    {"in_force", "amended", "superseded", "repealed", "replaced", "expired"}
)

# Portal procedure codes look like "1.014061"; YAML would read an unquoted one
# as a float and drop trailing zeros ("1.000110" → 1.00011), hence the check.

_TOP_KEYS = frozenset({"procedures", "legal_documents"})
_PROCEDURE_KEYS = frozenset({"aliases", "popularity", "fee_correction"})
_FEE_KEYS = frozenset({"amount_vnd", "text", "source"})
_LEGAL_KEYS = frozenset({"status", "superseded_by", "source", "expired_on", "title"})


class OverridesError(ValueError):
    """The overlay file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class FeeCorrectionOverride:
    """A fee the portal lacks or states wrongly. `source` is mandatory: a
    correction nobody can trace back must not reach citizens."""

    amount_vnd: int | None
    text: str
    source: str


@dataclass(frozen=True)
class ProcedureOverride:
    aliases: tuple[str, ...] = ()
    popularity: float = 0.0
    fee_correction: FeeCorrectionOverride | None = None


@dataclass(frozen=True)
class LegalDocumentOverride:
    status: str
    superseded_by: str | None = None
    source: str | None = None
    expired_on: date | None = None
    title: str | None = None


@dataclass(frozen=True)
class Overrides:
    procedures: Mapping[str, ProcedureOverride] = field(default_factory=dict)
    legal_documents: Mapping[str, LegalDocumentOverride] = field(default_factory=dict)
    path: Path | None = None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML keeps the last
    one silently, which would drop half of a procedure's curation)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise OverridesError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _fail(where: str, message: str) -> OverridesError:
    return OverridesError(f"{where}: {message}")


def _check_keys(value: Any, allowed: frozenset[str], where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, f"expected a mapping, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise _fail(
            where, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return value


def _non_empty_str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "expected a non-empty string")
    return value.strip()


def _parse_fee(value: Any, where: str) -> FeeCorrectionOverride:
    data = _check_keys(value, _FEE_KEYS, where)
    amount = data.get("amount_vnd")
    bad_type = isinstance(amount, bool) or not isinstance(amount, int)
    if amount is not None and (bad_type or amount < 0):
        raise _fail(f"{where}.amount_vnd", "expected a non-negative integer (VND) or null")
    return FeeCorrectionOverride(
        amount_vnd=amount,
        text=_non_empty_str(data.get("text"), f"{where}.text"),
        source=_non_empty_str(data.get("source"), f"{where}.source"),
    )


def _parse_procedure(code: Any, value: Any, where: str) -> tuple[str, ProcedureOverride]:
    if not isinstance(code, str):
        raise _fail(where, f'procedure code {code!r} must be a quoted string, e.g. "1.014061"')
    code = code.strip()
    where = f"{where}[{code!r}]"
    if not PROCEDURE_CODE_RE.match(code):
        raise _fail(where, 'procedure code must look like "1.014061"')
    data = _check_keys(value, _PROCEDURE_KEYS, where)

    raw_aliases = data.get("aliases") or []
    if not isinstance(raw_aliases, list):
        raise _fail(f"{where}.aliases", "expected a list of strings")
    aliases: list[str] = []
    seen: set[str] = set()
    for i, alias in enumerate(raw_aliases):
        alias = _non_empty_str(alias, f"{where}.aliases[{i}]")
        if alias.casefold() not in seen:  # tolerate case-only repeats
            seen.add(alias.casefold())
            aliases.append(alias)

    popularity = data.get("popularity", 0.0)
    if isinstance(popularity, bool) or not isinstance(popularity, (int, float)):
        raise _fail(f"{where}.popularity", "expected a number between 0 and 1")
    if not 0.0 <= float(popularity) <= 1.0:
        raise _fail(f"{where}.popularity", f"{popularity} is outside 0..1")

    fee = data.get("fee_correction")
    return code, ProcedureOverride(
        aliases=tuple(aliases),
        popularity=float(popularity),
        fee_correction=_parse_fee(fee, f"{where}.fee_correction") if fee is not None else None,
    )


def _parse_legal(number: Any, value: Any, where: str) -> tuple[str, LegalDocumentOverride]:
    number = _non_empty_str(number, f"{where} key")
    where = f"{where}[{number!r}]"
    data = _check_keys(value, _LEGAL_KEYS, where)
    status = data.get("status")
    if status not in LEGAL_STATUSES:
        raise _fail(
            f"{where}.status",
            f"{status!r} is not one of {', '.join(sorted(LEGAL_STATUSES))}",
        )
    superseded_by = data.get("superseded_by")
    if superseded_by is not None:
        superseded_by = _non_empty_str(superseded_by, f"{where}.superseded_by")
    if status in ("superseded", "replaced") and not superseded_by:
        raise _fail(f"{where}.superseded_by", f"required when status is {status!r}")
    source = _non_empty_str(data.get("source"), f"{where}.source")
    expired_on = data.get("expired_on")
    if expired_on is not None and not isinstance(expired_on, date):
        raise _fail(f"{where}.expired_on", "expected a date (YYYY-MM-DD)")
    title = data.get("title")
    if title is not None:
        title = _non_empty_str(title, f"{where}.title")
    return number, LegalDocumentOverride(
        status=status,
        superseded_by=superseded_by,
        source=source,
        expired_on=expired_on,
        title=title,
    )


def parse_overrides(data: Any, origin: str = "<overrides>", path: Path | None = None) -> Overrides:
    """Validate the loaded YAML document `data`; `origin` prefixes error messages."""
    top = _check_keys(data, _TOP_KEYS, origin)
    procedures_raw = top.get("procedures") or {}
    if not isinstance(procedures_raw, dict):
        raise _fail(f"{origin}: procedures", "expected a mapping of procedure code → entry")
    legal_raw = top.get("legal_documents") or {}
    if not isinstance(legal_raw, dict):
        raise _fail(f"{origin}: legal_documents", "expected a mapping of document number → entry")

    procedures = dict(
        _parse_procedure(code, value, f"{origin}: procedures")
        for code, value in procedures_raw.items()
    )
    if len(procedures) != len(procedures_raw):
        raise _fail(f"{origin}: procedures", "the same code appears twice (after stripping spaces)")
    legal = dict(
        _parse_legal(number, value, f"{origin}: legal_documents")
        for number, value in legal_raw.items()
    )
    return Overrides(procedures=procedures, legal_documents=legal, path=path)


def load_overrides(path: Path | None = None) -> Overrides:
    """Load and validate the overlay (default `catalog/overrides.yml`).

    A missing default file yields an empty overlay (the catalog still works,
    only less findable); a missing explicit path is an error.
    """
    explicit = path is not None
    path = Path(path) if path is not None else DEFAULT_OVERRIDES_PATH
    if not path.exists():
        if explicit:
            raise OverridesError(f"{path}: file not found")
        return Overrides(path=None)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except OverridesError as exc:
        raise OverridesError(f"{path}: {exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise OverridesError(f"{path}: not valid YAML: {exc}") from None
    return parse_overrides(data or {}, origin=str(path), path=path)


def _record_fields(record: Any) -> tuple[str, str, str, str]:
    """(code, name, level, field) from a raw portal record, a `Procedure`-like
    object or a positional tuple."""
    if isinstance(record, Mapping):
        return (
            str(record.get("ma_thu_tuc") or record.get("code") or ""),
            str(record.get("ten_thu_tuc") or record.get("name") or ""),
            str(record.get("cap_thuc_hien") or record.get("implementing_level") or ""),
            str(record.get("linh_vuc") or record.get("field") or ""),
        )
    if isinstance(record, tuple):
        padded = (*record, "", "", "", "")[:4]
        return tuple("" if v is None else str(v) for v in padded)  # type: ignore[return-value]  # always 4 items
    return (
        str(getattr(record, "code", "") or ""),
        str(getattr(record, "name", "") or ""),
        str(getattr(record, "implementing_level", "") or ""),
        str(getattr(record, "field", "") or ""),
    )


def search_entries(records: Iterable[Any], overrides: Overrides | None = None) -> list[SearchEntry]:
    """Search entries for `records` with the overlay's aliases and popularity.

    `records` may hold (code, name, implementing_level, field) tuples, raw
    portal records (`catalog.source.iter_raw_records()`) or `Procedure`
    objects. Records without a code or name are skipped; a repeated code keeps
    its first record. Overlay entries for codes that are not in `records` are
    ignored here (see `unknown_codes`).
    """
    procedures = overrides.procedures if overrides is not None else {}
    entries: list[SearchEntry] = []
    seen: set[str] = set()
    for record in records:
        code, name, level, field_ = (" ".join(v.split()) for v in _record_fields(record))
        if not code or not name or code in seen:
            continue
        seen.add(code)
        curated = procedures.get(code)
        entries.append(
            SearchEntry(
                code=code,
                name=name,
                aliases=curated.aliases if curated else (),
                popularity=curated.popularity if curated else 0.0,
                implementing_level=level,
                field=field_,
            )
        )
    return entries


def unknown_codes(overrides: Overrides, known_codes: Iterable[str]) -> list[str]:
    """Overlay procedure codes that the catalog does not contain (stale or mistyped)."""
    known = set(known_codes)
    return sorted(code for code in overrides.procedures if code not in known)
