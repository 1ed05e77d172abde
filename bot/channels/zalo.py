"""Zalo Official Account (OA Open API v3) as a Rasa custom input channel.

credentials.yml::

    bot.channels.zalo.ZaloInput:
      # every key is optional: a missing one is read from the environment
      # (ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET_KEY, ZALO_ACCESS_TOKEN,
      # ZALO_REFRESH_TOKEN, ZALO_API_BASE_URL, ZALO_OAUTH_BASE_URL)

Zalo posts events to `/webhooks/zalo/webhook`. Each request is authenticated
with `X-ZEvent-Signature: mac=<sha256 hex of app_id + raw body + timestamp +
OA secret key>` (app_id and timestamp are fields of the JSON body). Zalo
re-delivers an event it has no 200 for within ~2 s, so the handler verifies,
records the message id (database, shared by all Rasa replicas) and answers at
once; the conversation turn runs in the background.

Replies go through `POST /v3.0/oa/message/cs` with the OA access token. An
expired token (error -216) is refreshed with the single-use refresh token; the
new pair is stored in the database before it is used, then the send is retried
once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.store import ChannelStore
from bot.channels.text import mask_id
from bot.channels.zalo_api import (
    SENDER_PREFIX,
    ZaloApiError,
    ZaloClient,
    ZaloConfig,
    event_signature,
    strip_sender_prefix,
    verify_signature,
)

__all__ = [
    "ZaloApiError",
    "ZaloClient",
    "ZaloConfig",
    "ZaloInput",
    "ZaloOutput",
    "event_signature",
    "verify_signature",
]

logger = logging.getLogger(__name__)

CHANNEL_NAME = "zalo"

NON_TEXT_REPLY = (
    "Xin lỗi, hiện tại trợ lý chỉ đọc được tin nhắn dạng chữ. "
    "Anh/chị vui lòng nhập câu hỏi bằng chữ giúp em."
)


class ZaloOutput(OutputChannel):
    """Sends Rasa's responses to a Zalo user."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, client: ZaloClient) -> None:
        self.client = client

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await asyncio.to_thread(self.client.send_text, recipient_id, text)

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        await asyncio.to_thread(self.client.send_text, recipient_id, text, buttons)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        # An image template needs an uploaded attachment id; a link is enough here.
        await asyncio.to_thread(self.client.send_text, recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await asyncio.to_thread(self.client.send_text, recipient_id, attachment)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # Custom payloads are Zalo messages already (the domain's `custom:` key).
        await asyncio.to_thread(
            self.client.send_message, json_message, strip_sender_prefix(recipient_id)
        )


OnNewMessage = Callable[[Any], Awaitable[Any]]


class ZaloInput(InputChannel):
    """Receives Zalo OA webhook events at `/webhooks/zalo/webhook`."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> ZaloInput:
        return cls(ZaloConfig.from_env(credentials))

    def __init__(
        self,
        config: ZaloConfig | None = None,
        store: ChannelStore | None = None,
        client: ZaloClient | None = None,
    ) -> None:
        self.config = config or ZaloConfig.from_env()
        self.store = store or ChannelStore()
        self.client = client or ZaloClient(self.config, self.store)
        self._tasks: set[asyncio.Task] = set()
        if not self.config.oa_secret_key:
            logger.warning("zalo: ZALO_OA_SECRET_KEY is not set, every webhook will get 403")

    def get_output_channel(self) -> ZaloOutput:
        return ZaloOutput(self.client)

    async def wait_idle(self) -> None:
        """Wait for the background turns in flight (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        zalo_webhook = Blueprint("zalo_webhook", __name__)

        @zalo_webhook.route("/", methods=["GET"])
        async def health(request: Request) -> Any:
            return response.json({"status": "ok"})

        @zalo_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            raw = request.body or b""
            signature = request.headers.get("X-ZEvent-Signature")
            if not signature:
                return response.json({"error": "missing signature"}, status=403)
            try:
                event = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "malformed JSON"}, status=400)
            if not isinstance(event, dict):
                return response.json({"error": "malformed JSON"}, status=400)
            if not verify_signature(signature, raw, event, self.config.oa_secret_key):
                logger.warning("zalo: rejected a webhook with a bad signature")
                return response.json({"error": "bad signature"}, status=403)
            if self.config.app_id and str(event.get("app_id")) != self.config.app_id:
                return response.json({"error": "unknown app"}, status=403)

            event_id = _event_id(event)
            if not await asyncio.to_thread(self.store.first_delivery, CHANNEL_NAME, event_id):
                logger.info("zalo: dropped a re-delivered event")
                return response.json({"status": "duplicate"})
            task = asyncio.get_running_loop().create_task(self._process(event, on_new_message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return response.json({"status": "accepted"})

        return zalo_webhook

    async def _process(self, event: Mapping[str, Any], on_new_message: OnNewMessage) -> None:
        """One conversation turn for an accepted event; never raises."""
        name = str(event.get("event_name") or "")
        sender = event.get("sender") or event.get("follower") or {}
        user_id = str(sender.get("id") or "") if isinstance(sender, Mapping) else ""
        if not user_id:
            return
        sender_id = SENDER_PREFIX + user_id
        output = self.get_output_channel()
        try:
            if name == "user_send_text":
                text = str((event.get("message") or {}).get("text") or "").strip()
                if not text:
                    return
                text_message = text
            elif name == "follow":
                text_message = "/greet"
            elif name.startswith("user_send_"):
                # Images, stickers, files, locations...: answer politely.
                await output.send_text_message(sender_id, NON_TEXT_REPLY)
                return
            else:
                return  # delivery receipts, OA-side events, unfollow...
            logger.info("zalo: %s from %s", name, mask_id(sender_id))
            await on_new_message(
                UserMessage(
                    text_message,
                    output,
                    sender_id,
                    input_channel=CHANNEL_NAME,
                    metadata={"zalo_event": name},
                )
            )
        except Exception:
            logger.exception("zalo: failed to handle %s from %s", name, mask_id(sender_id))


def _event_id(event: Mapping[str, Any]) -> str:
    """The de-duplication key: the message id when there is one."""
    message = event.get("message")
    if isinstance(message, Mapping) and message.get("msg_id"):
        return str(message["msg_id"])
    sender = event.get("sender") or event.get("follower") or {}
    sender_id = sender.get("id", "") if isinstance(sender, Mapping) else ""
    return f"{event.get('event_name')}:{sender_id}:{event.get('timestamp')}"
