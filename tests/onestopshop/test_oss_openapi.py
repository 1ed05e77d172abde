"""The OpenAPI documents in docs/ say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from dossiers.inbound import REMOTE_STATUSES, StatusEvent

DOCS = Path(__file__).resolve().parents[2] / "docs"


def load(name: str) -> dict:
    document = yaml.safe_load((DOCS / name).read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.")
    return document


def test_inbound_event_schema_matches_the_model() -> None:
    schema = load("openapi-tthc-inbound.yaml")["components"]["schemas"]["StatusEvent"]
    assert set(schema["properties"]) == set(StatusEvent.__fields__)
    required = {name for name, field in StatusEvent.__fields__.items() if field.required}
    assert set(schema["required"]) == required
    assert schema["properties"]["status"]["enum"] == list(REMOTE_STATUSES)


def test_inbound_error_words_are_the_ones_the_code_uses() -> None:
    described = load("openapi-tthc-inbound.yaml")["components"]["responses"]["Error"]
    source = "".join(
        (Path(__file__).resolve().parents[2] / path).read_text(encoding="utf-8")
        for path in ("dossiers/inbound.py", "bot/status_api.py")
    )
    used = set(re.findall(r'InboundError\(\s*\d{3},\s*"([a-z_]+)"', source))
    used |= set(re.findall(r'"error": "([a-z_]+)"', source))
    assert used and all(word in described["description"] for word in used), used


def test_outbound_paths_are_the_ones_the_client_calls() -> None:
    paths = set(load("openapi-one-stop-shop.yaml")["paths"])
    assert paths == {
        "/api/dossiers",
        "/api/dossiers/{reference}/supplements",
        "/api/dossiers/{reference}",
    }
