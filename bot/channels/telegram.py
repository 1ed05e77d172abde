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
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
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
    check_declared,
    human_size,
)
from bot.channels.rasa_client import DEFAULT_RASA_URL, RasaRestClient, RasaUnavailable
from bot.channels.store import ChannelStore
from bot.channels.text import mask_id, split_text

logger = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"
SENDER_PREFIX = "telegram:"
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
MAX_MESSAGE_LENGTH = 4096  # Telegram's limit, in UTF-16 code units
CALLBACK_PREFIX = "b:"
# Telegram shows "typing…" for 5 s; renew it a little before it fades.
TYPING_INTERVAL = 4.0

# Commands -> the Rasa message they stand for.
COMMANDS: Mapping[str, str] = {"start": "/greet", "help": "/help", "huy": "/cancel"}

RASA_DOWN_REPLY = (
    "Xin lỗi, hệ thống đang bận hoặc tạm gián đoạn. Anh/chị vui lòng thử lại sau ít phút."
)
EXPIRED_BUTTON_REPLY = "Lựa chọn này đã hết hạn. Anh/chị vui lòng nhập lại yêu cầu."
NO_FORM_REPLY = (
    "Em chỉ nhận tệp đính kèm khi anh/chị đang khai hồ sơ. Anh/chị hãy bắt đầu nộp hồ sơ "
    "trước (ví dụ: “tôi muốn nộp hồ sơ …”), rồi gửi ảnh hoặc tệp PDF giấy tờ."
)
GENERIC_ERROR_REPLY = "Xin lỗi, đã có lỗi khi xử lý tin nhắn. Anh/chị vui lòng thử lại."


def sender_id(chat_id: int | str) -> str:
    return f"{SENDER_PREFIX}{chat_id}"


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
    token: str
    api_base_url: str = DEFAULT_API_BASE_URL
    file_base_url: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    rasa_url: str = DEFAULT_RASA_URL
    rasa_token: str = ""
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
    # Flood control: Telegram allows ~30 messages/s overall and ~1/s per chat.
    overall_rate: float = 30.0
    per_chat_rate: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TelegramSettings:
        env = os.environ if env is None else env
        api = env.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            api_base_url=api,
            file_base_url=env.get("TELEGRAM_API_FILE_BASE_URL", "").strip() or file_base_url(api),
            webhook_url=env.get("TELEGRAM_WEBHOOK_URL", "").strip(),
            webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
            webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "").strip() or "0.0.0.0",
            webhook_port=int(env.get("TELEGRAM_WEBHOOK_PORT", "").strip() or 8443),
            rasa_url=env.get("RASA_URL", "").strip() or DEFAULT_RASA_URL,
            rasa_token=env.get("RASA_TOKEN", "").strip(),
            max_attachment_bytes=int(
                env.get("TELEGRAM_MAX_ATTACHMENT_BYTES", "").strip() or MAX_ATTACHMENT_BYTES
            ),
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
            chat_id = int(chat_id)  # type: ignore[arg-type]
        paced = (
            self._per_chat_rate > 0
            and isinstance(chat_id, int)
            and chat_id > 0  # groups/channels (negative ids) are PTB's group limiter's job
            and endpoint != "sendChatAction"
            and endpoint.startswith(self._PACED_PREFIXES)
        )
        if not paced:
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
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
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
        for command, rasa_message in COMMANDS.items():
            application.add_handler(CommandHandler(command, self._command_handler(rasa_message)))
        application.add_handler(CallbackQueryHandler(self.on_callback))
        application.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, self.on_file))
        application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self.on_text))
        application.add_error_handler(self.on_error)

    def _command_handler(
        self, rasa_message: str
    ) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if update.effective_chat is not None:
                await self.forward(context.bot, update.effective_chat.id, rasa_message)

        return handle

    # -- handlers ------------------------------------------------------------
    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or update.effective_chat is None or not message.text:
            return
        await self.forward(context.bot, update.effective_chat.id, message.text)

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
        await self.forward(context.bot, chat.id, payload)

    async def on_file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        if message.document is not None:
            document = message.document
            file_id, file_name = document.file_id, document.file_name or "tai-lieu"
            content_type, size = document.mime_type, document.file_size
        elif message.photo:
            # Telegram sends several sizes; the last is the largest (re-encoded JPEG).
            photo = message.photo[-1]
            file_id, file_name = photo.file_id, f"anh-{photo.file_unique_id}.jpg"
            content_type, size = "image/jpeg", photo.file_size
        else:
            return
        sender = sender_id(chat.id)
        try:
            content_type = check_declared(content_type, size, self.settings.max_attachment_bytes)
            form = await self.rasa.active_loop(sender)
            if form == "":  # Rasa says no form is active (False = cannot tell)
                await message.reply_text(NO_FORM_REPLY)
                return
            telegram_file = await context.bot.get_file(file_id)
            data = bytes(await telegram_file.download_as_bytearray())
            saved = await asyncio.to_thread(
                self.attachments.save, sender, file_name, content_type, data
            )
        except AttachmentRejected as exc:
            await message.reply_text(str(exc))
            return
        logger.info(
            "telegram: attachment %d (%s, %d B) from %s",
            saved.id,
            saved.content_type,
            saved.size_bytes,
            mask_id(sender),
        )
        await message.reply_text(
            f"Đã nhận tệp “{saved.file_name}” ({human_size(saved.size_bytes)}). "
            "Tệp sẽ được đính kèm vào hồ sơ khi anh/chị xác nhận nộp."
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log and apologise; PTB keeps running after an error in a handler."""
        chat_id = None
        if isinstance(update, Update) and update.effective_chat is not None:
            chat_id = update.effective_chat.id
        logger.error(
            "telegram: update failed for %s",
            mask_id(sender_id(chat_id)) if chat_id else "unknown chat",
            exc_info=context.error,
        )
        if chat_id is not None:
            with contextlib.suppress(Exception):
                await context.bot.send_message(chat_id, GENERIC_ERROR_REPLY)

    # -- Rasa round trip -----------------------------------------------------
    async def forward(self, bot: Any, chat_id: int, text: str) -> None:
        """Send `text` to Rasa as this chat and relay the responses."""
        sender = sender_id(chat_id)
        async with self._locks.hold(chat_id):
            async with self._typing(bot, chat_id):
                try:
                    responses = await self.rasa.send(sender, text)
                except RasaUnavailable as exc:
                    logger.error("telegram: Rasa unavailable for %s: %s", mask_id(sender), exc)
                    responses = [{"text": RASA_DOWN_REPLY}]
            await self.send_responses(bot, chat_id, responses)

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
        rows = []
        for button in buttons:
            title = str(button.get("title") or "").strip()
            payload = str(button.get("payload") or title)
            if not title:
                continue
            ident = await asyncio.to_thread(self.store.save_payload, payload)
            rows.append([InlineKeyboardButton(title, callback_data=CALLBACK_PREFIX + ident)])
        return InlineKeyboardMarkup(rows) if rows else None

    async def send_responses(
        self, bot: Any, chat_id: int, responses: Sequence[Mapping[str, Any]]
    ) -> None:
        for response in responses:
            text = str(response.get("text") or "")
            markup = await self.keyboard(response.get("buttons") or [])
            image = response.get("image")
            if image:
                # A URL is enough: Telegram renders a preview of it.
                text = f"{text}\n{image}".strip()
            parts = split_text(text, MAX_MESSAGE_LENGTH)
            if not parts and markup is not None:
                parts = ["Mời anh/chị chọn:"]
            for index, part in enumerate(parts):
                await bot.send_message(
                    chat_id=chat_id,
                    text=part,
                    # The keyboard goes under the last part, next to the question.
                    reply_markup=markup if index == len(parts) - 1 else None,
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
                per_chat_rate=settings.per_chat_rate, overall_max_rate=settings.overall_rate
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
