"""`tthc evaluate --dialogue`: what a citizen sees on their FIRST message.

Each message of the public dialogue sets (`tests/nlu/bare_names.yml`,
`tests/nlu/real_messages.yml`) is sent from a fresh sender over the REST
channel of the real stack (action server + Rasa server on loopback ports, the
newest model in `models/`, a fresh SQLite database with the full catalog), and
the bot's first reply (every bot message returned for that one message) is
classified. The rules, also published for the understanding side in
`/work/coord/reply-contract.md`, follow the reply format of `catalog/answers.py`,
`actions/procedure_actions.py`, `actions/support_actions.py` and
`bot/domain/core.yml`; first match wins:

1. `direct` / `wrong`: a bot message whose first line is the answer header
   "📄 <name> (mã <code>)"; the first such code is the procedure answered:
   acceptable → `direct`, else `wrong`.
   Then `form_started`: the dossier form began ("cùng nộp hồ sơ") instead of
   an answer; its procedure picker's buttons are not a choice (code recorded).
2. `short_choice` / `long_choice` / `wrong`: buttons with payload
   `/inform{"procedure": "<code>"}` (the "which one?" question, variant
   questions included); the options are their codes in order. An acceptable
   code among ≤ 3 options → `short_choice`, among more → `long_choice`;
   none → `wrong`.
3. `not_found` ("chưa tìm thấy thủ tục"), 4. `which_procedure` ("Bạn muốn hỏi
   về thủ tục nào?"), 5. `not_understood` ("chưa hiểu ý bạn", or no reply),
   6. `out_of_scope` ("chỉ hỗ trợ về thủ tục hành chính"), 7. `handoff`
   ("chuyển yêu cầu" … "cán bộ"), 8. `other`. Texts are compared
   accent-folded.

Buckets (each in-scope message falls in exactly one): `direct`,
`short_choice`, `long_choice`, `wrong`, `not_understood` (form_started,
kinds 3-8 and transport errors: the citizen got no answer about a
procedure). Acceptable =
direct + short_choice.

Facets (documents, fee, time, office, online, legal_basis, overview, steps)
are judged on the procedure answer the citizen ends up with in the first
exchange: the direct answer, or — when the first reply is a choice containing
an acceptable code — the reply to pressing that option's button (same sender,
one more message). A facet is answered when a message about an acceptable code
shows its marker line (`FACET_MARKERS`). Facet score = messages asking ≥ 1
facet whose answer shows every facet asked ÷ messages asking ≥ 1 facet.

Targets (issue 9): bare names 100 % acceptable and 0 not understood; real
messages direct ≥ 80 %, acceptable ≥ 95 %, wrong ≤ 3 %, not understood
≤ 3 %, facets ≥ 90 %. Out-of-scope items (`procedures: []`) are reported
(answered out of scope or "not found" / offered a procedure / not understood /
hand-off filed), not targeted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.vietnamese import fold, is_procedure_code

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BARE_NAMES = PROJECT_ROOT / "tests" / "nlu" / "bare_names.yml"
DEFAULT_REAL_MESSAGES = PROJECT_ROOT / "tests" / "nlu" / "real_messages.yml"
DEFAULT_REPORT_DIR = PROJECT_ROOT / "reports" / "nlu"
REPORT_NAME = "dialogue"

BARE = "bare_names"
REAL = "real_messages"
OUT_OF_SCOPE_AREA = "out_of_scope"
SHORT_CHOICE_MAX = 3

KINDS = (
    "direct", "short_choice", "long_choice", "wrong", "not_found", "which_procedure",
    "not_understood", "out_of_scope", "handoff", "form_started", "other", "error",
)  # fmt: skip
BUCKETS = ("direct", "short_choice", "long_choice", "wrong", "not_understood")
FACETS = ("documents", "fee", "time", "office", "online", "legal_basis", "overview", "steps")

# set -> metric -> ("min" | "max", value); rates are fractions of the set's in-scope messages.
TARGETS: dict[str, dict[str, tuple[str, float]]] = {
    BARE: {"acceptable": ("min", 1.0), "not_understood": ("max", 0.0)},
    REAL: {
        "direct": ("min", 0.80),
        "acceptable": ("min", 0.95),
        "wrong": ("max", 0.03),
        "not_understood": ("max", 0.03),
        "facets": ("min", 0.90),
    },
}

_HEADER_RE = re.compile(r"^📄\s.*\(mã\s+(\d+\.\d{6})\)\s*$")
_INFORM_RE = re.compile(r"^/inform\s*(\{.*\})\s*$", re.DOTALL)
_OVERVIEW_RE = re.compile(r"^Hồ sơ gồm \d+ giấy tờ")


def _starts(*prefixes: str) -> Callable[[str], bool]:
    return lambda line: line.startswith(prefixes)


def _online(line: str) -> bool:
    return line.startswith("🌐") or (line.startswith(("✅", "❌")) and "truc tuyen" in fold(line))


# facet -> test on one stripped line of a procedure answer (see the contract).
FACET_MARKERS: dict[str, Callable[[str], bool]] = {
    "documents": lambda line: line.startswith("📋")
    or "khong liet ke thanh phan ho so" in fold(line),
    "fee": _starts("💰"),
    "time": _starts("⏱"),
    "office": _starts("🏛"),
    "online": _online,
    "legal_basis": lambda line: line.startswith("⚖") or "khong ghi can cu phap ly" in fold(line),
    "overview": lambda line: bool(_OVERVIEW_RE.match(line)) or line.startswith("Lĩnh vực:"),
    "steps": _starts("Các bước chính:"),
}

# folded phrases of the non-procedure replies, in the contract's order
_NOT_FOUND = "chua tim thay thu tuc"
_WHICH_PROCEDURE = "ban muon hoi ve thu tuc nao"
_NOT_UNDERSTOOD = "chua hieu y ban"
_OUT_OF_SCOPE = "chi ho tro ve thu tuc hanh chinh"
_FORM_STARTED = "cung nop ho so"
_CODE_IN_TEXT = re.compile(r"\(mã\s+(\d+\.\d{6})\)")


# --------------------------------------------------------------------------- the sets


@dataclass(frozen=True)
class Item:
    """One message of a dialogue set. `procedures` are the acceptable codes
    (empty for an out-of-scope item), `facets` what the message asks."""

    set_name: str
    id: str
    text: str
    procedures: tuple[str, ...]
    facets: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    area: str = ""

    @property
    def in_scope(self) -> bool:
        return bool(self.procedures)


def load_items(path: Path, set_name: str) -> list[Item]:
    """The `items` of a dialogue set file (schema: tests/nlu/README.md).
    Raises ValueError when the file is not such a set."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ValueError(f"{path}: expected a mapping with an `items` list")
    items = []
    for index, raw in enumerate(data["items"], start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
            raise ValueError(f"{path}: item {index} has no text")
        items.append(
            Item(
                set_name=set_name,
                id=str(raw.get("id") or f"{set_name[:2]}{index:03d}"),
                text=raw["text"],
                procedures=tuple(str(c) for c in raw.get("procedures") or ()),
                facets=tuple(str(f) for f in raw.get("facets") or ()),
                styles=tuple(str(s) for s in raw.get("styles") or ()),
                area=str(raw.get("area") or ""),
            )
        )
    return items


# --------------------------------------------------------------------------- classification


@dataclass(frozen=True)
class Classification:
    """What one reply is. `code`: the procedure answered (direct/wrong by
    header); `options`: codes offered as buttons; `facets`: facets shown about
    an acceptable code."""

    kind: str
    code: str | None = None
    options: tuple[str, ...] = ()
    facets: frozenset[str] = frozenset()

    @property
    def bucket(self) -> str:
        return self.kind if self.kind in BUCKETS else "not_understood"


def _texts(messages: Sequence[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages if isinstance(m.get("text"), str)]


def header_code(text: str) -> str | None:
    """The code of an answer header on the first line of `text`, or None."""
    first = (text or "").lstrip().split("\n", 1)[0].strip()
    match = _HEADER_RE.match(first)
    return match.group(1) if match else None


def choice_options(messages: Sequence[dict[str, Any]]) -> list[str]:
    """Codes of the `/inform{"procedure": code}` buttons, in order, once each."""
    codes: list[str] = []
    for message in messages:
        for button in message.get("buttons") or []:
            payload = str((button or {}).get("payload") or "").strip()
            match = _INFORM_RE.match(payload)
            if not match:
                continue
            try:
                value = json.loads(match.group(1)).get("procedure")
            except (ValueError, AttributeError):
                continue
            if isinstance(value, str) and is_procedure_code(value, loose=True):
                code = value.strip()
                if code not in codes:
                    codes.append(code)
    return codes


def facets_shown(messages: Sequence[dict[str, Any]], acceptable: Iterable[str]) -> frozenset[str]:
    """Facets whose marker line appears in a message about an acceptable code."""
    accepted = set(acceptable)
    shown: set[str] = set()
    for text in _texts(messages):
        if header_code(text) not in accepted:
            continue
        for line in text.split("\n"):
            line = line.strip()
            shown.update(facet for facet, test in FACET_MARKERS.items() if test(line))
    return frozenset(shown)


def classify_reply(messages: Sequence[dict[str, Any]], acceptable: Iterable[str]) -> Classification:
    """Classify the bot messages answering one citizen message (see module
    docstring); `acceptable` are the codes that count as right ([] for an
    out-of-scope message, where any procedure is wrong)."""
    accepted = tuple(acceptable)
    texts = _texts(messages)
    for text in texts:
        code = header_code(text)
        if code is not None:
            kind = "direct" if code in accepted else "wrong"
            return Classification(kind, code=code, facets=facets_shown(messages, accepted))
    joined = " ".join(texts)
    if _FORM_STARTED in fold(joined):  # the form's procedure picker is not a "which one?"
        match = _CODE_IN_TEXT.search(joined)
        return Classification("form_started", code=match.group(1) if match else None)
    options = tuple(choice_options(messages))
    if options:
        if any(code in accepted for code in options):
            kind = "short_choice" if len(options) <= SHORT_CHOICE_MAX else "long_choice"
        else:
            kind = "wrong"
        return Classification(kind, options=options)
    folded = fold(" ".join(texts))
    if not folded:
        return Classification("not_understood")
    if _NOT_FOUND in folded:
        return Classification("not_found")
    if _WHICH_PROCEDURE in folded:
        return Classification("which_procedure")
    if _NOT_UNDERSTOOD in folded:
        return Classification("not_understood")
    if _OUT_OF_SCOPE in folded:
        return Classification("out_of_scope")
    if "chuyen yeu cau" in folded and "can bo" in folded:
        return Classification("handoff")
    return Classification("other")


def choice_payload(messages: Sequence[dict[str, Any]], acceptable: Iterable[str]) -> str | None:
    """The payload of the first option button whose code is acceptable."""
    accepted = set(acceptable)
    for message in messages:
        for button in message.get("buttons") or []:
            codes = choice_options([{"buttons": [button]}])
            if codes and codes[0] in accepted:
                return str(button.get("payload")).strip()
    return None


# --------------------------------------------------------------------------- running


Send = Callable[[str, str], list[dict[str, Any]]]


@dataclass
class Result:
    """The outcome of one item: its first reply, class, and facet check."""

    item: Item
    kind: str
    bucket: str
    code: str | None = None
    options: tuple[str, ...] = ()
    facets_shown: tuple[str, ...] = ()
    facets_ok: bool | None = None  # None: the message asks no facet
    followed_up: bool = False
    reply: list[str] = field(default_factory=list)
    follow_up_reply: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("item")
        return {
            "set": self.item.set_name,
            "id": self.item.id,
            "text": self.item.text,
            "area": self.item.area,
            "styles": list(self.item.styles),
            "acceptable": list(self.item.procedures),
            "facets_asked": list(self.item.facets),
            **data,
        }


def _summarise(messages: Sequence[dict[str, Any]]) -> list[str]:
    """Reply texts plus their buttons, as shown in the per-message details."""
    out = []
    for message in messages:
        text = str(message.get("text") or "")
        buttons = [str(b.get("title")) + " → " + str(b.get("payload"))
                   for b in message.get("buttons") or [] if isinstance(b, dict)]
        out.append(text + ("\n  [" + "] [".join(buttons) + "]" if buttons else ""))
    return out


def evaluate_item(item: Item, send: Send, sender: str | None = None) -> Result:
    """Send `item` from a fresh sender, classify the first reply and, for a
    choice containing an acceptable code, press that option to judge facets."""
    sender = sender or f"eval-{uuid.uuid4().hex[:16]}"
    started = time.perf_counter()
    try:
        messages = send(sender, item.text)
    except Exception as exc:  # a transport failure is a result, not a crash
        return Result(item, "error", "not_understood", error=f"{type(exc).__name__}: {exc}",
                      seconds=time.perf_counter() - started,
                      facets_ok=False if item.facets else None)
    result_class = classify_reply(messages, item.procedures)
    result = Result(
        item,
        result_class.kind,
        result_class.bucket,
        code=result_class.code,
        options=result_class.options,
        reply=_summarise(messages),
    )
    shown = set(result_class.facets)
    if item.facets and result_class.kind in ("short_choice", "long_choice"):
        payload = choice_payload(messages, item.procedures)
        if payload:
            try:
                follow_up = send(sender, payload)
            except Exception as exc:
                result.error = f"follow-up {type(exc).__name__}: {exc}"
                follow_up = []
            result.followed_up = True
            result.follow_up_reply = _summarise(follow_up)
            shown |= facets_shown(follow_up, item.procedures)
    result.facets_shown = tuple(f for f in FACETS if f in shown)
    if item.facets:
        result.facets_ok = item.in_scope and set(item.facets) <= shown
    result.seconds = time.perf_counter() - started
    return result


def rest_sender(base_url: str, timeout: float = 120.0) -> Send:
    """A `send(sender, text)` over Rasa's REST channel at `base_url`."""

    def send(sender: str, text: str) -> list[dict[str, Any]]:
        request = urllib.request.Request(
            f"{base_url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
        return body if isinstance(body, list) else []

    return send


def run_items(items: Sequence[Item], send: Send, workers: int = 4) -> list[Result]:
    """Evaluate every item (each from its own sender, so conversations never
    share state; a small thread pool overlaps the HTTP round trips)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda item: evaluate_item(item, send), items))


# --------------------------------------------------------------------------- scoring


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def score(results: Sequence[Result]) -> dict[str, Any]:
    """Per set: counts and rates of each bucket and kind over its in-scope
    items, facet score, per-style and per-area breakdowns, out-of-scope stats."""
    summary: dict[str, Any] = {}
    for set_name in dict.fromkeys(r.item.set_name for r in results):
        mine = [r for r in results if r.item.set_name == set_name]
        scoped = [r for r in mine if r.item.in_scope]
        n = len(scoped)
        buckets = Counter(r.bucket for r in scoped)
        kinds = Counter(r.kind for r in scoped)
        asking = [r for r in scoped if r.item.facets]
        entry: dict[str, Any] = {
            "n": n,
            "counts": {b: buckets.get(b, 0) for b in BUCKETS},
            "kinds": {k: kinds.get(k, 0) for k in KINDS if kinds.get(k)},
            "rates": {b: _rate(buckets.get(b, 0), n) for b in BUCKETS},
            "errors": sum(r.kind == "error" for r in mine),
            "facets_asked": len(asking),
            "facets_ok": sum(bool(r.facets_ok) for r in asking),
        }
        entry["rates"]["acceptable"] = _rate(buckets["direct"] + buckets["short_choice"], n)
        entry["rates"]["facets"] = _rate(entry["facets_ok"], len(asking))
        entry["by_style"] = _breakdown(scoped, lambda r: r.item.styles)
        entry["by_area"] = _breakdown(scoped, lambda r: (r.item.area,))
        outside = [r for r in mine if not r.item.in_scope]
        if outside:
            entry["out_of_scope"] = {
                "n": len(outside),
                # "not found" also tells the citizen the catalog has nothing for it
                "answered_out_of_scope": sum(
                    r.kind in ("out_of_scope", "not_found") for r in outside
                ),
                "offered_a_procedure": sum(r.kind == "wrong" for r in outside),
                "not_understood": sum(
                    r.kind in ("not_understood", "which_procedure") for r in outside
                ),
                "handoff_filed": sum(r.kind == "handoff" for r in outside),
                "form_started": sum(r.kind == "form_started" for r in outside),
                "other": sum(r.kind in ("other", "error") for r in outside),
            }
        summary[set_name] = entry
    return summary


def _breakdown(
    results: Sequence[Result], keys: Callable[[Result], Iterable[str]]
) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Result]] = {}
    for result in results:
        for key in keys(result):
            groups.setdefault(key, []).append(result)
    out = {}
    for key in sorted(groups):
        group = groups[key]
        n = len(group)
        direct = sum(r.bucket == "direct" for r in group)
        acceptable = sum(r.bucket in ("direct", "short_choice") for r in group)
        out[key] = {"n": n, "direct": direct / n, "acceptable": acceptable / n}
    return out


def check_targets(summary: dict[str, Any]) -> list[str]:
    """Human-readable misses of TARGETS (empty when every target holds)."""
    misses = []
    for set_name, metrics in TARGETS.items():
        entry = summary.get(set_name)
        if not entry or not entry["n"]:
            continue
        for metric, (how, bound) in metrics.items():
            value = entry["rates"].get(metric)
            if value is None:
                continue
            if (how == "min" and value < bound - 1e-9) or (how == "max" and value > bound + 1e-9):
                sign = "≥" if how == "min" else "≤"
                misses.append(f"{set_name}: {metric} {value:.1%} (target {sign} {bound:.0%})")
    return misses


# --------------------------------------------------------------------------- reports

_ROWS = (
    ("direct", "direct answer, acceptable procedure"),
    ("short_choice", f"short choice (≤ {SHORT_CHOICE_MAX}) containing one"),
    ("acceptable", "acceptable (direct + short choice)"),
    ("long_choice", f"longer choice (> {SHORT_CHOICE_MAX}) containing one"),
    ("wrong", "wrong procedure"),
    ("not_understood", "not understood / out of scope / other"),
    ("facets", "every facet asked answered"),
)


def _target_text(set_name: str, metric: str) -> str:
    target = TARGETS.get(set_name, {}).get(metric)
    if not target:
        return ""
    how, bound = target
    return f" ({'≥' if how == 'min' else '≤'} {bound:.0%})"


def _cell(entry: dict[str, Any] | None, set_name: str, metric: str) -> str:
    if not entry:
        return "—"
    value = entry["rates"].get(metric)
    if value is None:
        return "—"
    count = entry["facets_ok"] if metric == "facets" else (
        entry["counts"]["direct"] + entry["counts"]["short_choice"]
        if metric == "acceptable" else entry["counts"].get(metric, 0)
    )
    return f"{value:.1%} ({count}){_target_text(set_name, metric)}"


def table_lines(summary: dict[str, Any]) -> list[str]:
    """The summary table as markdown lines (also what the CLI prints)."""
    bare, real = summary.get(BARE), summary.get(REAL)
    lines = [
        "| first reply | bare names | real messages |",
        "|---|---|---|",
        f"| messages (in scope) | {bare['n'] if bare else '—'} | {real['n'] if real else '—'} |",
    ]
    for metric, label in _ROWS:
        lines.append(f"| {label} | {_cell(bare, BARE, metric)} | {_cell(real, REAL, metric)} |")
    kinds = sorted({k for e in (bare, real) if e for k in e["kinds"]}, key=KINDS.index)
    detail = ", ".join(
        f"{k} {bare['kinds'].get(k, 0) if bare else 0}/{real['kinds'].get(k, 0) if real else 0}"
        for k in kinds
        if k not in BUCKETS[:-1]  # the kinds that make up "not understood"
    )
    if detail:
        lines.append(f"| not understood, by kind (bare/real) | {detail} | |")
    oos = (real or {}).get("out_of_scope")
    if oos:
        lines.append(
            f"| out-of-scope messages ({oos['n']}) | | answered out of scope or not found "
            f"{oos['answered_out_of_scope']}, offered a procedure {oos['offered_a_procedure']}, "
            f"not understood {oos['not_understood']}, hand-off filed {oos['handoff_filed']}, "
            f"dossier form started {oos['form_started']}, other {oos['other']} |"
        )
    return lines


def write_reports(
    results: Sequence[Result],
    summary: dict[str, Any],
    out_dir: Path,
    meta: dict[str, Any],
) -> tuple[Path, Path]:
    """Write `dialogue.md` (tables + every message that was not a direct
    answer, and every facet miss) and `dialogue.json` (everything)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    misses = check_targets(summary)
    md = [
        "# Dialogue evaluation (issue 9): the first reply to each message",
        "",
        f"Model `{meta.get('model')}`, {meta.get('messages')} messages in "
        f"{meta.get('seconds', 0):.0f} s ({meta.get('started')}). "
        "Rules: `bot/nlu/dialogue_eval.py`.",
        "",
        *table_lines(summary),
        "",
        "Targets: " + ("all met." if not misses else "MISSED — " + "; ".join(misses)),
        "",
    ]
    real = summary.get(REAL)
    if real:
        md += ["## Real messages by style", "", "| style | n | direct | acceptable |",
               "|---|---|---|---|"]
        md += [f"| {k} | {v['n']} | {v['direct']:.0%} | {v['acceptable']:.0%} |"
               for k, v in real["by_style"].items()]
        md += ["", "## Real messages by area", "", "| area | n | direct | acceptable |",
               "|---|---|---|---|"]
        md += [f"| {k} | {v['n']} | {v['direct']:.0%} | {v['acceptable']:.0%} |"
               for k, v in real["by_area"].items()]
        md.append("")
    md += ["## Messages not answered directly", "",
           "| set | id | message | kind | answered / offered | acceptable |",
           "|---|---|---|---|---|---|"]
    for r in results:
        if r.bucket == "direct" or (not r.item.in_scope and r.kind == "out_of_scope"):
            continue
        text = r.item.text if len(r.item.text) <= 90 else r.item.text[:89] + "…"
        got = r.code or " ".join(r.options) or (r.error or "")
        md.append(f"| {r.item.set_name} | {r.item.id} | {text.replace('|', '/')} | {r.kind} | "
                  f"{got} | {' '.join(r.item.procedures) or '(out of scope)'} |")
    md += ["", "## Facets asked but not shown", "", "| id | asked | shown | kind |",
           "|---|---|---|---|"]
    for r in results:
        if r.facets_ok is False:
            md.append(f"| {r.item.id} | {' '.join(r.item.facets)} | "
                      f"{' '.join(r.facets_shown) or '—'} | {r.kind} |")
    md_path = out_dir / f"{REPORT_NAME}.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    json_path = out_dir / f"{REPORT_NAME}.json"
    payload = {
        **meta,
        "summary": summary,
        "targets": {s: {m: list(t) for m, t in ms.items()} for s, ms in TARGETS.items()},
        "targets_missed": misses,
        "ok": not misses,
        "items": [r.as_dict() for r in results],
    }
    json_path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return md_path, json_path


def print_table(summary: dict[str, Any]) -> None:
    """Print the summary table (plain markdown) to stdout."""
    for line in table_lines(summary):
        print(line)


# --------------------------------------------------------------------------- the whole run


@dataclass
class DialogueEvaluation:
    """Outcome of `evaluate_dialogue`: summary, misses and report paths."""

    summary: dict[str, Any]
    misses: list[str]
    results: list[Result]
    report_md: Path
    report_json: Path

    @property
    def ok(self) -> bool:
        return not self.misses


@contextlib.contextmanager
def _quiet_children() -> Iterator[None]:
    """Rasa's per-message INFO logging would bury the report in CI logs: the
    servers started here log warnings and errors only (`LOG_LEVEL`, read by
    Rasa), unless the caller set a level."""
    previous = os.environ.get("LOG_LEVEL")
    if previous is None:
        os.environ["LOG_LEVEL"] = "WARNING"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("LOG_LEVEL", None)


def fresh_catalog_database(directory: Path) -> str:
    """A new SQLite database under `directory` at the newest schema with the
    full bundled catalog imported (as the end-to-end tests use); its URL."""
    from catalog.importer import import_catalog
    from core.db import open_database

    url = f"sqlite:///{Path(directory) / 'tthc.db'}"
    summary = import_catalog(open_database(url))
    if summary.failures:
        raise RuntimeError(f"catalog import had {len(summary.failures)} failures")
    return url


def evaluate_dialogue(
    model: Path,
    *,
    sets: Sequence[tuple[str, Path]] = ((BARE, DEFAULT_BARE_NAMES), (REAL, DEFAULT_REAL_MESSAGES)),
    out_dir: Path = DEFAULT_REPORT_DIR,
    workers: int = 4,
    limit: int | None = None,
    database_url: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> DialogueEvaluation:
    """Start the stack once (loopback, free ports, a fresh catalog database
    unless `database_url` is given), send every item, score, write reports.
    `limit` keeps the first N items of each set (quick runs). Raises
    bot.runtime.ConfigurationError when a server does not start."""
    from bot.runtime import loopback_stack

    say = progress or (lambda _msg: None)
    items: list[Item] = []
    for set_name, path in sets:
        loaded = load_items(Path(path), set_name)
        items.extend(loaded[:limit] if limit else loaded)
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tthc-dialogue-") as tmp, _quiet_children():
        workdir = Path(tmp)
        if database_url is None:
            say("importing the catalog into a fresh database …")
            database_url = fresh_catalog_database(workdir)
        say(f"starting the action server and Rasa server with {Path(model).name} …")
        with loopback_stack(workdir, database_url, Path(model)) as base:
            say(f"sending {len(items)} messages ({workers} at a time) …")
            results = run_items(items, rest_sender(base), workers=workers)
    summary = score(results)
    misses = check_targets(summary)
    meta = {
        "model": str(model),
        "started": started_at,
        "seconds": time.perf_counter() - started,
        "messages": len(items),
    }
    md_path, json_path = write_reports(results, summary, Path(out_dir), meta)
    return DialogueEvaluation(summary, misses, results, md_path, json_path)


__all__ = [
    "BARE",
    "REAL",
    "TARGETS",
    "Classification",
    "DialogueEvaluation",
    "Item",
    "Result",
    "check_targets",
    "choice_options",
    "classify_reply",
    "evaluate_dialogue",
    "evaluate_item",
    "facets_shown",
    "header_code",
    "load_items",
    "print_table",
    "rest_sender",
    "run_items",
    "score",
    "write_reports",
]
