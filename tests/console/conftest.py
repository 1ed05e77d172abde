"""One real console server per database kind (SQLite and PostgreSQL), over the
session's catalog database and a tracker store holding conversations recorded
from the real Rasa server (tests/console/data/tracker_events.json)."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker

from console.conversations import EVENTS
from core.db import make_engine, session_scope
from dossiers.orm import Attachment
from dossiers.service import change_status, submit_dossier
from tests.conftest import TestDatabase
from tests.console.server import ConsoleClient, add_staff, console_server
from tests.dossiers.test_dossiers_service import make_request

DATA = Path(__file__).parent / "data"
ROLES = ("officer", "supervisor", "trainer", "admin", "auditor")


def load_tracker(url: str) -> None:
    """Create Rasa's `events` table at `url` and fill it with the recorded events."""
    engine = make_engine(url)
    try:
        EVENTS.metadata.create_all(engine)
        rows = json.loads((DATA / "tracker_events.json").read_text(encoding="utf-8"))
        with engine.begin() as connection:
            connection.execute(
                insert(EVENTS),
                [{**row, "data": json.dumps(row["data"], ensure_ascii=False)} for row in rows],
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def tracker_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('tracker') / 'tracker.db'}"
    load_tracker(url)
    return url


@dataclass
class ConsoleEnv:
    base: str
    database: TestDatabase
    factory: sessionmaker
    files: Path

    def account(self, role: str, *, agency: str | None = None) -> str:
        name = f"{role[:4]}-{secrets.token_hex(4)}"
        add_staff(self.database.url, name, role, agency=agency)
        return name

    def client(self, role: str, *, agency: str | None = None) -> ConsoleClient:
        client = ConsoleClient(self.base)
        client.login(self.account(role, agency=agency))
        return client

    def dossier(self, *, sender: str | None = None, status: str = "processing") -> str:
        """A birth-registration dossier moved to `status` through the real workflow."""
        sender = sender or f"fx-{secrets.token_hex(4)}"
        with session_scope(self.factory) as db:
            code = submit_dossier(
                db, make_request(key=secrets.token_hex(8), sender=sender), deliver=False
            ).code
        path = {"submitted": [], "received": ["received"],
                "processing": ["received", "processing"]}[status]
        for step in path:
            with session_scope(self.factory) as db:
                change_status(db, code, step, actor="officer:setup", note="setup")
        return code

    def attachment(self, code: str, content: bytes = b"%PDF-1.4 test") -> int:
        from sqlalchemy import select

        from dossiers.orm import Dossier

        path = self.files / f"{secrets.token_hex(6)}.pdf"
        path.write_bytes(content)
        with session_scope(self.factory) as db:
            dossier = db.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
            row = Attachment(
                dossier_id=dossier.id, sender_id=dossier.sender_id, file_name="giay-chung-sinh.pdf",
                content_type="application/pdf", size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(), storage_path=str(path),
            )
            db.add(row)
            db.flush()
            return int(row.id)


@pytest.fixture(scope="session")
def console_env(
    catalog_db: TestDatabase, tracker_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleEnv]:
    # Every test logs in from 127.0.0.1: the address throttle has its own test.
    with console_server(
        catalog_db.url, tracker_store_url=tracker_url, env={"TTHC_CONSOLE_IP_ATTEMPTS": "10000"}
    ) as base:
        yield ConsoleEnv(
            base, catalog_db, catalog_db.new_factory(), tmp_path_factory.mktemp("files")
        )


@pytest.fixture
def clients(console_env: ConsoleEnv) -> Iterator[dict[str, ConsoleClient]]:
    """One logged-in client per role."""
    made = {role: console_env.client(role) for role in ROLES}
    yield made
    for client in made.values():
        client.close()
