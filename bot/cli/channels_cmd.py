"""`tthc telegram` (run the Telegram bot) and `tthc notify` (deliver the
notification outbox to Telegram/Zalo)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from bot.cli import CommandError, configure_logging, open_database_or_exit


def _telegram(args: argparse.Namespace) -> int:
    from bot.channels.telegram import TelegramSettings, run

    configure_logging(args.verbose)
    settings = TelegramSettings.from_env()
    if not settings.token:
        raise CommandError("TELEGRAM_BOT_TOKEN is not set (see .env.example)")
    run(settings)
    return 0


def _notify(args: argparse.Namespace) -> int:
    from bot.channels.senders import senders_from_env
    from dossiers.outbox import OutboxDispatcher

    configure_logging(args.verbose)
    factory = open_database_or_exit(args)
    senders = senders_from_env()
    if not senders:
        raise CommandError("no channel configured: set TELEGRAM_BOT_TOKEN and/or ZALO_*")
    dispatcher = OutboxDispatcher(factory, senders)  # type: ignore[arg-type]  # senders_from_env says dict[str, object]
    if args.once:
        delivered = dispatcher.dispatch_once()
        print(f"delivered {delivered} notification(s)")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    logging.getLogger(__name__).info(
        "outbox dispatcher started for channels: %s", ", ".join(sorted(senders))
    )
    dispatcher.run_forever(stop, interval=args.interval)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    telegram = subparsers.add_parser(
        "telegram",
        help="run the Telegram bot (long polling, or webhook if TELEGRAM_WEBHOOK_URL is set)",
    )
    telegram.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    telegram.set_defaults(handler=_telegram)

    notify = subparsers.add_parser(
        "notify", help="deliver pending dossier notifications (outbox) to Telegram/Zalo"
    )
    notify.add_argument("--database-url", help="default: TTHC_DATABASE_URL or var/tthc.db")
    notify.add_argument(
        "--interval", type=float, default=5.0, help="seconds between polls when idle (default 5)"
    )
    notify.add_argument("--once", action="store_true", help="one pass, then exit")
    notify.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    notify.set_defaults(handler=_notify)
