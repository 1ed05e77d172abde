"""Concurrent citizens over HTTP: round-trip latency, throughput, correctness.

Starts the real action server and Rasa server (the newest model in models/)
on loopback ports with a fresh database holding the full catalog, then runs N
simulated citizens at once. Each one greets, asks about a procedure, asks a
follow-up, files a temporary-residence dossier through the whole form
(answering the question the bot asked, as a person reading it would), confirms
twice (a double tap must not file twice) and checks its status: 16 messages.

A citizen pauses before each message to read the reply and type: `--think S`
draws each pause uniformly from [S/2, 3S/2] (seeded), so citizens do not move
in lockstep. `--think 0` sends back-to-back: a saturation test of capacity
(messages per second), not a simulation of people.

    .venv/bin/python benchmarks/conversation_load.py [--citizens 10] [--think 3]
    # scale-out path: PostgreSQL tracker store, Redis locks, two Rasa workers
    .venv/bin/python benchmarks/conversation_load.py --workers 2 \
        --tracker-store postgresql://postgres@127.0.0.1:5432/tthc_load_tracker \
        --lock-store redis://127.0.0.1:6379/1

Targets (issue 4), with 10 citizens: median ≤ 100 ms, p95 ≤ 250 ms, zero
errors, every dossier stored once. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _stack import prepare_run  # noqa: E402

from bot.runtime import loopback_stack  # noqa: E402
from core.db import (  # noqa: E402
    recreate_postgres_database,
    session_scope,
)
from dossiers.codes import DOSSIER_CODE_PATTERN  # noqa: E402
from dossiers.forms import fields_for  # noqa: E402
from dossiers.orm import Dossier  # noqa: E402
from tests.e2e.applicants import TEMPORARY_RESIDENCE  # noqa: E402

PROCEDURE = "1.004194"  # Đăng ký tạm trú


class Client:
    def __init__(self, base: str, think: float = 0.0) -> None:
        self.base = base
        self.think = think  # mean seconds a person takes to read and type
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def say(self, sender: str, message: str, rng: random.Random) -> list[dict[str, Any]]:
        if self.think:
            time.sleep(rng.uniform(self.think / 2, self.think * 1.5))
        request = urllib.request.Request(
            f"{self.base}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = json.loads(response.read())
        except Exception as exc:  # every failure counts as an error
            with self.lock:
                self.errors.append(f"{sender}: {exc}")
            return []
        with self.lock:
            self.latencies.append(time.perf_counter() - started)
        return body


def asked_field(replies: list[dict[str, Any]]) -> str | None:
    """The form field whose question is in the bot's last replies (the prompts
    come from dossiers.forms, the bot's own source); None when none is asked."""
    text = " ".join(str(m.get("text") or "") for m in replies)
    for spec in fields_for(PROCEDURE):
        if spec.prompt in text:
            return spec.name
    return None


def citizen(client: Client, sender: str, codes: dict[str, str]) -> None:
    rng = random.Random(sender)
    client.say(sender, "xin chào", rng)
    client.say(sender, "đăng ký tạm trú cần giấy tờ gì", rng)
    client.say(sender, "mất mấy ngày vậy", rng)
    replies = client.say(sender, "tôi muốn nộp hồ sơ đăng ký tạm trú", rng)
    for _ in range(30):
        field = asked_field(replies)
        if field is None:
            break
        replies = client.say(sender, TEMPORARY_RESIDENCE.get(field, "Không có"), rng)
    reply = " ".join(m.get("text", "") for m in client.say(sender, "Xác nhận", rng))
    match = DOSSIER_CODE_PATTERN.search(reply)
    if match is None:
        with client.lock:
            client.errors.append(f"{sender}: no dossier code in confirmation")
        return
    codes[sender] = match.group(0).upper()
    client.say(sender, "Xác nhận", rng)  # a double tap must not file twice
    client.say(sender, f"hồ sơ {codes[sender]} tới đâu rồi", rng)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="conversations per citizen")
    parser.add_argument(
        "--think",
        type=float,
        default=3.0,
        help="mean seconds a citizen reads and types before each message (0: back-to-back)",
    )
    parser.add_argument("--workers", type=int, default=1, help="Rasa server processes")
    parser.add_argument("--tracker-store", help="SQLAlchemy URL (default: SQLite in a temp dir)")
    parser.add_argument("--lock-store", help="redis://host:port/db (needed for --workers > 1)")
    args = parser.parse_args()

    run = prepare_run("tthc-load-")
    if run is None:
        return 2
    model, workdir, url, factory = run.model, run.workdir, run.database_url, run.factory
    if args.tracker_store and not args.tracker_store.startswith("sqlite"):
        recreate_postgres_database(args.tracker_store)  # every run starts with no conversations
    with loopback_stack(
        workdir,
        url,
        model,
        tracker_store_url=args.tracker_store,
        lock_store_url=args.lock_store,
        rasa_workers=args.workers,
    ) as base:
        client = Client(base, args.think)
        for worker in range(2 * args.workers):  # first messages load lazy parts
            client.say(f"warm-up-{worker}", "xin chào", random.Random(worker))
        client.latencies.clear()
        codes: dict[str, str] = {}
        started = time.perf_counter()
        for round_index in range(args.rounds):
            threads = [
                threading.Thread(
                    target=citizen, args=(client, f"load-{round_index}-{i}", codes)
                )
                for i in range(args.citizens)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        elapsed = time.perf_counter() - started

    with session_scope(factory) as session:
        stored = session.query(Dossier.sender_id, Dossier.code).all()
    per_sender: dict[str, list[str]] = {}
    for sender, code in stored:
        per_sender.setdefault(sender, []).append(code)
    expected = args.citizens * args.rounds
    exactly_once = len(codes) == expected and all(
        per_sender.get(sender) == [code] for sender, code in codes.items()
    )
    lat = sorted(client.latencies)
    median = statistics.median(lat) * 1000 if lat else float("nan")
    p95 = lat[int(0.95 * (len(lat) - 1))] * 1000 if lat else float("nan")
    print(
        f"citizens: {args.citizens} concurrent x {args.rounds} round(s), "
        f"think time {args.think:g} s (uniform ±50 %), model {model.name}"
    )
    print(
        f"rasa workers: {args.workers}, tracker store: {args.tracker_store or 'SQLite'}, "
        f"lock store: {args.lock_store or 'in-memory'}"
    )
    print(f"messages: {len(lat)} in {elapsed:.1f} s = {len(lat) / elapsed:.1f} msg/s")
    print(f"round trip per message: median {median:.0f} ms, p95 {p95:.0f} ms")
    print(f"errors: {len(client.errors)}")
    for error in client.errors[:5]:
        print(f"  {error}")
    print(f"dossiers confirmed: {len(codes)}/{expected}; stored exactly once: {exactly_once}")
    ok = median <= 100 and p95 <= 250 and not client.errors and exactly_once
    print("targets (median ≤ 100 ms, p95 ≤ 250 ms, 0 errors, exactly once):",
          "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
