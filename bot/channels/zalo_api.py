"""Zalo Official Account Open API v3 client (no Rasa import, so the outbox
dispatcher can use it): consultation messages, and the OAuth refresh of the OA
access token with the single-use refresh token stored in the database."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from bot.channels.store import ChannelStore
from bot.channels.text import split_text
from core.settings import DEFAULT_ZALO_API_BASE_URL, DEFAULT_ZALO_OAUTH_BASE_URL, settings_for

logger = logging.getLogger(__name__)

SENDER_PREFIX = "zalo:"
DEFAULT_API_BASE_URL = DEFAULT_ZALO_API_BASE_URL
DEFAULT_OAUTH_BASE_URL = DEFAULT_ZALO_OAUTH_BASE_URL
# Zalo rejects consultation texts over 2,000 characters.
MAX_TEXT_LENGTH = 2000
# Zalo template limits: at most 5 buttons, titles up to 100 characters,
# oa.query.show payloads up to 1,000 characters.
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
MAX_BUTTON_PAYLOAD = 1000
ERROR_TOKEN_EXPIRED = -216
# A tapped `oa.query.show` button comes back as a `user_send_text` event whose
# text is the payload, which is exactly what Rasa needs to see.
BUTTON_TYPE = "oa.query.show"


# OA API errors that no retry can fix (the citizen cannot be reached this way,
# or the OA/app is misconfigured): code -> reason shown to officers. Source:
# the OA API error table (developers.zalo.me "Bảng mã lỗi", as reproduced in
# integrators' references); -216/-220 (token) are handled by the refresh, and
# -32 (rate), -200 (send failed), -211/-218 (quota) stay retryable.
PERMANENT_ERRORS: dict[int, str] = {
    -201: "tham số gửi tin không hợp lệ",
    -204: "Official Account đã bị vô hiệu hóa",
    -205: "Official Account không tồn tại",
    -207: "ID người dùng Zalo không hợp lệ",
    -213: "người dân chưa quan tâm (follow) Official Account",
    -217: "người dân đã chặn tin nhắn từ Official Account",
    -219: "ứng dụng Zalo đã bị gỡ hoặc vô hiệu hóa",
    -223: "Official Account chưa cấp quyền gửi tin cho ứng dụng",
    -224: "Official Account chưa mua gói dịch vụ cần thiết",
    -227: "tài khoản Zalo của người dân bị khóa hoặc không hoạt động quá 45 ngày",
    -230: "người dân không tương tác với Official Account trong 7 ngày qua",
    -232: "người dân chưa tương tác hoặc lần tương tác cuối đã hết hạn",
    -233: "loại tin nhắn không được hỗ trợ",
    -244: "người dân đã chặn loại tin nhắn này từ Official Account",
    -248: "tin nhắn vi phạm tiêu chuẩn nền tảng Zalo",
}


class ZaloApiError(RuntimeError):
    """The OA API answered with a non-zero `error`. `permanent` is True for
    codes no retry can fix (`PERMANENT_ERRORS`); `reason_vi` then says why,
    for officers."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo API error {code}: {message}")
        self.code = code

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT_ERRORS

    @property
    def reason_vi(self) -> str:
        reason = PERMANENT_ERRORS.get(self.code, "lỗi tạm thời của Zalo")
        return f"Không gửi được qua Zalo: {reason} (mã {self.code})."


@dataclass(frozen=True)
class ZaloConfig:
    app_id: str = ""
    # Secrets: never in a repr or a log line.
    app_secret: str = field(default="", repr=False)
    oa_secret_key: str = field(default="", repr=False)
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    oauth_base_url: str = DEFAULT_OAUTH_BASE_URL

    @classmethod
    def from_env(
        cls, overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> ZaloConfig:
        """Build from `overrides` (credentials.yml keys), falling back to the
        settings (`ZALO_<KEY>`, core.settings; `env`: a mapping instead of the
        process environment)."""
        overrides = overrides or {}
        zalo = settings_for(env).zalo
        configured = {
            key: value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            for key, value in zalo.dict().items()
        }

        def pick(key: str, default: str = "") -> str:
            value = overrides.get(key)
            if value in (None, ""):
                value = configured.get(key, "")
            return str(value or default).strip()

        return cls(
            app_id=pick("app_id"),
            app_secret=pick("app_secret"),
            oa_secret_key=pick("oa_secret_key"),
            access_token=pick("access_token"),
            refresh_token=pick("refresh_token"),
            api_base_url=pick("api_base_url", DEFAULT_API_BASE_URL).rstrip("/"),
            oauth_base_url=pick("oauth_base_url", DEFAULT_OAUTH_BASE_URL).rstrip("/"),
        )

    @property
    def token_account(self) -> str:
        return f"zalo:{self.app_id or 'default'}"


def event_signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The `X-ZEvent-Signature` value Zalo sends for this body."""
    digest = hashlib.sha256()
    digest.update(app_id.encode("utf-8"))
    digest.update(raw_body)
    digest.update(timestamp.encode("utf-8"))
    digest.update(oa_secret_key.encode("utf-8"))
    return "mac=" + digest.hexdigest()


def verify_signature(
    header: str | None, raw_body: bytes, event: Mapping[str, Any], oa_secret_key: str
) -> bool:
    """True when `header` is the right signature for `raw_body` (constant time)."""
    if not header or not oa_secret_key:
        return False
    app_id = event.get("app_id")
    timestamp = event.get("timestamp")
    if app_id is None or timestamp is None:
        return False
    expected = event_signature(str(app_id), raw_body, str(timestamp), oa_secret_key)
    supplied = header.strip()
    # Zalo writes "mac=<hex>"; be lenient about the case of the prefix and hex.
    if supplied[:4].lower() == "mac=":
        supplied = "mac=" + supplied[4:].lower()
    return hmac.compare_digest(supplied.encode("utf-8"), expected.encode("utf-8"))


def strip_sender_prefix(recipient: str) -> str:
    """'zalo:123' -> '123' (Rasa sender ids carry the channel prefix)."""
    return recipient[len(SENDER_PREFIX) :] if recipient.startswith(SENDER_PREFIX) else recipient


def build_buttons(buttons: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Rasa buttons -> Zalo template buttons (within Zalo's limits)."""
    result = []
    for button in list(buttons)[:MAX_BUTTONS]:
        title = str(button.get("title") or "")[:MAX_BUTTON_TITLE]
        payload = str(button.get("payload") or title)[:MAX_BUTTON_PAYLOAD]
        if title:
            result.append({"title": title, "type": BUTTON_TYPE, "payload": payload})
    return result


class ZaloClient:
    """Synchronous OA API client (used from Rasa via a worker thread and from
    the outbox dispatcher directly). Thread-safe."""

    def __init__(
        self,
        config: ZaloConfig,
        store: ChannelStore | None = None,
        http: httpx.Client | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.config = config
        self.store = store or ChannelStore()
        self._http = http or httpx.Client(timeout=timeout)
        self._seeded = False
        self._seed_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _access_token(self) -> str:
        with self._seed_lock:
            if not self._seeded:
                self.store.seed_token(
                    self.config.token_account,
                    self.config.access_token,
                    self.config.refresh_token,
                )
                self._seeded = True
        # Read it every time: another process may have refreshed it.
        row = self.store.load_token(self.config.token_account)
        if row is None:
            raise ZaloApiError(ERROR_TOKEN_EXPIRED, "no OA access token configured")
        return row.access_token

    def _refresh(self, refresh_token: str) -> tuple[str, str, int]:
        """Spend `refresh_token` for a new pair (called under the row lock)."""
        if not refresh_token:
            raise ZaloApiError(ERROR_TOKEN_EXPIRED, "no refresh token stored")
        response = self._http.post(
            f"{self.config.oauth_base_url}/v4/oa/access_token",
            data={
                "app_id": self.config.app_id,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
            headers={"secret_key": self.config.app_secret},
        )
        response.raise_for_status()
        body = response.json()
        access = body.get("access_token")
        if not access:
            raise ZaloApiError(
                int(body.get("error") or -1),
                str(body.get("error_description") or body.get("error_name") or "refresh failed"),
            )
        try:
            expires_in = int(body.get("expires_in") or 0)
        except (TypeError, ValueError):
            expires_in = 0
        logger.info("zalo: OA access token refreshed")
        return str(access), str(body.get("refresh_token") or ""), expires_in

    def _post_message(self, access_token: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        response = self._http.post(
            f"{self.config.api_base_url}/v3.0/oa/message/cs",
            json=body,
            headers={"access_token": access_token},
        )
        response.raise_for_status()
        return response.json()

    def send_message(self, message: Mapping[str, Any], user_id: str) -> Mapping[str, Any]:
        """Send one consultation message; refresh the token and retry once on -216."""
        body = {"recipient": {"user_id": user_id}, "message": dict(message)}
        token = self._access_token()
        result = self._post_message(token, body)
        if int(result.get("error", 0) or 0) == ERROR_TOKEN_EXPIRED:
            logger.info("zalo: access token expired, refreshing")
            token = self.store.rotate_token(self.config.token_account, token, self._refresh)
            result = self._post_message(token, body)
        code = int(result.get("error", 0) or 0)
        if code != 0:
            raise ZaloApiError(code, str(result.get("message", "")))
        return result

    def send_text(
        self, recipient: str, text: str, buttons: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        """Send `text` (split at 2,000 characters) to a user; buttons go with
        the last part. `recipient` may carry the 'zalo:' prefix."""
        user_id = strip_sender_prefix(recipient)
        parts = split_text(text, MAX_TEXT_LENGTH) or [""]
        zalo_buttons = build_buttons(buttons)
        for index, part in enumerate(parts):
            message: dict[str, Any] = {"text": part}
            if zalo_buttons and index == len(parts) - 1:
                message["attachment"] = {
                    "type": "template",
                    "payload": {"buttons": zalo_buttons},
                }
            if not part and "attachment" not in message:
                continue
            self.send_message(message, user_id)
