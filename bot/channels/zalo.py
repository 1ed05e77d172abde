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
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.attachments import (
    AttachmentRejected,
    AttachmentStore,
    attach_to_waiting_supplement,
    check_declared,
    human_size,
    supplement_refusal,
    waiting_supplement_id,
)
from bot.channels.inbound import (
    LIMITS,
    NO_REPLY_FALLBACK,
    UNKNOWN_STATE,
    UNSUPPORTED_REPLIES,
    Attachment,
    ConversationState,
    InboundMessage,
    clean_inbound_text,
    plan_turn,
    text_cut_note,
)
from bot.channels.store import ChannelStore
from bot.channels.zalo_api import (
    SENDER_PREFIX,
    ZaloApiError,
    ZaloClient,
    ZaloConfig,
    event_signature,
    strip_sender_prefix,
    verify_signature,
)
from core.vietnamese import mask_sender
from core.wording import say

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

NON_TEXT_REPLY = UNSUPPORTED_REPLIES["unsupported"]
# Zalo event name -> the kind of the channels' common message model.
EVENT_KINDS: dict[str, str] = {
    "user_send_text": "text",
    "user_send_link": "text",
    "user_send_image": "attachment",
    "user_send_file": "attachment",
    "user_send_sticker": "sticker",
    "user_send_gif": "sticker",
    "user_send_audio": "voice",
    "user_send_video": "video",
    "user_send_location": "location",
    "user_send_business_card": "contact",
}
_EXTENSION_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                    ".pdf": "application/pdf"}


def inbound_from_event(event: Mapping[str, Any], sender_id: str) -> InboundMessage:
    """A Zalo OA webhook event as the channels' common message model. The
    caption of an image or file (`message.text`) is read as text."""
    name = str(event.get("event_name") or "")
    message = event.get("message") if isinstance(event.get("message"), Mapping) else {}
    kind = EVENT_KINDS.get(name, "unsupported" if name.startswith("user_send_") else "empty")
    text, cut = clean_inbound_text(message.get("text") if isinstance(message, Mapping) else "")
    attachment = None
    location = None
    if kind == "attachment":
        items = message.get("attachments") if isinstance(message, Mapping) else None
        first = items[0] if isinstance(items, list) and items else {}
        payload = first.get("payload") if isinstance(first, Mapping) else {}
        payload = payload if isinstance(payload, Mapping) else {}
        url = str(payload.get("url") or "")
        file_name = str(payload.get("name") or "") or (
            "anh-zalo.jpg" if name == "user_send_image" else "tep-zalo"
        )
        extension = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
        content_type = (
            "image/jpeg" if name == "user_send_image" else _EXTENSION_TYPES.get(extension)
        )
        size = payload.get("size")
        try:
            size_bytes = int(size) if size is not None else None
        except (TypeError, ValueError):
            size_bytes = None
        attachment = Attachment(
            "image" if name == "user_send_image" else "file",
            url=url,
            file_name=file_name[:255],
            content_type=content_type,
            size=size_bytes,
        )
    if kind == "location" and isinstance(message, Mapping):
        coordinates = message.get("location") or {}
        with contextlib.suppress(TypeError, ValueError, AttributeError, KeyError):
            location = (float(coordinates["latitude"]), float(coordinates["longitude"]))
    return InboundMessage(
        CHANNEL_NAME,
        sender_id,
        kind,  # type: ignore[arg-type]  # str from the event table, one of the kinds
        text,
        attachment=attachment,
        location=location,
        raw_kind=name,
        metadata={"cut": True} if cut else {},
    )


def event_is_fresh(event: Mapping[str, Any], now_ms: float | None = None) -> bool:
    """Whether the event's `timestamp` (ms since the epoch, signed with the
    body) lies within the accepted window: not older than
    `LIMITS.zalo_max_event_age_s` (which covers Zalo's own re-deliveries),
    not further ahead than `LIMITS.zalo_max_clock_skew_s`."""
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    try:
        stamp = float(str(event.get("timestamp")))
    except (TypeError, ValueError):
        return False
    if stamp != stamp:  # NaN
        return False
    age_s = (now_ms - stamp) / 1000
    return -LIMITS.zalo_max_clock_skew_s <= age_s <= LIMITS.zalo_max_event_age_s


class ZaloOutput(OutputChannel):
    """Sends Rasa's responses to a Zalo user."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, client: ZaloClient) -> None:
        self.client = client
        self.attempted = 0  # replies this output tried to send (one per event)

    async def _send(self, recipient_id: str, call: Callable[[], Any]) -> None:
        """Run one OA API call; Zalo's business errors are warnings without a
        traceback (the reply cannot be sent, nothing is wrong with us)."""
        self.attempted += 1
        try:
            await asyncio.to_thread(call)
        except ZaloApiError as exc:
            logger.warning(
                "zalo: reply to %s not sent: error %d (%s)",
                mask_sender(recipient_id),
                exc.code,
                "permanent" if exc.permanent else "temporary",
            )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, lambda: self.client.send_text(recipient_id, text))

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        await self._send(
            recipient_id, lambda: self.client.send_text(recipient_id, text, buttons)
        )

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        # An image template needs an uploaded attachment id; a link is enough here.
        await self._send(recipient_id, lambda: self.client.send_text(recipient_id, image))

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._send(recipient_id, lambda: self.client.send_text(recipient_id, attachment))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # Custom payloads are Zalo messages already (the domain's `custom:` key).
        if "private_chat" in json_message:  # a Telegram group invitation: not for Zalo
            return
        await self._send(
            recipient_id,
            lambda: self.client.send_message(json_message, strip_sender_prefix(recipient_id)),
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

        @zalo_webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> Any:
            from bot.web.channel import BodyTooLarge, read_body

            signature = request.headers.get("X-ZEvent-Signature")
            try:
                raw = await read_body(request)
            except BodyTooLarge as exc:
                logger.warning("zalo: refused a webhook body over the size limit")
                return response.json({"error": str(exc)}, status=413)
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
            if not event_is_fresh(event):
                # A replayed (or hours-late) signed event: acknowledged, never handled.
                logger.warning("zalo: dropped an event outside the timestamp window")
                return response.json({"status": "expired"})
            agent = getattr(request.app.ctx, "agent", None)

            event_id = _event_id(event)
            if not await asyncio.to_thread(self.store.first_delivery, CHANNEL_NAME, event_id):
                logger.info("zalo: dropped a re-delivered event")
                return response.json({"status": "duplicate"})
            task = asyncio.get_running_loop().create_task(
                self._process(event, on_new_message, agent)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return response.json({"status": "accepted"})

        return zalo_webhook

    async def _process(
        self, event: Mapping[str, Any], on_new_message: OnNewMessage, agent: Any = None
    ) -> None:
        """One conversation turn for an accepted event; never raises."""
        name = str(event.get("event_name") or "")
        sender = event.get("sender") or event.get("follower") or {}
        user_id = str(sender.get("id") or "") if isinstance(sender, Mapping) else ""
        if not user_id:
            return
        sender_id = SENDER_PREFIX + user_id
        output = self.get_output_channel()
        try:
            if name == "follow":
                await self._to_rasa(on_new_message, output, sender_id, "/greet", name)
                return
            inbound = inbound_from_event(event, sender_id)
            if inbound.kind == "empty":
                return  # delivery receipts, OA-side events, unfollow...
            state = ConversationState()
            if inbound.kind in ("attachment", "contact"):
                state = await self.conversation_state(agent, sender_id)
            plan = plan_turn(inbound, state)
            logger.info("zalo: %s from %s", name, mask_sender(sender_id))
            for reply in plan.replies:
                await output.send_text_message(sender_id, reply)
            if inbound.metadata.get("cut"):
                await output.send_text_message(
                    sender_id, text_cut_note(LIMITS.max_text_chars)
                )
            if plan.keep_attachment and inbound.attachment is not None:
                await self.keep_attachment(output, inbound, state)
            if plan.rasa_text:
                await self._to_rasa(on_new_message, output, sender_id, plan.rasa_text, name)
        except Exception:
            logger.exception("zalo: failed to handle %s from %s", name, mask_sender(sender_id))

    async def _to_rasa(
        self, on_new_message: OnNewMessage, output: ZaloOutput, sender_id: str, text: str,
        name: str,
    ) -> None:
        before = output.attempted
        await on_new_message(
            UserMessage(
                text,
                output,
                sender_id,
                input_channel=CHANNEL_NAME,
                metadata={"zalo_event": name},
            )
        )
        if output.attempted == before:  # the citizen always hears back
            await output.send_text_message(sender_id, NO_REPLY_FALLBACK)

    async def conversation_state(self, agent: Any, sender_id: str) -> ConversationState:
        """The form and field the conversation waits for, from the agent's
        tracker store (the one every Rasa process shares), and whether a
        supplement waits (database)."""
        tracker_store = getattr(agent, "tracker_store", None)
        if tracker_store is None:
            return UNKNOWN_STATE
        try:
            tracker = await tracker_store.retrieve(sender_id)
        except Exception:
            logger.warning("zalo: could not read the conversation state")
            return UNKNOWN_STATE
        loop = (tracker.active_loop_name or "") if tracker is not None else ""
        slot = str(tracker.get_slot("requested_slot") or "") if tracker is not None else ""
        supplement = None
        with contextlib.suppress(Exception):
            supplement = await asyncio.to_thread(
                waiting_supplement_id, self.store.session_factory, sender_id, CHANNEL_NAME
            )
        return ConversationState(loop, slot, supplement_waiting=supplement is not None)

    async def keep_attachment(
        self, output: ZaloOutput, inbound: InboundMessage, state: ConversationState
    ) -> None:
        """Download the file Zalo links to (within the size limit), store it
        for the form or attach it to the waiting supplement; tell the citizen."""
        attachment = inbound.attachment
        assert attachment is not None
        sender_id = inbound.sender_id
        store = AttachmentStore(self.store.session_factory, max_bytes=LIMITS.max_attachment_bytes)
        try:
            content_type = check_declared(
                attachment.content_type, attachment.size, LIMITS.max_attachment_bytes
            )
            if not attachment.url:
                raise AttachmentRejected(say("channel.file.no_url"))
            data = await asyncio.to_thread(download_limited, attachment.url)
            saved = await asyncio.to_thread(
                store.save, sender_id, attachment.file_name, content_type, data
            )
        except AttachmentRejected as exc:
            await output.send_text_message(sender_id, str(exc))
            return
        text = say(
            "channel.file.received_for_form",
            file_name=saved.file_name,
            size=human_size(saved.size_bytes),
        )
        if state.supplement_waiting:
            try:
                code = await asyncio.to_thread(
                    attach_to_waiting_supplement,
                    self.store.session_factory,
                    sender_id,
                    CHANNEL_NAME,
                    saved.id,
                )
                text = say(
                    "channel.file.received_for_supplement_short",
                    file_name=saved.file_name,
                    code=code,
                )
            except Exception as exc:  # business refusal: told, no traceback
                logger.warning("zalo: supplement file refused: %s", type(exc).__name__)
                text = supplement_refusal(exc)
        await output.send_text_message(sender_id, text)


def download_limited(url: str, limit: int | None = None, timeout: float = 20.0) -> bytes:
    """GET `url` reading at most `limit` bytes (`LIMITS.max_attachment_bytes`);
    AttachmentRejected (Vietnamese message) when larger or unreachable."""
    limit = LIMITS.max_attachment_bytes if limit is None else limit
    too_big = AttachmentRejected(say("channel.file.too_big_short", limit=human_size(limit)))
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as reply:
            if reply.status_code != 200:
                raise AttachmentRejected(say("channel.file.download_failed"))
            declared = reply.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise too_big
            chunks: list[bytes] = []
            size = 0
            for chunk in reply.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise too_big
                chunks.append(chunk)
    except httpx.HTTPError:
        raise AttachmentRejected(say("channel.file.download_failed")) from None
    return b"".join(chunks)


def _event_id(event: Mapping[str, Any]) -> str:
    """The de-duplication key: the message id when there is one."""
    message = event.get("message")
    if isinstance(message, Mapping) and message.get("msg_id"):
        return str(message["msg_id"])
    sender = event.get("sender") or event.get("follower") or {}
    sender_id = sender.get("id", "") if isinstance(sender, Mapping) else ""
    return f"{event.get('event_name')}:{sender_id}:{event.get('timestamp')}"
