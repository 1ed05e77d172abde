"""Client of the one-stop-shop (hệ thống một cửa) API.

`LocalBackend` (default) keeps dossiers only in the local store: officers
work them from there. `HttpBackend` talks to a one-stop-shop implementing
`docs/openapi-one-stop-shop.yaml` (the reference server is
`tools/one_stop_shop.py`):

- `submit`: POST {url} — multipart/form-data, part `dossier` (JSON) plus one
  `files` part per attachment; answers `{"reference": "<national code>"}`;
- `submit_supplement`: POST {url}/{reference}/supplements — same shape, part
  `supplement`;
- `lookup`: GET {url}/{reference}?phone_last4=NNNN — status of a dossier we do
  not hold (the one-stop-shop checks the phone digits; 404 otherwise).

Every POST carries `Idempotency-Key` (the delivery job's key), so a retry,
or a re-send after our crash, never creates a second dossier remotely.
Transient failures (connection errors, timeouts, 408/425/429/5xx) are
retried in-process with tenacity (exponential backoff, `Retry-After`
honoured but capped); what still fails is retried later by the durable
delivery job (`dossiers.delivery`). Other 4xx are permanent
(`BackendRejected`, with the reason the server gave). Redirects are never
followed (a POST must not be replayed elsewhere with our token).

Configuration (see `backend_from_env`):
  TTHC_SUBMISSION_BACKEND   local (default) | http
  TTHC_SUBMISSION_URL       dossiers endpoint for http (http:// or https://)
  TTHC_SUBMISSION_TOKEN     optional bearer token we send
  TTHC_SUBMISSION_TIMEOUT   seconds per attempt (default 10)
  TTHC_SUBMISSION_RETRIES   in-process retries after the first attempt (default 2)
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
)

from core.settings import settings_for
from core.wording import say

log = logging.getLogger(__name__)

_MAX_RESPONSE_BYTES = 1 << 20
_RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class BackendReceipt:
    """The backend's acknowledgement. `reference` is the remote system's own
    id for the dossier (national format code), when it gives one."""

    backend: str
    reference: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutgoingFile:
    """One attachment to upload: its name, MIME type and where the bytes are."""

    file_name: str
    content_type: str
    path: Path


@dataclass(frozen=True)
class RemoteStatus:
    """A dossier as the one-stop-shop's look-up endpoint describes it."""

    reference: str
    status: str
    procedure_name: str = ""
    updated_at: str = ""
    note: str = ""


@runtime_checkable
class SubmissionBackend(Protocol):
    def submit(
        self,
        dossier_payload: dict,
        *,
        files: Sequence[OutgoingFile] = (),
        idempotency_key: str | None = None,
    ) -> BackendReceipt:
        """Deliver the dossier; raise `BackendError` if it was not accepted."""
        ...


class SupplementBackend(SubmissionBackend, Protocol):
    """A backend that also takes completed supplements (the one-stop-shop's
    `HttpBackend`); `delivery.DeliveryWorker` sends both kinds of job."""

    def submit_supplement(
        self,
        reference: str,
        supplement_payload: dict,
        *,
        files: Sequence[OutgoingFile] = (),
        idempotency_key: str | None = None,
    ) -> BackendReceipt:
        """Deliver a supplement to dossier `reference`; raise `BackendError` if refused."""
        ...


class BackendError(RuntimeError):
    """The dossier was not accepted by the backend. `message_vi` is for the citizen."""

    message_vi = say("one_stop.unavailable")


class BackendRejected(BackendError):
    """Permanent refusal (4xx other than 408/425/429): retrying will not help.
    `reason` is the server's own explanation (field `reason`, `message` or
    `error` of a JSON body), cleaned for display; `body` may echo personal
    data: do not log it."""

    message_vi = say("one_stop.refused")

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"submission backend rejected the request: HTTP {status}")
        self.status = status
        self.body = body
        self.reason = _reason_of(body)


class BackendUnavailable(BackendError):
    """Still failing after all retries (5xx, timeouts, connection errors)."""

    def __init__(self, attempts: int, last_error: str) -> None:
        super().__init__(f"submission backend unavailable after {attempts} attempts: {last_error}")
        self.attempts = attempts
        self.last_error = last_error


def _reason_of(body: str) -> str:
    from dossiers.validation import clean_free_text

    with contextlib.suppress(ValueError, TypeError):
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            for key in ("reason", "message", "error"):
                value = parsed.get(key)
                if isinstance(value, str) and value.strip():
                    return clean_free_text(value, max_chars=300)
    return ""


class LocalBackend:
    """Keep dossiers in the local store only (nothing to call)."""

    name = "local"

    def submit(
        self,
        dossier_payload: dict,
        *,
        files: Sequence[OutgoingFile] = (),
        idempotency_key: str | None = None,
    ) -> BackendReceipt:
        return BackendReceipt(backend=self.name, reference=None)


class _Transient(Exception):
    def __init__(self, description: str, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class HttpBackend:
    """The one-stop-shop over HTTP (httpx + tenacity)."""

    name = "http"

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        *,
        max_backoff: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(url or "")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("submission URL must be an absolute http:// or https:// URL")
        if retries < 0 or timeout <= 0 or backoff < 0:
            raise ValueError("retries >= 0, timeout > 0 and backoff >= 0 are required")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._token = token
        self._sleep = sleep
        self._transport = transport

    def __repr__(self) -> str:  # never show the token
        return f"HttpBackend({self.url!r}, retries={self.retries})"

    # -- plumbing -----------------------------------------------------------

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "tthc-bot"}
        if idempotency_key:
            headers["Idempotency-Key"] = str(idempotency_key)
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        return min(self.backoff * (2 ** (state.attempt_number - 1)), self.max_backoff)

    def _call(self, send: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
        """Run `send` with retries; returns a 2xx response or raises
        `BackendRejected` / `BackendUnavailable`."""
        attempts = self.retries + 1

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "one-stop-shop attempt %d/%d failed (%s); retrying",
                state.attempt_number,
                attempts,
                exc,
            )

        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            with httpx.Client(
                timeout=self.timeout, follow_redirects=False, transport=self._transport
            ) as client:
                for attempt in retrying:
                    with attempt:
                        return self._once(client, send)
        except _Transient as exc:
            raise BackendUnavailable(attempts, str(exc)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _once(
        client: httpx.Client, send: Callable[[httpx.Client], httpx.Response]
    ) -> httpx.Response:
        try:
            response = send(client)
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}"[:300]) from None
        status = response.status_code
        if status in _RETRYABLE_STATUSES:
            raw = response.headers.get("Retry-After", "").strip()
            raise _Transient(f"HTTP {status}", float(raw) if raw.isdigit() else None)
        if not 200 <= status < 300:  # 3xx (never followed) and other 4xx
            raise BackendRejected(status, response.text[:2000])
        return response

    def _post(
        self,
        url: str,
        part_name: str,
        document: dict,
        files: Sequence[OutgoingFile],
        idempotency_key: str | None,
    ) -> BackendReceipt:
        """POST `document` (as the JSON part `part_name`) and `files` to `url`
        with retries; the receipt of the 2xx answer."""
        parts = self._multipart(part_name, document, files)
        response = self._call(
            lambda client: client.post(url, files=parts, headers=self._headers(idempotency_key))
        )
        return self._receipt(response)

    @staticmethod
    def _multipart(
        part_name: str, document: dict, files: Sequence[OutgoingFile]
    ) -> list[tuple[str, tuple[str, bytes, str]]]:
        body = json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")
        parts = [(part_name, (f"{part_name}.json", body, "application/json"))]
        for item in files:
            parts.append(("files", (item.file_name, item.path.read_bytes(), item.content_type)))
        return parts

    def _receipt(self, response: httpx.Response) -> BackendReceipt:
        data = response.content[:_MAX_RESPONSE_BYTES]
        try:
            parsed = json.loads(data.decode("utf-8")) if data else {}
        except (UnicodeDecodeError, ValueError):
            parsed = {}
        raw = parsed if isinstance(parsed, dict) else {}
        reference = raw.get("reference") or raw.get("id") or raw.get("code")
        if reference is None:
            log.warning("one-stop-shop accepted the request without a reference")
        return BackendReceipt(
            backend=self.name,
            reference=str(reference)[:200] if reference is not None else None,
            raw=raw,
        )

    # -- API ------------------------------------------------------------------

    def submit(
        self,
        dossier_payload: dict,
        *,
        files: Sequence[OutgoingFile] = (),
        idempotency_key: str | None = None,
    ) -> BackendReceipt:
        """POST the dossier (multipart: `dossier` JSON + `files`). The key
        defaults to the payload's `idempotency_key`."""
        key = idempotency_key or dossier_payload.get("idempotency_key")
        return self._post(self.url, "dossier", dossier_payload, files, key)

    def submit_supplement(
        self,
        reference: str,
        supplement_payload: dict,
        *,
        files: Sequence[OutgoingFile] = (),
        idempotency_key: str | None = None,
    ) -> BackendReceipt:
        """POST a completed supplement to {url}/{reference}/supplements."""
        url = f"{self.url}/{urllib.parse.quote(reference, safe='')}/supplements"
        return self._post(url, "supplement", supplement_payload, files, idempotency_key)

    def lookup(self, reference: str, phone_last4: str) -> RemoteStatus | None:
        """The one-stop-shop's view of dossier `reference`, or None when it
        does not know it or the phone digits do not match (404 or 403).
        Raises `BackendUnavailable` when it cannot be asked."""
        url = f"{self.url}/{urllib.parse.quote(reference, safe='')}"
        try:
            response = self._call(
                lambda client: client.get(
                    url, params={"phone_last4": phone_last4}, headers=self._headers(None)
                )
            )
        except BackendRejected as exc:
            if exc.status in (403, 404):
                return None
            raise BackendUnavailable(1, f"HTTP {exc.status}") from None
        raw = self._receipt(response).raw
        status = raw.get("status")
        if not isinstance(status, str):
            return None
        return RemoteStatus(
            reference=str(raw.get("reference") or reference)[:200],
            status=status,
            procedure_name=str(raw.get("procedure_name") or "")[:500],
            updated_at=str(raw.get("updated_at") or "")[:40],
            note=str(raw.get("note") or "")[:1000],
        )


def backend_kind(environ: Mapping[str, str] | None = None) -> str:
    """`TTHC_SUBMISSION_BACKEND`, lower-cased ("local" when unset), from
    core.settings (`environ`: a mapping instead of the process environment).
    Raises core.settings.SettingsError (a ValueError) for another value."""
    return settings_for(environ).submission.backend


def backend_from_env(environ: Mapping[str, str] | None = None) -> Any:
    """The backend selected by `TTHC_SUBMISSION_BACKEND` (local|http), from
    core.settings. Raises ValueError for a missing URL or a bad number
    (the message names the variable)."""
    submission = settings_for(environ).submission
    if submission.backend == "local":
        return LocalBackend()
    if not submission.url:
        raise ValueError("TTHC_SUBMISSION_BACKEND=http needs TTHC_SUBMISSION_URL")
    return HttpBackend(
        submission.url,
        token=submission.token.get_secret_value() or None,
        timeout=submission.timeout,
        retries=submission.retries,
    )
