"""The inbox in the real console process: a trainer sees misunderstood messages
(scrubbed), labels one with an intent and a procedure found by the search box,
ignores one for good, adds an alias to (a copy of) the overlay, writes the NLU
file and downloads the change set; every decision is audited; other roles
cannot."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from catalog.orm import ProcedureRow
from console.orm import AuditEntry
from tests.conftest import isolated_database
from tests.console.server import ConsoleClient, add_staff, console_server
from tests.trainer_loop.tracker import FakeTracker
from training.orm import InboxItem

pytestmark = pytest.mark.slow
PROJECT_ROOT = Path(__file__).resolve().parents[2]
PORTS = range(18700, 18750)


def test_trainer_works_the_inbox(tmp_path: Path) -> None:
    tracker = FakeTracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    tracker.user("a", "sổ hồng mất thì sao, sđt 0912345678", "nlu_fallback", 0.3)
    tracker.user("b", "so hong mat thi sao sdt 0987654321", "nlu_fallback", 0.2)
    tracker.user("c", "ai là người giàu nhất thế giới", "out_of_scope", 0.9)
    tracker.user("d", "đăng ký khai sinh cho con sinh ở nước ngoài", "inform", 0.45)
    overrides = tmp_path / "overrides.yml"
    overrides.write_text((PROJECT_ROOT / "catalog/overrides.yml").read_text("utf-8"), "utf-8")
    nlu_file = tmp_path / "from_console.yml"
    env = {"TTHC_OVERRIDES_FILE": str(overrides), "TTHC_TRAINING_NLU_FILE": str(nlu_file)}
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            db.add(ProcedureRow(code="1.001193", name="Thủ tục đăng ký khai sinh"))
            db.add(ProcedureRow(code="1.012786", name="Cấp lại Giấy chứng nhận do bị mất"))
        with console_server(
            database.url, tracker_store_url=tracker.url, ports=PORTS, env=env
        ) as base:
            add_staff(database.url, "trainer1", "trainer")
            add_staff(database.url, "officer1", "officer")
            client = ConsoleClient(base)
            client.login("trainer1")
            page = client.get("/training")
            assert page.status_code == 200
            assert "so hong mat" not in page.text  # the spelling with diacritics is kept
            assert "sổ hồng mất thì sao" in page.text
            assert "0912345678" not in page.text and "0987654321" not in page.text
            with factory.begin() as db:
                ids = {i.key: i.id for i in db.execute(select(InboxItem)).scalars()}
            group = ids["so hong mat thi sao sdt so dien thoai"]
            chit_chat = ids["ai la nguoi giau nhat the gioi"]
            birth = ids["dang ky khai sinh cho con sinh o nuoc ngoai"]
            assert ">2<" in page.text.replace(" ", "")  # the group's count

            detail = client.get(f"/training/items/{group}")
            assert detail.status_code == 200 and "0912345678" not in detail.text
            hits = client.get("/training/procedures", params={"q": "khai sinh"})
            assert 'value="1.001193"' in hits.text
            response = client.post(
                f"/training/items/{birth}/label",
                {"intent": "ask_procedure", "procedure": "1.001193"},
            )
            assert response.status_code == 303
            response = client.post(f"/training/items/{chit_chat}/ignore", {})
            assert response.status_code == 303
            response = client.post(
                f"/training/items/{group}/alias", {"procedure": "1.012786", "alias": "sổ hồng mất"}
            )
            assert response.status_code == 303, response.text[:300]
            assert "error" not in response.headers["location"], response.headers["location"]
            bad = client.post(f"/training/items/{group}/label", {"intent": "nope"})
            assert "error=" in bad.headers["location"]
            # ignored stays out of the default (new) list
            assert "người giàu nhất" not in client.get("/training").text
            assert client.post("/training/changes/write", {}).status_code == 303
            data = yaml.safe_load(nlu_file.read_text("utf-8"))
            assert data["nlu"] == [
                {
                    "intent": "ask_procedure",
                    "examples": "- đăng ký khai sinh cho con sinh ở nước ngoài\n",
                }
            ]
            assert (
                "sổ hồng mất"
                in yaml.safe_load(overrides.read_text("utf-8"))["procedures"]["1.012786"]["aliases"]
            )
            changes = client.get("/training/changes")
            assert "đăng ký khai sinh cho con sinh ở nước ngoài" in changes.text
            archive = client.get("/training/changes.zip")
            assert archive.headers["content-type"] == "application/zip"
            names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
            assert "changes.diff" in names

            officer = ConsoleClient(base)
            officer.login("officer1")
            assert officer.get("/training").status_code == 403
            assert officer.post(f"/training/items/{group}/ignore", {}).status_code == 403
        with factory.begin() as db:
            actions = [e.action for e in db.execute(select(AuditEntry)).scalars()]
            stored = " ".join(i.text for i in db.execute(select(InboxItem)).scalars())
    assert {"training.label", "training.ignore", "training.alias", "training.export"} <= set(
        actions
    )
    assert not re.search(r"09\d{8}", stored)
    tracker.close()


def test_models_pages_gate_and_override(tmp_path: Path) -> None:
    from training import bank
    from training.gate import compare
    from training.orm import ModelVersion, TrainingJob

    def evaluation(accuracy: float) -> dict:
        return {"n": 8, "intent": {"accuracy": accuracy, "macro_f1": accuracy, "per_intent": {
            "ask_fee": {"precision": accuracy, "recall": accuracy, "f1": accuracy,
                        "support": 4}}}, "procedure": {"n": 0},
                "dialogue": {"direct": accuracy, "acceptable": accuracy, "n": 4}}

    env = {"TTHC_MODEL_BANK_DIR": str(tmp_path / "bank")}
    with isolated_database("sqlite", tmp_path) as database:
        factory = database.new_factory()
        with factory.begin() as db:
            ids = {}
            for name, accuracy in (("live", 0.9), ("worse", 0.5)):
                archive = tmp_path / f"{name}.tar.gz"
                archive.write_bytes(name.encode())
                model = bank.register_model(db, archive, tmp_path / "bank")
                model.evaluation = evaluation(accuracy)
                ids[name] = model.id
            live = db.get(ModelVersion, ids["live"])
            bank.activate(db, live.id, "bootstrap", override=True)
            worse = db.get(ModelVersion, ids["worse"])
            worse.gate = {**compare(live.evaluation, worse.evaluation).to_json(),
                          "live_model": "live.tar.gz"}
            db.add(TrainingJob(requested_by="trainer1", status="failed", progress=40,
                               stage="Lỗi", log="training output\nLỖI: boom", error="boom",
                               model_id=None))
        with console_server(database.url, ports=PORTS, env=env) as base:
            add_staff(database.url, "trainer1", "trainer")
            add_staff(database.url, "admin1", "admin")
            trainer = ConsoleClient(base)
            trainer.login("trainer1")
            page = trainer.get("/training/models")
            assert page.status_code == 200 and "worse.tar.gz" in page.text
            report = trainer.get(f"/training/models/{ids['worse']}")
            assert "kém hơn" in report.text and "ask_fee" in report.text
            assert "Hội thoại: chấp nhận được" in report.text  # dialogue-level figures
            assert "Vẫn kích hoạt" not in report.text  # override is the admin's
            blocked = trainer.post(f"/training/models/{ids['worse']}/activate", {})
            assert "error=" in blocked.headers["location"]
            refused = trainer.post(f"/training/models/{ids['worse']}/activate",
                                   {"override": "1"})
            assert "error=" in refused.headers["location"]
            job = trainer.get("/training/jobs/1")
            assert "LỖI: boom" in job.text
            started = trainer.post("/training/jobs", {})
            assert started.headers["location"].startswith("/training/jobs/2")
            again = trainer.post("/training/jobs", {})
            assert "error=" in again.headers["location"]  # one job at a time
            admin = ConsoleClient(base)
            admin.login("admin1")
            assert "Vẫn kích hoạt" in admin.get(f"/training/models/{ids['worse']}").text
            done = admin.post(f"/training/models/{ids['worse']}/activate", {"override": "1"})
            assert done.headers["location"].startswith("/training/models?msg=")
            back = admin.post(f"/training/models/{ids['live']}/activate", {})
            assert back.headers["location"].startswith("/training/models?msg=")
        with factory.begin() as db:
            entries = [(e.action, e.actor, e.detail.get("override")) for e in db.execute(
                select(AuditEntry).where(AuditEntry.action.startswith("model."))
                .order_by(AuditEntry.id)).scalars()]
            assert bank.active_model(db).id == ids["live"]
    assert entries == [("model.activate", "admin1", True), ("model.rollback", "admin1", False)]
