"""`tthc train`, `tthc parse`, `tthc evaluate`: the model and its NLU.

- `train`: regenerate the procedure-mention examples (bot.nlu.training_data)
  and a stale generated domain file (bot.domain_build), then train with
  Rasa's Python API into `models/` (NLU + Core, or NLU only).
- `parse`: run the latest model on a message (or on JSON lines from stdin,
  loading the model once) and print the JSON contract of bot.nlu.runtime.
- `evaluate`: ours vs a Rasa baseline on the held-out set; reports under
  `reports/nlu/`; exit status 1 when a target is missed. `evaluate --dialogue`
  sends the dialogue sets through the real servers instead (bot.nlu.dialogue_eval).

Rasa/TensorFlow are imported inside the handlers (seconds of import time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

try:
    from bot.cli import CommandError
except ImportError:  # pragma: no cover - only when run without the lead's CLI package

    class CommandError(Exception):  # type: ignore[no-redef]  # stand-in when bot.cli is absent
        def __init__(self, message: str, status: int = 1) -> None:
            super().__init__(message)
            self.status = status


def _runtime() -> Any:
    from bot.nlu import runtime

    runtime.quiet_environment()
    return runtime


# --------------------------------------------------------------------------- train


def _train(args: argparse.Namespace) -> int:
    runtime = _runtime()
    out = Path(args.out)
    config = Path(args.config)
    domain = Path(args.domain)
    if not config.exists():
        raise CommandError(f"config not found: {config}")

    if domain.resolve() == runtime.DEFAULT_DOMAIN.resolve():
        from bot import domain_build

        # The form's domain is generated from its data, like the NLU examples below.
        for path in domain_build.build():
            print(f"tthc: regenerated {path} (dossiers/form_fields.yml changed)", file=sys.stderr)
    generated = runtime.generate_training_data(runtime.GENERATED_NLU)
    paths = runtime.nlu_training_paths(generated)
    nlu_only = args.nlu_only or not domain.exists()
    if not args.nlu_only and not domain.exists():
        print(f"tthc: no domain at {domain}; training an NLU-only model", file=sys.stderr)
    extra = [Path(p) for p in args.data or []]
    key = "nlu" if nlu_only else "full"
    inputs = [config, *paths, *extra] + ([] if nlu_only else [domain])
    fingerprint = runtime.input_fingerprint(inputs, extra=key)
    if args.if_stale:
        fresh = runtime.fresh_model(out, key, fingerprint)
        if fresh is not None:
            print(f"model is up to date: {fresh}")
            return 0

    started = time.monotonic()
    try:
        if nlu_only:
            model = runtime.train_nlu_model(
                config, [*paths, *extra], out, fixed_model_name=args.fixed_model_name,
                domain=domain,
            )
        else:
            model = runtime.train_full_model(
                config, domain, [*paths, *extra], out, fixed_model_name=args.fixed_model_name
            )
    except (ValueError, RuntimeError) as exc:
        raise CommandError(str(exc)) from exc
    runtime.write_fingerprint(out, key, fingerprint, model)
    print(f"trained {'NLU-only' if nlu_only else 'NLU + Core'} model {model} "
          f"in {time.monotonic() - started:.0f} s")
    return 0


# --------------------------------------------------------------------------- parse


def _format_human(result: dict[str, Any]) -> str:
    intent = result["intent"]
    lines = [f"intent: {intent['name']} ({intent['confidence']:.3f})"]
    for entity in result["entities"]:
        lines.append(
            f"entity: {entity.get('entity')} = {entity.get('value')!r} "
            f"[{entity.get('start')}:{entity.get('end')}] ({entity.get('extractor')})"
        )
    procedure = result["procedure"]
    if procedure:
        lines.append(f"procedure: {procedure['code']} {procedure['name']} ({procedure['score']})")
    for candidate in result["procedure_candidates"]:
        lines.append(
            f"  candidate: {candidate['code']} {candidate['score']:5.1f} {candidate['name']}"
        )
    return "\n".join(lines)


def _parse(args: argparse.Namespace) -> int:
    runtime = _runtime()
    if not args.jsonl and args.text is None:
        raise CommandError("give a message, or --jsonl to read messages from stdin")
    try:
        parser = runtime.NLUParser(runtime.latest_model(Path(args.model)))
    except Exception as exc:  # ModelNotFound and friends
        raise CommandError(f"cannot load a model from {args.model}: {exc}") from exc
    try:
        if args.jsonl:
            for line in sys.stdin:
                text = line.rstrip("\n")
                # A line may be a JSON string or object {"text": ...}; else raw text.
                stripped = text.strip()
                if stripped.startswith(("{", '"')):
                    try:
                        value = json.loads(stripped)
                        text = value.get("text", "") if isinstance(value, dict) else str(value)
                    except ValueError:
                        pass
                print(json.dumps(parser.parse(text), ensure_ascii=False), flush=True)
            return 0
        result = parser.parse(args.text)
        if args.json:
            print(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            print(_format_human(result))
        return 0
    finally:
        parser.close()


# --------------------------------------------------------------------------- evaluate


def _evaluate_dialogue(args: argparse.Namespace) -> int:
    """`tthc evaluate --dialogue`: the first reply to each message of the
    dialogue sets through the real stack (bot.nlu.dialogue_eval)."""
    _runtime()
    from bot.nlu import dialogue_eval
    from bot.runtime import ConfigurationError, latest_model, stop_children_on_sigterm

    stop_children_on_sigterm()  # a CI timeout or `kill` must not leave its servers running
    model = latest_model(Path(args.model or "models"))
    if model is None:
        raise CommandError(f"no model at {args.model or 'models/'}: run `tthc train` first")
    sets = [
        (dialogue_eval.BARE, Path(args.bare_names)),
        (dialogue_eval.REAL, Path(args.real_messages)),
    ]
    for _, path in sets:
        if not path.exists():
            raise CommandError(f"dialogue set not found: {path}")
    try:
        result = dialogue_eval.evaluate_dialogue(
            model,
            sets=sets,
            out_dir=Path(args.out),
            workers=args.workers,
            limit=args.limit,
            database_url=args.database_url,
            progress=lambda message: print(message, file=sys.stderr, flush=True),
        )
    except (ConfigurationError, ValueError, RuntimeError) as exc:
        raise CommandError(str(exc)) from exc
    dialogue_eval.print_table(result.summary)
    print(f"reports written to {result.report_md} and {result.report_json}")
    for miss in result.misses:
        print(f"target missed: {miss}", file=sys.stderr)
    errors = sum(r.kind == "error" for r in result.results)
    if errors:
        print(f"warning: {errors} messages got no HTTP reply (counted as not understood); "
              f"see {result.report_json}", file=sys.stderr)
    if args.report_only:
        return 0
    return 0 if result.ok else 1


def _evaluate(args: argparse.Namespace) -> int:
    if args.dialogue:
        return _evaluate_dialogue(args)
    _runtime()
    from bot.nlu import evaluation

    test_set = Path(args.test_set)
    if not test_set.exists():
        raise CommandError(f"held-out set not found: {test_set}")
    model = None
    if args.model:
        from bot.runtime import latest_model

        model = latest_model(Path(args.model))
        if model is None:
            raise CommandError(f"no model at {args.model}: run `tthc train` first")
    try:
        result = evaluation.evaluate(
            test_set=test_set,
            report_dir=Path(args.out),
            config=Path(args.config),
            models_dir=Path(args.models_dir),
            retrain=args.retrain,
            with_baseline=not args.no_baseline,
            model=model,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    evaluation.print_table(result.summary)
    print(f"reports written to {result.report_dir}")
    return 0 if result.ok else 1


# --------------------------------------------------------------------------- registration


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `train`, `parse` and `evaluate` to the `tthc` command line."""
    from bot.nlu import runtime as rt  # light: no Rasa import at module level

    p = subparsers.add_parser("train", help="generate NLU examples and train the Rasa model")
    p.add_argument("--nlu-only", action="store_true", help="train the NLU pipeline only")
    p.add_argument("--out", default=str(rt.DEFAULT_MODELS), help="output folder (models/)")
    p.add_argument("--config", default=str(rt.DEFAULT_CONFIG))
    p.add_argument("--domain", default=str(rt.DEFAULT_DOMAIN))
    p.add_argument("--data", action="append", help="extra training data path (repeatable)")
    p.add_argument("--fixed-model-name", help="model file name instead of a timestamp")
    p.add_argument(
        "--if-stale", action="store_true",
        help="skip when a model trained from identical inputs is in --out",
    )
    p.set_defaults(handler=_train)

    p = subparsers.add_parser("parse", help="parse a message with the latest model")
    p.add_argument("text", nargs="?", help="the message")
    p.add_argument("--json", action="store_true", help="print the JSON contract")
    p.add_argument(
        "--jsonl", action="store_true", help="read one message per line on stdin, write JSON lines"
    )
    p.add_argument("--model", default=str(rt.DEFAULT_MODELS), help="model file or folder")
    p.set_defaults(handler=_parse)

    from bot.nlu import evaluation as ev  # light too: Rasa is imported when it runs

    p = subparsers.add_parser("evaluate", help="evaluate the NLU on the held-out set")
    p.add_argument("--test-set", default=str(ev.DEFAULT_TEST_SET))
    p.add_argument("--out", default=str(ev.DEFAULT_REPORT_DIR))
    p.add_argument("--config", default=str(rt.DEFAULT_CONFIG))
    p.add_argument(
        "--models-dir",
        default=str(ev.EVAL_MODELS_DIR),
        help="where evaluation models are trained and reused (one per comparison run)",
    )
    p.add_argument("--retrain", action="store_true", help="retrain even if inputs are unchanged")
    p.add_argument("--no-baseline", action="store_true", help="skip the baseline model")
    p.add_argument(
        "--model",
        help="evaluate this trained model (file, or folder: its newest) instead of training "
        "an NLU-only copy of config.yml; the baseline is still trained (or reused)",
    )
    from bot.nlu import dialogue_eval as de  # light: servers start only when it runs

    p.add_argument(
        "--dialogue", action="store_true",
        help="send the dialogue sets through the real action + Rasa servers (newest model of "
        "--model, default models/) and classify each first reply; exit 1 below target",
    )
    p.add_argument("--report-only", action="store_true",
                   help="with --dialogue: write and print the report, never fail on targets")
    p.add_argument("--bare-names", default=str(de.DEFAULT_BARE_NAMES))
    p.add_argument("--real-messages", default=str(de.DEFAULT_REAL_MESSAGES))
    p.add_argument("--workers", type=int, default=4,
                   help="with --dialogue: messages in flight at once")
    p.add_argument("--limit", type=int, help="with --dialogue: only the first N of each set")
    p.add_argument("--database-url",
                   help="with --dialogue: use this catalog database instead of a fresh import")
    p.set_defaults(handler=_evaluate)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m bot.cli.nlu_cmd ...`) for when the lead's
    `tthc` is not installed."""
    parser = argparse.ArgumentParser(prog="tthc")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"tthc: {exc}", file=sys.stderr)
        return getattr(exc, "status", 1)


if __name__ == "__main__":
    sys.exit(main())
