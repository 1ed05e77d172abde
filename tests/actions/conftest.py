"""Fixtures for the action tests (financial-demo style: real `Tracker`
objects, a real `CollectingDispatcher`, `await action.run(...)`).

One temporary SQLite database per test session, filled by the real catalog
importer from the bundled portal records, so the answers under test are the
ones citizens get.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

import catalog.orm  # noqa: F401  (registers the catalog tables on Base)
import dossiers.orm  # noqa: F401  (registers the dossier tables on Base)
from actions import common
from core.db import DATABASE_URL_ENV, Base, make_engine, make_session_factory

DOMAIN: dict[str, Any] = {}


@pytest.fixture(scope="session")
def catalog_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from catalog.importer import import_catalog

    path = Path(tmp_path_factory.mktemp("tthc")) / "actions.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    summary = import_catalog(make_session_factory(engine))
    assert summary.imported > 2000, summary
    engine.dispose()
    yield url


@pytest.fixture(autouse=True)
def use_catalog_db(catalog_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(DATABASE_URL_ENV, catalog_db)
    common.reset_caches()
    yield
    common.reset_caches()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def domain() -> dict[str, Any]:
    import yaml

    merged: dict[str, Any] = {"slots": {}, "forms": {}}
    for file in sorted(Path("bot/domain").glob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        merged["slots"].update(data.get("slots") or {})
        merged["forms"].update(data.get("forms") or {})
    return merged


