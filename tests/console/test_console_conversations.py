"""Conversations recorded from the real Rasa server, as officers see them:
filters, diacritic-free search, transcript facts, masking, reveal, export."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from console.conversations import mask_text
from console.orm import AuditEntry
from core.db import session_scope
from tests.console.conftest import ConsoleEnv
from tests.console.server import ConsoleClient

pytestmark = pytest.mark.slow

PHONE, CITIZEN_ID = "0912345678", "001190012345"


def listed(client: ConsoleClient, query: str) -> set[str]:
    page = client.get(f"/conversations?{query}")
    assert page.status_code == 200
    return {s for s in ("fx-fee", "fx-human", "fx-fallback", "fx-dossier")
            if f'href="/conversations/{s}"' in page.text}


def test_mask_text() -> None:
    masked = mask_text(f"sđt {PHONE} và cccd {CITIZEN_ID}, nhà ở 12 Hàng Bạc, Hà Nội",
                       [("address", "12 Hàng Bạc, Hà Nội")])
    assert PHONE not in masked and CITIZEN_ID not in masked and "Hàng Bạc" not in masked
    assert "*******678" in masked and "********2345" in masked and "***, Hà Nội" in masked


def test_filters_and_search(console_env: ConsoleEnv) -> None:
    client = console_env.client("trainer")
    assert listed(client, "") == {"fx-fee", "fx-human", "fx-fallback", "fx-dossier"}
    assert listed(client, "q=ho+chieu") == {"fx-fee"}  # "hộ chiếu" typed without marks
    assert listed(client, "q=H%E1%BB%98+CHI%E1%BA%BEU") == {"fx-fee"}  # "HỘ CHIẾU"
    assert listed(client, "fallback=1") == {"fx-fallback"}
    assert listed(client, "handoff=1") == {"fx-human"}
    assert listed(client, "intent=ask_fee") == {"fx-fee"}
    assert listed(client, "low_confidence=1") == {"fx-fallback"}
    assert listed(client, "procedure=khai+sinh") == {"fx-dossier"}
    assert listed(client, "channel=rest") == {"fx-fee", "fx-human", "fx-fallback", "fx-dossier"}
    assert listed(client, "channel=telegram") == set()
    assert listed(client, "date_from=2020-01-01&date_to=2020-01-02") == set()
    # Without the reveal right, a phone number cannot be searched for.
    assert listed(client, f"q={PHONE}") == set()
    officer = console_env.client("officer")
    assert listed(officer, f"q={PHONE}") == {"fx-fallback"}
    console_env.dossier(sender="fx-dossier")
    assert listed(client, "has_dossier=1") == {"fx-dossier"}


def test_transcript_shows_intent_confidence_procedure_and_buttons(console_env: ConsoleEnv) -> None:
    client = console_env.client("trainer")
    page = client.get("/conversations/fx-dossier").text
    assert "đăng ký khai sinh cần giấy tờ gì" in page
    assert "ask_documents" in page and "1.00" in page
    assert "Đăng ký khai sinh" in page  # procedure name from the catalog
    assert "<span>Đăng ký kết hôn</span>" in page  # a button offered
    assert client.get("/conversations/khong-co").status_code == 404


def test_masked_for_everyone_until_an_audited_reveal(console_env: ConsoleEnv) -> None:
    trainer = console_env.client("trainer")
    page = trainer.get("/conversations/fx-fallback").text
    assert PHONE not in page and CITIZEN_ID not in page and "*******678" in page
    assert "Hiện thông tin cá nhân" not in page
    assert trainer.post("/conversations/fx-fallback/reveal", {}).status_code == 403
    officer = console_env.client("officer")
    assert PHONE not in officer.get("/conversations/fx-fallback").text
    revealed = officer.post("/conversations/fx-fallback/reveal", {})
    assert revealed.status_code == 200 and PHONE in revealed.text and CITIZEN_ID in revealed.text
    with session_scope(console_env.factory) as db:
        entry = db.execute(
            select(AuditEntry).where(AuditEntry.action == "personal.reveal",
                                     AuditEntry.target_id == "fx-fallback")
            .order_by(AuditEntry.id.desc())
        ).scalars().first()
    assert entry is not None and entry.actor_role == "officer"
    assert PHONE not in str(entry.detail)


def test_exports_are_masked_and_audited(console_env: ConsoleEnv) -> None:
    client = console_env.client("supervisor")
    one = client.post("/conversations/export", {"format": "csv", "sender_id": "fx-fallback"})
    assert one.status_code == 200
    assert one.headers["content-disposition"].startswith('attachment; filename="hoi-thoai-')
    rows = list(csv.reader(io.StringIO(one.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["sender_id", "channel", "time", "speaker", "text"]
    assert {r[0] for r in rows[1:]} == {"fx-fallback"}
    assert PHONE not in one.text and "*******678" in one.text
    many = client.post("/conversations/export", {"format": "xlsx", "fallback": "1"})
    sheet = load_workbook(io.BytesIO(many.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "sender_id" and {v[0] for v in values[1:]} == {"fx-fallback"}
    assert all(PHONE not in str(v) for v in values)
    with session_scope(console_env.factory) as db:
        details = db.execute(
            select(AuditEntry.detail).where(AuditEntry.action == "export.conversations")
            .where(AuditEntry.actor.like("supe-%")).order_by(AuditEntry.id)
        ).scalars().all()
    assert details[-2]["format"] == "csv" and details[-1]["filters"] == {"fallback": "1"}
    assert details[-1]["conversations"] == 1
