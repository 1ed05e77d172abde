"""Inbound status events: authentication, idempotency, ordering (domain, on
SQLite and PostgreSQL), and the HTTP API over a real loopback socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.runtime import free_port
from core.db import PROJECT_ROOT, session_scope
from dossiers.inbound import (
    InboundError,
    apply_event,
    authenticate,
    parse_event,
    register_client,
    sign,
)
from dossiers.integration_orm import InboundStatusEvent, SupplementRequest
from dossiers.orm import Dossier, Notification
from dossiers.service import submit_dossier
from tests.conftest import DATABASE_KINDS, TestDatabase, isolated_database
from tests.dossiers.test_dossiers_service import make_request
from tools.one_stop_shop import post_status

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone(timedelta(hours=7)))


@pytest.fixture(params=DATABASE_KINDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with isolated_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
def factory(db: TestDatabase) -> sessionmaker:
    return db.new_factory()


def new_dossier(factory: sessionmaker, reference: str | None = None) -> str:
    with session_scope(factory) as session:
        dossier = submit_dossier(session, make_request(), deliver=False)
        dossier.backend_reference = reference
        return dossier.code


def event(event_id: str, status: str, minutes: int = 0, **extra) -> bytes:
    body = {
        "event_id": event_id,
        "status": status,
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        **extra,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def apply(factory: sessionmaker, body: bytes, client: str = "motcua") -> str:
    with session_scope(factory) as session:
        return apply_event(session, client, parse_event(body)).outcome


def state(factory: sessionmaker) -> tuple[str, int]:
    with session_scope(factory) as session:
        status = session.execute(select(Dossier.status)).scalar_one()
        sent = session.execute(select(func.count(Notification.id))).scalar_one()
        return status, sent


def test_hmac_and_bearer_authentication(factory: sessionmaker) -> None:
    with session_scope(factory) as session:
        creds = register_client(session, "motcua-hn")
    body = b'{"x": 1}'
    now = 1_800_000_000
    good = {
        "X-TTHC-Client": "motcua-hn",
        "X-TTHC-Timestamp": str(now),
        "X-TTHC-Signature": sign(creds.hmac_secret, now, body),
    }
    with session_scope(factory) as session:
        assert authenticate(session, good, body, now=now + 299) == "motcua-hn"
        assert authenticate(session, {"Authorization": f"Bearer {creds.token}"}, body) == (
            "motcua-hn"
        )
        refused = [
            ({**good, "X-TTHC-Signature": sign("forged", now, body)}, body, now),
            (good, body + b" ", now),  # body changed after signing
            (good, body, now + 301),  # replayed 5 minutes later
            (good, body, now - 301),
            ({**good, "X-TTHC-Client": "someone-else"}, body, now),
            ({"Authorization": "Bearer nope"}, body, now),
            ({}, body, now),
            ({**good, "X-TTHC-Timestamp": "soon"}, body, now),
        ]
        for headers, data, at in refused:
            with pytest.raises(InboundError) as info:
                authenticate(session, headers, data, now=at)
            assert info.value.status == 401
    # Re-keying invalidates the old token.
    with session_scope(factory) as session:
        register_client(session, "motcua-hn")
    with pytest.raises(InboundError), session_scope(factory) as session:
        authenticate(session, {"Authorization": f"Bearer {creds.token}"}, body)
    with pytest.raises(ValueError), session_scope(factory) as session:
        register_client(session, "bad name!")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "invalid_json"),
        (b"[1]", "invalid_json"),
        (
            b'{"event_id": "e", "status": "received", "occurred_at": "2026-11-30T08:00:00"}',
            "invalid_event",
        ),
        (event("e", "teleported", code="HS-7K2M-Q9XD"), "invalid_event"),
        (event("e", "received"), "invalid_event"),  # no code nor reference
        (event("e", "need_supplement", code="HS-7K2M-Q9XD"), "invalid_event"),
        (b"{" + b" " * 70_000 + b"}", "too_large"),
    ],
)
def test_bad_bodies_get_clear_400s(body: bytes, code: str) -> None:
    with pytest.raises(InboundError) as info:
        parse_event(body)
    assert info.value.code == code and info.value.status in (400, 413)
    assert info.value.body()["message"]


def test_jump_duplicate_and_out_of_order(factory: sessionmaker) -> None:
    code = new_dossier(factory, reference="000.00.10.H12-251120-0003")
    # Processing reported while we hold "submitted": one notification for the jump.
    assert apply(factory, event("e2", "processing", 10, code=code.lower())) == "applied"
    assert state(factory) == ("processing", 1)
    with session_scope(factory) as session:
        dossier = session.execute(select(Dossier)).scalar_one()
        assert [e.status for e in dossier.events] == ["submitted", "received", "processing"]
    # The earlier "received" arrives late: recorded, changes nothing.
    assert apply(factory, event("e1", "received", 5, code=code)) == "stale"
    # The same event again (retry, replay): nothing.
    assert apply(factory, event("e2", "processing", 10, code=code)) == "duplicate"
    assert state(factory) == ("processing", 1)
    # By the one-stop-shop's own code, typed loosely.
    assert (
        apply(
            factory,
            event(
                "e3",
                "need_supplement",
                20,
                reference="000.00.10.h12 – 251120 – 0003",
                missing_documents=["Bản sao giấy chứng sinh"],
                note="Bản chụp bị mờ",
            ),
        )
        == "applied"
    )
    assert state(factory) == ("need_supplement", 2)
    with session_scope(factory) as session:
        assert session.execute(select(SupplementRequest.items)).scalar_one() == [
            "Bản sao giấy chứng sinh"
        ]
        last = session.execute(select(Notification.text).order_by(Notification.id.desc())).first()
        assert "1. Bản sao giấy chứng sinh" in last[0] and "Bản chụp bị mờ" in last[0]
    # "completed" with how to collect; an older "processing" afterwards is stale.
    done = event("e5", "completed", 40, code=code, result_pickup="Nhận tại bộ phận một cửa UBND xã")
    assert apply(factory, done) == "applied"
    assert apply(factory, event("e4", "processing", 30, code=code)) == "stale"
    assert state(factory) == ("completed", 3)
    with session_scope(factory) as session:
        assert session.execute(select(SupplementRequest.status)).scalar_one() == "cancelled"
        last = session.execute(select(Notification.text).order_by(Notification.id.desc())).first()
        assert "Cách nhận kết quả: Nhận tại bộ phận một cửa UBND xã" in last[0]
        outcomes = dict(
            session.execute(select(InboundStatusEvent.event_id, InboundStatusEvent.outcome)).all()
        )
    assert outcomes == {
        "e1": "stale",
        "e2": "applied",
        "e3": "applied",
        "e4": "stale",
        "e5": "applied",
    }


def test_unknown_dossier_and_invalid_transition(factory: sessionmaker) -> None:
    code = new_dossier(factory)
    with pytest.raises(InboundError) as info:
        apply(factory, event("x1", "received", code="HS-0000-0000"))
    assert info.value.status == 404
    with pytest.raises(InboundError) as info:
        apply(factory, event("x2", "received", reference="000.00.10.H12-251120-9999"))
    assert info.value.status == 404
    assert apply(factory, event("x3", "rejected", 1, code=code, reason="Sai thẩm quyền")) == (
        "applied"
    )
    with pytest.raises(InboundError) as info:
        apply(factory, event("x4", "completed", 2, code=code))
    assert info.value.status == 409 and info.value.code == "invalid_transition"
    assert state(factory) == ("rejected", 1)


# ---------------------------------------------------------------------------
# Over HTTP: `tthc integration serve` on a loopback port
# ---------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, sessionmaker, object]]:
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with session_scope(factory) as session:
            creds = register_client(session, "motcua")
        port = free_port()
        env = {**os.environ, "TTHC_DATABASE_URL": database.url}
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "integration", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    import urllib.request

                    urllib.request.urlopen(url + "/health", timeout=1).close()
                    break
                except OSError:
                    assert process.poll() is None, "status API died"
                    assert time.monotonic() < deadline, "status API did not start"
                    time.sleep(0.2)
            yield url + "/api/v1/status-events", factory, creds
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.mark.slow
def test_http_api_end_to_end(api) -> None:
    url, factory, creds = api
    code = new_dossier(factory)
    signed = {"client": creds.name, "secret": creds.hmac_secret}
    received = {"event_id": "h1", "code": code, "status": "received", "occurred_at": T0.isoformat()}
    status, body = post_status(url, received, **signed)
    assert (status, body["outcome"], body["dossier"]["status"]) == (200, "applied", "received")
    # Duplicate: 200, nothing changes.
    status, body = post_status(url, received, **signed)
    assert (status, body["outcome"]) == (200, "duplicate")
    # Forged signature and an old timestamp (replay) are refused with a 401 body.
    status, body = post_status(
        url, {**received, "event_id": "h2"}, client="motcua", secret="guessed"
    )
    assert status == 401 and body["error"] == "bad_signature"
    status, body = post_status(
        url, {**received, "event_id": "h3"}, **signed, timestamp=int(time.time()) - 600
    )
    assert status == 401 and body["error"] == "stale_timestamp"
    # Bearer token works too; unknown dossier 404; bad body 400; 409 transition.
    processing = {
        **received,
        "event_id": "h4",
        "status": "processing",
        "occurred_at": (T0 + timedelta(minutes=1)).isoformat(),
    }
    status, body = post_status(url, processing, token=creds.token)
    assert (status, body["outcome"]) == (200, "applied")
    status, body = post_status(
        url, {**received, "event_id": "h5", "code": "HS-0000-0000"}, **signed
    )
    assert status == 404 and body["error"] == "unknown_dossier"
    status, body = post_status(url, {}, body=b"{nope", **signed)
    assert status == 400 and body["error"] == "invalid_json"
    status, body = post_status(
        url,
        {
            **received,
            "event_id": "h6",
            "status": "received",
            "occurred_at": (T0 + timedelta(minutes=2)).isoformat(),
        },
        **signed,
    )
    assert (status, body["outcome"]) == (200, "stale")
    assert state(factory) == ("processing", 2)
