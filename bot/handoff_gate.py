"""The assistant stays silent while an officer holds a conversation.

Where the pause lives, and why: in the tthc database, as the hand-off
request's status ("taken"), not as a `ConversationPaused` event appended to
the tracker through Rasa's HTTP API.

- One source of truth. The console claims a request with a compare-and-set
  UPDATE; the pause exists exactly when the claim committed. A second copy in
  the tracker would have to be written over HTTP after the claim and could
  fail or lag, leaving a claimed conversation unpaused (or the reverse).
- Every Rasa worker sees it: each worker reads the row for every incoming
  message (one indexed SELECT, inside Rasa's per-conversation lock), so no
  worker holds a stale copy; nothing is cached.
- No Rasa HTTP API needed for the console (no `--enable-api`, no token to
  share, still works while Rasa restarts).
- Rasa's own pause would also swallow what we need to handle: a paused
  tracker runs no action at all, so the citizen's messages would not reach
  the console and "quay lại trợ lý" could not end the hand-off.

How: `install()` wraps `MessageProcessor.handle_message` (every channel —
REST, web chat, socket.io, Zalo, Telegram through the REST forwarder — goes
through it, under the conversation lock). A held turn answers the channel with
a text-less marker (`_mark_held`) so channels do not add their "could not
answer" fallback; the FIRST message of each hold also gets one short text
(`HELD_NOTICE_VI`: an officer is handling the conversation, the message was
passed on), so the citizen knows the silence is not a failure, without an
echo on every message. Without an active hand-off, or
with one that no officer has taken yet, the message is handled as usual.
While it waits in the queue, the message is stored for the console and the
assistant answers it. While an officer holds it, the message is logged in the
tracker (parsed, so transcripts stay complete), stored for the console
(`dossiers.handoff.record_citizen_message`), and nothing is predicted, so no
response, rule or form can answer. "quay lại trợ lý" (by text, so it works
with a model that has not learnt the `end_handoff` intent yet) ends the
hand-off, waiting or held, and the assistant says it is back.

If the database cannot be read the message is handled by the assistant (a
silent bot would be worse than an officer seeing an extra answer); the error
is logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from bot.rasa_server import HandleMessageLayer
from core.wording import say

log = logging.getLogger(__name__)

_LAYER = HandleMessageLayer()

# Said once per hold (the first citizen message after an officer claimed the
# conversation); later messages of the hold get no text (see `_mark_held`).
HELD_NOTICE_VI = say("handoff_gate.held_notice")


@dataclass(frozen=True)
class Route:
    """What to do with one citizen message: "assistant" (handle normally),
    "held" (store for the officer; `reply` is `HELD_NOTICE_VI` on the first
    message of the hold, "" after) or "ended" (the citizen left the
    hand-off; `reply` says so)."""

    kind: str
    handoff_id: int = 0
    reply: str = ""


def route_message(sender_id: str, channel: str, text: str, intent: str | None = None) -> Route:
    """Decide and record (synchronous: runs in a worker thread). Opens its
    own transaction on the configured database."""
    from core.db import session_factory, session_scope
    from dossiers import handoff

    with session_scope(session_factory()) as session:
        active = handoff.active_for(session, sender_id, channel)
        if active is None:
            return Route("assistant")
        if handoff.is_end_request(text, intent):
            try:
                reply = handoff.end_by_citizen(session, active.id)
            except handoff.HandoffConflict:  # an officer closed it meanwhile
                return Route("assistant")
            return Route("ended", active.id, reply)
        if active.status != "taken":
            # Waiting in the queue: the assistant still answers, and the officer
            # who claims the request sees what the citizen wrote meanwhile
            # (fresh-user trial: the hand-off page said "no message since the
            # request" although the citizen had written).
            handoff.record_citizen_message(session, active.id, text)
            return Route("assistant")
        first = not _held_before(session, active.id, active.claimed_at)
        handoff.record_citizen_message(session, active.id, text)
        return Route("held", active.id, HELD_NOTICE_VI if first else "")


def _held_before(session: Any, handoff_id: int, claimed_at: Any) -> bool:
    """True when the citizen already wrote during this hold (a citizen message
    of the hand-off stored at or after the claim). Stored in the database, so
    every Rasa worker agrees; Rasa's conversation lock orders the turns."""
    from sqlalchemy import select

    from dossiers.handoff_orm import HandoffMessage

    query = select(HandoffMessage.id).where(
        HandoffMessage.handoff_id == handoff_id, HandoffMessage.author == "citizen"
    )
    if claimed_at is not None:
        query = query.where(HandoffMessage.created_at >= claimed_at)
    return session.execute(query.limit(1)).first() is not None


async def _route(sender_id: str, channel: str, text: str, intent: str | None = None) -> Route:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, route_message, sender_id, channel, text, intent)
    except Exception:
        log.exception("hand-off gate: database unavailable, the assistant answers")
        return Route("assistant")


HELD_MARKER_KEY = "handoff"


async def _mark_held(output: Any, sender: str, handoff_id: int, spoke: bool = False) -> None:
    """Say "deliberately silent" to the channel, not to the citizen.

    The channels answer a turn that produced nothing with a "could not answer"
    fallback (bot/channels/inbound.py NO_REPLY_FALLBACK). A held turn is silent
    on purpose, so: collecting outputs (REST, web chat, and Telegram through
    REST) get one message with only a custom payload,
    `{"custom": {"handoff": {"status": "held", "id": N}}}`, which no client
    displays (no text); outputs that count their sends (Zalo's `attempted`)
    count this turn as answered (unless the held notice was `spoke`n, which
    counted already). Other outputs (socket.io) get nothing.

    So a REST client gets, for the first message of a hold,
    `[{"text": HELD_NOTICE_VI}, {"custom": {"handoff": ...}}]` and for later
    ones only `[{"custom": {"handoff": ...}}]`: a list as always (never a
    "could not answer" text), and nothing a chat shows.
    """
    from rasa.core.channels.channel import CollectingOutputChannel

    if isinstance(output, CollectingOutputChannel):
        await output.send_custom_json(
            sender, {HELD_MARKER_KEY: {"status": "held", "id": handoff_id}}
        )
    elif isinstance(getattr(output, "attempted", None), int) and not spoke:
        output.attempted += 1


async def handle_message(self: Any, message: Any) -> Any:
    """`MessageProcessor.handle_message` with the hand-off gate in front."""
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.events import BotUttered

    sender = message.sender_id
    channel = message.input_channel or "unknown"
    text = message.text or ""
    route = await _route(sender, channel, text)
    if route.kind == "assistant":
        return await _LAYER.original(self, message)
    # Held or ended: log the citizen's message in the tracker (transcripts),
    # predict nothing.
    tracker = await self.log_message(message, should_save_tracker=False)
    if route.kind == "ended":
        await message.output_channel.send_text_message(sender, route.reply)
        tracker.update(BotUttered(route.reply, metadata={"handoff_id": route.handoff_id}))
    else:
        if route.reply:  # first message of the hold: say once why the assistant is quiet
            await message.output_channel.send_text_message(sender, route.reply)
            tracker.update(BotUttered(route.reply, metadata={"handoff_id": route.handoff_id}))
        await _mark_held(message.output_channel, sender, route.handoff_id, bool(route.reply))
    await self.save_tracker(tracker)
    log.info("hand-off %d: citizen message %s", route.handoff_id, route.kind)
    if isinstance(message.output_channel, CollectingOutputChannel):
        return message.output_channel.messages
    return None


def install() -> bool:
    """Put the gate in front of Rasa's message handling (idempotent)."""
    return _LAYER.install(handle_message)
