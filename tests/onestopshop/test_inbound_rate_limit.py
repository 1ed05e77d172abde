"""Inbound status API rate limits (bot.status_api, core.ratelimit): per
authenticated client, shared by two app instances over one database (SQLite
and PostgreSQL); refused authentications limited per address without locking
out a client that authenticates; 429 with Retry-After and a JSON error."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sanic import Sanic

from bot.runtime import free_port
from bot.status_api import create_app
from core.db import session_scope
from dossiers.inbound import register_client
from tests.conftest import DATABASE_KINDS, TestDatabase, isolated_database


@pytest.fixture(params=DATABASE_KINDS)
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    monkeypatch.setenv("TTHC_RATE_LIMIT_STORE", "database")
    monkeypatch.setenv("TTHC_RATE_LIMIT_INBOUND_PER_CLIENT", "3")
    monkeypatch.setenv("TTHC_RATE_LIMIT_INBOUND_FAILED_PER_ADDRESS", "2")
    with isolated_database(request.param, tmp_path) as database:
        yield database


def test_client_limit_shared_by_two_instances_and_bad_tokens_per_address(
    db: TestDatabase,
) -> None:
    with session_scope(db.new_factory()) as session:
        token = register_client(session, "motcua").token
        other = register_client(session, "tinh-b").token
    Sanic.test_mode = True

    async def scenario() -> None:
        servers, urls = [], []
        for _ in range(2):  # two processes: each its own pool on the one database
            app = create_app(db.new_factory())
            port = free_port()
            server = await app.create_server(
                host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
            )
            await server.startup()
            servers.append(server)
            urls.append(f"http://127.0.0.1:{port}/api/v1/status-events")
        try:
            async with httpx.AsyncClient() as client:
                good = {"Authorization": f"Bearer {token}"}
                bad = {"Authorization": "Bearer guessed"}
                body = json.dumps({"nope": 1}).encode()  # authenticated, then 400
                codes = [
                    (await client.post(urls[i % 2], content=body, headers=good)).status_code
                    for i in range(3)
                ]
                assert codes == [400, 400, 400]  # within the limit: the body is judged
                refused = await client.post(urls[1], content=body, headers=good)
                assert refused.status_code == 429
                seconds = int(refused.headers["Retry-After"])
                assert 1 <= seconds <= 60
                answer = refused.json()
                assert answer["error"] == "rate_limited" and answer["retry_after"] == seconds
                assert "retry after" in answer["message"]
                # Wrong tokens: 401 twice from this address, then 429.
                failed = [
                    (await client.post(urls[i % 2], content=body, headers=bad)).status_code
                    for i in range(3)
                ]
                assert failed == [401, 401, 429]
                # ... which never locks out another client that authenticates.
                fine = await client.post(
                    urls[0], content=body, headers={"Authorization": f"Bearer {other}"}
                )
                assert fine.status_code == 400 and fine.json()["error"] == "invalid_event"
        finally:
            for server in servers:
                server.close()
                await server.wait_closed()

    asyncio.run(scenario())
