"""NLU benchmarks: parse latency of a trained model, and `tthc train` cost.

    python benchmarks/nlu_parse.py latency [--model models/] [--rounds 3] [--texts FILE]
    python benchmarks/nlu_parse.py train [--nlu-only]

`latency` loads the model once and parses every held-out text (or the lines of
--texts, or a fixed list) `--rounds` times, one message at a time as the bot
does. It reports the first (cold: first time each text is seen) round
separately from all rounds, because the process keeps warm caches. Targets:
median <= 20 ms, p95 <= 50 ms per message.

`train` runs `tthc train` in a child process and reports wall time and the
child's peak RSS (resource.getrusage(RUSAGE_CHILDREN)). Targets: <= 5 min,
<= 2 GB.

Numbers are printed, never asserted: they depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

FIXED_TEXTS = [
    "đăng ký khai sinh cần giấy tờ gì",
    "dk ks cho be can nhung gi",
    "lệ phí làm hộ chiếu bao nhiêu",
    "doi gplx mat bao lau",
    "làm cccd ở đâu",
    "hồ sơ HS-7K2M-Q9XD của tôi tới đâu rồi",
    "cảm ơn nhé",
    "xin chào",
    "tôi muốn nộp hồ sơ đăng ký kết hôn",
    "quên mật khẩu tài khoản dịch vụ công",
]

TARGET_MEDIAN_MS = 20.0
TARGET_P95_MS = 50.0
TARGET_TRAIN_S = 300.0
TARGET_TRAIN_RSS_MB = 2048.0


def _held_out_texts() -> list[str]:
    path = PROJECT_ROOT / "tests" / "nlu" / "test_set.yml"
    if not path.exists():
        return FIXED_TEXTS
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(e["text"]) for e in data.get("examples") or []] or FIXED_TEXTS


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _stats(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(_percentile(ms, 0.95), 2),
        "max_ms": round(max(ms), 2),
    }


def bench_latency(model: Path, rounds: int, texts: list[str]) -> dict[str, object]:
    from bot.nlu import runtime

    runtime.quiet_environment()
    started = time.perf_counter()
    parser = runtime.NLUParser(runtime.latest_model(model))
    load_s = time.perf_counter() - started
    parser.parse("xin chào")  # first-call graph/TF set-up is start-up cost, not per message

    per_round: list[list[float]] = []
    for _ in range(rounds):
        timings = []
        for text in texts:
            t0 = time.perf_counter()
            parser.parse(text)
            timings.append((time.perf_counter() - t0) * 1000)
        per_round.append(timings)
    parser.close()
    everything = [ms for timings in per_round for ms in timings]
    return {
        "model": str(parser.model_path),
        "load_s": round(load_s, 2),
        "texts": len(texts),
        "rounds": rounds,
        "first_round": _stats(per_round[0]),
        "all_rounds": _stats(everything),
        "targets": {"median_ms": TARGET_MEDIAN_MS, "p95_ms": TARGET_P95_MS},
    }


def bench_train(nlu_only: bool, out: Path) -> dict[str, object]:
    command = [sys.executable, "-m", "bot.cli.nlu_cmd", "train", "--out", str(out)]
    if nlu_only:
        command.append("--nlu-only")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(PROJECT_ROOT)}
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=False)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    return {
        "command": " ".join(command[1:]),
        "exit_status": completed.returncode,
        "wall_s": round(wall, 1),
        "cpu_user_s": round(usage.ru_utime, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "targets": {"wall_s": TARGET_TRAIN_S, "peak_rss_mb": TARGET_TRAIN_RSS_MB},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("latency", help="parse latency per message")
    p.add_argument("--model", default=str(PROJECT_ROOT / "models"), help="model file or folder")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--texts", help="file with one message per line (default: held-out set)")
    p.add_argument("--fixed", action="store_true", help="use the built-in list of messages")
    p = sub.add_parser("train", help="wall time and peak RSS of `tthc train`")
    p.add_argument("--nlu-only", action="store_true")
    p.add_argument("--out", default=str(PROJECT_ROOT / "var" / "nlu" / "bench-models"))
    args = parser.parse_args(argv)

    info = {"python": platform.python_version(), "cpus": os.cpu_count()}
    if args.mode == "latency":
        if args.texts:
            texts = [t for t in Path(args.texts).read_text(encoding="utf-8").splitlines() if t]
        else:
            texts = FIXED_TEXTS if args.fixed else _held_out_texts()
        result = bench_latency(Path(args.model), max(1, args.rounds), texts)
        first, overall = result["first_round"], result["all_rounds"]
        print(
            f"parse latency over {result['texts']} texts x {result['rounds']} rounds "
            f"(model load {result['load_s']} s)\n"
            f"  first round: median {first['median_ms']} ms, p95 {first['p95_ms']} ms\n"
            f"  all rounds:  median {overall['median_ms']} ms, p95 {overall['p95_ms']} ms "
            f"(targets: median <= {TARGET_MEDIAN_MS}, p95 <= {TARGET_P95_MS})"
        )
    else:
        result = bench_train(args.nlu_only, Path(args.out))
        print(
            f"{result['command']}: exit {result['exit_status']}, wall {result['wall_s']} s, "
            f"peak RSS {result['peak_rss_mb']} MB (targets: <= {TARGET_TRAIN_S} s, "
            f"<= {TARGET_TRAIN_RSS_MB} MB)"
        )
    print(json.dumps({**info, **result}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
