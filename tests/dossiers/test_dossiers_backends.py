"""Submission backends, HttpBackend against a real HTTP server on loopback."""

from __future__ import annotations

import email.parser
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from core.db import session_scope
from dossiers.backends import (
    BackendRejected,
    BackendUnavailable,
    HttpBackend,
    LocalBackend,
    OutgoingFile,
    SubmissionBackend,
    backend_from_env,
)
from dossiers.orm import Dossier
from dossiers.service import SubmissionRequest, submit_dossier

PAYLOAD = {
    "code": "HS-7K2M-Q9XD",
    "idempotency_key": "idem-123",
    "procedure_code": "1.001193",
    "applicant": {"full_name": "Nguyễn Văn An"},
}


def parse_multipart(content_type: str, body: bytes) -> dict[str, list[tuple]]:
    """name -> [(file name, content type, bytes)] of a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts: dict[str, list[tuple]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts.setdefault(name, []).append(
            (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        )
    return parts


class FakeOneStopShop:
    """Scripted responses: each item is (status, body dict, extra headers) or
    ("sleep", seconds) to simulate a hung server; the last item repeats."""

    def __init__(self) -> None:
        self.script: list[tuple] = [(200, {"reference": "MC-1"}, {})]
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                parts = parse_multipart(self.headers["Content-Type"], body) if length else {}
                document = next(
                    (json.loads(p[0][2]) for k, p in parts.items() if k != "files"), None
                )
                fake.requests.append(
                    {
                        "path": self.path,
                        "method": self.command,
                        "headers": dict(self.headers),
                        "body": document,
                        "files": parts.get("files", []),
                    }
                )
                index = min(len(fake.requests), len(fake.script)) - 1
                step = fake.script[index]
                if step[0] == "sleep":
                    time.sleep(step[1])
                    step = (200, {"reference": "late"}, {})
                status, payload, headers = step
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/dossiers"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shop() -> Iterator[FakeOneStopShop]:
    server = FakeOneStopShop()
    yield server
    server.close()


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def test_success_sends_json_with_headers(shop: FakeOneStopShop) -> None:
    backend = HttpBackend(shop.url, token="s3cret", timeout=5)
    receipt = backend.submit(PAYLOAD)
    assert receipt.reference == "MC-1" and receipt.backend == "http"
    [request] = shop.requests
    assert request["path"] == "/api/dossiers"
    assert request["body"] == PAYLOAD
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["idempotency-key"] == "idem-123"
    assert headers["authorization"] == "Bearer s3cret"
    assert headers["content-type"].startswith("multipart/form-data")
    assert "s3cret" not in repr(backend)


def test_files_supplement_and_lookup(shop: FakeOneStopShop, tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 test")
    backend = HttpBackend(shop.url)
    backend.submit(
        PAYLOAD,
        files=[OutgoingFile("giấy khai sinh.pdf", "application/pdf", scan)],
        idempotency_key="job-key",
    )
    request = shop.requests[-1]
    assert request["headers"]["Idempotency-Key"] == "job-key"
    assert request["files"] == [("giấy khai sinh.pdf", "application/pdf", b"%PDF-1.4 test")]
    shop.script = [(200, {"reference": "000.00.10.H12-251120-0003"}, {})]
    backend.submit_supplement(
        "000.00.10.H12-251120-0003", {"items": ["x"]}, idempotency_key="sup-1"
    )
    assert shop.requests[-1]["path"] == "/api/dossiers/000.00.10.H12-251120-0003/supplements"
    assert shop.requests[-1]["body"] == {"items": ["x"]}
    shop.script = [(200, {"reference": "R-1", "status": "processing", "note": "n"}, {})]
    found = backend.lookup("R-1", "5678")
    assert found is not None and (found.status, found.note) == ("processing", "n")
    assert shop.requests[-1]["method"] == "GET"
    assert shop.requests[-1]["path"] == "/api/dossiers/R-1?phone_last4=5678"
    shop.script = [(404, {"error": "not found"}, {})]
    assert backend.lookup("R-2", "0000") is None


def test_500_then_success_retries(shop: FakeOneStopShop) -> None:
    shop.script = [(500, {"error": "boom"}, {}), (503, {}, {}), (201, {"id": 77}, {})]
    sleeps = Sleeps()
    backend = HttpBackend(shop.url, timeout=5, retries=3, backoff=0.5, sleep=sleeps)
    receipt = backend.submit(PAYLOAD)
    assert receipt.reference == "77"
    assert len(shop.requests) == 3
    assert sleeps.delays == [0.5, 1.0]
    # Every retry carries the same idempotency key.
    keys = {r["headers"].get("Idempotency-Key") for r in shop.requests}
    assert keys == {"idem-123"}


def test_retry_after_is_honoured_but_capped(shop: FakeOneStopShop) -> None:
    shop.script = [
        (429, {}, {"Retry-After": "3"}),
        (429, {}, {"Retry-After": "999"}),
        (200, {"reference": "ok"}, {}),
    ]
    sleeps = Sleeps()
    HttpBackend(shop.url, retries=3, max_backoff=8.0, sleep=sleeps).submit(PAYLOAD)
    assert sleeps.delays == [3.0, 8.0]


def test_permanent_failure_raises_clear_error(shop: FakeOneStopShop) -> None:
    shop.script = [(502, {}, {})]
    sleeps = Sleeps()
    backend = HttpBackend(shop.url, retries=3, backoff=0.1, sleep=sleeps)
    with pytest.raises(BackendUnavailable) as info:
        backend.submit(PAYLOAD)
    assert len(shop.requests) == 4  # first attempt + 3 retries
    assert info.value.attempts == 4
    assert "HTTP 502" in str(info.value) and "4 attempts" in str(info.value)
    assert "Nguyễn" not in str(info.value)  # no personal data in errors
    assert info.value.message_vi


def test_client_error_is_not_retried(shop: FakeOneStopShop) -> None:
    shop.script = [(422, {"error": "thiếu trường"}, {})]
    sleeps = Sleeps()
    with pytest.raises(BackendRejected) as info:
        HttpBackend(shop.url, retries=3, sleep=sleeps).submit(PAYLOAD)
    assert info.value.status == 422 and info.value.reason == "thiếu trường"
    assert len(shop.requests) == 1 and sleeps.delays == []


def test_redirect_is_not_followed(shop: FakeOneStopShop) -> None:
    shop.script = [(302, {}, {"Location": "http://127.0.0.1:9/elsewhere"})]
    with pytest.raises(BackendRejected) as info:
        HttpBackend(shop.url, retries=0).submit(PAYLOAD)
    assert info.value.status == 302
    assert len(shop.requests) == 1


def test_timeout_is_retried(shop: FakeOneStopShop) -> None:
    shop.script = [("sleep", 1.5), (200, {"reference": "after-timeout"}, {})]
    sleeps = Sleeps()
    receipt = HttpBackend(shop.url, timeout=0.3, retries=2, sleep=sleeps).submit(PAYLOAD)
    assert receipt.reference == "after-timeout"
    assert len(sleeps.delays) == 1


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on `port` now.
    sleeps = Sleeps()
    backend = HttpBackend(f"http://127.0.0.1:{port}/x", timeout=2, retries=2, sleep=sleeps)
    with pytest.raises(BackendUnavailable) as info:
        backend.submit(PAYLOAD)
    assert info.value.attempts == 3 and len(sleeps.delays) == 2
    assert "Connection" in info.value.last_error or "refused" in info.value.last_error.lower()


def test_non_json_success_has_no_reference(shop: FakeOneStopShop) -> None:
    shop.script = [(200, "accepted", {})]
    receipt = HttpBackend(shop.url).submit(PAYLOAD)
    assert receipt.reference is None


@pytest.mark.parametrize(
    "url", ["", "file:///etc/passwd", "ftp://example/x", "127.0.0.1:8080/x", "http://"]
)
def test_only_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        HttpBackend(url)


def test_local_backend() -> None:
    backend = LocalBackend()
    assert isinstance(backend, SubmissionBackend)
    assert backend.submit(PAYLOAD).backend == "local"


def test_backend_from_env() -> None:
    assert isinstance(backend_from_env({}), LocalBackend)
    assert isinstance(backend_from_env({"TTHC_SUBMISSION_BACKEND": "LOCAL"}), LocalBackend)
    backend = backend_from_env(
        {
            "TTHC_SUBMISSION_BACKEND": "http",
            "TTHC_SUBMISSION_URL": "https://motcua.example.gov.vn/api/hoso",
            "TTHC_SUBMISSION_TOKEN": "t",
            "TTHC_SUBMISSION_TIMEOUT": "4.5",
            "TTHC_SUBMISSION_RETRIES": "5",
        }
    )
    assert isinstance(backend, HttpBackend)
    assert backend.timeout == 4.5 and backend.retries == 5
    with pytest.raises(ValueError, match="TTHC_SUBMISSION_URL"):
        backend_from_env({"TTHC_SUBMISSION_BACKEND": "http"})
    with pytest.raises(ValueError, match="local' or 'http"):
        backend_from_env({"TTHC_SUBMISSION_BACKEND": "smtp"})
    with pytest.raises(ValueError, match="TIMEOUT"):
        backend_from_env(
            {
                "TTHC_SUBMISSION_BACKEND": "http",
                "TTHC_SUBMISSION_URL": "http://x",
                "TTHC_SUBMISSION_TIMEOUT": "soon",
            }
        )


def test_submit_dossier_through_http_backend(shop: FakeOneStopShop, factory: sessionmaker) -> None:
    shop.script = [(503, {}, {}), (200, {"reference": "MC-2025-42"}, {})]
    backend = HttpBackend(shop.url, retries=2, sleep=Sleeps())
    request = SubmissionRequest(
        idempotency_key="form-abc",
        procedure_code="3.000333",
        procedure_name="Cấp Phiếu lý lịch tư pháp",
        sender_id="web-7",
        channel="web",
        applicant_name="Phạm Quốc Bảo",
        applicant_dob=date(1988, 12, 1),
        applicant_citizen_id="079088000123",
        applicant_phone="0909123456",
        applicant_address="12 Lê Lợi, Bến Nghé, TP Hồ Chí Minh",
        extra={"record_type": "Phiếu số 1"},
    )
    with session_scope(factory) as session:
        dossier = submit_dossier(session, request, backend=backend)
        assert dossier.backend_reference == "MC-2025-42"
    body = shop.requests[-1]["body"]
    assert body["code"] == dossier.code and body["fields"] == {"record_type": "Phiếu số 1"}
    assert body["applicant"]["date_of_birth"] == "1988-12-01"
    # Permanent failure: nothing stored.
    shop.script = [(500, {}, {})]
    failing = HttpBackend(shop.url, retries=1, sleep=Sleeps())
    with pytest.raises(BackendUnavailable), session_scope(factory) as session:
        submit_dossier(
            session,
            request.__class__(**{**request.__dict__, "idempotency_key": "form-def"}),
            backend=failing,
        )
    with session_scope(factory) as session:
        assert session.execute(select(func.count()).select_from(Dossier)).scalar_one() == 1
