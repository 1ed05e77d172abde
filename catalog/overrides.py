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
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, Extra, conint, constr, root_validator, validator
from pydantic import ValidationError as PydanticError

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


# The file's shape as pydantic (v1, shipped with Rasa) models: unknown keys are
# refused, strings stripped and non-empty, numbers strict (YAML `true` is not
# 1). Errors are turned into one `OverridesError` naming the file and the key
# path (`procedures['1.014061'].aliases[0]`) by `_describe`.
# mypy cannot read pydantic v1's constrained-type calls as annotations; it sees
# the plain types they constrain (pydantic's documented TYPE_CHECKING pattern).
if TYPE_CHECKING:
    _NonEmpty = str
    _Amount = int
else:
    _NonEmpty = constr(strict=True, strip_whitespace=True, min_length=1)
    _Amount = conint(strict=True, ge=0)


class _Model(BaseModel):
    class Config:
        extra = Extra.forbid


class _FeeModel(_Model):
    amount_vnd: _Amount | None = None
    text: _NonEmpty
    source: _NonEmpty


class _ProcedureModel(_Model):
    aliases: list[_NonEmpty] = []
    popularity: float = 0.0
    fee_correction: _FeeModel | None = None

    @validator("aliases", pre=True)
    def _no_null_aliases(cls, value: Any) -> Any:
        return [] if value is None else value

    @validator("popularity", pre=True)
    def _popularity_in_range(cls, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("expected a number between 0 and 1")
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{value} is outside 0..1")
        return float(value)


class _LegalModel(_Model):
    status: str
    superseded_by: _NonEmpty | None = None
    source: _NonEmpty
    expired_on: date | None = None
    title: _NonEmpty | None = None

    @validator("status", pre=True)
    def _known_status(cls, value: Any) -> str:
        if value not in LEGAL_STATUSES:
            raise ValueError(f"{value!r} is not one of {', '.join(sorted(LEGAL_STATUSES))}")
        return value

    @validator("expired_on", pre=True)
    def _yaml_date(cls, value: Any) -> Any:
        # YAML reads 2025-07-01 as a date; a string or a number is a typo.
        if value is not None and not isinstance(value, date):
            raise ValueError("expected a date (YYYY-MM-DD)")
        return value

    @root_validator(skip_on_failure=True)
    def _replacement_named(cls, values: dict[str, Any]) -> dict[str, Any]:
        status = values.get("status")
        if status in ("superseded", "replaced") and not values.get("superseded_by"):
            raise ValueError(f"superseded_by is required when status is {status!r}")
        return values


def _entries(value: Any, what: str) -> dict[Any, Any]:
    """A mapping of entries, an empty entry (`"1.000894":`) read as `{}`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of {what} → entry")
    return {key: {} if entry is None else entry for key, entry in value.items()}


class _FileModel(_Model):
    procedures: dict[str, _ProcedureModel] = {}
    legal_documents: dict[_NonEmpty, _LegalModel] = {}

    @validator("procedures", pre=True)
    def _quoted_codes(cls, value: Any) -> dict[str, Any]:
        entries = _entries(value, "procedure code")
        codes: dict[str, Any] = {}
        for code, entry in entries.items():
            # An unquoted 1.000110 is the float 1.00011: the code is lost.
            if not isinstance(code, str):
                raise ValueError(
                    f'procedure code {code!r} must be a quoted string, e.g. "1.014061"'
                )
            if not PROCEDURE_CODE_RE.match(code.strip()):
                raise ValueError(f'procedure code {code.strip()!r} must look like "1.014061"')
            if code.strip() in codes:
                raise ValueError(f"the same code {code.strip()!r} appears twice (spaces stripped)")
            codes[code.strip()] = entry
        return codes

    @validator("legal_documents", pre=True)
    def _legal_entries(cls, value: Any) -> dict[Any, Any]:
        return _entries(value, "document number")


def _describe(error: PydanticError, origin: str) -> OverridesError:
    """One message naming the file and every offending key path."""
    problems = []
    for item in error.errors():
        path = ""
        for depth, part in enumerate(item["loc"]):
            if part == "__root__":
                continue
            if isinstance(part, int):
                path += f"[{part}]"
            elif depth == 1:  # a procedure code or document number
                path += f"[{part!r}]"
            else:
                path += f".{part}" if path else str(part)
        message = item["msg"]
        if item["type"] == "value_error.extra":
            message = "unknown key"
        elif item["type"] == "value_error.missing":
            message = "required"
        problems.append(f"{path}: {message}" if path else message)
    return OverridesError(f"{origin}: " + "; ".join(problems))


def parse_overrides(data: Any, origin: str = "<overrides>", path: Path | None = None) -> Overrides:
    """Validate the loaded YAML document `data`; `origin` prefixes error
    messages. Raises `OverridesError` naming every offending key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise OverridesError(f"{origin}: expected a mapping, got {type(data).__name__}")
    try:
        parsed = _FileModel.parse_obj(data)
    except PydanticError as exc:
        raise _describe(exc, origin) from None
    procedures = {}
    for code, entry in parsed.procedures.items():
        aliases: dict[str, str] = {}
        for alias in entry.aliases:
            aliases.setdefault(alias.casefold(), alias)  # tolerate case-only repeats
        fee = entry.fee_correction
        procedures[code] = ProcedureOverride(
            aliases=tuple(aliases.values()),
            popularity=entry.popularity,
            fee_correction=None if fee is None else FeeCorrectionOverride(
                amount_vnd=fee.amount_vnd, text=fee.text, source=fee.source
            ),
        )
    legal = {
        number: LegalDocumentOverride(
            status=entry.status,
            superseded_by=entry.superseded_by,
            source=entry.source,
            expired_on=entry.expired_on,
            title=entry.title,
        )
        for number, entry in parsed.legal_documents.items()
    }
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
