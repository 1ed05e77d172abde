"""Model bank: the gate blocks a worse model (admin override and rollback
excepted), the model store speaks Rasa's model-server protocol, and activating
a model reaches two running Rasa server processes that pull from the store;
rolling back restores the old behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.runtime import child_env
from tests.conftest import DATABASE_KINDS, isolated_database
from tests.console.server import free_port
from training import bank
from training.gate import Margins, compare
from training.model_server import ModelStoreServer
from training.orm import ModelVersion

DATA = Path(__file__).parent / "data"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
PORTS = range(18750, 18800)


def evaluation(accuracy: float, top1: float, fee_f1: float) -> dict:
    return {
        "n": 100,
        "intent": {
            "accuracy": accuracy,
            "macro_f1": accuracy - 0.01,
            "per_intent": {
                "ask_fee": {"precision": fee_f1, "recall": fee_f1, "f1": fee_f1, "support": 10},
                "greet": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 10},
            },
        },
        "procedure": {"top1": top1, "top3": 0.98, "n": 80},
    }


def test_gate_compares_per_intent_and_overall() -> None:
    live = evaluation(0.95, 0.92, 0.90)
    assert compare(live, evaluation(0.96, 0.93, 0.92)).passed
    assert compare(live, evaluation(0.94, 0.92, 0.90)).passed  # within the 2-point margin
    worse = compare(live, evaluation(0.90, 0.92, 0.90))
    assert not worse.passed and worse.regressions == ["Độ chính xác ý định", "Macro-F1 ý định"]
    intent_drop = compare(live, evaluation(0.95, 0.92, 0.70))
    assert intent_drop.regressions == ["ask_fee f1"]
    assert compare(live, evaluation(0.95, 0.92, 0.70), Margins(per_intent=0.3)).passed
    first = compare(None, evaluation(0.5, 0.5, 0.5))
    assert first.passed and not first.has_live
    row = next(r for r in worse.overall if r.label == "Độ chính xác ý định")
    assert row.delta == -0.05


def _archive(directory: Path, name: str, content: bytes) -> Path:
    path = directory / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_gate_blocks_a_worse_model(kind: str, tmp_path: Path) -> None:
    bank_dir = tmp_path / "bank"
    with isolated_database(kind, tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            live = bank.register_model(db, _archive(tmp_path, "live.tar.gz", b"a"), bank_dir)
            live.evaluation = evaluation(0.95, 0.92, 0.9)
            bank.activate(db, live.id, "admin", override=True)
            worse = bank.register_model(db, _archive(tmp_path, "worse.tar.gz", b"b"), bank_dir)
            better = bank.register_model(db, _archive(tmp_path, "better.tar.gz", b"c"), bank_dir)
            unevaluated = bank.register_model(db, _archive(tmp_path, "new.tar.gz", b"d"), bank_dir)
            for model, figures in ((worse, (0.85, 0.80, 0.9)), (better, (0.97, 0.93, 0.9))):
                model.evaluation = evaluation(*figures)
                model.gate = compare(live.evaluation, model.evaluation).to_json()
            ids = (live.id, worse.id, better.id, unevaluated.id)
        live_id, worse_id, better_id, new_id = ids
        with factory.begin() as db:
            with pytest.raises(bank.ActivationError, match="kém hơn"):
                bank.activate(db, worse_id, "trainer1")
            with pytest.raises(bank.ActivationError, match="chưa được đánh giá"):
                bank.activate(db, new_id, "trainer1")
            assert bank.active_model(db).id == live_id
            model, previous = bank.activate(db, better_id, "trainer1")
            assert (model.id, previous.id) == (better_id, live_id)
        with factory.begin() as db:
            statuses = {m.name: m.status for m in db.query(ModelVersion)}
            assert statuses == {"live.tar.gz": "retired", "worse.tar.gz": "candidate",
                                "better.tar.gz": "active", "new.tar.gz": "candidate"}
            bank.activate(db, live_id, "trainer1")  # rollback: it was live, no gate
            assert bank.active_model(db).id == live_id
            bank.activate(db, worse_id, "admin1", override=True)  # the admin's override
            assert bank.active_model(db).id == worse_id


def test_model_store_protocol(tmp_path: Path) -> None:
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        server = ModelStoreServer(("127.0.0.1", free_port(PORTS)), factory)
        server.start_in_thread()
        url = f"http://127.0.0.1:{server.server_address[1]}/models/active"
        try:
            assert httpx.get(url).status_code == 404  # nothing active yet
            with factory.begin() as db:
                model = bank.register_model(
                    db, _archive(tmp_path, "m1.tar.gz", b"model-1"), tmp_path / "bank")
                bank.activate(db, model.id, "admin", override=True)
                sha = model.inputs["sha256"]
            response = httpx.get(url)
            assert response.status_code == 200 and response.content == b"model-1"
            assert response.headers["ETag"] == sha
            assert response.headers["filename"] == "m1.tar.gz"
            assert httpx.get(url, headers={"If-None-Match": sha}).status_code == 304
            assert httpx.get(url, headers={"If-None-Match": "old"}).status_code == 200
        finally:
            server.shutdown()
            server.server_close()


# ------------------------------------------------------------------ two real Rasa servers


def _distinct_free_ports(count: int) -> list[int]:
    """`count` different ports of PORTS that nothing listens on now."""
    chosen: list[int] = []
    for _ in range(count):
        chosen.append(free_port(PORTS, exclude=chosen))
    return chosen


@pytest.fixture()
def rasa_pair(tmp_path: Path) -> Iterator[tuple[list[str], str, str]]:
    """Yields (Rasa base URLs, token, store URL): two Rasa server processes that
    pull their model from a model store on `store_port` every 2 s."""
    # Distinct ports chosen up front: nothing binds them until the processes
    # start, so three separate free_port() calls could return the same one.
    store_port, *rasa_ports = _distinct_free_ports(3)
    store_url = f"http://127.0.0.1:{store_port}/models/active"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"models:\n  url: {store_url}\n  wait_time_between_pulls: 2\n")
    token = "test-token-h8"
    processes, urls = [], []
    for port in rasa_ports:
        logfile = (tmp_path / f"rasa-{port}.log").open("w")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "bot.rasa_server", "run", "--enable-api", "--auth-token",
             token, "--endpoints", str(endpoints), "--port", str(port), "--interface",
             "127.0.0.1"],
            cwd=tmp_path, env={**child_env(), "SANIC_WORKERS": "1"}, stdout=logfile,
            stderr=subprocess.STDOUT, start_new_session=True,
        ))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        yield urls, token, store_url
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


def _wait_for_model(urls: list[str], token: str, name: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        for url in list(pending):
            status = bank.worker_status(url, token)
            if status and Path(str(status.get("model_file") or "")).name == name:
                pending.remove(url)
        time.sleep(1)
    assert not pending, f"{pending} never loaded {name}"


def _intent(url: str, token: str, text: str) -> str:
    response = httpx.post(f"{url}/model/parse", params={"token": token}, json={"text": text},
                          timeout=30)
    response.raise_for_status()
    return response.json()["intent"]["name"]


@pytest.mark.slow
def test_activation_reaches_two_rasa_workers_and_rolls_back(
    tmp_path: Path, tiny_models: tuple[Path, Path], rasa_pair: tuple[list[str], str, str]
) -> None:
    from bot.training_eval import evaluate_model

    model_a, model_b = tiny_models
    urls, token, store_url = rasa_pair
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            a = bank.register_model(db, model_a, tmp_path / "bank")
            b = bank.register_model(db, model_b, tmp_path / "bank")
            a.evaluation = evaluate_model(Path(a.path), DATA / "tiny_test_set.yml")
            b.evaluation = evaluate_model(Path(b.path), DATA / "tiny_test_set.yml")
            b.gate = compare(a.evaluation, b.evaluation).to_json()
            bank.activate(db, a.id, "bootstrap", override=True)
            a_id, b_id = a.id, b.id
        assert b.gate["passed"], b.gate
        assert b.evaluation["intent"]["per_intent"]["report_lost"]["f1"] >= 0.5
        assert a.evaluation["intent"]["per_intent"]["report_lost"]["f1"] == 0.0
        port = int(store_url.split(":")[2].split("/")[0])
        server = ModelStoreServer(("127.0.0.1", port), factory)
        server.start_in_thread()
        try:
            _wait_for_model(urls, token, "tiny-a.tar.gz")
            assert {_intent(url, token, "sổ hồng mất thì sao") for url in urls} != {
                "report_lost"}
            with factory.begin() as db:
                bank.activate(db, b_id, "trainer1")  # passes the gate
            _wait_for_model(urls, token, "tiny-b.tar.gz", timeout=60)
            assert {_intent(url, token, "sổ hồng mất thì sao") for url in urls} == {
                "report_lost"}
            with factory.begin() as db:
                bank.activate(db, a_id, "trainer1")  # roll back
            _wait_for_model(urls, token, "tiny-a.tar.gz", timeout=60)
            assert "report_lost" not in {_intent(url, token, "sổ hồng mất thì sao")
                                         for url in urls}
        finally:
            server.shutdown()
            server.server_close()


def test_tthc_run_bootstrap_and_endpoints(tmp_path: Path) -> None:
    from bot.cli.training_cmd import ensure_shipped_model
    from bot.runtime import Settings, write_rasa_files

    shipped = _archive(tmp_path, "20261130-shipped.tar.gz", b"shipped")
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            assert ensure_shipped_model(db, shipped, tmp_path / "bank") == (shipped.name, True)
            other = bank.register_model(db, _archive(tmp_path, "c.tar.gz", b"c"),
                                        tmp_path / "bank")
            bank.activate(db, other.id, "admin", override=True)  # chosen in the console
        with factory.begin() as db:  # a restart keeps the console's choice
            assert ensure_shipped_model(db, shipped, tmp_path / "bank") == ("c.tar.gz", False)
        newer = _archive(tmp_path, "20261201-newer.tar.gz", b"newer")
        with factory.begin() as db:  # a freshly trained model wins
            assert ensure_shipped_model(db, newer, tmp_path / "bank") == (newer.name, True)
    settings = Settings.from_env({})
    endpoints, _ = write_rasa_files(settings, tmp_path, model_store_url="http://x/models/active")
    assert "wait_time_between_pulls" in endpoints.read_text()
    endpoints, _ = write_rasa_files(settings, tmp_path)
    assert "models" not in endpoints.read_text()
