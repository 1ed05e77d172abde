"""Officers' console under load: 50 officers polling the hand-off queue while
10 citizens chat with the assistant.

Starts the real stack (action server + Rasa server, newest model in models/,
fresh SQLite database with the full catalog) and the console (`python -m
console`, one process) on loopback ports. Then:

1. baseline: N citizens chat alone (the conversation of
   benchmarks/conversation_load.py: questions, a whole dossier form, status);
2. under load: N new citizens chat again while M officers, each logged in
   with their own session, poll the hand-off queue every `--poll` seconds
   (jittered ±50 %), as the console's queue page does; every 10th poll of an
   officer loads a full page instead (dossier list, conversation list).

Reports console latency (p50/p95 of every officer request) and the chat's
p95 in both phases. Targets (issue 11): console p95 ≤ 300 ms; chat p95 under
load at most 20 % above the baseline. Exit status 1 when a target is missed.

    .venv/bin/python benchmarks/console_load.py [--officers 50] [--citizens 10] [--poll 2]
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import conversation_load  # noqa: E402  (Client, citizen: the same chat as the chat benchmark)
import httpx  # noqa: E402
from _stack import prepare_run  # noqa: E402

from bot.runtime import loopback_stack  # noqa: E402
from tests.console.server import ConsoleClient, add_staff, console_server  # noqa: E402

PAGES = ("/dossiers", "/conversations")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] * 1000 if ordered else float("nan")


def chat_phase(base: str, citizens: int, think: float, prefix: str) -> tuple[list[float], int]:
    client = conversation_load.Client(base, think)
    codes: dict[str, str] = {}
    threads = [
        threading.Thread(target=conversation_load.citizen, args=(client, f"{prefix}-{i}", codes))
        for i in range(citizens)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return client.latencies, len(client.errors)


class Officer(threading.Thread):
    def __init__(self, client: ConsoleClient, queue_path: str, poll: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.queue_path = queue_path
        self.poll = poll
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.by_path: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def run(self) -> None:
        count = 0
        while not self.stop.is_set():
            count += 1
            path = self.rng.choice(PAGES) if count % 10 == 0 else self.queue_path
            started = time.perf_counter()
            try:
                response = self.client.http.get(path, headers={"HX-Request": "true"}
                                                if path == self.queue_path else {})
                if response.status_code != 200:
                    self.errors.append(f"{path}: {response.status_code}")
            except httpx.HTTPError as exc:
                self.errors.append(f"{path}: {exc}")
            else:
                elapsed = time.perf_counter() - started
                self.latencies.append(elapsed)
                self.by_path.setdefault(path, []).append(elapsed)
            self.stop.wait(self.rng.uniform(self.poll / 2, self.poll * 1.5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=50)
    parser.add_argument("--citizens", type=int, default=10)
    parser.add_argument("--poll", type=float, default=2.0, help="mean seconds between polls")
    parser.add_argument("--think", type=float, default=3.0, help="citizens' mean think time")
    parser.add_argument("--console-workers", type=int, default=1, help="console processes")
    args = parser.parse_args()

    run = prepare_run("tthc-console-load-")
    if run is None:
        return 2
    model, workdir, url = run.model, run.workdir, run.database_url
    tracker = f"sqlite:///{workdir / 'tracker.db'}"
    with loopback_stack(workdir, url, model) as base, console_server(
        url, tracker_store_url=tracker, env={
            "TTHC_CONSOLE_IP_ATTEMPTS": "10000", "TTHC_CONSOLE_WORKERS": str(args.console_workers)}
    ) as console:
        warm = conversation_load.Client(base)
        for worker in range(2):
            warm.say(f"warm-up-{worker}", "xin chào", random.Random(worker))
        baseline, baseline_errors = chat_phase(base, args.citizens, args.think, "alone")

        officers = []
        for index in range(args.officers):
            name = f"canbo{index:03d}"
            add_staff(url, name, "officer")
            client = ConsoleClient(console)
            client.login(name)
            officers.append(client)
        queue_path = "/handoffs/queue"
        if officers[0].http.get(queue_path).status_code == 404:
            queue_path = "/dossiers"  # a checkout without the hand-off pages
        pollers = [Officer(c, queue_path, args.poll, i) for i, c in enumerate(officers)]
        for poller in pollers:
            poller.start()
        loaded, loaded_errors = chat_phase(base, args.citizens, args.think, "loaded")
        for poller in pollers:
            poller.stop.set()
        for poller in pollers:
            poller.join()
        for client in officers:
            client.close()

    console_latencies = [v for p in pollers for v in p.latencies]
    console_errors = [e for p in pollers for e in p.errors]
    chat_p95_alone, chat_p95_loaded = percentile(baseline, 0.95), percentile(loaded, 0.95)
    console_p50, console_p95 = percentile(console_latencies, 0.5), percentile(
        console_latencies, 0.95)
    growth = (chat_p95_loaded / chat_p95_alone - 1) * 100 if baseline else float("nan")
    print(f"model {model.name}; citizens {args.citizens} (think {args.think:g} s), "
          f"officers {args.officers} polling {queue_path} every {args.poll:g} s (±50 %)")
    print(f"console requests: {len(console_latencies)}, errors {len(console_errors)}; "
          f"p50 {console_p50:.0f} ms, p95 {console_p95:.0f} ms")
    print(f"chat p95 alone {chat_p95_alone:.0f} ms ({len(baseline)} msgs, "
          f"{baseline_errors} errors); with officers {chat_p95_loaded:.0f} ms "
          f"({len(loaded)} msgs, {loaded_errors} errors): {growth:+.0f} %")
    print(f"console processes: {args.console_workers}")
    for path in sorted({p for poller in pollers for p in poller.by_path}):
        values = [v for poller in pollers for v in poller.by_path.get(path, [])]
        print(f"  {path}: {len(values)} requests, p50 {percentile(values, 0.5):.0f} ms, "
              f"p95 {percentile(values, 0.95):.0f} ms")
    for error in console_errors[:5]:
        print(f"  {error}")
    ok = (console_p95 <= 300 and growth <= 20 and not console_errors
          and not baseline_errors and not loaded_errors)
    print("targets (console p95 ≤ 300 ms, chat p95 +≤ 20 %, 0 errors):",
          "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
