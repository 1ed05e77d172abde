"""The maintainers' loop in a real browser (Debian's chromium via Playwright):

a citizen message the live model misses → it appears in the inbox → the
trainer labels it (intent select, procedure search box) → starts training
(the real worker process: a full model from a data folder with its own tiny
domain, rules and NLU data) → the job page shows progress and log → the
candidate's comparison shows the change → activate → a Rasa server pulling
from the model store now answers the same message over the REST channel with
the labelled intent's response → roll back → the old answer is back.

The models are tiny full models (tests/trainer_loop/data: tiny_config.yml with
the RulePolicy only, tiny_domain.yml with one response per intent,
tiny_rules.yml intent → response): seconds to train on a shared 2-core
machine, and a real dialogue — the reply text and the intent in the tracker —
is what is checked. The gate's dialogue level is off (TTHC_GATE_DIALOGUE=off):
it runs the product's dialogue sets through the product's action server and
catalog, which a tiny domain cannot answer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from bot.cli.training_cmd import ensure_shipped_model
from bot.runtime import child_env
from core.db import session_scope
from tests.conftest import isolated_database
from tests.console.browser import chromium, screenshot_dir
from tests.console.server import PASSWORD, add_staff, console_server, free_port
from tests.trainer_loop.test_analytics import DAY1, DAY2, _fill
from tests.trainer_loop.test_model_bank import _wait_for_model
from tests.trainer_loop.tracker import FakeTracker
from training.model_server import ModelStoreServer

pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data"
PORTS = range(18700, 18800)
MESSAGE = "sổ hồng mất thì sao"
TOKEN = "browser-loop-token"
RESPONSES = {  # intent → the text of its response in the tiny domain
    intent: yaml.safe_load((DATA / "tiny_domain.yml").read_text(encoding="utf-8"))[
        "responses"][f"utter_{intent}"][0]["text"]
    for intent in ("greet", "ask_fee", "ask_documents", "report_lost")
}


def _start_rasa(
    tmp_path: Path, store_url: str, database_url: str
) -> tuple[subprocess.Popen, str]:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"models:\n  url: {store_url}\n  wait_time_between_pulls: 2\n")
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("rest:\n")  # the REST channel: /webhooks/rest/webhook
    port = free_port(PORTS)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.rasa_server", "run", "--enable-api", "--auth-token", TOKEN,
         "--endpoints", str(endpoints), "--credentials", str(credentials), "--port", str(port),
         "--interface", "127.0.0.1"],
        cwd=tmp_path,
        # The hand-off and supplement gates read this test's database, not var/.
        env={**child_env(), "SANIC_WORKERS": "1", "TTHC_DATABASE_URL": database_url},
        stdout=(tmp_path / "rasa.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, f"http://127.0.0.1:{port}"


def _say(rasa_url: str, sender: str, text: str) -> tuple[list[str], dict]:
    """A citizen's message over Rasa's REST channel: (the reply texts, the
    intent Rasa recorded for it in the tracker: {name, confidence})."""
    replies = httpx.post(f"{rasa_url}/webhooks/rest/webhook",
                         json={"sender": sender, "message": text}, timeout=60)
    replies.raise_for_status()
    tracker = httpx.get(f"{rasa_url}/conversations/{sender}/tracker",
                        params={"token": TOKEN}, timeout=30)
    tracker.raise_for_status()
    latest = tracker.json()["latest_message"]
    assert latest["text"] == text
    return [reply.get("text", "") for reply in replies.json()], latest["intent"]


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


def test_inbox_to_live_model_and_back(tmp_path: Path, tiny_models: tuple[Path, Path]) -> None:
    shots = screenshot_dir()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy2(DATA / "tiny_nlu_a.yml", data_dir / "nlu.yml")
    shutil.copy2(DATA / "tiny_rules.yml", data_dir / "rules.yml")
    shutil.copy2(DATA / "tiny_domain.yml", data_dir / "domain.yml")  # → a full model
    env = {
        "TTHC_TRAINING_NLU_FILE": str(tmp_path / "from_console.yml"),
        "TTHC_OVERRIDES_FILE": str(tmp_path / "overrides.yml"),
        "TTHC_MODEL_BANK_DIR": str(tmp_path / "bank"),
        "TTHC_TRAINING_CONFIG": str(DATA / "tiny_config.yml"),
        "TTHC_TRAINING_DATA": str(data_dir),
        "TTHC_TRAINING_TEST_SET": str(DATA / "tiny_test_set.yml"),
        "TTHC_TRAINING_REAL_MESSAGES": str(tmp_path / "none.yml"),
        "TTHC_GATE_MARGIN": "0.5",  # an 8-message test set: one flip is 12 points
        "TTHC_GATE_INTENT_MARGIN": "0.5",
        "TTHC_BOOTSTRAP_MODELS": str(tmp_path / "none"),
        "TTHC_GATE_DIALOGUE": "off",  # the product's dialogue sets: not for a tiny domain
    }
    tracker = FakeTracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with session_scope(factory) as db:  # what `tthc run` does with models/
            ensure_shipped_model(db, tiny_models[0], tmp_path / "bank")
        store = ModelStoreServer(("127.0.0.1", free_port(PORTS)), factory)
        store.start_in_thread()
        store_url = f"http://127.0.0.1:{store.server_address[1]}/models/active"
        rasa, rasa_url = _start_rasa(tmp_path, store_url, database.url)
        env["TTHC_RASA_URLS"], env["TTHC_RASA_TOKEN"] = rasa_url, TOKEN
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "training", "worker", "--poll", "1",
             "--database-url", database.url],
            env={**child_env(), **env}, stdout=(tmp_path / "worker.log").open("w"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            _wait_for_model([rasa_url], TOKEN, "tiny-a.tar.gz")
            # The citizen writes over REST; the live model answers something else.
            replies, live = _say(rasa_url, "citizen-loop-1", MESSAGE)
            before = live["name"]
            assert before in RESPONSES and before != "report_lost"  # model A lacks it
            assert replies == [RESPONSES[before]]
            target = "ask_fee" if before == "ask_documents" else "ask_documents"
            # What the inbox reads: the tracker store of the production Rasa (a fake here).
            tracker.user("citizen-1", MESSAGE, "nlu_fallback", 0.31)
            tracker.action("citizen-1", "action_handle_fallback")
            tracker.user("citizen-2", "mất sổ hồng thì làm sao ạ", before,
                         live["confidence"] * 0.5)
            with console_server(database.url, tracker_store_url=tracker.url, ports=PORTS,
                                env=env) as base:
                add_staff(database.url, "trainer1", "trainer")
                with chromium() as browser:
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    page.goto(base + "/training")
                    page.fill("input[name=username]", "trainer1")
                    page.fill("input[name=password]", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_url(base + "/training")
                    assert page.locator("table.inbox").get_by_text(MESSAGE).count() == 1
                    if shots:
                        page.screenshot(path=str(shots / "training-inbox.png"), full_page=True)
                    for text in (MESSAGE, "mất sổ hồng thì làm sao ạ"):
                        page.goto(base + "/training")
                        page.locator("table.inbox a", has_text=text).click()
                        page.select_option("#label-form select[name=intent]", target)
                        page.fill("#label-form input[name=procedure_q]", "khong co thu tuc nay")
                        page.click("#label-form button[type=submit]")
                        page.wait_for_url("**/training?msg=*")
                    assert page.locator("table.inbox").get_by_text(MESSAGE).count() == 0

                    page.goto(base + "/training/models")
                    page.click("#start-training")
                    page.wait_for_url("**/training/jobs/*")
                    page.locator("#job-model, #job .error").first.wait_for(timeout=600_000)
                    assert page.locator("#job-model").count() == 1, page.locator(
                        "pre.log").inner_text()[-3000:]
                    log = page.locator("pre.log").inner_text()
                    assert "rasa train --domain" in log and "RulePolicy" in log, log[-3000:]
                    page.click("#job-model")
                    verdict = page.locator("#gate-verdict").inner_text()
                    assert "không kém hơn" in verdict, verdict
                    assert page.locator("#per-intent").get_by_text(target).count() == 1
                    if shots:
                        page.screenshot(path=str(shots / "training-model-comparison.png"),
                                        full_page=True)
                    candidate_url = page.url
                    page.click("#activate")
                    page.wait_for_url("**/training/models?msg=*")
                    name = page.locator("#models tr", has_text="đang chạy").locator(
                        "a").inner_text()
                    assert name.startswith("console-")
                    _wait_for_model([rasa_url], TOKEN, name, timeout=120)
                    # understood now: the same message, a fresh conversation, the new answer
                    replies, now = _say(rasa_url, "citizen-loop-2", MESSAGE)
                    assert now["name"] == target
                    assert replies == [RESPONSES[target]]

                    # roll back: the old model, one click, the old behaviour
                    page.goto(base + "/training/models")
                    page.locator("#models a", has_text="tiny-a.tar.gz").click()
                    page.click("#activate")
                    page.wait_for_url("**/training/models?msg=*")
                    _wait_for_model([rasa_url], TOKEN, "tiny-a.tar.gz", timeout=120)
                    replies, again = _say(rasa_url, "citizen-loop-3", MESSAGE)
                    assert again["name"] == before
                    assert replies == [RESPONSES[before]]
                    page.goto(candidate_url)
                    assert page.locator("#activate").inner_text() == "Quay lại mô hình này"

                    # the dashboard over the same data (plus a few days of traffic)
                    _fill(tracker, factory)
                    page.goto(base + f"/analytics?from={DAY1 - timedelta(days=6)}&to={DAY2}")
                    assert page.locator("svg").count() == 6
                    if shots:
                        page.screenshot(path=str(shots / "analytics-dashboard.png"),
                                        full_page=True)
        finally:
            _stop(worker)
            _stop(rasa)
            store.shutdown()
            store.server_close()
    tracker.close()
