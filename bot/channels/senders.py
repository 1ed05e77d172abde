"""Notification senders for the dossier outbox (`dossiers.outbox`).

Each implements `send(recipient, text, buttons=None) -> None` and raises on
failure so the dispatcher retries later. Buttons (Rasa's `{"title",
"payload"}`, e.g. 👍/👎 on a finished dossier) are rendered as the chat
bridges render Rasa buttons, so a tap reaches Rasa exactly as a tap in the
chat: Telegram inline keyboard with the bridge's stored short ids
(`channel_callback_payloads`), Zalo `oa.query.show` template buttons.

They are synchronous and use plain HTTP, so the dispatcher runs in its own
process, outside the Telegram bot's event loop and outside Rasa.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from bot.channels.store import ChannelStore
from bot.channels.text import split_text
from bot.channels.zalo_api import ZaloClient, ZaloConfig
from core.settings import DEFAULT_TELEGRAM_API_BASE_URL, settings_for

logger = logging.getLogger(__name__)

TELEGRAM_SENDER_PREFIX = "telegram:"
TELEGRAM_MAX_MESSAGE_LENGTH = 4096


class TelegramSendError(RuntimeError):
    """The Bot API refused the message (`description` from Telegram).
    `permanent` for refusals no retry can fix (403: the citizen blocked the
    bot; 400 "chat not found"), with `reason_vi` for officers."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status

    @property
    def permanent(self) -> bool:
        return self.status == 403 or (self.status == 400 and "chat not found" in str(self))

    @property
    def reason_vi(self) -> str:
        if self.status == 403:
            return "Không gửi được qua Telegram: người dân đã chặn hoặc rời khỏi trợ lý (403)."
        return "Không gửi được qua Telegram: không tìm thấy cuộc trò chuyện (400)."


class TelegramSender:
    """Bot API `sendMessage` over HTTP.

    Buttons become an inline keyboard under the last part of the text; the
    callback data is the short id of the payload stored in
    `channel_callback_payloads` (`store`, default: the process-wide
    database), which the Telegram bridge resolves on a tap and forwards to
    Rasa. Callback data is limited to 64 bytes, the id uses 18."""

    def __init__(
        self,
        token: str,
        api_base_url: str = DEFAULT_TELEGRAM_API_BASE_URL,
        *,
        timeout: float = 15.0,
        http: httpx.Client | None = None,
        store: ChannelStore | None = None,
    ) -> None:
        if not token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self._url = f"{api_base_url.rstrip('/')}{token}/sendMessage"
        self._http = http or httpx.Client(timeout=timeout)
        self._store = store or ChannelStore()

    def close(self) -> None:
        self._http.close()

    def reply_markup(self, buttons: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
        """Rasa buttons -> Bot API `InlineKeyboardMarkup` JSON (one button per
        row, as the bridge draws them), payloads stored under short ids."""
        rows = [
            [{"text": title, "callback_data": data}]
            for title, data in self._store.callback_rows(buttons)
        ]
        return {"inline_keyboard": rows} if rows else None

    def send(
        self, recipient: str, text: str, buttons: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        chat_id = recipient.removeprefix(TELEGRAM_SENDER_PREFIX)
        parts = split_text(text, TELEGRAM_MAX_MESSAGE_LENGTH)
        # Stored before anything is sent: a database error means a retry, not
        # a message whose buttons are missing.
        markup = self.reply_markup(buttons) if buttons else None
        for index, part in enumerate(parts):
            body: dict[str, Any] = {"chat_id": chat_id, "text": part}
            if markup and index == len(parts) - 1:
                body["reply_markup"] = markup
            response = self._http.post(self._url, json=body)
            try:
                body = response.json()
            except ValueError:
                body = {}
            if response.status_code != 200 or not body.get("ok"):
                # 429 carries parameters.retry_after; the outbox backoff covers it.
                description = body.get("description") or f"HTTP {response.status_code}"
                raise TelegramSendError(
                    f"sendMessage failed: {description}", status=response.status_code
                )


class ZaloSender:
    """Zalo OA consultation message, with the shared token refresh; buttons
    as the Zalo bridge sends Rasa buttons (`oa.query.show`: a tap comes back
    as the citizen's message carrying the payload)."""

    def __init__(self, client: ZaloClient) -> None:
        self.client = client

    def send(
        self, recipient: str, text: str, buttons: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        if buttons:
            self.client.send_text(recipient, text, buttons)
        else:
            self.client.send_text(recipient, text)


def senders_from_env(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Senders for every channel configured in the environment, keyed by the
    channel name the dossier records ("telegram", "zalo")."""
    settings = settings_for(env)
    senders: dict[str, object] = {}
    if settings.telegram.configured:
        senders["telegram"] = TelegramSender(
            settings.telegram.bot_token.get_secret_value(), settings.telegram.api_base_url
        )
    if settings.zalo.configured:
        senders["zalo"] = ZaloSender(ZaloClient(ZaloConfig.from_env(env=env)))
    if not senders:
        logger.warning("no notification channel configured (TELEGRAM_BOT_TOKEN, ZALO_*)")
    return senders
