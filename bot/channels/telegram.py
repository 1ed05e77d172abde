"""Telegram front-end (python-telegram-bot 22) that talks to Rasa over REST.

The bot runs as its own process (`tthc telegram`) and forwards every citizen
message to `POST {RASA_URL}/webhooks/rest/webhook` with sender
"telegram:<chat_id>", so Telegram and Rasa scale independently. Several bot
processes may run (webhook mode behind a load balancer): nothing that must
survive between updates is kept in process memory; button payloads live in the
database (`channel_callback_payloads`).

Long polling by default; webhook mode when TELEGRAM_WEBHOOK_URL is set (PTB's
tornado server answers 403 to a missing or wrong
`X-Telegram-Bot-Api-Secret-Token` when TELEGRAM_WEBHOOK_SECRET is set).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.attachments import (
    MAX_ATTACHMENT_BYTES,
    AttachmentRejected,
    AttachmentStore,
    attach_to_waiting_supplement,
    check_declared,
    human_size,
    supplement_refusal,
    waiting_supplement_id,
)
from bot.channels.inbound import (
    GROUP_SENDER_MARK,
    LIMITS,
    NO_FORM_ATTACHMENT_REPLY,
    NO_REPLY_FALLBACK,
    Attachment,
    ConversationState,
    InboundMessage,
    clean_inbound_text,
    deep_link_message,
    plan_turn,
    text_cut_note,
)
from bot.channels.rasa_client import DEFAULT_RASA_URL, RasaRestClient, RasaUnavailable
from bot.channels.store import CALLBACK_PREFIX, ChannelStore
from bot.channels.text import split_text
from core.settings import settings_for
from core.vietnamese import DOSSIER_CODE_PATTERN, mask_sender
from core.wording import say

logger = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"
SENDER_PREFIX = "telegram:"
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
MAX_MESSAGE_LENGTH = 4096  # Telegram's limit, in UTF-16 code units
# Telegram shows "typing…" for 5 s; renew it a little before it fades.
TYPING_INTERVAL = 4.0

# Commands -> the Rasa message they stand for (/start with a payload: deep_link_message).
COMMANDS: Mapping[str, str] = {"start": "/greet", "help": "/help", "huy": "/cancel"}
# How many times a send is retried after Telegram's 429 (each wait: retry_after).
FLOOD_RETRIES = 3
# Texts: core/wording/vi.yml (channel.*).
GROUP_INVITE_REPLY = say("channel.telegram.group_invite")
DOWNLOAD_FAILED_REPLY = say("channel.file.download_failed_telegram")
GROUP_CHAT_TYPES = frozenset({"group", "supergroup", "channel"})

RASA_DOWN_REPLY = say("channel.rasa_down")
EXPIRED_BUTTON_REPLY = say("channel.expired_button")
NO_FORM_REPLY = NO_FORM_ATTACHMENT_REPLY
GENERIC_ERROR_REPLY = say("channel.generic_error")
PRIVATE_BUTTON = say("channel.telegram.private_button")


def sender_id(chat_id: int | str, user_id: int | str | None = None) -> str:
    """The Rasa conversation id: "telegram:<chat_id>" for a private chat;
    in a group one conversation per person, "telegram-group:<chat>:<user>",
    so members never share a conversation (and actions can tell a group)."""
    if user_id is None:
        return f"{SENDER_PREFIX}{chat_id}"
    return f"{CHANNEL_NAME}{GROUP_SENDER_MARK}{chat_id}:{user_id}"


def private_link(bot_username: str | None, payload: str = "") -> str:
    """t.me link opening a private chat with the bot (deep-link `payload`:
    only A-Z, a-z, 0-9, _ and -, at most 64 characters, per the Bot API)."""
    base = f"https://t.me/{bot_username or ''}"
    safe = "".join(ch for ch in payload if ch.isascii() and (ch.isalnum() or ch in "_-"))[:64]
    return f"{base}?start={safe}" if safe else base


def strip_sender_prefix(recipient: str) -> str:
    return recipient[len(SENDER_PREFIX) :] if recipient.startswith(SENDER_PREFIX) else recipient


def file_base_url(api_base_url: str) -> str:
    """The file download base matching an API base: '.../bot' -> '.../file/bot'."""
    base = api_base_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("bot")] + "file/bot"
    return base + "/file/bot"


@dataclass(frozen=True)
class TelegramSettings:
    token: str = field(repr=False)  # secrets: never in a repr or a log line
    api_base_url: str = DEFAULT_API_BASE_URL
    file_base_url: str = ""
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    rasa_url: str = DEFAULT_RASA_URL
    rasa_token: str = field(default="", repr=False)
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
    # Flood control: Telegram allows ~30 messages/s overall and ~1/s per chat.
    overall_rate: float = 30.0
    per_chat_rate: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TelegramSettings:
        """From core.settings (`env`: a mapping instead of the process
        environment). Raises core.settings.SettingsError naming the variable."""
        settings = settings_for(env)
        telegram = settings.telegram
        api = telegram.api_base_url
        return cls(
            token=telegram.bot_token.get_secret_value(),
            api_base_url=api,
            file_base_url=telegram.api_file_base_url or file_base_url(api),
            webhook_url=telegram.webhook_url,
            webhook_secret=telegram.webhook_secret.get_secret_value(),
            webhook_listen=telegram.webhook_listen,
            webhook_port=telegram.webhook_port,
            rasa_url=settings.rasa.url,
            rasa_token=settings.rasa.token.get_secret_value(),
            max_attachment_bytes=telegram.max_attachment_bytes,
        )


class ChatFloodLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (30 msg/s overall, 20/min per group) plus the
    per-chat limit it leaves out: ~1 message per second in a private chat.
    A reply split in several parts is thus paced instead of hitting 429."""

    _PACED_PREFIXES = ("send", "copyMessage", "forwardMessage")

    def __init__(self, per_chat_rate: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._per_chat_rate = per_chat_rate
        self._chat_limiters: dict[int, Any] = {}

    def _chat_limiter(self, chat_id: int) -> Any:
        from aiolimiter import AsyncLimiter

        if len(self._chat_limiters) > 4096:
            # Drop idle limiters (full capacity = unused for a while).
            for key, limiter in list(self._chat_limiters.items()):
                if limiter.has_capacity(limiter.max_rate):
                    del self._chat_limiters[key]
        limiter = self._chat_limiters.get(chat_id)
        if limiter is None:
            limiter = AsyncLimiter(max_rate=1, time_period=1 / self._per_chat_rate)
            self._chat_limiters[chat_id] = limiter
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[arg-type]  # None or junk: the error is suppressed
        paced = (
            self._per_chat_rate > 0
            and isinstance(chat_id, int)
            and chat_id > 0  # groups/channels (negative ids) are PTB's group limiter's job
            and endpoint != "sendChatAction"
            and endpoint.startswith(self._PACED_PREFIXES)
        )
        if not paced or not isinstance(chat_id, int):  # (paced implies an int: for the checker)
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        async with self._chat_limiter(chat_id):
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )


class _ChatLocks:
    """One lock per chat so a citizen's messages are handled in order while
    different chats are handled concurrently. Entries go away when unused."""

    def __init__(self) -> None:
        self._locks: dict[int | str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: int | str) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)


class TelegramBridge:
    """The handlers: Telegram update -> Rasa -> Telegram replies."""

    def __init__(
        self,
        settings: TelegramSettings,
        rasa: RasaRestClient,
        store: ChannelStore,
        attachments: AttachmentStore,
    ) -> None:
        self.settings = settings
        self.rasa = rasa
        self.store = store
        self.attachments = attachments
        self._locks = _ChatLocks()

    # -- wiring ------------------------------------------------------------
    def install(self, application: Application) -> None:
        application.add_handler(CommandHandler("start", self.on_start))
        for command, rasa_message in COMMANDS.items():
            if command != "start":
                application.add_handler(
                    CommandHandler(command, self._command_handler(rasa_message))
                )
        application.add_handler(CallbackQueryHandler(self.on_callback))
        # Every new message, whatever its kind: one normalised path, one answer
        # (edits of earlier messages and channel posts are not new questions).
        application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self.on_message))
        application.add_error_handler(self.on_error)

    def _command_handler(
        self, rasa_message: str
    ) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if update.effective_chat is not None:
                await self.forward(context.bot, update, rasa_message)

        return handle

    # -- normalisation -------------------------------------------------------
    @staticmethod
    def is_group(update: Update) -> bool:
        chat = update.effective_chat
        return chat is not None and chat.type in GROUP_CHAT_TYPES

    def sender_for(self, update: Update) -> str:
        """Per-person conversation ids in groups; the chat id in private."""
        chat = update.effective_chat
        user = update.effective_user
        if chat is None:
            return ""
        if self.is_group(update):
            return sender_id(chat.id, user.id if user is not None else 0)
        return sender_id(chat.id)

    def inbound(self, update: Update) -> InboundMessage:
        """The Telegram message as the channels' common model."""
        message = update.effective_message
        sender = self.sender_for(update)
        group = self.is_group(update)

        def make(kind: str, text: object = "", **extra: Any) -> InboundMessage:
            cleaned, cut = clean_inbound_text(text)
            meta = {"cut": True} if cut else {}
            return InboundMessage(
                CHANNEL_NAME, sender, kind, cleaned, is_group=group, raw_kind=kind,  # type: ignore[arg-type]  # make() gets literal kinds
                metadata=meta, **extra,
            )

        if message is None:
            return make("empty")
        caption = message.caption or ""
        if message.text:
            return make("text", message.text)
        if message.document is not None:
            doc = message.document
            return make("attachment", caption, attachment=Attachment(
                "file", doc.file_id, doc.file_name or "tai-lieu", doc.mime_type, doc.file_size,
            ))
        if message.photo:
            # Telegram sends several sizes; the last is the largest (re-encoded JPEG).
            photo = message.photo[-1]
            return make("attachment", caption, attachment=Attachment(
                "image", photo.file_id, f"anh-{photo.file_unique_id}.jpg", "image/jpeg",
                photo.file_size,
            ))
        if message.contact is not None:
            return make("contact", caption, phone=message.contact.phone_number or "")
        if message.location is not None or message.venue is not None:
            location = message.location or message.venue.location  # type: ignore[union-attr]  # venue set if no location
            return make("location", caption, location=(location.latitude, location.longitude))
        if message.sticker is not None:
            return make("sticker")
        if message.voice is not None:
            return make("voice", caption)
        if message.audio is not None:
            return make("audio", caption)
        if message.video is not None or message.video_note is not None or message.animation:
            return make("video", caption)
        if message.poll is not None:
            return make("poll")
        if caption:
            return make("unsupported", caption)
        if (
            message.new_chat_members
            or message.left_chat_member
            or message.pinned_message
            or message.new_chat_title
            or message.group_chat_created
            or message.supergroup_chat_created
            or message.migrate_from_chat_id
            or message.migrate_to_chat_id
        ):
            return make("empty")  # service messages: nobody asked anything
        return make("unsupported")

    # -- handlers ------------------------------------------------------------
    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/start` and its deep links (`/start HS-…`, `/start 1_004194`,
        `/start nop_1_004194`)."""
        if update.effective_chat is None:
            return
        payload = (context.args or [""])[0] if context.args else ""
        rasa_message = deep_link_message(payload)
        if self.is_group(update) and rasa_message != "/greet":
            await self.invite_to_private(context.bot, update, payload)
            return
        await self.forward(context.bot, update, rasa_message)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or update.effective_chat is None:
            return
        if message.text and message.text.startswith("/"):
            # An unknown command (known ones have their own handler).
            command = message.text.split()[0].split("@")[0][1:].lower()
            if command in COMMANDS:
                return
        inbound = self.inbound(update)
        if inbound.is_group and inbound.text and DOSSIER_CODE_PATTERN.search(
            inbound.text.upper()
        ):
            # Dossier data is never shown in a group: continue in private.
            await self.invite_to_private(context.bot, update, "")
            return
        state = ConversationState()
        if inbound.kind in ("attachment", "contact"):
            state = await self.conversation_state(inbound)
        plan = plan_turn(inbound, state)
        for reply in plan.replies:
            await message.reply_text(reply)
        if inbound.metadata.get("cut"):
            await message.reply_text(text_cut_note(LIMITS.max_text_chars))
        if plan.keep_attachment and inbound.attachment is not None:
            await self.keep_attachment(context.bot, message, inbound, state)
        if plan.rasa_text:
            await self.forward(context.bot, update, plan.rasa_text)

    async def conversation_state(self, inbound: InboundMessage) -> ConversationState:
        """The form and field the conversation waits for (tracker store, via
        Rasa) and whether a supplement waits (database)."""
        state = await self.rasa.conversation_state(inbound.sender_id)
        supplement = None
        with contextlib.suppress(Exception):  # no supplement table: not a supplement
            supplement = await asyncio.to_thread(
                waiting_supplement_id,
                self.attachments.session_factory,
                inbound.sender_id,
                CHANNEL_NAME,
            )
        if supplement is None:
            return state
        return ConversationState(
            state.active_loop, state.requested_slot, supplement_waiting=True, known=True
        )

    async def keep_attachment(
        self, bot: Any, message: Any, inbound: InboundMessage, state: ConversationState
    ) -> None:
        attachment = inbound.attachment
        assert attachment is not None
        sender = inbound.sender_id
        try:
            content_type = check_declared(
                attachment.content_type, attachment.size, self.settings.max_attachment_bytes
            )
            try:
                telegram_file = await bot.get_file(attachment.file_id)
                data = bytes(await telegram_file.download_as_bytearray())
            except TelegramError as exc:  # "file is too big", expired file id...
                logger.warning("telegram: file download refused: %s", type(exc).__name__)
                raise AttachmentRejected(DOWNLOAD_FAILED_REPLY) from None
            saved = await asyncio.to_thread(
                self.attachments.save, sender, attachment.file_name, content_type, data
            )
        except AttachmentRejected as exc:
            await message.reply_text(str(exc))
            return
        logger.info(
            "telegram: attachment %d (%s, %d B) from %s",
            saved.id,
            saved.content_type,
            saved.size_bytes,
            mask_sender(sender),
        )
        received = {"file_name": saved.file_name, "size": human_size(saved.size_bytes)}
        if state.supplement_waiting:
            try:
                code = await asyncio.to_thread(
                    attach_to_waiting_supplement,
                    self.attachments.session_factory,
                    sender,
                    CHANNEL_NAME,
                    saved.id,
                )
            except Exception as exc:  # business refusal: the citizen is told, no traceback
                logger.warning("telegram: supplement file refused: %s", type(exc).__name__)
                await message.reply_text(supplement_refusal(exc))
                return
            await message.reply_text(
                say("channel.file.received_for_supplement", code=code, **received)
            )
            return
        await message.reply_text(say("channel.file.received_for_form", **received))

    async def invite_to_private(self, bot: Any, update: Update, payload: str) -> None:
        """In a group: say that this continues in private, with a deep link."""
        message = update.effective_message
        link = private_link(getattr(bot, "username", None), payload)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(PRIVATE_BUTTON, url=link)]])
        if message is not None:
            await message.reply_text(GROUP_INVITE_REPLY, reply_markup=markup)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        payload = None
        try:
            if data.startswith(CALLBACK_PREFIX):
                payload = await asyncio.to_thread(
                    self.store.resolve_payload, data[len(CALLBACK_PREFIX) :]
                )
        except Exception:
            # Still answer the query below: an unanswered one spins for the citizen.
            logger.exception("telegram: could not resolve a button id")
        # Answer at once (Telegram shows a spinner until then), before Rasa.
        await query.answer(text=None if payload else EXPIRED_BUTTON_REPLY)
        chat = update.effective_chat
        if payload is None or chat is None:
            return
        await self.forward(context.bot, update, payload)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log and apologise; PTB keeps running after an error in a handler."""
        chat_id = None
        if isinstance(update, Update) and update.effective_chat is not None:
            chat_id = update.effective_chat.id
        logger.error(
            "telegram: update failed for %s",
            mask_sender(sender_id(chat_id)) if chat_id else "unknown chat",
            exc_info=context.error,
        )
        if chat_id is not None:
            with contextlib.suppress(Exception):
                await context.bot.send_message(chat_id, GENERIC_ERROR_REPLY)

    # -- Rasa round trip -----------------------------------------------------
    async def forward(self, bot: Any, update: Update, text: str) -> None:
        """Send `text` to Rasa as this chat's (in a group: this member's)
        conversation and relay the responses to the chat."""
        chat = update.effective_chat
        if chat is None:
            return
        chat_id = chat.id
        sender = self.sender_for(update)
        group = self.is_group(update)
        async with self._locks.hold(sender):
            async with self._typing(bot, chat_id):
                try:
                    responses = await self.rasa.send(sender, text)
                except RasaUnavailable as exc:
                    logger.error("telegram: Rasa unavailable for %s: %s", mask_sender(sender), exc)
                    responses = [{"text": RASA_DOWN_REPLY}]
            if not responses:  # the citizen always hears back
                responses = [{"text": NO_REPLY_FALLBACK}]
            reply_to = None
            if group and update.effective_message is not None:
                reply_to = update.effective_message.message_id
            await self.send_responses(bot, chat_id, responses, reply_to=reply_to)

    @contextlib.asynccontextmanager
    async def _typing(self, bot: Any, chat_id: int) -> AsyncIterator[None]:
        """Show "typing…" until the block ends. Stopped with an event rather
        than by cancellation: a cancel landing inside PTB's HTTP call can be
        turned into an ordinary network error and swallowed, and the loop would
        then type forever."""
        stop = asyncio.Event()

        async def keep_typing() -> None:
            while not stop.is_set():
                with contextlib.suppress(Exception):  # cosmetic: never fail the turn
                    await bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), TYPING_INTERVAL)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            stop.set()
            # Let an in-flight chat action land before the reply: sent after
            # it, it would show "typing…" for 5 s under the answer.
            with contextlib.suppress(Exception, asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), 3)
            task.cancel()

    async def keyboard(self, buttons: Sequence[Mapping[str, Any]]) -> InlineKeyboardMarkup | None:
        """Rasa buttons -> an inline keyboard whose callback data are short ids."""
        pairs = await asyncio.to_thread(self.store.callback_rows, buttons)
        rows = [[InlineKeyboardButton(title, callback_data=data)] for title, data in pairs]
        return InlineKeyboardMarkup(rows) if rows else None

    async def send_responses(
        self,
        bot: Any,
        chat_id: int,
        responses: Sequence[Mapping[str, Any]],
        *,
        reply_to: int | None = None,
    ) -> None:
        for response in responses:
            text = str(response.get("text") or "")
            markup = await self.keyboard(response.get("buttons") or [])
            custom = response.get("custom")
            if isinstance(custom, Mapping) and isinstance(custom.get("private_chat"), Mapping):
                # The assistant asks to continue in private (group): a deep-link button.
                payload = str(custom["private_chat"].get("start") or "")
                link = private_link(getattr(bot, "username", None), payload)
                markup = InlineKeyboardMarkup([[InlineKeyboardButton(PRIVATE_BUTTON, url=link)]])
                text = text or str(custom.get("text") or GROUP_INVITE_REPLY)
            image = response.get("image")
            if image:
                # A URL is enough: Telegram renders a preview of it.
                text = f"{text}\n{image}".strip()
            parts = split_text(text, MAX_MESSAGE_LENGTH)
            if not parts and markup is not None:
                parts = [say("channel.choose")]
            for index, part in enumerate(parts):
                await bot.send_message(
                    chat_id=chat_id,
                    text=part,
                    # The keyboard goes under the last part, next to the question.
                    reply_markup=markup if index == len(parts) - 1 else None,
                    reply_to_message_id=reply_to if index == 0 else None,
                )


def build_application(
    settings: TelegramSettings,
    *,
    store: ChannelStore | None = None,
    attachments: AttachmentStore | None = None,
    rasa: RasaRestClient | None = None,
    rate_limiter: AIORateLimiter | None = None,
) -> Application:
    """A configured PTB Application (not started)."""
    if not settings.token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    rasa = rasa or RasaRestClient(
        settings.rasa_url, input_channel=CHANNEL_NAME, token=settings.rasa_token
    )
    bridge = TelegramBridge(
        settings,
        rasa,
        store or ChannelStore(),
        attachments or AttachmentStore(max_bytes=settings.max_attachment_bytes),
    )

    async def close_rasa(_: Application) -> None:
        await rasa.aclose()

    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.file_base_url or file_base_url(settings.api_base_url))
        .rate_limiter(
            rate_limiter
            or ChatFloodLimiter(
                per_chat_rate=settings.per_chat_rate,
                overall_max_rate=settings.overall_rate,
                # A 429 waits Telegram's retry_after, then sends (PTB's default, 0
                # retries, dropped the answer).
                max_retries=FLOOD_RETRIES,
            )
        )
        # Chats are independent (per-chat locks keep each one in order), so a
        # slow Rasa turn for one citizen does not hold up everyone else.
        .concurrent_updates(64)
        .post_shutdown(close_rasa)
        .build()
    )
    bridge.install(application)
    application.bot_data["bridge"] = bridge
    return application


def webhook_path(webhook_url: str) -> str:
    """The local path PTB listens on: the path of the public webhook URL."""
    return urlparse(webhook_url).path.lstrip("/")


def run(settings: TelegramSettings | None = None) -> None:
    """Run the bot until interrupted (polling, or webhook when configured)."""
    settings = settings or TelegramSettings.from_env()
    application = build_application(settings)
    if settings.webhook_url:
        if not settings.webhook_secret:
            logger.warning("telegram: TELEGRAM_WEBHOOK_SECRET is not set; anyone can post updates")
        logger.info(
            "telegram: webhook mode on %s:%d", settings.webhook_listen, settings.webhook_port
        )
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=webhook_path(settings.webhook_url),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret or None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        logger.info("telegram: long polling")
        application.run_polling(allowed_updates=Update.ALL_TYPES)
