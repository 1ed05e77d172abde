"""Where a submitted dossier goes besides our own database.

`LocalBackend` (default) keeps dossiers only in the local store: officers
work them from there. `HttpBackend` forwards each dossier as JSON to a
one-stop-shop (một cửa) endpoint. It is stdlib-only (`urllib.request`) so the
action server needs nothing extra, retries transient failures (connection
errors, timeouts, 408/429/5xx) with exponential backoff, and sends an
`Idempotency-Key` header equal to the dossier's idempotency key so a retry,
or a resubmission after our own crash, cannot create a second dossier on the
remote side.

Configuration (see `backend_from_env`):
  TTHC_SUBMISSION_BACKEND   local (default) | http
  TTHC_SUBMISSION_URL       endpoint for http (http:// or https://)
  TTHC_SUBMISSION_TOKEN     optional bearer token
  TTHC_SUBMISSION_TIMEOUT   seconds per attempt (default 10)
  TTHC_SUBMISSION_RETRIES   retries after the first attempt (default 3)
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger(__name__)

_MAX_RESPONSE_BYTES = 1 << 20
_RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class BackendReceipt:
    """The backend's acknowledgement. `reference` is the remote system's own
    id for the dossier, when it gives one."""

    backend: str
    reference: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class SubmissionBackend(Protocol):
    def submit(self, dossier_payload: dict) -> BackendReceipt:
        """Deliver the dossier; raise `BackendError` if it was not accepted."""
        ...


class BackendError(RuntimeError):
    """The dossier was not accepted by the backend. `message_vi` is for the citizen."""

    message_vi = (
        "Hệ thống tiếp nhận hồ sơ đang tạm thời gián đoạn nên hồ sơ chưa được gửi. "
        "Thông tin bạn nhập vẫn được giữ, vui lòng xác nhận gửi lại sau ít phút."
    )


class BackendRejected(BackendError):
    """Permanent refusal (4xx other than 408/425/429): retrying will not help."""

    message_vi = "Hệ thống tiếp nhận đã từ chối hồ sơ. Vui lòng liên hệ cán bộ để được hỗ trợ."

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"submission backend rejected the dossier: HTTP {status}")
        self.status = status
        self.body = body  # may echo personal data: do not log it


class BackendUnavailable(BackendError):
    """Still failing after all retries (5xx, timeouts, connection errors)."""

    def __init__(self, attempts: int, last_error: str) -> None:
        super().__init__(f"submission backend unavailable after {attempts} attempts: {last_error}")
        self.attempts = attempts
        self.last_error = last_error


class LocalBackend:
    """Keep dossiers in the local store only (nothing to call)."""

    name = "local"

    def submit(self, dossier_payload: dict) -> BackendReceipt:
        return BackendReceipt(backend=self.name, reference=None)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow redirects: urllib would replay a POST as a GET and could be
    sent to another host with our token."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class HttpBackend:
    """POST the dossier JSON to a one-stop-shop endpoint."""

    name = "http"

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        *,
        max_backoff: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parsed = urllib.parse.urlsplit(url or "")
        # Only http(s): urllib would happily open file:// or ftp:// URLs.
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("submission URL must be an absolute http:// or https:// URL")
        if retries < 0 or timeout <= 0 or backoff < 0:
            raise ValueError("retries >= 0, timeout > 0 and backoff >= 0 are required")
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._token = token
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:  # never show the token
        return f"HttpBackend({self.url!r}, retries={self.retries})"

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after.strip()), self.max_backoff)
        return min(self.backoff * (2**attempt), self.max_backoff)

    def submit(self, dossier_payload: dict) -> BackendReceipt:
        body = json.dumps(dossier_payload, ensure_ascii=False, default=str).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": "tthc-bot",
        }
        key = dossier_payload.get("idempotency_key")
        if key:
            headers["Idempotency-Key"] = str(key)
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        attempts = self.retries + 1
        last_error = ""
        for attempt in range(attempts):
            retry_after = None
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    status = response.status
                    data = response.read(_MAX_RESPONSE_BYTES)
                return self._receipt(status, data)
            except urllib.error.HTTPError as exc:
                status = exc.code
                data = exc.read(64 * 1024) if exc.fp is not None else b""
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if status not in _RETRYABLE_STATUSES:
                    raise BackendRejected(status, data.decode("utf-8", "replace")[:2000]) from None
                last_error = f"HTTP {status}"
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                last_error = f"{type(reason).__name__}: {reason}"[:300]
            if attempt + 1 < attempts:
                delay = self._delay(attempt, retry_after)
                log.warning(
                    "submission backend attempt %d/%d failed (%s); retrying in %.1fs",
                    attempt + 1,
                    attempts,
                    last_error,
                    delay,
                )
                self._sleep(delay)
        raise BackendUnavailable(attempts, last_error)

    def _receipt(self, status: int, data: bytes) -> BackendReceipt:
        if not 200 <= status < 300:  # 1xx/3xx reaching here: treat as a refusal
            raise BackendRejected(status, data.decode("utf-8", "replace")[:2000])
        try:
            parsed = json.loads(data.decode("utf-8")) if data else {}
        except (UnicodeDecodeError, ValueError):
            parsed = {}
        raw = parsed if isinstance(parsed, dict) else {}
        reference = raw.get("reference") or raw.get("id") or raw.get("code")
        if reference is None:
            log.warning("submission backend accepted the dossier without a reference")
        return BackendReceipt(
            backend=self.name,
            reference=str(reference)[:200] if reference is not None else None,
            raw=raw,
        )


def backend_from_env(environ: Mapping[str, str] | None = None) -> SubmissionBackend:
    """The backend selected by `TTHC_SUBMISSION_BACKEND` (local|http)."""
    env = os.environ if environ is None else environ
    kind = env.get("TTHC_SUBMISSION_BACKEND", "").strip().lower() or "local"
    if kind == "local":
        return LocalBackend()
    if kind == "http":
        url = env.get("TTHC_SUBMISSION_URL", "").strip()
        if not url:
            raise ValueError("TTHC_SUBMISSION_BACKEND=http needs TTHC_SUBMISSION_URL")
        try:
            timeout = float(env.get("TTHC_SUBMISSION_TIMEOUT", "") or 10.0)
            retries = int(env.get("TTHC_SUBMISSION_RETRIES", "") or 3)
        except ValueError as exc:
            raise ValueError(
                "TTHC_SUBMISSION_TIMEOUT must be a number, TTHC_SUBMISSION_RETRIES an integer"
            ) from exc
        return HttpBackend(
            url,
            token=env.get("TTHC_SUBMISSION_TOKEN", "").strip() or None,
            timeout=timeout,
            retries=retries,
        )
    raise ValueError(f"TTHC_SUBMISSION_BACKEND must be 'local' or 'http', not {kind!r}")
