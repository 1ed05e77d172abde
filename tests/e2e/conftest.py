"""The real stack for end-to-end tests: action server and Rasa server on
loopback ports, the newest model in models/, a fresh SQLite database with the
full catalog. Started once per session (the model takes a while to load)."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.runtime import latest_model, loopback_stack
from catalog.importer import import_catalog
from tests.conftest import TestDatabase, isolated_database


@dataclass
class Servers:
    base: str
    token: str
    database: TestDatabase

    def post(self, path: str, body: Any, timeout: float = 60) -> Any:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=30) as response:
            return json.loads(response.read())

    def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        return self.post("/webhooks/rest/webhook", {"sender": sender, "message": message})

    def requested_slot(self, sender: str) -> str | None:
        tracker = self.get(f"/conversations/{sender}/tracker?token={self.token}")
        return tracker["slots"].get("requested_slot")


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    model = latest_model()
    if model is None:
        pytest.fail("no trained model in models/: `make test` trains one first", pytrace=False)
    directory = tmp_path_factory.mktemp("e2e")
    with isolated_database("sqlite", directory) as database:
        assert not import_catalog(database.new_factory()).failures
        token = secrets.token_hex(8)
        with loopback_stack(directory, database.url, model, api_token=token) as base:
            yield Servers(base, token, database)
