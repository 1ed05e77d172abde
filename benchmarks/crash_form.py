"""kill -9 in the middle of a dossier form, and between confirmation and
storage: after the restart the citizen's dossier exists exactly once, or the
form resumes where it was; nothing is half-stored.

Starts the product's action server and Rasa server (newest model, SQL
tracker store, fresh database: `benchmarks/channel_stack.py`). Citizens file
a temporary-residence dossier over REST while this script SIGKILLs:

1. the action server mid-form (then restarts it): the next answer goes on;
2. the action server right after "xác nhận" was sent, at several delays
   (0 to 400 ms, so before, during and after the submission): restart, the
   citizen says "xác nhận" again;
3. the Rasa server mid-form (restart): the form resumes at the same field
   with the earlier answers kept;
4. the Rasa server right after "xác nhận" (restart): "xác nhận" again.

Checked after each: dossiers stored for that citizen (must be exactly 1 at
the end), the reply carries the dossier code, and the database holds no
dossier without its applicant data.

    .venv/bin/python benchmarks/crash_form.py [--delays 0,0.05,0.1,0.2,0.4]

Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _stack import prepare_run  # noqa: E402
from channel_stack import Stack  # noqa: E402

from core.db import session_scope  # noqa: E402
from dossiers.orm import Dossier  # noqa: E402
from tests.e2e.applicants import TEMPORARY_RESIDENCE  # noqa: E402


class Citizen:
    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        self.name = name

    def say(self, text: str, timeout: float = 120) -> list[dict[str, Any]]:
        request = urllib.request.Request(
            f"{self.stack.base}/webhooks/rest/webhook",
            data=json.dumps({"sender": self.name, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except Exception as exc:  # the server was killed under us
            return [{"error": type(exc).__name__}]

    def requested_slot(self) -> str | None:
        url = (
            f"{self.stack.base}/conversations/{self.name}/tracker"
            f"?token={self.stack.api_token}&include_events=NONE"
        )
        with urllib.request.urlopen(url, timeout=60) as response:
            return json.loads(response.read())["slots"].get("requested_slot")

    def fill_until(self, stop_at: str) -> None:
        for _ in range(30):
            slot = self.requested_slot()
            if slot == stop_at:
                return
            if slot not in TEMPORARY_RESIDENCE:
                raise RuntimeError(f"{self.name}: unexpected slot {slot}")
            self.say(TEMPORARY_RESIDENCE[slot])
        raise RuntimeError(f"{self.name}: {stop_at} never asked")

    def start(self) -> None:
        self.say("tôi muốn nộp hồ sơ đăng ký tạm trú")
        if self.requested_slot() == "dossier_procedure":
            self.say("đăng ký tạm trú")


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text") or m.get("error") or "") for m in messages)


def stored(factory: Any, sender: str) -> list[tuple[str, str | None]]:
    with session_scope(factory) as session:
        rows = session.query(Dossier).filter(Dossier.sender_id == sender).all()
        return [(row.code, row.applicant_name) for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delays", default="0,0.05,0.1,0.2,0.4",
                        help="seconds between sending 'xác nhận' and the kill")
    parser.add_argument("--actions-only", action="store_true",
                        help="only the action-server cases (no Rasa restarts: faster)")
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",") if d.strip()]
    run = prepare_run("tthc-crash-")
    if run is None:
        return 2
    model, workdir, url, factory = run.model, run.workdir, run.database_url, run.factory
    stack = Stack(workdir, url, model)
    results: list[tuple[str, bool, str]] = []
    started = time.monotonic()

    def check(name: str, ok: bool, detail: str) -> None:
        results.append((name, ok, detail))
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)

    def confirm_and_kill(citizen: Citizen, server: str, delay: float) -> str:
        replies: list[list[dict[str, Any]]] = []
        thread = threading.Thread(target=lambda: replies.append(citizen.say("xác nhận")))
        thread.start()
        time.sleep(delay)
        stack.kill9(server)
        thread.join(180)
        return texts(replies[0]) if replies else ""

    def finish(citizen: Citizen) -> str:
        reply = texts(citizen.say("xác nhận"))
        if "HS-" not in reply:  # e.g. the confirmation itself was lost: answer again
            slot = citizen.requested_slot()
            if slot and slot != "dossier_confirmed":
                citizen.fill_until("dossier_confirmed")
            reply = texts(citizen.say("xác nhận"))
        return reply

    try:
        stack.start()
        # 1. action server killed mid-form
        citizen = Citizen(stack, "crash-actions-midform")
        citizen.start()
        citizen.fill_until("phone")
        stack.kill9("actions")
        lost = texts(citizen.say(TEMPORARY_RESIDENCE["phone"]))
        stack.start_actions()
        slot = citizen.requested_slot()
        citizen.fill_until("dossier_confirmed")
        reply = finish(citizen)
        rows = stored(factory, citizen.name)
        check("actions killed mid-form", len(rows) == 1 and rows[0][0] in reply,
              f"reply while down {lost[:60]!r}; asked after restart {slot}; "
              f"dossiers stored {len(rows)}")

        # 2. action server killed between confirmation and storage
        for delay in delays:
            citizen = Citizen(stack, f"crash-actions-confirm-{int(delay * 1000)}ms")
            citizen.start()
            citizen.fill_until("dossier_confirmed")
            first = confirm_and_kill(citizen, "actions", delay)
            between = len(stored(factory, citizen.name))
            stack.start_actions()
            reply = finish(citizen)
            rows = stored(factory, citizen.name)
            check(f"actions killed {delay * 1000:.0f} ms after 'xác nhận'",
                  len(rows) == 1 and rows[0][0] in reply and all(r[1] for r in rows),
                  f"stored at the kill {between}; first reply {first[:50]!r}; "
                  f"after restart: dossiers {len(rows)}, "
                  f"code in reply {bool(rows) and rows[0][0] in reply}")

        if args.actions_only:
            return finish_run(results, started, model, workdir, factory, stack)
        # 3. Rasa killed mid-form: the form resumes
        citizen = Citizen(stack, "crash-rasa-midform")
        citizen.start()
        citizen.fill_until("address")
        before = citizen.requested_slot()
        stack.kill9("rasa")
        stack.start_rasa()
        after = citizen.requested_slot()
        citizen.fill_until("dossier_confirmed")
        reply = finish(citizen)
        rows = stored(factory, citizen.name)
        check("rasa killed mid-form", before == after == "address" and len(rows) == 1,
              f"asked before {before}, after restart {after}; dossiers {len(rows)}; "
              f"applicant kept {bool(rows) and rows[0][1] == TEMPORARY_RESIDENCE['full_name']}")

        # 4. Rasa killed between confirmation and storage
        citizen = Citizen(stack, "crash-rasa-confirm")
        citizen.start()
        citizen.fill_until("dossier_confirmed")
        first = confirm_and_kill(citizen, "rasa", 0.05)
        between = len(stored(factory, citizen.name))
        time.sleep(2)  # let the orphaned action call finish, as it would in production
        stack.start_rasa()
        reply = finish(citizen)
        rows = stored(factory, citizen.name)
        check("rasa killed 50 ms after 'xác nhận'", len(rows) == 1 and rows[0][0] in reply,
              f"stored at the kill {between}; first reply {first[:40]!r}; after restart: "
              f"dossiers {len(rows)}")
    finally:
        stack.stop()
    return finish_run(results, started, model, workdir, factory, stack)


def finish_run(
    results: list[tuple[str, bool, str]], started: float, model: Path, workdir: Path,
    factory: Any, stack: Stack,
) -> int:
    stack.stop()
    with session_scope(factory) as session:
        half = session.query(Dossier).filter(
            (Dossier.applicant_name == "") | (Dossier.applicant_citizen_id.is_(None))
        ).count()
    results.append(("no half-stored dossier", half == 0, f"without applicant data: {half}"))
    print(f"{'ok  ' if half == 0 else 'FAIL'} no half-stored dossier: "
          f"dossiers without applicant data: {half}")
    failed = [name for name, ok, _ in results if not ok]
    print(f"{len(results) - len(failed)}/{len(results)} checks passed in "
          f"{time.monotonic() - started:.0f} s; model {model.name}; logs {workdir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
