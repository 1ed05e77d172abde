"""`tthc deliver` (send dossiers and supplements to the one-stop-shop) and
`tthc integration serve|add-client` (the inbound status API and its callers)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from bot.cli import CommandError, command_group, configure_logging, open_database_or_exit
from core.settings import get_settings


def _deliver(args: argparse.Namespace) -> int:
    from dossiers.delivery import DeliveryWorker, delivery_enabled

    configure_logging(args.verbose)
    if not delivery_enabled():
        raise CommandError("TTHC_SUBMISSION_BACKEND is not 'http': nothing to deliver to")
    factory = open_database_or_exit(args)
    try:
        worker = DeliveryWorker.from_env(factory)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if args.once:
        print(f"delivered {worker.dispatch_once()} job(s)")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    logging.getLogger(__name__).info("delivery worker started: %r", worker.backend)
    interval = args.interval or get_settings().submission.delivery_interval
    worker.run_forever(stop, interval=interval)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.status_api import serve

    configure_logging(args.verbose)
    factory = open_database_or_exit(args)
    submission = get_settings().submission
    host = args.host or submission.inbound_host
    port = args.port or submission.inbound_port
    if not 0 < port < 65536:
        raise CommandError(f"--port must be a port number, got {port!r}")
    serve(factory, host, port)
    return 0


def _add_client(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from dossiers.inbound import register_client

    factory = open_database_or_exit(args)
    try:
        with session_scope(factory) as session:
            credentials = register_client(session, args.name)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"client:      {credentials.name}")
    print(f"bearer token: {credentials.token}")
    print(f"HMAC secret:  {credentials.hmac_secret}")
    print("Shown once: give them to the one-stop-shop over a secure channel.")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    deliver = subparsers.add_parser(
        "deliver", help="send submitted dossiers and supplements to the one-stop-shop"
    )
    deliver.add_argument("--database-url", help="default: TTHC_DATABASE_URL or var/tthc.db")
    deliver.add_argument("--once", action="store_true", help="one pass, then exit")
    deliver.add_argument("--interval", type=float, default=None, help="seconds between polls")
    deliver.add_argument("-v", "--verbose", action="store_true")
    deliver.set_defaults(handler=_deliver)

    add = command_group(subparsers, "integration", "one-stop-shop inbound status API")
    serve = add("serve", "run the inbound status API", _serve)
    serve.add_argument("--host", default=None, help="default: TTHC_INBOUND_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: TTHC_INBOUND_PORT or 5010")
    serve.add_argument("-v", "--verbose", action="store_true")
    client = add("add-client", "register a caller (prints its token and HMAC secret)", _add_client)
    client.add_argument("name", help="e.g. motcua-hanoi")
