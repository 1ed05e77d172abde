"""One inbound message model for every channel, the limits every channel
enforces, and what to do with each kind of message.

Every channel (REST, web chat, Telegram, Zalo) turns what its platform
delivered into an `InboundMessage` (`kind` + text/caption/attachment/location/
contact) and asks `plan_turn` what to do with it, given the conversation
state (`ConversationState`: the form running and the field it asks, whether a
supplement waits), which every channel process reads from the same place
(Rasa's tracker store, the tthc database). So:

- text and captions are read as text (cut to `LIMITS.max_text_chars`);
- a shared contact fills the phone when the form asks for it;
- an attachment is kept only when a form or a supplement waits for it,
  otherwise the citizen is told what to do (and a caption still gets its
  answer);
- every other kind (sticker, voice, location, video, ...) gets one short
  reply naming what was received and what to send instead.

This module does not import Rasa or any platform library: the Telegram
process uses it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from core.vietnamese import nfc, strip_invisible
from core.wording import say

Kind = Literal[
    "text", "attachment", "location", "contact", "sticker", "voice", "audio", "video",
    "poll", "unsupported", "empty",
]


@dataclass(frozen=True)
class Limits:
    """Input limits, declared once, enforced by every channel before the NLU.

    - `max_text_chars`: characters of text (or caption) handed to Rasa; longer
      text is cut (the citizen still gets an answer). Telegram's own limit is
      4096 UTF-16 units, Zalo's about 2000 characters.
    - `max_body_bytes`: HTTP body of a webhook (REST, web chat, Zalo): more is
      refused with 413 before it is parsed.
    - `max_attachment_bytes` / `attachment_types`: files kept for a dossier.
    - `max_sender_chars`: length of a sender / conversation id.
    - `zalo_max_event_age_s` / `zalo_max_clock_skew_s`: the accepted window of
      a Zalo event's `timestamp` (ms since the epoch) against replays.
    """

    max_text_chars: int = 4_000
    max_body_bytes: int = 64 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024
    attachment_types: tuple[str, ...] = ("image/jpeg", "image/png", "application/pdf")
    max_sender_chars: int = 128
    zalo_max_event_age_s: int = 15 * 60
    zalo_max_clock_skew_s: int = 5 * 60


LIMITS = Limits()


@dataclass(frozen=True)
class Attachment:
    """A file as the platform announced it (not downloaded yet)."""

    kind: str  # "image" | "file" | "video" | "audio" ...
    file_id: str = ""
    file_name: str = ""
    content_type: str | None = None
    size: int | None = None
    url: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """What a citizen sent, whatever the channel.

    `text` is the message text or the attachment's caption, already cleaned
    and cut (`clean_inbound_text`); `phone` is a shared contact's number;
    `location` is (latitude, longitude)."""

    channel: str
    sender_id: str
    kind: Kind
    text: str = ""
    attachment: Attachment | None = None
    location: tuple[float, float] | None = None
    phone: str = ""
    is_group: bool = False
    raw_kind: str = ""  # the platform's own name for what arrived, for logs
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ConversationState:
    """What the conversation waits for, read from the tracker store and the
    database. `known` False: the state could not be read (then nothing that
    needs a waiting form is accepted)."""

    active_loop: str = ""
    requested_slot: str = ""
    supplement_waiting: bool = False
    known: bool = True

    @property
    def form_waiting(self) -> bool:
        return self.known and bool(self.active_loop)


UNKNOWN_STATE = ConversationState(known=False)


@dataclass(frozen=True)
class TurnPlan:
    """What a channel does with one message: `replies` to send at once (in
    order), then `rasa_text` to hand to Rasa when not None; `keep_attachment`
    tells it to download and store the file (for the form or the supplement)."""

    replies: tuple[str, ...] = ()
    rasa_text: str | None = None
    keep_attachment: bool = False


# -- replies -----------------------------------------------------------------

# The texts are in core/wording/vi.yml (channel.*); the names stay for the channels and tests.
UNSUPPORTED_REPLIES: dict[str, str] = {
    "sticker": say("channel.unsupported.sticker"),
    "voice": say("channel.unsupported.voice"),
    "audio": say("channel.unsupported.audio"),
    "video": say("channel.unsupported.video"),
    "location": say("channel.unsupported.location"),
    "contact": say("channel.unsupported.contact"),
    "poll": say("channel.unsupported.poll"),
    "unsupported": say("channel.unsupported.unsupported"),
}
# Sent by a channel when a turn produced no reply at all (a bare "/restart"
# payload, the action server unreachable): the citizen always hears back.
NO_REPLY_FALLBACK = say("channel.no_reply")
EMPTY_REPLY = say("channel.empty_message")
NO_FORM_ATTACHMENT_REPLY = say("channel.no_form_attachment")
UNKNOWN_STATE_ATTACHMENT_REPLY = say("channel.unknown_state_attachment")
GROUP_PRIVATE_REPLY = say("channel.group_private")


def text_cut_note(limit: int) -> str:
    """Told when a message was cut to its first `limit` characters."""
    return say("channel.text_cut", limit=limit)


# -- text hygiene --------------------------------------------------------------

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_inbound_text(text: object, limit: int | None = None) -> tuple[str, bool]:
    """(text fit for the NLU, whether it was cut). Never raises: non-strings
    become "", lone surrogates are replaced, control characters (NUL...) are
    dropped, the result is NFC and at most `limit` (default
    `LIMITS.max_text_chars`) characters, without invisible format characters.
    The cut happens BEFORE any other work, so a megabyte of text costs nothing."""
    limit = LIMITS.max_text_chars if limit is None else limit
    if not isinstance(text, str):
        return "", False
    cut = len(text) > limit
    text = text[:limit]
    text = text.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(text) else text
    text = _CONTROL_RE.sub("", nfc(text))
    # Invisible format characters (zero-width spaces, bidi overrides, BOM)
    # carry nothing for the NLU and can hide an otherwise empty message.
    text = strip_invisible(text)
    return text.strip(), cut


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def attachment_type_allowed(content_type: str | None) -> bool:
    return (content_type or "").lower() in LIMITS.attachment_types


# -- the decision ------------------------------------------------------------

PHONE_SLOT = "phone"


def plan_turn(message: InboundMessage, state: ConversationState) -> TurnPlan:
    """What to do with `message` in conversation `state` (see module doc).
    Pure; never raises."""
    text = message.text
    if message.kind == "empty":
        return TurnPlan()
    if message.kind == "text":
        # Only invisible characters or spaces: nothing to understand, still an answer.
        return TurnPlan(rasa_text=text) if text else TurnPlan(replies=(EMPTY_REPLY,))
    if message.is_group and message.kind in ("attachment", "contact", "location"):
        # Personal documents, numbers and places are never taken in a group.
        return TurnPlan(replies=(GROUP_PRIVATE_REPLY,), rasa_text=text or None)
    if message.kind == "contact":
        if message.phone and state.form_waiting and state.requested_slot == PHONE_SLOT:
            return TurnPlan(rasa_text=message.phone)
        return TurnPlan(replies=(UNSUPPORTED_REPLIES["contact"],))
    if message.kind == "attachment":
        if state.supplement_waiting or state.form_waiting:
            return TurnPlan(keep_attachment=True, rasa_text=None)
        reply = NO_FORM_ATTACHMENT_REPLY if state.known else UNKNOWN_STATE_ATTACHMENT_REPLY
        # A caption is a question like any other: answered after the note.
        return TurnPlan(replies=(reply,), rasa_text=text or None)
    reply = UNSUPPORTED_REPLIES.get(message.kind, UNSUPPORTED_REPLIES["unsupported"])
    return TurnPlan(replies=(reply,), rasa_text=text or None)


# -- groups and deep links ------------------------------------------------------

# Conversation ids of group members look like "telegram-group:<chat>:<user>".
GROUP_SENDER_MARK = "-group:"


def is_group_sender(sender_id: object) -> bool:
    """True for a conversation held inside a group chat (no forms, no dossier
    data there)."""
    return isinstance(sender_id, str) and GROUP_SENDER_MARK in sender_id


_DEEP_PROCEDURE_RE = re.compile(r"^(nop_|hs_|tt_)?(\d{1,2})[._](\d{6})$", re.IGNORECASE)
_DEEP_DOSSIER_RE = re.compile(r"^HS[-_]?([0-9A-Z]{4})[-_]?([0-9A-Z]{4})$")


def deep_link_message(payload: object) -> str:
    """The Rasa message a deep-link payload stands for (`/start <payload>`):

    - "HS-7K3M-9QXP" (also "hs_7k3m_9qxp"): look the dossier up;
    - "1_004194" / "1.004194" / "tt_1_004194": about that procedure;
    - "nop_1_004194": file a dossier for that procedure;
    - anything else (or nothing): the greeting.

    The result is an `/intent{...}` payload whose values the actions validate
    like any other; unknown or malformed payloads never reach Rasa as text."""
    import json

    if not isinstance(payload, str):
        return "/greet"
    payload = payload.strip()[:64]
    dossier = _DEEP_DOSSIER_RE.match(payload.upper())
    if dossier:
        code = f"HS-{dossier.group(1)}-{dossier.group(2)}"
        return "/check_status" + json.dumps({"dossier_code": code}, separators=(",", ":"))
    procedure = _DEEP_PROCEDURE_RE.match(payload)
    if procedure:
        code = f"{procedure.group(2)}.{procedure.group(3)}"
        intent = "submit_dossier" if (procedure.group(1) or "").lower() == "nop_" else (
            "ask_procedure"
        )
        return f"/{intent}" + json.dumps({"procedure": code}, separators=(",", ":"))
    return "/greet"


def deep_link_payload_for_procedure(code: str, *, file_dossier: bool = False) -> str:
    """The deep-link payload for a procedure code ("1.004194" -> "1_004194",
    or "nop_1_004194" to start filing it)."""
    base = str(code).replace(".", "_")
    return f"nop_{base}" if file_dossier else base
