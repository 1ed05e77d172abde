"""Supplements in the chat, on every channel: "đã bổ sung xong" and
"bổ sung: <answer>" while a supplement request waits.

Files reach the supplement through the channels (they call
`dossiers.supplements.waiting_supplement` / `attach_file`). The text side is
here, in front of Rasa's message handling like `bot.handoff_gate`, and by
text rather than by intent, so it works with the shipped model: only when
the sender has an open supplement request on this channel (one indexed
SELECT per message) and the message is a completion phrase or starts with
"bổ sung:" is it handled here; everything else goes to the assistant.

Completion goes through `supplements.complete_supplement` (dossier back to
"processing", the citizen notified once, the supplement forwarded to the
one-stop-shop when the integration is on). If the database cannot be read
the assistant answers as usual (logged).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from bot.rasa_server import HandleMessageLayer
from core.vietnamese import fold
from core.wording import say

log = logging.getLogger(__name__)

_LAYER = HandleMessageLayer()

# Folded (no diacritics, lower case) whole messages meaning "I have sent everything".
_DONE_RE = re.compile(
    r"^(?:(?:toi|em|minh)\s+)?(?:da\s+)?(?:bo\s*sung|gui|nop)(?:\s+\w+){0,2}\s+"
    r"(?:xong|du|het|roi)(?:\s+(?:giay to|ho so|tai lieu))?(?:\s+(?:roi|a|nhe|nha|ha))*\s*[.!]*$"
    r"|^(?:xong|xong roi|hoan tat bo sung|da xong)\s*[.!]*$"
)
_ANSWER_RE = re.compile(r"^\s*b[ổo]\s*sung\s*:\s*(?P<answer>.+)$", re.IGNORECASE | re.DOTALL)


def is_done_message(text: str) -> bool:
    """True for "đã bổ sung xong", "gửi đủ rồi", "xong" and the like."""
    return bool(_DONE_RE.match(fold(text)[:100]))


def route_message(sender_id: str, channel: str, text: str) -> str | None:
    """The reply when this message belongs to a waiting supplement, else None
    (the assistant handles it). Opens its own transaction."""
    from core.db import session_factory, session_scope
    from dossiers import supplements
    from dossiers.service import DossierError

    done = is_done_message(text)
    answer = _ANSWER_RE.match(text or "")
    if not done and answer is None:
        return None
    with session_scope(session_factory()) as session:
        waiting = supplements.waiting_supplement(session, sender_id, channel)
        if waiting is None:
            return None
        try:
            if answer is not None:
                view = supplements.add_answer(session, waiting.id, answer.group("answer"))
                return say("supplement.answer_saved", code=view.dossier_code)
            view = supplements.complete_supplement(session, waiting.id, actor="citizen")
        except DossierError as exc:
            return exc.message_vi
    return say("supplement.completed", count=len(view.parts), code=view.dossier_code)


async def _route(sender_id: str, channel: str, text: str) -> str | None:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, route_message, sender_id, channel, text)
    except Exception:
        log.exception("supplement gate: database unavailable, the assistant answers")
        return None


async def handle_message(self: Any, message: Any) -> Any:
    """`MessageProcessor.handle_message` with the supplement gate in front."""
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.events import BotUttered

    sender = message.sender_id
    reply = await _route(sender, message.input_channel or "unknown", message.text or "")
    if reply is None:
        return await _LAYER.original(self, message)
    tracker = await self.log_message(message, should_save_tracker=False)
    await message.output_channel.send_text_message(sender, reply)
    tracker.update(BotUttered(reply, metadata={"supplement": True}))
    await self.save_tracker(tracker)
    if isinstance(message.output_channel, CollectingOutputChannel):
        return message.output_channel.messages
    return None


def install() -> bool:
    """Put the gate in front of Rasa's message handling (idempotent; stacks
    on top of other gates installed before it)."""
    return _LAYER.install(handle_message)
