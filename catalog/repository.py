"""Reading and writing procedures in the catalog database.

The repository converts between the plain `catalog.model` classes and the
ORM rows; nothing outside `catalog/` needs to know the tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from dataclasses import field as dataclass_field
from datetime import date
from functools import cache
from typing import Any, cast, get_args, get_origin, get_type_hints

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.legal import NUMBER_RE, LegalEntry, normalize_number
from catalog.model import (
    Document,
    Fee,
    LegalDocument,
    Procedure,
    ProcessingTime,
    SubmissionMethod,
)
from catalog.orm import (
    CatalogImportRow,
    LegalDocumentRow,
    LegalDocumentStatusRow,
    ProcedureAliasRow,
    ProcedureDocumentRow,
    ProcedureLegalBasisRow,
    ProcedureMethodRow,
    ProcedureRow,
)
from catalog.search import SearchEntry
from core.db import utcnow


@dataclass(frozen=True)
class FeeCorrection:
    amount_vnd: int | None
    text: str
    source: str


@dataclass(frozen=True)
class LegalStatus:
    number: str
    status: str
    superseded_by: str | None
    source: str | None


@dataclass(frozen=True)
class CuratedProcedure:
    """A procedure with the maintainers' overlay applied. `legal` maps the
    normalised numbers of its legal bases to their registry entries (empty
    when built without a database)."""

    procedure: Procedure
    aliases: tuple[str, ...]
    popularity: float
    fee_correction: FeeCorrection | None
    legal: Mapping[str, LegalEntry] = dataclass_field(default_factory=dict)


# How the model dataclasses (catalog.model, catalog.legal.LegalEntry) become
# rows: each dataclass field is the column of the same name, so a field is
# mapped here once, by name, and never listed again. Exceptions:
# - value objects stored flattened in their parent's row, with a column prefix
#   (`SubmissionMethod.fee.amount_vnd` is `procedure_methods.fee_amount_vnd`);
_FLATTENED: dict[str, tuple[str, type]] = {
    "processing_time": ("time_", ProcessingTime),
    "fee": ("fee_", Fee),
}
# - lists of a procedure kept in child tables (rows of their own, by position);
_CHILD_LISTS = frozenset({"methods", "documents", "legal_basis"})
# - lists and tuples of plain values or dataclasses are JSON columns
#   (dataclasses as their `to_dict()`, e.g. `fee_rules`), dates as `date`.


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _to_columns(obj: Any) -> dict[str, Any]:
    """Column name -> value for one model dataclass instance (see above)."""
    columns: dict[str, Any] = {}
    for spec in fields(obj):
        value = getattr(obj, spec.name)
        if spec.name in _CHILD_LISTS:
            continue
        if spec.name in _FLATTENED:
            prefix = _FLATTENED[spec.name][0]
            columns.update({prefix + key: item for key, item in _to_columns(value).items()})
        elif isinstance(value, (list, tuple)):
            columns[spec.name] = [
                cast(Any, item).to_dict() if is_dataclass(item) else item for item in value
            ]
        else:
            columns[spec.name] = value
    return columns


def _from_value(hint: Any, value: Any) -> Any:
    """A column (or JSON) value as the model's field type `hint` holds it."""
    origin = get_origin(hint)
    if origin in (list, tuple):
        item_type: Any = get_args(hint)[0]
        items = [
            _from_columns(item_type, item.get)
            if isinstance(item_type, type) and is_dataclass(item_type)
            else item
            for item in value or ()
        ]
        return origin(items)
    if isinstance(value, str) and (hint is date or date in get_args(hint)):
        return date.fromisoformat(value)  # dates inside JSON columns are ISO strings
    return value


_MISSING = object()


def _from_columns(cls: type, get: Any, **given: Any) -> Any:
    """An instance of the model dataclass `cls` from `get(column, default)`
    (a row's `getattr`, a JSON dict's `get`); `given` supplies the child
    lists. Columns absent from a JSON dict take the dataclass default."""
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for spec in fields(cls):
        if spec.name in given:
            continue
        if spec.name in _FLATTENED:
            prefix, value_cls = _FLATTENED[spec.name]
            kwargs[spec.name] = _from_columns(
                value_cls, lambda key, default=None, p=prefix: get(p + key, default)
            )
            continue
        value = get(spec.name, _MISSING)
        if value is not _MISSING:
            kwargs[spec.name] = _from_value(hints[spec.name], value)
    return cls(**kwargs, **given)


def _row_getter(row: Any) -> Any:
    return lambda key, default=None: getattr(row, key, default)


def entry_from_row(row: LegalDocumentRow) -> LegalEntry:
    """The registry entry of one `legal_documents` row."""
    return _from_columns(LegalEntry, _row_getter(row))


def entry_row(entry: LegalEntry) -> dict[str, Any]:
    """Insert parameters of one registry row."""
    return _to_columns(entry)


def procedure_from_row(row: ProcedureRow) -> Procedure:
    """The `Procedure` of one `procedures` row with its child rows (by position)."""
    return _from_columns(
        Procedure,
        _row_getter(row),
        methods=[_from_columns(SubmissionMethod, _row_getter(m)) for m in row.methods],
        documents=[_from_columns(Document, _row_getter(d)) for d in row.documents],
        legal_basis=[_from_columns(LegalDocument, _row_getter(lb)) for lb in row.legal_bases],
    )


def procedure_rows(curated: CuratedProcedure, content_hash: str) -> dict[str, list[dict[str, Any]]]:
    """Table name → rows for one curated procedure, ready for executemany inserts
    (the ORM's per-row inserts made a full import several times slower)."""
    p = curated.procedure
    correction = curated.fee_correction
    code = p.code

    def children(items: list[Any]) -> list[dict[str, Any]]:
        return [
            {"procedure_code": code, "position": i, **_to_columns(item)}
            for i, item in enumerate(items)
        ]

    return {
        ProcedureRow.__tablename__: [
            {
                **_to_columns(p),
                # Derived and curated columns, not fields of the parsed procedure.
                "online": p.online,
                "popularity": curated.popularity,
                "fee_correction_amount_vnd": correction.amount_vnd if correction else None,
                "fee_correction_text": correction.text if correction else None,
                "fee_correction_source": correction.source if correction else None,
                "content_hash": content_hash,
                "updated_at": utcnow(),
            }
        ],
        ProcedureMethodRow.__tablename__: children(p.methods),
        ProcedureDocumentRow.__tablename__: children(p.documents),
        ProcedureLegalBasisRow.__tablename__: children(p.legal_basis),
        ProcedureAliasRow.__tablename__: [
            {"procedure_code": code, "position": i, "alias": alias}
            for i, alias in enumerate(curated.aliases)
        ],
    }


class CatalogRepository:
    """Queries over the catalog tables within one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, code: str) -> Procedure | None:
        row = self.session.get(ProcedureRow, code.strip())
        return procedure_from_row(row) if row else None

    def get_curated(
        self, code: str, registry: Mapping[str, LegalEntry] | None = None
    ) -> CuratedProcedure | None:
        """The procedure with its overlay and the registry entries of its legal
        bases (looked up in `registry` when given, else in the database)."""
        row = self.session.get(ProcedureRow, code.strip())
        if row is None:
            return None
        correction = None
        if row.fee_correction_text:
            correction = FeeCorrection(
                row.fee_correction_amount_vnd,
                row.fee_correction_text,
                row.fee_correction_source or "",
            )
        procedure = procedure_from_row(row)
        numbers = {lb.number for lb in procedure.legal_basis if lb.number}
        for method in procedure.methods:  # fees cite documents too ("theo Thông tư 44/2023/...")
            numbers.update(r.source for r in method.fee_rules if r.source)
            numbers.update(
                n for n in map(normalize_number, NUMBER_RE.findall(method.fee.note)) if n
            )
        if registry is None:
            legal = self.legal_registry(numbers)
        else:
            legal = {n: registry[n] for n in numbers if n in registry}
        return CuratedProcedure(
            procedure=procedure,
            aliases=tuple(a.alias for a in row.aliases),
            popularity=row.popularity,
            fee_correction=correction,
            legal=legal,
        )

    def iter_curated(self) -> list[CuratedProcedure]:
        registry = self.legal_registry()
        codes = self.session.execute(select(ProcedureRow.code).order_by(ProcedureRow.code))
        return [
            c for c in (self.get_curated(code, registry) for (code,) in codes) if c is not None
        ]

    def legal_registry(self, numbers: set[str] | None = None) -> dict[str, LegalEntry]:
        """Registry entries by number (all, or only `numbers` plus the documents
        that replace them, so a replacement chain can be followed)."""
        query = select(LegalDocumentRow)
        if numbers is not None:
            if not numbers:
                return {}
            query = query.where(LegalDocumentRow.number.in_(sorted(numbers)))
        entries = {r.number: entry_from_row(r) for r in self.session.execute(query).scalars()}
        pending = {e.replaced_by for e in entries.values() if e.replaced_by} - set(entries)
        while numbers is not None and pending:
            more = self.session.execute(
                select(LegalDocumentRow).where(LegalDocumentRow.number.in_(sorted(pending)))
            ).scalars()
            found = {r.number: entry_from_row(r) for r in more}
            entries.update(found)
            pending = {e.replaced_by for e in found.values() if e.replaced_by} - set(entries)
        return entries

    def count(self) -> int:
        return self.session.execute(select(func.count()).select_from(ProcedureRow)).scalar_one()

    def search_entries(self) -> list[SearchEntry]:
        """What the search index needs, in two queries (no per-row loading)."""
        aliases: dict[str, list[str]] = {}
        for code, alias in self.session.execute(
            select(ProcedureAliasRow.procedure_code, ProcedureAliasRow.alias).order_by(
                ProcedureAliasRow.procedure_code, ProcedureAliasRow.position
            )
        ):
            aliases.setdefault(code, []).append(alias)
        rows = self.session.execute(
            select(
                ProcedureRow.code,
                ProcedureRow.name,
                ProcedureRow.popularity,
                ProcedureRow.implementing_level,
                ProcedureRow.field,
            ).order_by(ProcedureRow.code)
        )
        return [
            SearchEntry(
                code=code,
                name=name,
                aliases=tuple(aliases.get(code, ())),
                popularity=popularity,
                implementing_level=level,
                field=field,
            )
            for code, name, popularity, level, field in rows
        ]

    def popular(self, limit: int = 5) -> list[tuple[str, str]]:
        """(code, name) of the procedures with the highest curated popularity."""
        rows = self.session.execute(
            select(ProcedureRow.code, ProcedureRow.name)
            .where(ProcedureRow.popularity > 0)
            .order_by(ProcedureRow.popularity.desc(), ProcedureRow.code)
            .limit(limit)
        ).all()
        return [(code, name) for code, name in rows]

    def legal_statuses(self) -> dict[str, LegalStatus]:
        return {
            r.number: LegalStatus(r.number, r.status, r.superseded_by, r.source)
            for r in self.session.execute(select(LegalDocumentStatusRow)).scalars()
        }

    def last_import(self) -> CatalogImportRow | None:
        return self.session.execute(
            select(CatalogImportRow)
            .where(CatalogImportRow.finished_at.is_not(None))
            .order_by(CatalogImportRow.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    def stats(self) -> dict[str, Any]:
        """Counts maintainers look at after an import."""
        s = self.session
        levels: Counter[str] = Counter()
        for (level,) in s.execute(select(ProcedureRow.implementing_level)):
            for part in (level or "").split(","):
                levels[part.strip() or "(không rõ)"] += 1
        by_agency = dict(
            s.execute(
                select(ProcedureRow.source_agency, func.count())
                .group_by(ProcedureRow.source_agency)
                .order_by(ProcedureRow.source_agency)
            ).all()
        )
        channels = dict(
            s.execute(
                select(ProcedureMethodRow.channel, func.count(func.distinct(
                    ProcedureMethodRow.procedure_code
                ))).group_by(ProcedureMethodRow.channel)
            ).all()
        )
        last = self.last_import()

        def count_of(model: Any) -> int:
            return s.execute(select(func.count()).select_from(model)).scalar_one()

        return {
            "procedures": self.count(),
            "online": s.execute(
                select(func.count()).select_from(ProcedureRow).where(ProcedureRow.online)
            ).scalar_one(),
            "methods": count_of(ProcedureMethodRow),
            "documents": count_of(ProcedureDocumentRow),
            "legal_bases": count_of(ProcedureLegalBasisRow),
            "aliases": count_of(ProcedureAliasRow),
            "fee_corrections": s.execute(
                select(func.count())
                .select_from(ProcedureRow)
                .where(ProcedureRow.fee_correction_text.is_not(None))
            ).scalar_one(),
            "by_source_agency": by_agency,
            "by_level": dict(sorted(levels.items())),
            "by_channel": channels,
            "last_import": None
            if last is None
            else {
                "finished_at": last.finished_at.isoformat(timespec="seconds"),
                "records": last.records,
                "failed": len(last.failures or []),
            },
        }
