"""A small reference one-stop-shop (hệ thống một cửa) for integration tests
and for a province's developers: it implements our side of
`docs/openapi-one-stop-shop.yaml` and calls our status API as
`docs/openapi-tthc-inbound.yaml` describes.

    python -m tools.one_stop_shop --port 18510 --state-dir /tmp/shop [--token T]

Endpoints it serves (what tthc-bot calls):
    POST /api/dossiers                           multipart: dossier (JSON) + files
    POST /api/dossiers/{reference}/supplements   multipart: supplement (JSON) + files
    GET  /api/dossiers/{reference}?phone_last4=  status look-up (404 unless digits match)
Test controls (not part of the contract):
    POST /_control   {"fail_next": n, "reject_next": "reason", "delay_next": s, "seed": {...}}
    GET  /_state     everything received

Behaviour a real one-stop-shop must share: `Idempotency-Key` is required and
a repeated key returns the first answer (so each dossier is registered once
however often it is sent); a refusal is a 4xx with `{"reason": "..."}`.

State is a JSON file in `--state-dir`, so a restarted server (outage tests)
remembers what it received. Standard library only.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import hashlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

AGENCY = "000.00.10.H12"
VIETNAM_TZ = timezone(timedelta(hours=7))


def parse_multipart(content_type: str, body: bytes) -> dict[str, list[tuple[str, str, bytes]]]:
    """name -> [(file name, content type, bytes)] of a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts: dict[str, list[tuple[str, str, bytes]]] = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)  # bytes for a leaf part, None for a nested one
        parts.setdefault(str(name), []).append(
            (
                part.get_filename() or "",
                part.get_content_type(),
                payload if isinstance(payload, bytes) else b"",
            )
        )
    return parts


class ShopState:
    """What the shop has received; saved after every change."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "state.json"
        self.lock = threading.Lock()
        self.data: dict[str, Any] = {
            "dossiers": {},  # reference -> record
            "keys": {},  # idempotency key -> [status, body]
            "supplements": [],
            "posts": 0,
            "sequence": 0,
        }
        if self.path.exists():
            self.data.update(json.loads(self.path.read_text()))
        self.fail_next = 0
        self.reject_next: str | None = None
        self.delay_next = 0.0

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=1))
        tmp.replace(self.path)

    def new_reference(self) -> str:
        self.data["sequence"] += 1
        today = datetime.now(VIETNAM_TZ).strftime("%y%m%d")
        return f"{AGENCY}-{today}-{self.data['sequence']:04d}"


def _files_meta(files: list[tuple[str, str, bytes]]) -> list[dict[str, Any]]:
    return [
        {
            "file_name": name,
            "content_type": ctype,
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for name, ctype, data in files
    ]


def make_handler(state: ShopState, token: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            if token and self.headers.get("Authorization", "") != f"Bearer {token}":
                self._reply(401, {"reason": "missing or wrong bearer token"})
                return False
            return True

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/_state":
                with state.lock:
                    self._reply(200, state.data)
                return
            if not self._authorized():
                return
            prefix = "/api/dossiers/"
            if not url.path.startswith(prefix):
                self._reply(404, {"reason": "not found"})
                return
            reference = urllib.parse.unquote(url.path[len(prefix) :])
            digits = urllib.parse.parse_qs(url.query).get("phone_last4", [""])[0]
            with state.lock:
                record = state.data["dossiers"].get(reference)
            phone = ((record or {}).get("dossier", {}).get("applicant") or {}).get("phone") or ""
            if record is None or len(digits) != 4 or not phone.endswith(digits):
                self._reply(404, {"reason": "no such dossier for these phone digits"})
                return
            self._reply(
                200,
                {
                    "reference": reference,
                    "status": record["status"],
                    "procedure_name": record["dossier"].get("procedure_name", ""),
                    "updated_at": record["updated_at"],
                    "note": record.get("note", ""),
                },
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path = urllib.parse.urlsplit(self.path).path
            if path == "/_control":
                self._control(json.loads(body or b"{}"))
                return
            if not self._authorized():
                return
            key = self.headers.get("Idempotency-Key", "").strip()
            if not key:
                self._reply(400, {"reason": "Idempotency-Key header is required"})
                return
            with state.lock:
                state.data["posts"] += 1
                if state.fail_next > 0:
                    state.fail_next -= 1
                    state.save()
                    self._reply(503, {"reason": "maintenance"})
                    return
                previous = state.data["keys"].get(key)
                if previous is not None:
                    state.save()
                    self._reply(previous[0], previous[1])
                    return
                delay, state.delay_next = state.delay_next, 0.0
                parts = parse_multipart(self.headers.get("Content-Type", ""), body)
                if path == "/api/dossiers":
                    status, answer = self._dossier(parts)
                elif path.startswith("/api/dossiers/") and path.endswith("/supplements"):
                    reference = urllib.parse.unquote(path[len("/api/dossiers/") : -12])
                    status, answer = self._supplement(reference, parts)
                else:
                    status, answer = 404, {"reason": "not found"}
                if status < 500:
                    state.data["keys"][key] = [status, answer]
                state.save()
            if delay:
                time.sleep(delay)  # accepted and recorded, answer late (crash tests)
            self._reply(status, answer)

        def _dossier(self, parts: dict[str, list[tuple[str, str, bytes]]]) -> tuple[int, Any]:
            if "dossier" not in parts:
                return 400, {"reason": "part 'dossier' (JSON) is required"}
            try:
                dossier = json.loads(parts["dossier"][0][2])
            except ValueError:
                return 400, {"reason": "part 'dossier' is not JSON"}
            if not (dossier.get("applicant") or {}).get("full_name"):
                return 422, {"reason": "thiếu họ tên người nộp"}
            if state.reject_next is not None:
                reason, state.reject_next = state.reject_next, None
                return 422, {"reason": reason}
            reference = state.new_reference()
            state.data["dossiers"][reference] = {
                "dossier": dossier,
                "files": _files_meta(parts.get("files", [])),
                "status": "received",
                "updated_at": datetime.now(VIETNAM_TZ).isoformat(),
            }
            return 201, {"reference": reference, "status": "received"}

        def _supplement(
            self, reference: str, parts: dict[str, list[tuple[str, str, bytes]]]
        ) -> tuple[int, Any]:
            record = state.data["dossiers"].get(reference)
            if record is None:
                return 404, {"reason": f"no dossier {reference}"}
            document = json.loads(parts["supplement"][0][2]) if "supplement" in parts else {}
            state.data["supplements"].append(
                {
                    "reference": reference,
                    "supplement": document,
                    "files": _files_meta(parts.get("files", [])),
                }
            )
            return 201, {"reference": reference, "status": "supplement_received"}

        def _control(self, command: dict[str, Any]) -> None:
            with state.lock:
                state.fail_next = int(command.get("fail_next", state.fail_next))
                if "reject_next" in command:
                    state.reject_next = command["reject_next"]
                state.delay_next = float(command.get("delay_next", state.delay_next))
                seed = command.get("seed")
                if seed:
                    state.data["dossiers"][seed["reference"]] = {
                        "dossier": seed.get("dossier", {}),
                        "files": [],
                        "status": seed.get("status", "processing"),
                        "updated_at": datetime.now(VIETNAM_TZ).isoformat(),
                        "note": seed.get("note", ""),
                    }
                state.save()
            self._reply(200, {"ok": True})

    return Handler


class OneStopShop:
    """The server in a background thread (tests) — `url` is the dossiers endpoint."""

    def __init__(
        self, state_dir: Path, port: int = 0, token: str | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.state = ShopState(state_dir)
        self.server = ThreadingHTTPServer((host, port), make_handler(self.state, token))
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.base = f"http://{host}:{self.port}"
        self.url = f"{self.base}/api/dossiers"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------
# Calling tthc-bot's status API
# ---------------------------------------------------------------------------


def signed_headers(client: str, secret: str, body: bytes, timestamp: int | None = None) -> dict:
    """Headers of an HMAC-signed status event (see docs/openapi-tthc-inbound.yaml)."""
    import hmac

    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-TTHC-Client": client,
        "X-TTHC-Timestamp": stamp,
        "X-TTHC-Signature": f"sha256={digest}",
    }


def post_status(
    url: str,
    event: dict[str, Any],
    *,
    client: str | None = None,
    secret: str | None = None,
    token: str | None = None,
    timestamp: int | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST one status event to tthc-bot, signed (client+secret) or with a
    bearer token; returns (HTTP status, JSON body)."""
    data = body if body is not None else json.dumps(event, ensure_ascii=False).encode()
    if token:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    else:
        assert client and secret, "client and secret, or token"
        headers = signed_headers(client, secret, data, timestamp)
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18510)
    parser.add_argument("--state-dir", type=Path, default=Path("var/one-stop-shop"))
    parser.add_argument("--token", default=None, help="bearer token tthc-bot must send")
    args = parser.parse_args()
    shop = OneStopShop(args.state_dir, args.port, args.token, args.host)
    print(f"reference one-stop-shop on {shop.url}", flush=True)
    try:
        shop.thread.join()
    except KeyboardInterrupt:
        shop.close()


if __name__ == "__main__":
    main()
