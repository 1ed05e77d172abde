"""`tthc evaluate`: our NLU pipeline against a Rasa baseline on the held-out set.

The held-out set (`tests/nlu/test_set.yml`, written independently of the
training data and never trained on) labels each message with its intent, the
acceptable procedure codes (`[]` when it names none) and a writing style
(diacritics | none | abbreviations | typos).

Two NLU-only models are trained on the same data with the same DIET
hyper-parameters and epochs: ours (`config.yml`) and a baseline of Rasa's
stock `WhitespaceTokenizer` + `CountVectorsFeaturizer` + `DIETClassifier`, so
the comparison isolates what the Vietnamese tokenizer/featurizers add.

Scoring rules (written down because they decide the numbers):

- intent: the model's final intent; `nlu_fallback` (our FallbackClassifier)
  counts as wrong — it is what the bot would act on. "faq/x" labels compare
  as "faq". Macro-F1 is over the gold intent labels.
- procedure top-1 / top-3: over examples with acceptable codes, whether the
  first / any of the first three `procedure_candidates` is acceptable.
  Entity accuracy: the emitted `procedure` entity is acceptable.
- no-procedure precision: over examples with `procedures: []`, the share
  where no `procedure` entity was emitted.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.nlu import runtime

logger = logging.getLogger(__name__)

DEFAULT_TEST_SET = runtime.PROJECT_ROOT / "tests" / "nlu" / "test_set.yml"
DEFAULT_REPORT_DIR = runtime.PROJECT_ROOT / "reports" / "nlu"
EVAL_MODELS_DIR = runtime.PROJECT_ROOT / "var" / "nlu" / "eval"
STYLES = ("diacritics", "none", "abbreviations", "typos")
FALLBACK_INTENT = "nlu_fallback"

TARGETS = {
    "intent_accuracy": 0.95,
    "intent_accuracy_none": 0.93,
    "procedure_top1": 0.92,
    "procedure_top3": 0.98,
    "error_ratio_vs_baseline": 0.5,  # ours / baseline error rate, at most
}


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    procedures: tuple[str, ...]
    style: str


def load_test_set(path: Path = DEFAULT_TEST_SET) -> list[Example]:
    """Read and validate the held-out set (format: version 1, `examples`)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if data.get("version") != 1:
        raise ValueError(f"{path}: expected `version: 1`")
    examples: list[Example] = []
    for number, item in enumerate(data.get("examples") or [], start=1):
        if not isinstance(item, dict) or not item.get("text") or not item.get("intent"):
            raise ValueError(f"{path}: example {number} needs `text` and `intent`")
        examples.append(
            Example(
                text=str(item["text"]),
                intent=base_intent(str(item["intent"])),
                procedures=tuple(str(c) for c in item.get("procedures") or []),
                style=str(item.get("style") or "unknown"),
            )
        )
    if not examples:
        raise ValueError(f"{path}: no examples")
    return examples


def base_intent(name: str | None) -> str:
    """"faq/vneid_login" -> "faq" (the held-out set labels retrieval intents plainly)."""
    return (name or "").split("/", 1)[0]


# --------------------------------------------------------------------------- metrics


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro-averaged F1 over the gold labels (a predicted label that is never
    gold, such as nlu_fallback, only costs recall)."""
    labels = sorted(set(gold))
    if not labels:
        return 0.0
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def intent_metrics(examples: Sequence[Example], predicted: Sequence[str]) -> dict[str, Any]:
    gold = [e.intent for e in examples]
    out: dict[str, Any] = {
        "n": len(gold),
        "accuracy": round(accuracy(gold, predicted), 4),
        "macro_f1": round(macro_f1(gold, predicted), 4),
        "fallback_rate": round(sum(p == FALLBACK_INTENT for p in predicted) / len(gold), 4)
        if gold
        else 0.0,
        "by_style": {},
    }
    styles = [s for s in STYLES if any(e.style == s for e in examples)]
    styles += sorted({e.style for e in examples} - set(styles))
    for style in styles:
        idx = [i for i, e in enumerate(examples) if e.style == style]
        g = [gold[i] for i in idx]
        p = [predicted[i] for i in idx]
        out["by_style"][style] = {
            "n": len(idx),
            "accuracy": round(accuracy(g, p), 4),
            "macro_f1": round(macro_f1(g, p), 4),
        }
    return out


def procedure_metrics(
    examples: Sequence[Example], parses: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    pos = [(e, r) for e, r in zip(examples, parses, strict=True) if e.procedures]
    neg = [(e, r) for e, r in zip(examples, parses, strict=True) if not e.procedures]

    def codes(parse: dict[str, Any]) -> list[str]:
        return [c["code"] for c in parse.get("procedure_candidates") or []]

    def entity(parse: dict[str, Any]) -> str | None:
        return (parse.get("procedure") or {}).get("code")

    top1 = sum(1 for e, r in pos if codes(r)[:1] and codes(r)[0] in e.procedures)
    top3 = sum(1 for e, r in pos if any(c in e.procedures for c in codes(r)[:3]))
    entity_ok = sum(1 for e, r in pos if entity(r) in e.procedures)
    emitted = sum(1 for _, r in pos if entity(r))
    silent = sum(1 for _, r in neg if not entity(r))
    by_style: dict[str, Any] = {}
    for style in sorted({e.style for e, _ in pos}):
        items = [(e, r) for e, r in pos if e.style == style]
        by_style[style] = {
            "n": len(items),
            "top1": round(
                sum(1 for e, r in items if codes(r)[:1] and codes(r)[0] in e.procedures)
                / len(items),
                4,
            ),
        }
    return {
        "n_with_procedure": len(pos),
        "n_without_procedure": len(neg),
        "top1": round(top1 / len(pos), 4) if pos else 0.0,
        "top3": round(top3 / len(pos), 4) if pos else 0.0,
        "entity_accuracy": round(entity_ok / len(pos), 4) if pos else 0.0,
        "entity_precision": round(entity_ok / emitted, 4) if emitted else 0.0,
        "no_procedure_precision": round(silent / len(neg), 4) if neg else 1.0,
        "by_style": by_style,
    }


def check_targets(summary: dict[str, Any]) -> list[str]:
    """Human-readable list of missed targets ([] when all are met)."""
    ours = summary["models"]["ours"]
    missed: list[str] = []

    def need(name: str, value: float, target: float, at_most: bool = False) -> None:
        ok = value <= target if at_most else value >= target
        if not ok:
            sign = "<=" if at_most else ">="
            missed.append(f"{name} = {value:.4f} (target {sign} {target})")

    need("intent accuracy", ours["intent"]["accuracy"], TARGETS["intent_accuracy"])
    none_style = ours["intent"]["by_style"].get("none")
    if none_style:
        need(
            "intent accuracy (style none)",
            none_style["accuracy"],
            TARGETS["intent_accuracy_none"],
        )
    need("procedure top-1", ours["procedure"]["top1"], TARGETS["procedure_top1"])
    need("procedure top-3", ours["procedure"]["top3"], TARGETS["procedure_top3"])
    ratio = summary.get("error_ratio_vs_baseline")
    if ratio is not None:
        need("error rate ratio ours/baseline", ratio, TARGETS["error_ratio_vs_baseline"], True)
    return missed


# --------------------------------------------------------------------------- models


def baseline_config(config_path: Path, out_path: Path) -> Path:
    """Rasa's stock pipeline with our DIET hyper-parameters (same epochs)."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    diet = next(
        (dict(c) for c in config.get("pipeline") or [] if c.get("name") == "DIETClassifier"),
        {"name": "DIETClassifier", "epochs": 40},
    )
    diet["entity_recognition"] = False
    baseline = {
        "recipe": "default.v1",
        "language": config.get("language", "vi"),
        "assistant_id": "tthc-bot-baseline",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "CountVectorsFeaturizer"},
            diet,
        ],
        "policies": [],
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(
        "# Generated by bot/nlu/evaluation.py: the baseline of `tthc evaluate`.\n"
        + yaml.safe_dump(baseline, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return out_path


def train_or_reuse(
    name: str,
    config: Path,
    training_paths: Sequence[Path],
    models_dir: Path,
    retrain: bool = False,
) -> tuple[Path, float | None]:
    """(model path, training seconds or None when reused) for an evaluation model.

    A model is reused when config, data and NLU code are byte-identical to the
    ones it was trained from, so re-running `tthc evaluate` is cheap.
    """
    import time

    # The baseline uses none of our components: our code changes do not touch it.
    fingerprint = runtime.input_fingerprint(
        [config, *training_paths], extra=name, include_code=(name != "baseline")
    )
    if not retrain:
        model = runtime.fresh_model(models_dir, name, fingerprint)
        if model is not None:
            return model, None
    started = time.monotonic()
    model = runtime.train_nlu_model(config, training_paths, models_dir, fixed_model_name=name)
    seconds = time.monotonic() - started
    runtime.write_fingerprint(models_dir, name, fingerprint, model)
    return model, seconds


def parse_all(model: Path, texts: Sequence[str]) -> list[dict[str, Any]]:
    parser = runtime.NLUParser(model)
    try:
        return [parser.parse(text) for text in texts]
    finally:
        parser.close()


# --------------------------------------------------------------------------- reports


def _predicted_intents(parses: Sequence[dict[str, Any]]) -> list[str]:
    return [base_intent((p.get("intent") or {}).get("name")) or "None" for p in parses]


def model_summary(
    examples: Sequence[Example], parses: Sequence[dict[str, Any]], with_procedures: bool
) -> dict[str, Any]:
    summary = {"intent": intent_metrics(examples, _predicted_intents(parses))}
    if with_procedures:
        summary["procedure"] = procedure_metrics(examples, parses)
    return summary


def error_records(
    model_name: str, examples: Sequence[Example], parses: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for example, parse in zip(examples, parses, strict=True):
        predicted = base_intent((parse.get("intent") or {}).get("name"))
        base = {
            "model": model_name,
            "text": example.text,
            "style": example.style,
            "intent": example.intent,
        }
        if predicted != example.intent:
            ranking = parse.get("intent_ranking") or []
            confidence = float((parse.get("intent") or {}).get("confidence") or 0)
            records.append(
                {
                    **base,
                    "kind": "intent",
                    "predicted": predicted,
                    "confidence": round(confidence, 4),
                    "ranking": [
                        {"name": r["name"], "confidence": round(float(r["confidence"]), 4)}
                        for r in ranking[:3]
                    ],
                }
            )
        if model_name != "ours":
            continue
        candidates = [c["code"] for c in parse.get("procedure_candidates") or []]
        emitted = (parse.get("procedure") or {}).get("code")
        if example.procedures and not (candidates[:1] and candidates[0] in example.procedures):
            records.append(
                {
                    **base,
                    "kind": "procedure",
                    "expected": list(example.procedures),
                    "candidates": (parse.get("procedure_candidates") or [])[:3],
                    "entity": emitted,
                }
            )
        elif not example.procedures and emitted:
            records.append(
                {
                    **base,
                    "kind": "no_procedure",
                    "entity": emitted,
                    "candidates": (parse.get("procedure_candidates") or [])[:1],
                }
            )
    return records


def plot_confusion(
    examples: Sequence[Example], parses_by_model: Mapping[str, Sequence[dict[str, Any]]], out: Path
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    gold_labels = sorted({e.intent for e in examples})
    models = list(parses_by_model)
    fig, axes = plt.subplots(1, len(models), figsize=(9 * len(models), 8.5), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        predicted = _predicted_intents(parses_by_model[model])
        extra = sorted(set(predicted) - set(gold_labels))
        columns = gold_labels + extra
        matrix = np.zeros((len(gold_labels), len(columns)), dtype=int)
        for example, pred in zip(examples, predicted, strict=True):
            matrix[gold_labels.index(example.intent), columns.index(pred)] += 1
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
        ax.set_yticks(range(len(gold_labels)), gold_labels, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        acc = accuracy([e.intent for e in examples], predicted)
        ax.set_title(f"{model}: intent accuracy {acc:.3f}")
        for (i, j), value in np.ndenumerate(matrix):
            if value:
                color = "white" if value > matrix.max() / 2 else "black"
                ax.text(j, i, str(value), ha="center", va="center", fontsize=6, color=color)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def render_markdown(summary: dict[str, Any]) -> str:
    ours = summary["models"]["ours"]
    base = summary["models"].get("baseline")
    lines = [
        "# NLU evaluation (held-out set)",
        "",
        f"Test set: `{summary['test_set']}` ({summary['n_examples']} examples). "
        "Intent = final intent (nlu_fallback counts as wrong).",
        "",
        "## Intent",
        "",
        "| slice | n | ours acc | ours macro-F1 | baseline acc | baseline macro-F1 |",
        "|---|---|---|---|---|---|",
    ]

    def row(label: str, o: dict[str, Any], b: dict[str, Any] | None) -> str:
        b_acc = f"{b['accuracy']:.3f}" if b else "-"
        b_f1 = f"{b['macro_f1']:.3f}" if b else "-"
        return (
            f"| {label} | {o['n']} | {o['accuracy']:.3f} | {o['macro_f1']:.3f} "
            f"| {b_acc} | {b_f1} |"
        )

    lines.append(row("overall", ours["intent"], base["intent"] if base else None))
    for style, stats in ours["intent"]["by_style"].items():
        b = base["intent"]["by_style"].get(style) if base else None
        lines.append(row(f"style `{style}`", stats, b))
    proc = ours["procedure"]
    lines += [
        "",
        f"Fallback rate (ours): {ours['intent']['fallback_rate']:.3f}. "
        f"Error rate ours/baseline: {summary.get('error_ratio_vs_baseline')}.",
        "",
        "## Procedure (ours)",
        "",
        "| metric | value |",
        "|---|---|",
        f"| top-1 (first candidate acceptable, n={proc['n_with_procedure']}) "
        f"| {proc['top1']:.3f} |",
        f"| top-3 | {proc['top3']:.3f} |",
        f"| entity accuracy (emitted `procedure` acceptable) | {proc['entity_accuracy']:.3f} |",
        f"| entity precision (emitted and acceptable / emitted) | {proc['entity_precision']:.3f} |",
        f"| no-procedure precision (n={proc['n_without_procedure']}) "
        f"| {proc['no_procedure_precision']:.3f} |",
        "",
        "## Targets",
        "",
    ]
    missed = summary["missed_targets"]
    lines += [f"- MISSED: {m}" for m in missed] if missed else ["All targets met."]
    if summary.get("training_seconds"):
        lines += ["", "## Training time (s)", ""]
        lines += [f"- {k}: {v}" for k, v in summary["training_seconds"].items()]
    return "\n".join(lines) + "\n"


def print_table(summary: dict[str, Any]) -> None:
    ours = summary["models"]["ours"]
    base = summary["models"].get("baseline")
    print(f"{'slice':<16}{'n':>5}{'ours acc':>10}{'ours F1':>9}{'base acc':>10}{'base F1':>9}")

    def line(label: str, o: dict[str, Any], b: dict[str, Any] | None) -> None:
        b_acc = f"{b['accuracy']:.3f}" if b else "-"
        b_f1 = f"{b['macro_f1']:.3f}" if b else "-"
        print(f"{label:<16}{o['n']:>5}{o['accuracy']:>10.3f}{o['macro_f1']:>9.3f}{b_acc:>10}{b_f1:>9}")

    line("overall", ours["intent"], base["intent"] if base else None)
    for style, stats in ours["intent"]["by_style"].items():
        line(style, stats, base["intent"]["by_style"].get(style) if base else None)
    proc = ours["procedure"]
    print(
        f"procedure top-1 {proc['top1']:.3f}  top-3 {proc['top3']:.3f}  "
        f"entity acc {proc['entity_accuracy']:.3f}  "
        f"no-procedure precision {proc['no_procedure_precision']:.3f}"
    )
    print(f"error rate ours/baseline: {summary.get('error_ratio_vs_baseline')}")
    for missed in summary["missed_targets"]:
        print(f"MISSED: {missed}")
    if not summary["missed_targets"]:
        print("all targets met")


@dataclass
class EvaluationResult:
    summary: dict[str, Any]
    report_dir: Path
    missed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missed


def summarize(
    examples: Sequence[Example],
    parses_by_model: Mapping[str, Sequence[dict[str, Any]]],
    test_set: Path,
) -> dict[str, Any]:
    models = {
        name: model_summary(examples, parses, with_procedures=(name == "ours"))
        for name, parses in parses_by_model.items()
    }
    try:
        shown = str(Path(test_set).resolve().relative_to(runtime.PROJECT_ROOT))
    except ValueError:
        shown = str(test_set)
    summary: dict[str, Any] = {
        "test_set": shown,
        "n_examples": len(examples),
        "styles": dict(Counter(e.style for e in examples)),
        "targets": TARGETS,
        "models": models,
    }
    if "baseline" in models:
        ours_err = 1 - models["ours"]["intent"]["accuracy"]
        base_err = 1 - models["baseline"]["intent"]["accuracy"]
        summary["error_rate"] = {"ours": round(ours_err, 4), "baseline": round(base_err, 4)}
        summary["error_ratio_vs_baseline"] = (
            round(ours_err / base_err, 4) if base_err > 0 else (0.0 if ours_err == 0 else None)
        )
    summary["missed_targets"] = check_targets(summary)
    return summary


def write_reports(
    summary: dict[str, Any],
    examples: Sequence[Example],
    parses_by_model: Mapping[str, Sequence[dict[str, Any]]],
    report_dir: Path,
) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (report_dir / "summary.md").write_text(render_markdown(summary), encoding="utf-8")
    with (report_dir / "errors.jsonl").open("w", encoding="utf-8") as handle:
        for name, parses in parses_by_model.items():
            for record in error_records(name, examples, parses):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    plot_confusion(examples, parses_by_model, report_dir / "confusion_matrix.png")


def evaluate(
    test_set: Path = DEFAULT_TEST_SET,
    report_dir: Path = DEFAULT_REPORT_DIR,
    config: Path = runtime.DEFAULT_CONFIG,
    models_dir: Path = EVAL_MODELS_DIR,
    retrain: bool = False,
    with_baseline: bool = True,
    regenerate: bool = True,
    model: Path | None = None,
) -> EvaluationResult:
    """Train (or reuse) both models, parse the held-out set, write the reports.

    `model`: evaluate this trained model (e.g. the one `tthc train` shipped to
    models/) as "ours" instead of training an NLU-only copy of it; `make test`
    does so to save one training run.
    """
    runtime.quiet_environment()
    examples = load_test_set(test_set)
    if regenerate or not runtime.GENERATED_NLU.exists():
        runtime.generate_training_data(runtime.GENERATED_NLU)
    training_paths = runtime.nlu_training_paths()
    texts = [e.text for e in examples]

    parses_by_model: dict[str, list[dict[str, Any]]] = {}
    seconds: dict[str, float | None] = {}
    if model is None:
        ours, seconds["ours"] = train_or_reuse("ours", config, training_paths, models_dir, retrain)
    else:
        ours, seconds["ours"] = model, None
    parses_by_model["ours"] = parse_all(ours, texts)
    if with_baseline:
        base_cfg = baseline_config(config, models_dir / "baseline_config.yml")
        baseline, seconds["baseline"] = train_or_reuse(
            "baseline", base_cfg, training_paths, models_dir, retrain
        )
        parses_by_model["baseline"] = parse_all(baseline, texts)

    summary = summarize(examples, parses_by_model, test_set)
    summary["model"] = str(ours.name)
    summary["training_seconds"] = {
        k: (round(v, 1) if v is not None else "reused") for k, v in seconds.items()
    }
    write_reports(summary, examples, parses_by_model, report_dir)
    return EvaluationResult(summary, report_dir, summary["missed_targets"])
