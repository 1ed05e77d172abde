"""The procedure catalog: portal records, curation overlay, storage, search.

Knows nothing of Rasa. Entry points for other layers:

- `catalog.search(query)` / `get_search_index()`: ranked candidates for a
  citizen's text;
- `get_curated_procedure(code)`: one procedure with its methods, documents,
  legal basis and the maintainers' overlay.

Both read the catalog database (`TTHC_DATABASE_URL`, default SQLite under
`var/`), filled by `tthc catalog import`.

Note: the function `catalog.search` shadows the submodule of the same name on
the package object; import the module's names with
`from catalog.search import SearchIndex`, never `import catalog.search as ...`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

# Imported eagerly so that the `search` function below, not the submodule, is
# what `catalog.search` names.
from catalog.search import Candidate, SearchIndex

if TYPE_CHECKING:
    from catalog.repository import CuratedProcedure

__all__ = [
    "Candidate",
    "CatalogEmpty",
    "SearchIndex",
    "get_curated_procedure",
    "get_search_index",
    "popular_procedures",
    "reset_caches",
    "search",
]


class CatalogEmpty(RuntimeError):
    """The database holds no procedures: `tthc catalog import` was not run."""


_lock = threading.Lock()
_indexes: dict[str, SearchIndex] = {}


def get_search_index(url: str | None = None) -> SearchIndex:
    """The process-wide search index over the catalog at `url`.

    Built once per process from the database (read-only derived data, so a
    per-process copy is safe with several workers); `reset_caches()` after a
    re-import in the same process.
    """
    from catalog.repository import CatalogRepository
    from core.db import database_url, session_factory

    url = url or database_url()
    with _lock:
        index = _indexes.get(url)
        if index is None:
            with session_factory(url)() as session:
                entries = CatalogRepository(session).search_entries()
            if not entries:
                raise CatalogEmpty(
                    "The procedure catalog is empty: run `tthc catalog import` (or `make catalog`)."
                )
            index = _indexes[url] = SearchIndex.build(entries)
        return index


def search(query: str, limit: int = 5, url: str | None = None) -> list[Candidate]:
    """Ranked procedures for a citizen's text, best first (scores 0..100)."""
    return get_search_index(url).search(query, limit=limit)


def get_curated_procedure(code: str, url: str | None = None) -> CuratedProcedure | None:
    """A procedure with its overlay (fee correction, aliases), or None."""
    from catalog.repository import CatalogRepository
    from core.db import session_factory

    with session_factory(url)() as session:
        return CatalogRepository(session).get_curated(code)


def popular_procedures(limit: int = 5, url: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of the most asked procedures, for the greeting menu. Read
    from the database each call (one indexed query) so a re-import shows up
    without a restart."""
    from catalog.repository import CatalogRepository
    from core.db import session_factory

    with session_factory(url)() as session:
        return CatalogRepository(session).popular(limit)


def reset_caches() -> None:
    """Forget search indexes and database engines (after a re-import, or when
    tests point `TTHC_DATABASE_URL` elsewhere)."""
    from core.db import dispose_engines

    with _lock:
        _indexes.clear()
    dispose_engines()
