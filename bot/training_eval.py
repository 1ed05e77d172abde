"""Evaluate one trained model for the model bank (issue 12), as a child process.

    python -m bot.training_eval --model var/model_bank/x.tar.gz --out eval.json \
        [--test-set tests/nlu/test_set.yml] [--real-messages tests/nlu/real_messages.yml] \
        [--dialogue [--dialogue-limit N]]

Parses the held-out set (`bot.nlu.evaluation` scoring rules: nlu_fallback is
wrong, "faq/x" compares as "faq") and, when it exists, issue 9's real-message
set (procedure codes only: it has no intent labels), and writes the
evaluation JSON that `training.gate.compare` reads: overall intent accuracy
and macro-F1, per-intent precision/recall/F1/support, procedure top-1/top-3.

With `--dialogue` (a full model: NLU + dialogue policies) it also runs issue
9's dialogue-level evaluation (`bot.nlu.dialogue_eval`: every message of the
bare-name and real-message sets from a fresh sender over the REST channel of
a real action server + Rasa server on loopback, fresh catalog database) and
adds `"dialogue"`: the real-message set's direct and acceptable rates (the
figures the gate compares) plus the bare names' acceptable rate, the counts
and the seconds it took (~4 min for the 349 messages on the dev machine).
Runs Rasa, hence a child process of the training worker (the console never
imports TensorFlow).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.nlu import evaluation, runtime

REAL_MESSAGES = runtime.PROJECT_ROOT / "tests" / "nlu" / "real_messages.yml"


def per_intent(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, float]]:
    """intent -> precision, recall, f1 (0..1, 4 decimals) and support, over gold labels."""
    out: dict[str, dict[str, float]] = {}
    for label in sorted(set(gold)):
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
        }
    return out


def _top(parses: Sequence[dict[str, Any]], acceptable: Sequence[Sequence[str]]) -> dict[str, Any]:
    pairs = [(p, a) for p, a in zip(parses, acceptable, strict=True) if a]
    if not pairs:
        return {"n": 0}  # nothing to score: no figure (the gate skips it)

    def codes(parse: dict[str, Any]) -> list[str]:
        return [c["code"] for c in parse.get("procedure_candidates") or []]

    top1 = sum(1 for p, a in pairs if codes(p)[:1] and codes(p)[0] in a)
    top3 = sum(1 for p, a in pairs if any(c in a for c in codes(p)[:3]))
    return {"n": len(pairs), "top1": round(top1 / len(pairs), 4),
            "top3": round(top3 / len(pairs), 4)}


def evaluate_model(
    model: Path, test_set: Path = evaluation.DEFAULT_TEST_SET, real_messages: Path | None = None
) -> dict[str, Any]:
    """The evaluation JSON of `model` (see training.gate for its shape)."""
    started = time.monotonic()
    examples = evaluation.load_test_set(test_set)
    real: list[dict[str, Any]] = []
    if real_messages is not None and real_messages.exists():
        data = yaml.safe_load(real_messages.read_text(encoding="utf-8")) or {}
        real = [i for i in data.get("items") or [] if isinstance(i, dict) and i.get("text")]
    parser = runtime.NLUParser(model)
    try:
        parses = [parser.parse(e.text) for e in examples]
        real_parses = [parser.parse(str(i["text"])) for i in real]
    finally:
        parser.close()
    gold = [e.intent for e in examples]
    predicted = evaluation._predicted_intents(parses)
    metrics = evaluation.intent_metrics(examples, predicted)
    result: dict[str, Any] = {
        "model": Path(model).name,
        "test_set": str(test_set),
        "n": len(examples),
        "intent": {
            "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"],
            "fallback_rate": metrics["fallback_rate"],
            "per_intent": per_intent(gold, predicted),
        },
        "procedure": _top(parses, [e.procedures for e in examples]),
    }
    if real:
        result["real_messages"] = _top(
            real_parses, [[str(c) for c in i.get("procedures") or []] for i in real]
        )
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def dialogue_figures(model: Path, limit: int | None = None) -> dict[str, Any]:
    """The dialogue-level figures of `model` for the gate (module doc).

    Rates are fractions 0..1 over each set's in-scope messages. Raises
    bot.runtime.ConfigurationError when a server does not start."""
    import tempfile

    from bot.nlu import dialogue_eval

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tthc-gate-dialogue-") as tmp:
        result = dialogue_eval.evaluate_dialogue(
            Path(model), out_dir=Path(tmp), limit=limit, workers=4
        )
    real = result.summary.get(dialogue_eval.REAL) or {}
    bare = result.summary.get(dialogue_eval.BARE) or {}
    out: dict[str, Any] = {
        "n": real.get("n", 0),
        "bare_n": bare.get("n", 0),
        "seconds": round(time.monotonic() - started, 1),
    }
    rates = real.get("rates") or {}
    for key in ("direct", "acceptable", "wrong", "not_understood"):
        if rates.get(key) is not None:
            out[key] = round(float(rates[key]), 4)
    if (bare.get("rates") or {}).get("acceptable") is not None:
        out["bare_acceptable"] = round(float(bare["rates"]["acceptable"]), 4)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.training_eval")
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--test-set", default=str(evaluation.DEFAULT_TEST_SET))
    parser.add_argument("--real-messages", default=str(REAL_MESSAGES))
    parser.add_argument("--dialogue", action="store_true",
                        help="also the dialogue-level figures through the real servers")
    parser.add_argument("--dialogue-limit", type=int, default=None,
                        help="with --dialogue: only the first N messages of each set")
    args = parser.parse_args(argv)
    # The training worker is stopped with SIGTERM: the dialogue level's servers must go too.
    from bot.runtime import stop_children_on_sigterm

    stop_children_on_sigterm()
    real = Path(args.real_messages) if args.real_messages else None
    result = evaluate_model(Path(args.model), Path(args.test_set), real)
    if args.dialogue:
        print("dialogue-level evaluation through the REST channel …", flush=True)
        result["dialogue"] = dialogue_figures(Path(args.model), args.dialogue_limit)
        print(f"dialogue: direct {result['dialogue'].get('direct', '-')}, acceptable "
              f"{result['dialogue'].get('acceptable', '-')} ({result['dialogue']['seconds']} s)",
              flush=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    print(f"evaluated {Path(args.model).name}: intent accuracy {result['intent']['accuracy']}, "
          f"procedure top-1 {result['procedure'].get('top1', '-')} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
