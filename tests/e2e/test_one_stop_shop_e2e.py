"""End to end with the one-stop-shop (issue 13): the real Rasa and action
servers (newest model), `tthc deliver` and `tthc integration serve` as
processes, the reference one-stop-shop (tools/one_stop_shop.py), all on
loopback.

A citizen files a dossier over REST while the one-stop-shop is down: the
answer comes at once, the shop receives the dossier once when it is back, and
the citizen gets its national code. A second dossier is delivered once even
though the delivering process is killed (-9) after the shop accepted it. The
shop then reports received/processing/need-supplement (signed callbacks);
the citizen gets the list once, uploads a file, says "đã bổ sung xong"; the
supplement reaches the shop; "completed" is announced once. Forged, replayed
and duplicate callbacks change nothing. Finally the citizen looks the dossier
up by the national code, typed loosely.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.runtime import free_port, latest_model, loopback_stack
from catalog.importer import import_catalog
from core.db import PROJECT_ROOT, session_scope
from dossiers.codes import DOSSIER_CODE_PATTERN
from dossiers.inbound import ClientCredentials, register_client
from dossiers.integration_orm import DeliveryJob
from dossiers.orm import Dossier
from dossiers.service import submit_dossier
from tests.conftest import TestDatabase, isolated_database
from tests.dossiers.test_dossiers_service import make_request
from tests.e2e.applicants import BIRTH_REGISTRATION
from tests.e2e.conftest import Servers
from tools.one_stop_shop import OneStopShop, post_status

pytestmark = pytest.mark.slow


@dataclass
class Setup:
    servers: Servers
    database: TestDatabase
    env: dict[str, str]
    shop_port: int
    shop_dir: Path
    status_url: str
    client: ClientCredentials
    processes: list[subprocess.Popen]

    def start(self, *args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def notifications(self, sender: str) -> list[str]:
        return self.servers.get(f"/webhooks/rest/notifications?sender={sender}")["messages"]

    def post(self, event: dict[str, Any], **auth: Any) -> tuple[int, dict[str, Any]]:
        if not auth:
            auth = {"client": self.client.name, "secret": self.client.hmac_secret}
        return post_status(self.status_url, event, **auth)


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    model = latest_model()
    if model is None:
        pytest.fail("no trained model in models/", pytrace=False)
    directory = tmp_path_factory.mktemp("e2e-oss")
    shop_port, status_port = free_port(), free_port()
    overrides = {
        "TTHC_SUBMISSION_BACKEND": "http",
        "TTHC_SUBMISSION_URL": f"http://127.0.0.1:{shop_port}/api/dossiers",
        "TTHC_SUBMISSION_TIMEOUT": "10",
        "TTHC_SUBMISSION_RETRIES": "0",
        "TTHC_DELIVERY_INTERVAL": "0.2",
        "TTHC_DELIVERY_BACKOFF": "0.5",
        "TTHC_DELIVERY_MAX_BACKOFF": "1",
        "TTHC_DELIVERY_LEASE": "3",
        "TTHC_ATTACHMENTS_DIR": str(directory / "attachments"),
    }
    monkeypatch = pytest.MonkeyPatch()
    for name, value in overrides.items():
        monkeypatch.setenv(name, value)
    processes: list[subprocess.Popen] = []
    try:
        with isolated_database("sqlite", directory) as database:
            factory = database.new_factory()
            assert not import_catalog(factory).failures
            with session_scope(factory) as session:
                client = register_client(session, "motcua-e2e")
            token = secrets.token_hex(8)
            env = {**os.environ, "TTHC_DATABASE_URL": database.url, "PYTHONPATH": str(PROJECT_ROOT)}
            with loopback_stack(directory, database.url, model, api_token=token) as base:
                setup = Setup(
                    Servers(base, token, database),
                    database,
                    env,
                    shop_port,
                    directory / "shop",
                    f"http://127.0.0.1:{status_port}/api/v1/status-events",
                    client,
                    processes,
                )
                setup.start("integration", "serve", "--port", str(status_port))
                wait_for(lambda: _up(f"http://127.0.0.1:{status_port}/health"), 60, "status API")
                yield setup
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
        monkeypatch.undo()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def file_dossier(servers: Servers, citizen: str) -> str:
    servers.say(citizen, "tôi muốn nộp hồ sơ đăng ký khai sinh")
    for _ in range(40):
        slot = servers.requested_slot(citizen)
        if slot is None or slot == "dossier_confirmed":
            break
        servers.say(citizen, BIRTH_REGISTRATION[slot])
    started = time.monotonic()
    confirmation = texts(servers.say(citizen, "Xác nhận"))
    acknowledged_in = time.monotonic() - started
    match = DOSSIER_CODE_PATTERN.search(confirmation)
    assert match, confirmation
    assert acknowledged_in < 10, acknowledged_in  # not held up by the one-stop-shop
    return match.group(0).upper()


def job_of(setup: Setup, code: str) -> DeliveryJob | None:
    with session_scope(setup.database.new_factory()) as session:
        return session.execute(
            select(DeliveryJob)
            .join(Dossier, Dossier.id == DeliveryJob.dossier_id)
            .where(Dossier.code == code, DeliveryJob.kind == "dossier")
        ).scalar_one_or_none()


def dossier(setup: Setup, code: str) -> Dossier:
    with session_scope(setup.database.new_factory()) as session:
        return session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()


def at(minutes: int) -> str:
    base = datetime(2026, 11, 30, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    return (base + timedelta(minutes=minutes)).isoformat()


def test_submit_deliver_callbacks_supplement_and_lookup(setup: Setup) -> None:
    citizen = f"e2e-oss-{secrets.token_hex(4)}"
    worker = setup.start("deliver")
    # 1. The one-stop-shop is down during the submission: acknowledged at once.
    code = file_dossier(setup.servers, citizen)
    wait_for(
        lambda: (job_of(setup, code) or DeliveryJob(attempts=0)).attempts >= 2,
        30,
        "failed delivery attempts while the shop is down",
    )
    assert job_of(setup, code).status in ("pending", "sending")
    # 2. It comes back: the dossier arrives once and the citizen gets its code.
    shop = OneStopShop(setup.shop_dir, port=setup.shop_port)
    try:
        wait_for(lambda: job_of(setup, code).status == "delivered", 30, "delivery")
        records = [r for r in shop.state.data["dossiers"].values() if r["dossier"]["code"] == code]
        assert len(records) == 1
        reference = dossier(setup, code).backend_reference
        assert reference and reference.startswith("000.00.10.H12-")
        notes = setup.notifications(citizen)
        assert notes == [
            f"Hồ sơ {code} đã được chuyển đến hệ thống một cửa.\n"
            f"Mã hồ sơ trên hệ thống một cửa: {reference}"
        ]

        # 3. kill -9 of the delivering process after the shop accepted a dossier.
        shop.state.delay_next = 6.0
        posts = shop.state.data["posts"]
        with session_scope(setup.database.new_factory()) as session:
            second = submit_dossier(session, make_request(key=f"k-{citizen}"), deliver=True).code
        wait_for(lambda: shop.state.data["posts"] > posts, 30, "the second dossier's POST")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert job_of(setup, second).status == "sending"
        setup.start("deliver")
        wait_for(lambda: job_of(setup, second).status == "delivered", 60, "re-delivery")
        assert shop.state.data["posts"] >= posts + 2  # it was sent twice ...
        same = [r for r in shop.state.data["dossiers"].values() if r["dossier"]["code"] == second]
        assert len(same) == 1  # ... and registered once
        assert job_of(setup, second).attempts == 2

        # 4. Status callbacks, signed; the citizen is told each change once.
        base = {"code": None, "reference": reference}
        for event_id, status, minute in (("r1", "received", 1), ("r2", "processing", 2)):
            status_code, body = setup.post(
                {**base, "event_id": event_id, "status": status, "occurred_at": at(minute)}
            )
            assert (status_code, body["outcome"]) == (200, "applied"), body
        need = {
            **base,
            "event_id": "r3",
            "status": "need_supplement",
            "occurred_at": at(3),
            "missing_documents": ["Bản sao giấy chứng sinh có chứng thực"],
            "note": "Bản chụp bị mờ",
        }
        assert setup.post(need)[0] == 200
        assert setup.post(need)[1]["outcome"] == "duplicate"
        notes = setup.notifications(citizen)
        assert len(notes) == 3
        supplement_notes = [n for n in notes if "Cần bổ sung hồ sơ" in n]
        assert len(supplement_notes) == 1
        assert "1. Bản sao giấy chứng sinh có chứng thực" in supplement_notes[0]

        # 5. The citizen sends a file and says it is done.
        upload = httpx.post(
            setup.servers.base + "/webhooks/rest/upload",
            data={"sender": citizen},
            files={"file": ("giay-chung-sinh.pdf", b"%PDF-1.4 e2e scan", "application/pdf")},
            timeout=30,
        )
        assert upload.status_code == 200, upload.text
        assert code in upload.json()["text"]
        refused = httpx.post(
            setup.servers.base + "/webhooks/rest/upload",
            data={"sender": citizen},
            files={"file": ("virus.exe", b"MZ\x90\x00", "application/x-msdownload")},
            timeout=30,
        )
        assert refused.status_code == 415 and "JPG, PNG" in refused.json()["text"]
        done = texts(setup.servers.say(citizen, "đã bổ sung xong"))
        assert "Cảm ơn" in done and code in done
        assert dossier(setup, code).status == "processing"
        wait_for(lambda: shop.state.data["supplements"], 30, "supplement delivery")
        [forwarded] = shop.state.data["supplements"]
        assert forwarded["reference"] == reference
        assert forwarded["files"][0]["file_name"] == "giay-chung-sinh.pdf"
        assert len(setup.notifications(citizen)) == 1  # back to "processing"

        # 6. Completed: announced once; forged, replayed, duplicate change nothing.
        completed = {
            **base,
            "event_id": "r4",
            "status": "completed",
            "occurred_at": at(9),
            "result_pickup": "Nhận tại bộ phận một cửa UBND phường",
        }
        forged = setup.post(completed, client=setup.client.name, secret="not-the-secret")
        assert forged[0] == 401
        replayed = setup.post(
            completed,
            client=setup.client.name,
            secret=setup.client.hmac_secret,
            timestamp=int(time.time()) - 3600,
        )
        assert replayed[0] == 401 and replayed[1]["error"] == "stale_timestamp"
        assert dossier(setup, code).status == "processing"
        assert setup.post(completed)[1]["outcome"] == "applied"
        assert setup.post(completed)[1]["outcome"] == "duplicate"
        late = {**base, "event_id": "r0", "status": "processing", "occurred_at": at(0)}
        assert setup.post(late)[1]["outcome"] == "stale"
        notes = setup.notifications(citizen)
        assert len(notes) == 1 and "Đã hoàn thành" in notes[0]
        assert "Nhận tại bộ phận một cửa UBND phường" in notes[0]
        assert setup.notifications(citizen) == []
        assert dossier(setup, code).status == "completed"
    finally:
        shop.close()

    # 7. Look-up by the national code, typed loosely, through the REST channel.
    loose = reference.lower().replace("-", " – ")
    answer = texts(setup.servers.say(citizen, f"tra cứu hồ sơ {loose}"))
    assert code in answer and "Đã hoàn thành" in answer, answer
