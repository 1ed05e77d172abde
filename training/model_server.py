"""The model store Rasa workers pull the live model from.

Rasa's model server protocol (endpoints.yml `models: {url, wait_time_between_pulls}`,
rasa.core.agent): each Rasa worker process GETs the URL every N seconds with
`If-None-Match: <fingerprint of its model>`; 304 means "keep yours", 200
carries a new archive (header `filename`) and its fingerprint (`ETag`). The
worker loads it in the background and keeps answering meanwhile — no downtime.

Here `GET /models/active` serves the bank's active model (training.bank),
fingerprint = the archive's sha256, so activating or rolling back in the
console reaches every worker of every Rasa process within one pull interval.
`GET /healthz` answers 200. Loopback by default; standard library server (a
request per worker every few seconds needs nothing more).
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from core.db import session_scope
from training.bank import active_model

__all__ = ["ModelStoreServer", "serve"]


class _Handler(BaseHTTPRequestHandler):
    server: ModelStoreServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # a pull every few seconds per worker: not worth a log line

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/healthz":
            self._send(HTTPStatus.OK, b"ok")
            return
        if self.path.split("?")[0] != "/models/active":
            self._send(HTTPStatus.NOT_FOUND, b"not found")
            return
        with session_scope(self.server.factory) as db:
            model = active_model(db)
            found = (
                None if model is None
                else (Path(model.path), model.name, str((model.inputs or {}).get("sha256", "")))
            )
        if found is None or not found[0].is_file():
            self._send(HTTPStatus.NOT_FOUND, b"no active model")
            return
        path, name, sha = found
        if sha and self.headers.get("If-None-Match", "").strip('"') == sha:
            self._send(HTTPStatus.NOT_MODIFIED, b"", etag=sha)
            return
        body = path.read_bytes()
        self._send(HTTPStatus.OK, body, etag=sha, filename=name,
                   content_type="application/gzip")

    def _send(
        self, status: HTTPStatus, body: bytes, *, etag: str = "", filename: str = "",
        content_type: str = "text/plain",
    ) -> None:
        self.send_response(status)
        if etag:
            self.send_header("ETag", etag)
        if filename:
            self.send_header("filename", filename)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)


class ModelStoreServer(ThreadingHTTPServer):
    """The HTTP server; `factory` opens sessions on the tthc database."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], factory: sessionmaker) -> None:
        super().__init__(address, _Handler)
        self.factory = factory

    def start_in_thread(self) -> threading.Thread:
        """Serve in a daemon thread (tests); `shutdown()` stops it."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


def serve(factory: sessionmaker, host: str = "127.0.0.1", port: int = 5056) -> None:
    """Serve until interrupted."""
    server = ModelStoreServer((host, port), factory)
    print(f"model store: http://{host}:{server.server_address[1]}/models/active", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
