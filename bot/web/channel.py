"""Hardened REST channel and the web chat page, as Rasa input channels.

`RestChannel` keeps Rasa's REST contract (`POST /webhooks/rest/webhook` with
`{"sender", "message"}`, answer = list of bot messages) but answers malformed
bodies with a clear 400 instead of a 500, and caps message size, so bad input
never reaches the dialogue. `WebChatChannel` is the same endpoint under
`/webhooks/webchat/` plus the chat page itself, served from the package (no
CDN, works offline, same origin so no CORS set-up is needed). Both also serve
`GET .../notifications?sender=`, the pull side of the notification outbox for
clients without push. `SocketIOChannel` is Rasa's socket.io channel plus push
of the outbox (officers' hand-off replies, dossier notifications) to the
socket.io clients connected to this process.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.inbound import EMPTY_REPLY, LIMITS, NO_REPLY_FALLBACK, clean_inbound_text
from bot.channels.rasa_client import FORWARDER_SECRET_HEADER
from core.db import session_factory
from core.settings import get_settings
from core.wording import say
from dossiers.outbox import collect_messages_for_recipient, collect_messages_for_recipients

logger = logging.getLogger(__name__)

SERVICE_ERROR_VI = say("support.system_error")
STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_MESSAGE_CHARS = LIMITS.max_text_chars  # declared once in bot/channels/inbound.py
MAX_SENDER_CHARS = LIMITS.max_sender_chars
BODY_TOO_LARGE = f"body is larger than {LIMITS.max_body_bytes} bytes"


class BodyTooLarge(ValueError):
    """The request body is over `LIMITS.max_body_bytes`."""


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The body of a streamed request, read at most `limit` bytes
    (`LIMITS.max_body_bytes`) into memory; BodyTooLarge beyond (a declared
    Content-Length over the limit is refused before reading anything)."""
    limit = LIMITS.max_body_bytes if limit is None else limit
    declared = request.headers.get("content-length")
    if declared and declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge(BODY_TOO_LARGE)
    stream = getattr(request, "stream", None)
    if stream is None:  # not a streamed route: Sanic already read the body
        body = request.body or b""
        if len(body) > limit:
            raise BodyTooLarge(BODY_TOO_LARGE)
        return body
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.read()
        if chunk is None:
            break
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(BODY_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


class BadRequest(ValueError):
    """The request body is not a usable chat message."""


# Channels whose own process forwards messages through the REST channel (the
# Telegram bot). Their name is recorded as the conversation's input channel, so
# dossiers are notified there.
FORWARDED_CHANNELS = frozenset({"telegram"})


def forwarded_channel(body_channel: Any, secret_header: str | None) -> str | None:
    """The channel a trusted forwarder speaks for, or None.

    A REST client could otherwise claim to be "telegram" and have a dossier's
    notifications sent to someone's Telegram chat. When `TTHC_FORWARDER_SECRET`
    is set the forwarder must present it; unset (the embedded single-machine
    default, REST bound to localhost) the claim is accepted.
    """
    if not isinstance(body_channel, str) or body_channel not in FORWARDED_CHANNELS:
        return None
    expected = get_settings().rasa.forwarder_secret.get_secret_value()
    if expected and not hmac.compare_digest(expected.encode(), (secret_header or "").encode()):
        return None
    return body_channel


def parse_body(raw: bytes) -> tuple[str, str, dict[str, Any] | None]:
    """(sender, message, metadata) from a REST body, or BadRequest with why."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("body must be UTF-8 JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest('body must be a JSON object {"sender": ..., "message": ...}')
    sender = body.get("sender")
    message = body.get("message")
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest('"sender" must be a non-empty string')
    if len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(f'"sender" is longer than {MAX_SENDER_CHARS} characters')
    if not isinstance(message, str):
        raise BadRequest('"message" must be a string')
    if "\x00" in message:
        raise BadRequest('"message" must be text, not binary data')
    if body.get("input_channel") is not None and not isinstance(body["input_channel"], str):
        raise BadRequest('"input_channel" must be a string')
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest('"metadata" must be an object')
    # A very long message is cut rather than refused: the citizen still gets an
    # answer, and the NLU never sees more than it can use. Lone surrogates
    # (valid JSON escapes, not text) and control characters are dropped.
    text, _ = clean_inbound_text(message, MAX_MESSAGE_CHARS)
    return sender.strip(), text, metadata


async def conversation_state(request: Request, sender: str) -> dict[str, Any]:
    """{"active_loop", "requested_slot"} of `sender`'s conversation, read from
    the tracker store of the Rasa agent serving `request` ("" when none)."""
    agent = getattr(request.app.ctx, "agent", None)
    tracker = None
    if agent is not None and agent.tracker_store is not None:
        tracker = await agent.tracker_store.retrieve(sender)
    if tracker is None:
        return {"active_loop": "", "requested_slot": ""}
    return {
        "active_loop": tracker.active_loop_name or "",
        "requested_slot": str(tracker.get_slot("requested_slot") or ""),
    }


class RestChannel(RestInput):
    """Rasa's REST channel with input validation (registered as "rest")."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                raw = await read_body(request)
                sender, text, metadata = parse_body(raw)
            except BodyTooLarge as exc:
                return response.json({"error": str(exc)}, status=413)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            channel = (
                forwarded_channel(
                    json.loads(raw).get("input_channel"),
                    request.headers.get(FORWARDER_SECRET_HEADER),
                )
                or self.name()
            )
            if not text:  # nothing left to understand: say so, do not bother the NLU
                return response.json([{"recipient_id": sender, "text": EMPTY_REPLY}])
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender, input_channel=channel, metadata=metadata)
                )
            except Exception:  # never log the text: it may hold personal data
                logger.exception("message handling failed (sender %s)", sender[:16])
                return response.json({"error": SERVICE_ERROR_VI}, status=503)
            if not collector.messages:  # the citizen always hears back
                return response.json([{"recipient_id": sender, "text": NO_REPLY_FALLBACK}])
            return response.json(collector.messages)

        @webhook.route("/state", methods=["GET"])
        async def state(request: Request) -> HTTPResponse:
            """The form running in a conversation and the field it asks, for
            channel processes outside Rasa (Telegram) deciding whether a file
            or a contact is awaited. Only for trusted forwarders when
            TTHC_FORWARDER_SECRET is set; no personal data in the answer."""
            expected = get_settings().rasa.forwarder_secret.get_secret_value()
            given = request.headers.get(FORWARDER_SECRET_HEADER) or ""
            if expected and not hmac.compare_digest(expected.encode(), given.encode()):
                return response.json({"error": "forbidden"}, status=403)
            sender = (request.args.get("sender") or "").strip()
            if not sender or len(sender) > LIMITS.max_sender_chars:
                return response.json({"error": '"sender" query parameter required'}, status=400)
            return response.json(await conversation_state(request, sender))

        @webhook.route("/notifications", methods=["GET"])
        async def notifications(request: Request) -> HTTPResponse:
            """Dossier status notifications for a sender of this channel, each
            handed out once (the web chat polls; there is no push here).

            `messages`: the texts (as before); `responses`: the same
            notifications as Rasa's webhook answers, `{"recipient_id",
            "text", "buttons"?}` — buttons (👍/👎 on a finished dossier) are
            POSTed back to the webhook like any button payload."""
            sender = (request.args.get("sender") or "").strip()
            if not sender or len(sender) > MAX_SENDER_CHARS:
                return response.json({"error": '"sender" query parameter required'}, status=400)
            messages = await asyncio.get_running_loop().run_in_executor(
                None, collect_messages_for_recipient, session_factory(), self.name(), sender
            )
            return response.json({
                "messages": [m["text"] for m in messages],
                "responses": [{"recipient_id": sender, **m} for m in messages],
            })

        from bot.supplement_uploads import add_upload_route

        add_upload_route(webhook, self.name())  # files for forms and supplements (issue 13)
        self.add_routes(webhook)
        return webhook

    def add_routes(self, webhook: Blueprint) -> None:
        """Hook for subclasses that serve more than the webhook."""


class WebChatChannel(RestChannel):
    """The browser chat page and its webhook, under /webhooks/webchat/."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def add_routes(self, webhook: Blueprint) -> None:
        @webhook.route("/chat", methods=["GET"])
        async def page(_: Request) -> HTTPResponse:
            return await response.file(STATIC_DIR / "index.html")


SOCKETIO_PUSH_INTERVAL = 1.0  # seconds between two looks at the outbox per Rasa process


def connected_rooms(sio: Any, namespace: str | None = None) -> set[str]:
    """Names of the socket.io rooms that have a client connected to THIS
    process: with `session_persistence` each session id is a room (Rasa's
    `session_request` puts the socket in it); without it each socket id is.
    Connection state is per process by nature (a socket lives in one
    process); what is delivered is decided in the database."""
    rooms = getattr(getattr(sio, "manager", None), "rooms", {}) or {}
    return {str(room) for room, members in rooms.get(namespace or "/", {}).items()
            if room is not None and members}


def socketio_message(message: dict[str, Any]) -> dict[str, Any]:
    """An outbox message in the shape Rasa's `SocketIOOutput` emits: the text,
    and buttons as `quick_replies` (`content_type` "text"), which the socket.io
    web chat widgets render as one-tap replies."""
    out: dict[str, Any] = {"text": message["text"]}
    if message.get("buttons"):
        out["quick_replies"] = [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]}
            for b in message["buttons"]
        ]
    return out


class SocketIOChannel(SocketIOInput):
    """Rasa's socket.io channel (registered as "socketio", same events and
    options) that also PUSHES the notification outbox to its clients.

    Dossiers and hand-offs started over socket.io record "socketio" as their
    channel and the citizen's session id as recipient, so officers' replies
    are queued as `Notification(channel="socketio", recipient=<session id>)`.
    No other process can reach a socket.io client, so each Rasa process
    (worker) polls the outbox every `SOCKETIO_PUSH_INTERVAL` seconds for the
    rooms connected to it (`collect_for_recipients`: one query, each row
    handed out once even when several workers poll) and emits each as a
    `bot_uttered` message `{"text": ...}`, with buttons as Rasa's socket.io
    output sends them (`quick_replies`). A message whose client is not
    connected anywhere stays pending until it reconnects with its session id.
    """

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        channel = self
        sio = self.sio
        assert sio is not None  # set by SocketIOInput.blueprint

        # Rasa 3.6.21 calls `sio.enter_room(...)` without `await`; in
        # python-socketio 5.x (5.18.1 pinned) it is a coroutine, so the socket
        # never joined its session room and nothing sent to the session id
        # (bot replies with session_persistence, our pushes) reached it.
        # Same handler, awaited.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            data = data if isinstance(data, dict) else {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if channel.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=channel.namespace)
            await sio.emit("session_confirm", data["session_id"], room=sid,
                           namespace=channel.namespace)
        tasks: list[asyncio.Task] = []

        @webhook.listener("after_server_start")
        async def start_push(_app: Any, _loop: Any) -> None:
            tasks.append(asyncio.get_running_loop().create_task(channel.push_forever()))

        @webhook.listener("before_server_stop")
        async def stop_push(_app: Any, _loop: Any) -> None:
            for task in tasks:
                task.cancel()

        return webhook

    async def push_once(self) -> int:
        """Deliver the pending outbox messages of the rooms connected here; returns how many."""
        rooms = connected_rooms(self.sio, self.namespace)
        if not rooms or self.sio is None:
            return 0
        batch = await asyncio.get_running_loop().run_in_executor(
            None, collect_messages_for_recipients, session_factory(), self.name(), rooms
        )
        for recipient, message in batch:
            await self.sio.emit(
                self.bot_message_evt, socketio_message(message), room=recipient,
                namespace=self.namespace,
            )
        return len(batch)

    async def push_forever(self) -> None:
        """`push_once` every `SOCKETIO_PUSH_INTERVAL` s until cancelled; a
        database outage is logged and retried (the chat itself goes on)."""
        while True:
            try:
                await self.push_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("socket.io outbox push failed; retrying")
            await asyncio.sleep(SOCKETIO_PUSH_INTERVAL)
