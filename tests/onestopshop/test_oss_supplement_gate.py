"""The chat side of supplements (bot.supplement_gate): "bổ sung: …" answers
and "đã bổ sung xong" while a request waits; everything else untouched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.supplement_gate import is_done_message, route_message
from core.db import DATABASE_URL_ENV, session_scope
from dossiers.integration_orm import SupplementPart
from dossiers.orm import Dossier
from dossiers.service import change_status, submit_dossier
from dossiers.supplements import request_supplement
from tests.conftest import isolated_database
from tests.dossiers.test_dossiers_service import make_request


@pytest.fixture
def factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker]:
    with isolated_database("sqlite", tmp_path) as database:
        monkeypatch.setenv(DATABASE_URL_ENV, database.url)
        yield database.new_factory()


@pytest.mark.parametrize(
    ("text", "done"),
    [
        ("đã bổ sung xong", True),
        ("Đã gửi đủ giấy tờ rồi ạ", True),
        ("xong", True),
        ("da bo sung xong", True),
        ("xong chưa", False),
        ("tôi muốn bổ sung hồ sơ", False),
        ("thủ tục khai sinh cần gì", False),
    ],
)
def test_done_phrases(text: str, done: bool) -> None:
    assert is_done_message(text) is done


def test_answer_then_done_returns_dossier_to_processing(factory: sessionmaker) -> None:
    assert route_message("tg-1001", "telegram", "đã bổ sung xong") is None  # nothing waits
    with session_scope(factory) as session:
        code = submit_dossier(session, make_request(), deliver=False).code
    for status in ("received", "processing"):
        with session_scope(factory) as session:
            change_status(session, code, status, actor="officer:1")
    with session_scope(factory) as session:
        request_supplement(session, code, ["Số CCCD đúng"], actor="officer:1")
    # Too early: nothing sent yet.
    reply = route_message("tg-1001", "telegram", "xong")
    assert reply is not None and "chưa gửi" in reply
    assert route_message("tg-1001", "telegram", "thủ tục khai sinh cần gì") is None
    assert route_message("tg-1001", "rest", "bổ sung: 001090012345") is None  # other channel
    reply = route_message("tg-1001", "telegram", "Bổ sung: số CCCD là 001090012345")
    assert reply is not None and code in reply
    reply = route_message("tg-1001", "telegram", "đã bổ sung xong")
    assert reply is not None and "1 giấy tờ/thông tin" in reply
    with session_scope(factory) as session:
        assert session.execute(select(Dossier.status)).scalar_one() == "processing"
        assert session.execute(select(SupplementPart.text)).scalar_one() == (
            "số CCCD là 001090012345"
        )
    assert route_message("tg-1001", "telegram", "đã bổ sung xong") is None  # closed
