"""An officer refuses the citizen's supplement: the citizen is told why through
the outbox, and can send again (dossiers.supplements.reject_supplement)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from core.db import session_scope
from dossiers.integration_orm import SupplementRequest
from dossiers.orm import Dossier, Notification
from dossiers.supplements import (
    SupplementClosed,
    SupplementError,
    attach_file,
    reject_supplement,
    request_supplement,
    waiting_supplement,
)
from tests.dossiers.test_supplements import processing_dossier, stored_file


def test_rejected_supplement_is_told_with_the_reason(factory: sessionmaker) -> None:
    code = processing_dossier(factory, sender="tg-9")
    with session_scope(factory) as session:
        first = request_supplement(session, code, ["Bản sao CCCD"], actor="officer:7")
    with session_scope(factory) as session:
        attach_file(session, first.id, stored_file(factory, "tg-9"))
    with session_scope(factory) as session, pytest.raises(SupplementError):
        reject_supplement(session, first.id, "  ", actor="officer:7")
    with session_scope(factory) as session:
        again = reject_supplement(session, first.id, "Ảnh bị mờ, không đọc được số.",
                                  actor="officer:7")
    assert again.id != first.id and again.status == "open" and again.items == ("Bản sao CCCD",)
    with session_scope(factory) as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        last = session.execute(
            select(Notification).where(Notification.dossier_id == dossier.id)
            .order_by(Notification.id.desc())
        ).scalars().first()
        assert dossier.status == "need_supplement"
        assert "Ảnh bị mờ" in dossier.events[-1].note
        old = session.get(SupplementRequest, first.id)
        assert old is not None and old.status == "cancelled" and len(old.parts) == 1
        # The citizen can send again: the new request waits for their files.
        waiting = waiting_supplement(session, "tg-9", dossier.channel)
        assert waiting is not None and waiting.id == again.id
    assert last is not None and last.channel == dossier.channel and last.recipient == "tg-9"
    assert last.status == "pending"
    assert "chưa được chấp nhận" in last.text and "Lý do: Ảnh bị mờ" in last.text
    assert "1. Bản sao CCCD" in last.text
    with session_scope(factory) as session, pytest.raises(SupplementClosed):
        reject_supplement(session, first.id, "lần hai", actor="officer:7")
