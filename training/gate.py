"""Comparing a candidate model with the live one, and the activation gate.

An *evaluation* (what `bot/training_eval.py` writes, JSON) of one model:

    {"n": 310,
     "intent": {"accuracy": 0.97, "macro_f1": 0.96,
                "per_intent": {"ask_fee": {"precision": .., "recall": .., "f1": ..,
                                           "support": 9}}},
     "procedure": {"top1": 0.93, "top3": 0.98, "n": 250},
     "real_messages": {"top1": 0.61, "top3": 0.80, "n": 200},    # when the set exists
     "dialogue": {"direct": 0.8, "acceptable": 0.95, "bare_acceptable": 1.0,
                  "n": 255, "seconds": 250}}       # full models (training.jobs, --dialogue)

`compare(live, candidate, margins)` lines the two up: every gated figure
(`GATED`: intent accuracy and macro-F1, procedure top-1/top-3 on the held-out
set and on the real-message set, the dialogue figures when both have them)
and every intent's precision/recall/F1. A figure *regresses* when the
candidate is lower than live by more than the margin (`overall` for the
aggregate figures, `per_intent` for an intent's F1, whose support is small).
The gate passes when nothing regresses; with no live model there is nothing
to regress from and it passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["GATED", "Comparison", "Margins", "Row", "compare"]

# (label, path in the evaluation)
GATED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Độ chính xác ý định", ("intent", "accuracy")),
    ("Macro-F1 ý định", ("intent", "macro_f1")),
    ("Thủ tục top-1", ("procedure", "top1")),
    ("Thủ tục top-3", ("procedure", "top3")),
    ("Câu thật: thủ tục top-1", ("real_messages", "top1")),
    ("Câu thật: thủ tục top-3", ("real_messages", "top3")),
    ("Hội thoại: trả lời đúng", ("dialogue", "direct")),
    ("Hội thoại: chấp nhận được", ("dialogue", "acceptable")),
    ("Hội thoại: tên thủ tục gõ riêng", ("dialogue", "bare_acceptable")),
)


@dataclass(frozen=True)
class Margins:
    """Largest allowed drop (absolute, 0..1): `overall` for aggregate figures,
    `per_intent` for one intent's F1."""

    overall: float = 0.02
    per_intent: float = 0.10


@dataclass
class Row:
    """One compared figure. `live`/`candidate` None when that model lacks it."""

    label: str
    live: float | None
    candidate: float | None
    regressed: bool = False

    @property
    def delta(self) -> float | None:
        if self.live is None or self.candidate is None:
            return None
        return round(self.candidate - self.live, 4)


@dataclass
class Comparison:
    """The gate's verdict and the rows it is based on."""

    overall: list[Row] = field(default_factory=list)
    per_intent: dict[str, dict[str, Row]] = field(default_factory=dict)
    margins: Margins = field(default_factory=Margins)
    has_live: bool = True

    @property
    def regressions(self) -> list[str]:
        """Labels of every regressed figure ("ask_fee F1" for intents)."""
        out = [row.label for row in self.overall if row.regressed]
        for intent, rows in sorted(self.per_intent.items()):
            out += [f"{intent} {name}" for name, row in rows.items() if row.regressed]
        return out

    @property
    def passed(self) -> bool:
        return not self.regressions

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (stored with the model; `from_json` reads it back)."""
        return {
            "passed": self.passed,
            "has_live": self.has_live,
            "regressions": self.regressions,
            "margins": asdict(self.margins),
            "overall": [{**asdict(r), "delta": r.delta} for r in self.overall],
            "per_intent": {
                intent: {name: {**asdict(r), "delta": r.delta} for name, r in rows.items()}
                for intent, rows in self.per_intent.items()
            },
        }


def _get(evaluation: Mapping[str, Any] | None, path: tuple[str, ...]) -> float | None:
    value: Any = evaluation
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) else None


def compare(
    live: Mapping[str, Any] | None,
    candidate: Mapping[str, Any],
    margins: Margins | None = None,
) -> Comparison:
    """Line up `candidate` against `live` (None: no live model) and decide (module doc)."""
    margins = margins or Margins()
    result = Comparison(margins=margins, has_live=live is not None)
    for label, path in GATED:
        old, new = _get(live, path), _get(candidate, path)
        if old is None and new is None:
            continue
        regressed = old is not None and (new is None or new < old - margins.overall - 1e-9)
        result.overall.append(Row(label, old, new, regressed))
    live_intents = _get_intents(live)
    new_intents = _get_intents(candidate)
    for intent in sorted(set(live_intents) | set(new_intents)):
        rows: dict[str, Row] = {}
        for name in ("precision", "recall", "f1"):
            old = live_intents.get(intent, {}).get(name)
            new = new_intents.get(intent, {}).get(name)
            regressed = (
                name == "f1"
                and old is not None
                and (new is None or new < old - margins.per_intent - 1e-9)
            )
            rows[name] = Row(name, old, new, regressed)
        result.per_intent[intent] = rows
    return result


def _get_intents(evaluation: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    per = ((evaluation or {}).get("intent") or {}).get("per_intent") or {}
    return {
        str(intent): {
            k: float(v) for k, v in (values or {}).items() if isinstance(v, (int, float))
        }
        for intent, values in per.items()
    }
