"""Durable delivery to the reference one-stop-shop (tools/one_stop_shop.py)
on loopback, on SQLite and PostgreSQL: delivered once, outage and recovery,
a worker that dies after claiming, permanent rejection, supplements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from core.db import session_scope
from dossiers.backends import HttpBackend
from dossiers.delivery import DeliveryWorker, DossierNotDeliveredYet, delivery_enabled
from dossiers.integration_orm import DeliveryJob
from dossiers.orm import Attachment, Dossier, Notification, utcnow
from dossiers.service import change_status, submit_dossier
from dossiers.supplements import attach_file, complete_supplement, request_supplement
from tests.conftest import DATABASE_KINDS, TestDatabase, isolated_database
from tests.dossiers.test_dossiers_service import make_request
from tools.one_stop_shop import OneStopShop


@pytest.fixture(params=DATABASE_KINDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with isolated_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
def factory(db: TestDatabase) -> sessionmaker:
    return db.new_factory()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[OneStopShop]:
    server = OneStopShop(tmp_path / "shop")
    yield server
    server.close()


def worker(factory: sessionmaker, url: str, **kwargs) -> DeliveryWorker:
    backend = HttpBackend(url, timeout=2, retries=0)
    return DeliveryWorker(factory, backend, jitter=0, **kwargs)


def submit(factory: sessionmaker, key: str = "k1", files: list[Path] = ()) -> str:  # type: ignore[assignment]
    with session_scope(factory) as session:
        for path in files:
            session.add(
                Attachment(
                    sender_id="tg-1001",
                    file_name=path.name,
                    content_type="application/pdf",
                    size_bytes=path.stat().st_size,
                    sha256="0" * 64,
                    storage_path=str(path),
                )
            )
        session.flush()
        return submit_dossier(session, make_request(key=key), deliver=True).code


def jobs(factory: sessionmaker) -> list[DeliveryJob]:
    with session_scope(factory) as session:
        return list(session.execute(select(DeliveryJob).order_by(DeliveryJob.id)).scalars())


def texts(factory: sessionmaker) -> list[str]:
    with session_scope(factory) as session:
        return list(session.execute(select(Notification.text).order_by(Notification.id)).scalars())


def test_enabled_only_for_http() -> None:
    assert not delivery_enabled({})
    assert delivery_enabled({"TTHC_SUBMISSION_BACKEND": "HTTP"})


def test_submission_writes_one_job_and_delivers_once(
    factory: sessionmaker, shop: OneStopShop, tmp_path: Path
) -> None:
    scan = tmp_path / "to-khai.pdf"
    scan.write_bytes(b"%PDF-1.4 scan")
    code = submit(factory, files=[scan])
    # A repeated confirmation (same idempotency key) adds no second job.
    with session_scope(factory) as session:
        submit_dossier(session, make_request(key="k1"), deliver=True)
    assert [(j.kind, j.status) for j in jobs(factory)] == [("dossier", "pending")]
    assert shop.state.data["posts"] == 0  # nothing was sent during the submission
    assert worker(factory, shop.url).dispatch_once() == 1
    assert worker(factory, shop.url).dispatch_once() == 0
    [(reference, record)] = shop.state.data["dossiers"].items()
    assert record["dossier"]["code"] == code
    assert record["dossier"]["applicant"]["citizen_id"] == "001090012345"
    assert record["files"][0]["file_name"] == "to-khai.pdf"
    with session_scope(factory) as session:
        dossier = session.execute(select(Dossier)).scalar_one()
        assert dossier.backend_reference == reference
        assert dossier.status == "submitted"
    assert jobs(factory)[0].remote_reference == reference
    assert texts(factory)[-1].endswith(f"Mã hồ sơ trên hệ thống một cửa: {reference}")


def test_outage_loses_nothing_and_recovery_delivers_once(
    factory: sessionmaker, tmp_path: Path
) -> None:
    shop = OneStopShop(tmp_path / "shop")
    port, url = shop.port, shop.url
    shop.close()  # the one-stop-shop is down
    submit(factory, key="a")
    submit(factory, key="b")
    sender = worker(factory, url, base_backoff=timedelta(seconds=30))
    assert sender.dispatch_once() == 0
    failed = jobs(factory)
    assert {j.status for j in failed} == {"pending"} and {j.attempts for j in failed} == {1}
    assert all(j.next_attempt_at > utcnow() + timedelta(seconds=20) for j in failed)
    assert all("ConnectError" in (j.last_error or "") for j in failed)
    assert sender.dispatch_once() == 0  # not due yet: no hammering
    # An hour later it is back (same port, same state).
    shop = OneStopShop(tmp_path / "shop", port=port)
    try:
        later = utcnow() + timedelta(hours=1)
        assert sender.dispatch_once(now=later) == 2
        assert sender.dispatch_once(now=later + timedelta(hours=1)) == 0
        assert len(shop.state.data["dossiers"]) == 2
        assert shop.state.data["posts"] == 2
    finally:
        shop.close()


def test_worker_dying_after_the_remote_accepted_sends_again_once(
    factory: sessionmaker, shop: OneStopShop
) -> None:
    submit(factory)
    first = worker(factory, shop.url, lease=timedelta(seconds=60))
    [claimed] = first.claim_due()
    first._send(claimed)  # the remote registered it ...
    # ... and the worker died before recording the answer (kill -9).
    second = worker(factory, shop.url)
    assert second.dispatch_once() == 0  # lease still held by the dead worker
    assert second.dispatch_once(now=utcnow() + timedelta(minutes=2)) == 1
    assert shop.state.data["posts"] == 2
    assert len(shop.state.data["dossiers"]) == 1  # the Idempotency-Key made it one
    [job] = jobs(factory)
    assert job.status == "delivered" and job.attempts == 2


def test_permanent_rejection_moves_dossier_and_tells_citizen(
    factory: sessionmaker, shop: OneStopShop
) -> None:
    code = submit(factory)
    shop.state.reject_next = "Thủ tục không thuộc thẩm quyền của UBND xã"
    assert worker(factory, shop.url).dispatch_once() == 0
    [job] = jobs(factory)
    assert job.status == "rejected" and "HTTP 422" in job.last_error
    with session_scope(factory) as session:
        dossier = session.execute(select(Dossier)).scalar_one()
        assert dossier.status == "rejected"
        assert dossier.events[-1].actor == "one-stop-shop"
    text = texts(factory)[-1]
    assert code in text and "không thuộc thẩm quyền của UBND xã" in text
    assert "Hệ thống một cửa không tiếp nhận hồ sơ" in text
    assert worker(factory, shop.url).dispatch_once() == 0  # never retried


def test_transient_5xx_is_retried_then_delivered(factory: sessionmaker, shop: OneStopShop) -> None:
    submit(factory)
    shop.state.fail_next = 1
    sender = worker(factory, shop.url)
    assert sender.dispatch_once() == 0
    assert jobs(factory)[0].last_error == "BackendUnavailable: " + (
        "submission backend unavailable after 1 attempts: HTTP 503"
    )
    assert sender.dispatch_once(now=utcnow() + timedelta(minutes=5)) == 1


def test_gives_up_after_max_attempts(factory: sessionmaker, tmp_path: Path) -> None:
    shop = OneStopShop(tmp_path / "shop")
    url = shop.url
    shop.close()
    submit(factory)
    sender = worker(factory, url, max_attempts=2)
    sender.dispatch_once()
    sender.dispatch_once(now=utcnow() + timedelta(hours=2))
    [job] = jobs(factory)
    assert job.status == "failed" and job.attempts == 2


def test_supplement_is_forwarded_with_its_files(
    factory: sessionmaker, shop: OneStopShop, tmp_path: Path
) -> None:
    code = submit(factory)
    assert worker(factory, shop.url).dispatch_once() == 1
    for status in ("received", "processing"):
        with session_scope(factory) as session:
            change_status(session, code, status, actor="one-stop-shop")
    with session_scope(factory) as session:
        supplement_id = request_supplement(session, code, ["Bản sao CCCD"], actor="o:1").id
    scan = tmp_path / "cccd.pdf"
    scan.write_bytes(b"%PDF-1.4 cccd")
    with session_scope(factory) as session:
        row = Attachment(
            sender_id="tg-1001",
            file_name="cccd.pdf",
            content_type="application/pdf",
            size_bytes=13,
            sha256="1" * 64,
            storage_path=str(scan),
        )
        session.add(row)
        session.flush()
        attach_file(session, supplement_id, row.id)
        complete_supplement(session, supplement_id, actor="citizen", deliver=True)
    assert worker(factory, shop.url).dispatch_once() == 1
    [received] = shop.state.data["supplements"]
    assert received["supplement"]["code"] == code
    assert received["supplement"]["items"] == ["Bản sao CCCD"]
    assert received["files"][0]["size_bytes"] == 13
    assert [j.status for j in jobs(factory)] == ["delivered", "delivered"]


def test_supplement_waits_for_its_dossier(factory: sessionmaker, shop: OneStopShop) -> None:
    code = submit(factory)  # its delivery job is still pending
    for status in ("received", "processing"):
        with session_scope(factory) as session:
            change_status(session, code, status, actor="officer:1")
    with session_scope(factory) as session:
        supplement_id = request_supplement(session, code, [], note="Ký lại", actor="o:1").id
        complete_supplement(
            session, supplement_id, actor="officer:1", require_parts=False, deliver=True
        )
    sender = worker(factory, shop.url)
    [dossier_job, supplement_job] = sender.claim_due()
    assert supplement_job.kind == "supplement"
    with pytest.raises(DossierNotDeliveredYet):  # transient: retried, never "rejected"
        sender._send(supplement_job)
    assert shop.state.data["posts"] == 0
    sender._complete(dossier_job, utcnow(), "simulated")  # dossier back to pending
    sender._complete(supplement_job, utcnow(), "simulated")
    later = utcnow() + timedelta(minutes=30)
    # In one pass the dossier goes first (older), then the supplement finds it delivered;
    # a supplement never reaches the shop before its dossier.
    assert sender.dispatch_once(now=later) == 2
    assert [j.status for j in jobs(factory)] == ["delivered", "delivered"]
    assert shop.state.data["supplements"][0]["reference"].startswith("000.00.10.H12-")
