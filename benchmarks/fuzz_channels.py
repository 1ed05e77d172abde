"""Hostile messages across every channel against the running product.

Starts the product's action server and Rasa server (the newest model in
models/, REST + web chat + Zalo channels, SQL tracker store, fresh database
with the full catalog: `benchmarks/channel_stack.py`) and the Telegram bridge
(python-telegram-bot, in this process, forwarding to that Rasa server). The
platforms themselves are loopback fakes (tests/channels/channel_fakes.py): the
Zalo OA API that receives the replies, the Telegram Bot API that delivers the
updates. Then N generated messages (seeded) go out over the four channels from
several threads, each sender's messages in order:

- realistic questions, dossier forms started and answered (skip words,
  ranges, names, cancel), `/intent{...}` payloads with garbage,
- random Unicode with control characters and lone surrogates, invisible
  characters, emoji, right-to-left overrides, 0 to 1.4 million characters,
- malformed bodies (REST), every Zalo event kind (signed), every Telegram
  message kind (stickers, locations, contacts, voice, photos with captions),
  group messages.

Counted per channel: sent, answered (a reply reached the citizen, or a clear
4xx for a malformed body), 5xx, unanswered; plus tracebacks in the servers'
logs, the Rasa server's memory (start, peak) and the wall time.

    .venv/bin/python benchmarks/fuzz_channels.py [--messages 10000] [--threads 8] [--seed 14]

Exit status 1 when any message got a 5xx or no answer, or a traceback was
logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "channels"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _stack import prepare_run  # noqa: E402
from channel_fakes import FakeTelegram, FakeZalo  # noqa: E402
from channel_stack import ZALO_APP_ID, ZALO_OA_SECRET, Stack  # noqa: E402

from bot.channels.attachments import AttachmentStore  # noqa: E402
from bot.channels.store import ChannelStore  # noqa: E402
from bot.channels.telegram import TelegramSettings, build_application  # noqa: E402
from bot.channels.zalo_api import event_signature  # noqa: E402

CHANNELS = ("rest", "webchat", "zalo", "telegram")
WAIT_REPLY_S = 60.0

QUESTIONS = [
    "đăng ký tạm trú cần giấy tờ gì", "làm căn cước mất bao lâu", "lệ phí làm hộ chiếu",
    "tôi bị mất sổ đỏ thì làm lại thế nào", "đăng ký khai sinh ở đâu", "xin chào",
    "giờ làm việc của phường", "cảm ơn", "ad ơi", "thủ tục kết hôn với người nước ngoài",
    "tra cứu hồ sơ HS-7K3M-9QXP", "hs–7k3m–9qxp", "gặp cán bộ", "bạn là người hay máy",
]
FORM_STARTS = ["tôi muốn nộp hồ sơ đăng ký tạm trú", "nộp hồ sơ khai sinh", "nộp hồ sơ"]
ANSWERS = [
    "Lê Văn Hùng", "2/9/1985", "079085012345", "0987654321", "bỏ qua", "Bỏ qua", "không có",
    "12 tháng", "nửa năm", "1 năm", "45 Lý Thường Kiệt, phường Cửa Nam, Hà Nội", "hủy",
    "tiếp tục", "xác nhận", "sửa số điện thoại", "Trần Thị Giờ", "Nguyễn Quang Huy",
    "Lao động/làm việc", "2", "có", "không",
]
PAYLOADS = [
    "/affirm", "/cancel", "/deny", "/greet", "/inform{\"landlord_name\": \"x\"}",
    "/check_status{\"dossier_code\": \"HS-0000-0000\"}", "/submit_dossier{\"procedure\": \"9.9\"}",
    "/inform{\"edit_field\": \"__class__\"}", "/inform{", "/faq", "/human_handoff{\"x\":[1,2",
    "/restart", "/session_start", "/action_submit_dossier",
]


def random_unicode(rng: random.Random, length: int) -> str:
    ranges = [(0, 0x1F), (0x20, 0x7E), (0xC0, 0x1EF9), (0x300, 0x36F), (0x200B, 0x200F),
              (0x202A, 0x202E), (0xD800, 0xDFFF), (0xE000, 0xE0FF), (0x1F300, 0x1FAFF),
              (0xFFF0, 0xFFFF), (0x4E00, 0x4EFF)]
    out = []
    for _ in range(length):
        low, high = rng.choice(ranges)
        out.append(chr(rng.randint(low, high)))
    return "".join(out)


def generate_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.25:
        return rng.choice(QUESTIONS)
    if kind < 0.33:
        return rng.choice(FORM_STARTS)
    if kind < 0.55:
        return rng.choice(ANSWERS)
    if kind < 0.63:
        return rng.choice(PAYLOADS)
    if kind < 0.90:
        return random_unicode(rng, rng.choice([0, 1, 3, 10, 50, 300, 2000]))
    if kind < 0.97:
        return rng.choice(["a", "đ", "thủ tục ", "🙂", "\u202e"]) * rng.choice(
            [4001, 10_000, 60_000]
        )
    return "x" * 1_400_000


def json_text(text: str) -> bytes:
    # ensure_ascii keeps lone surrogates as \\udXXX escapes (valid JSON, not text).
    return json.dumps(text).encode()


class BackgroundLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


class Fuzzer:
    def __init__(self, stack: Stack, zalo: FakeZalo, telegram: FakeTelegram, seed: int) -> None:
        self.stack = stack
        self.zalo = zalo
        self.telegram = telegram
        self.seed = seed
        self.counts: dict[str, Counter] = {channel: Counter() for channel in CHANNELS}
        self.lock = threading.Lock()
        self.slowest = 0.0

    def count(self, channel: str, outcome: str) -> None:
        with self.lock:
            self.counts[channel][outcome] += 1
            self.counts[channel]["sent"] += 1

    # -- REST and web chat ---------------------------------------------------
    def http(self, channel: str, sender: str, rng: random.Random) -> None:
        if rng.random() < 0.05:  # malformed bodies
            raw = rng.choice([b"", b"{", b"[]", b"\xff\xfe", b'{"sender": 5}',
                              b'{"sender": "a", "message": null}', random_unicode(
                                  rng, 40).encode("utf-8", "replace")])
        else:
            text = generate_text(rng)
            raw = b'{"sender": "' + sender.encode() + b'", "message": ' + json_text(text) + b"}"
        request = urllib.request.Request(
            f"{self.stack.base}/webhooks/{channel}/webhook", data=raw,
            headers={"Content-Type": "application/json"},
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=WAIT_REPLY_S) as response:
                body = json.loads(response.read())
                outcome = "answered" if body else "unanswered"
        except urllib.error.HTTPError as exc:
            outcome = "5xx" if exc.code >= 500 else f"clear {exc.code}"
        except Exception as exc:  # timeouts, resets: the citizen got nothing
            outcome = f"failed {type(exc).__name__}"
        self.slowest = max(self.slowest, time.monotonic() - started)
        self.count(channel, outcome)

    # -- Zalo ----------------------------------------------------------------
    def zalo_event(self, user: str, rng: random.Random) -> None:
        name = rng.choices(
            ["user_send_text", "user_send_image", "user_send_sticker", "user_send_location",
             "user_send_audio", "user_send_file", "user_send_business_card", "user_send_gif",
             "user_send_video", "user_send_link"],
            weights=[70, 6, 4, 3, 3, 3, 2, 3, 3, 3],
        )[0]
        text = generate_text(rng)
        message: dict[str, Any] = {"msg_id": uuid.uuid4().hex, "text": text}
        if name in ("user_send_image", "user_send_file"):
            message["attachments"] = [{"type": "image", "payload": {
                "url": f"{self.zalo.url}/files/none.jpg"}}]
            if rng.random() < 0.5:
                message["text"] = rng.choice(QUESTIONS)
        if name == "user_send_location":
            message["location"] = {"latitude": "21.0", "longitude": rng.choice(["105.8", "x"])}
        body = {"app_id": ZALO_APP_ID, "event_name": name, "sender": {"id": user},
                "recipient": {"id": "oa"}, "timestamp": str(int(time.time() * 1000)),
                "message": message}
        raw = json.dumps(body).encode()
        signature = event_signature(ZALO_APP_ID, raw, body["timestamp"], ZALO_OA_SECRET)
        before = self.zalo_replies(user)
        request = urllib.request.Request(
            f"{self.stack.base}/webhooks/zalo/webhook", data=raw,
            headers={"Content-Type": "application/json", "X-ZEvent-Signature": signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=WAIT_REPLY_S) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 413:  # 1.4 M characters: refused before parsing, as designed
                self.count("zalo", "clear 413")
            else:
                self.count("zalo", "5xx" if exc.code >= 500 else f"clear {exc.code}")
            return
        except Exception as exc:
            self.count("zalo", f"failed {type(exc).__name__}")
            return
        deadline = time.monotonic() + WAIT_REPLY_S
        while self.zalo_replies(user) == before:
            if time.monotonic() > deadline:
                self.count("zalo", "unanswered")
                return
            time.sleep(0.01)
        self.count("zalo", "answered")

    def zalo_replies(self, user: str) -> int:
        return sum(1 for m in list(self.zalo.messages) if m["recipient"]["user_id"] == user)

    # -- Telegram ------------------------------------------------------------
    def telegram_update(self, chat: int, rng: random.Random) -> None:
        text = generate_text(rng)[:10_000] or "?"
        kind = rng.random()
        if kind < 0.75:
            extra: dict[str, Any] = {"text": text}
        elif kind < 0.80:
            extra = {"photo": [{"file_id": "f", "file_unique_id": "f", "width": 1, "height": 1}],
                     "caption": rng.choice(QUESTIONS)}
        elif kind < 0.84:
            extra = {"sticker": {"file_id": "s", "file_unique_id": "s", "width": 1, "height": 1,
                                 "is_animated": False, "is_video": False, "type": "regular"}}
        elif kind < 0.88:
            extra = {"location": {"latitude": 21.0, "longitude": 105.8}}
        elif kind < 0.92:
            extra = {"contact": {"phone_number": rng.choice(["0987654321", text[:20] or "0"]),
                                 "first_name": "A"}}
        elif kind < 0.96:
            extra = {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 2}}
        else:
            extra = {"text": "/start " + rng.choice(["HS-7K3M-9QXP", "1_004194", "nop_1_004194",
                                                    "x" * 80, ""])}
        group = rng.random() < 0.15
        if group:
            update = self.telegram.group_message(-100_000 - chat, chat, **extra)
        else:
            update = self.telegram.message(chat, **extra)
        if extra.get("text", "").startswith("/"):
            command = extra["text"].split()[0]
            update["message"]["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command)}
            ]
        target = update["message"]["chat"]["id"]
        before = len(self.telegram.sent_texts(target))
        self.telegram.push(update)
        deadline = time.monotonic() + WAIT_REPLY_S
        while len(self.telegram.sent_texts(target)) == before:
            if time.monotonic() > deadline:
                self.count("telegram", "unanswered")
                return
            time.sleep(0.01)
        self.count("telegram", "answered")

    # -- driving ---------------------------------------------------------------
    def worker(self, index: int, quota: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        senders = {
            "rest": [f"fuzz-rest-{index}-{n}" for n in range(80)],
            "webchat": [f"fuzz-web-{index}-{n}" for n in range(80)],
            "zalo": [f"88{index:02d}{n:04d}" for n in range(80)],
            "telegram": [100_000 + index * 1000 + n for n in range(80)],
        }
        for _ in range(quota):
            channel = rng.choices(CHANNELS, weights=[35, 20, 25, 20])[0]
            sender = rng.choice(senders[channel])
            if channel in ("rest", "webchat"):
                self.http(channel, str(sender), rng)
            elif channel == "zalo":
                self.zalo_event(str(sender), rng)
            else:
                self.telegram_update(int(sender), rng)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()

    run = prepare_run("tthc-fuzz-")
    if run is None:
        return 2
    model, workdir, url, factory = run.model, run.workdir, run.database_url, run.factory

    loop = BackgroundLoop()
    zalo, telegram = FakeZalo(access_token="fuzz-access-token"), FakeTelegram()
    loop.run(zalo.start())
    loop.run(telegram.start())
    stack = Stack(workdir, url, model, zalo_api_url=zalo.url)
    stack.start()
    settings = TelegramSettings(
        token=telegram.token, api_base_url=telegram.api_base_url, rasa_url=stack.base,
        per_chat_rate=1000.0,
    )
    application = build_application(
        settings, store=ChannelStore(factory),
        attachments=AttachmentStore(factory, workdir / "attachments"),
    )

    async def start_bot() -> None:
        await application.initialize()
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)

    loop.run(start_bot())
    fuzzer = Fuzzer(stack, zalo, telegram, args.seed)
    peak = {"rasa": stack.rss_mb("rasa")}
    start_rss = peak["rasa"]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            peak["rasa"] = max(peak["rasa"], stack.rss_mb("rasa"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    quota = [args.messages // args.threads] * args.threads
    quota[0] += args.messages - sum(quota)
    threads = [
        threading.Thread(target=fuzzer.worker, args=(i, quota[i])) for i in range(args.threads)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        elapsed = time.monotonic() - started
        done.set()
        alive = {name: process.poll() is None for name, process in stack.processes.items()}

        async def stop_bot() -> None:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()

        loop.run(stop_bot())
        stack.stop()
    tracebacks = stack.tracebacks()
    total = Counter()
    print(f"model {model.name}; seed {args.seed}; {args.threads} threads; "
          f"{elapsed:.0f} s wall time")
    for channel in CHANNELS:
        counts = fuzzer.counts[channel]
        total.update(counts)
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "sent")
        print(f"{channel:9s} sent {counts['sent']:6d}: {detail}")
    print(f"{'all':9s} sent {total['sent']:6d}")
    bad = sum(v for k, v in total.items() if k == "5xx" or k == "unanswered"
              or k.startswith("failed"))
    print(f"5xx/unanswered/failed: {bad}; tracebacks logged: {tracebacks}; "
          f"servers alive at the end: {alive}")
    print(f"rasa server memory: {start_rss:.0f} MB at start, {peak['rasa']:.0f} MB peak; "
          f"slowest HTTP answer {fuzzer.slowest:.1f} s")
    print(f"logs: {workdir}")
    ok = bad == 0 and not any(tracebacks.values()) and all(alive.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
