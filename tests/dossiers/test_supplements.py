"""Supplement requests (dossiers.supplements) on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from catalog.repository import CatalogRepository
from core.db import session_scope
from dossiers import supplements
from dossiers.integration_orm import DeliveryJob, SupplementRequest
from dossiers.orm import Attachment, Dossier, Notification
from dossiers.service import InvalidTransition, change_status, submit_dossier
from dossiers.supplements import (
    NothingToComplete,
    SupplementClosed,
    SupplementError,
    add_answer,
    attach_file,
    complete_supplement,
    request_supplement,
    waiting_supplement,
)
from tests.dossiers.test_dossiers_service import make_request


def processing_dossier(factory: sessionmaker, key: str = "k1", sender: str = "tg-1") -> str:
    with session_scope(factory) as session:
        code = submit_dossier(session, make_request(key=key, sender=sender), deliver=False).code
    for status in ("received", "processing"):
        with session_scope(factory) as session:
            change_status(session, code, status, actor="officer:1")
    return code


def notifications(factory: sessionmaker) -> list[str]:
    with session_scope(factory) as session:
        return list(session.execute(select(Notification.text).order_by(Notification.id)).scalars())


def stored_file(factory: sessionmaker, sender: str, name: str = "cccd.jpg") -> int:
    with session_scope(factory) as session:
        row = Attachment(
            sender_id=sender,
            file_name=name,
            content_type="image/jpeg",
            size_bytes=1234,
            sha256="ab" * 32,
            storage_path="/nonexistent/" + name,
        )
        session.add(row)
        session.flush()
        return row.id


def test_request_notifies_once_with_the_list(factory: sessionmaker) -> None:
    code = processing_dossier(factory)
    before = len(notifications(factory))
    with session_scope(factory) as session:
        view = request_supplement(
            session,
            code.lower(),
            ["Bản sao CCCD", " bản sao  cccd ", "Giấy chứng sinh", ""],
            note="Ảnh chụp rõ nét.",
            actor="officer:7",
        )
    assert view.items == ("Bản sao CCCD", "Giấy chứng sinh")
    assert view.status == "open" and view.dossier_code == code
    texts = notifications(factory)
    assert len(texts) == before + 1
    text = texts[-1]
    assert "Cần bổ sung hồ sơ" in text
    assert "1. Bản sao CCCD" in text and "2. Giấy chứng sinh" in text
    assert "Ảnh chụp rõ nét." in text
    with session_scope(factory) as session:
        assert session.execute(select(Dossier.status)).scalar_one() == "need_supplement"


def test_request_needs_items_or_note_and_processing(factory: sessionmaker) -> None:
    code = processing_dossier(factory)
    with pytest.raises(SupplementError), session_scope(factory) as session:
        request_supplement(session, code, ["  "], actor="officer:1")
    with pytest.raises(SupplementError), session_scope(factory) as session:
        request_supplement(session, code, "Bản sao CCCD", actor="officer:1")
    with pytest.raises(SupplementError), session_scope(factory) as session:
        request_supplement(session, code, [f"giấy {i}" for i in range(30)], actor="officer:1")
    with session_scope(factory) as session:
        request_supplement(session, code, [], note="Ký lại tờ khai", actor="officer:1")
    # Already waiting: a second request is an invalid transition, nothing added.
    with pytest.raises(InvalidTransition), session_scope(factory) as session:
        request_supplement(session, code, ["x"], actor="officer:1")
    with session_scope(factory) as session:
        assert session.execute(select(func.count(SupplementRequest.id))).scalar_one() == 1


def test_waiting_supplement_is_per_sender_and_channel(factory: sessionmaker) -> None:
    code = processing_dossier(factory, sender="tg-1")
    processing_dossier(factory, key="k2", sender="tg-2")
    with session_scope(factory) as session:
        assert waiting_supplement(session, "tg-1", "telegram") is None
        request_supplement(session, code, ["Bản sao CCCD"], actor="officer:1")
    with session_scope(factory) as session:
        found = waiting_supplement(session, "tg-1", "telegram")
        assert found is not None and found.dossier_code == code
        assert waiting_supplement(session, "tg-1", "webchat") is None
        assert waiting_supplement(session, "tg-2", "telegram") is None
        assert waiting_supplement(session, "", "telegram") is None


def test_attach_answer_complete_round_trip(factory: sessionmaker) -> None:
    code = processing_dossier(factory)
    with session_scope(factory) as session:
        supplement_id = request_supplement(session, code, ["Bản sao CCCD"], actor="o:1").id
    file_id = stored_file(factory, "tg-1")
    with session_scope(factory) as session:
        attach_file(session, supplement_id, file_id)
        attach_file(session, supplement_id, file_id)  # redelivered: once only
        view = add_answer(session, supplement_id, "Số CCCD đúng là 001090012345")
    assert [p.kind for p in view.parts] == ["file", "text"]
    assert view.parts[0].text == "cccd.jpg"
    before = len(notifications(factory))
    with session_scope(factory) as session:
        done = complete_supplement(session, supplement_id, actor="citizen", deliver=True)
    assert done.status == "completed"
    with session_scope(factory) as session:
        dossier = session.execute(select(Dossier)).scalar_one()
        assert dossier.status == "processing"
        assert session.get(Attachment, file_id).dossier_id == dossier.id
        job = session.execute(select(DeliveryJob)).scalar_one()
        assert (job.kind, job.supplement_id, job.status) == ("supplement", supplement_id, "pending")
        assert waiting_supplement(session, "tg-1", "telegram") is None
    assert len(notifications(factory)) == before + 1
    with pytest.raises(SupplementClosed), session_scope(factory) as session:
        add_answer(session, supplement_id, "muộn")


def test_complete_needs_parts_unless_officer(factory: sessionmaker) -> None:
    code = processing_dossier(factory)
    with session_scope(factory) as session:
        supplement_id = request_supplement(session, code, ["x"], actor="o:1").id
    with pytest.raises(NothingToComplete), session_scope(factory) as session:
        complete_supplement(session, supplement_id, actor="citizen")
    with session_scope(factory) as session:
        complete_supplement(
            session, supplement_id, actor="officer:1", require_parts=False, deliver=False
        )
        assert session.execute(select(func.count(DeliveryJob.id))).scalar_one() == 0


def test_foreign_or_taken_attachment_is_refused(factory: sessionmaker) -> None:
    code = processing_dossier(factory)
    with session_scope(factory) as session:
        supplement_id = request_supplement(session, code, ["x"], actor="o:1").id
    other = stored_file(factory, "tg-999")
    with pytest.raises(SupplementError), session_scope(factory) as session:
        attach_file(session, supplement_id, other)
    with pytest.raises(SupplementError), session_scope(factory) as session:
        attach_file(session, supplement_id, 10**6)
    with pytest.raises(SupplementError), session_scope(factory) as session:
        add_answer(session, supplement_id, " \x00 ")


def test_procedure_documents_from_the_catalog(catalog_db) -> None:
    with session_scope(catalog_db.new_factory()) as session:
        names = supplements.procedure_documents(session, "1.001193")
        assert names and all(isinstance(n, str) and n for n in names)
        # Fresh-user trial: the pick list had ~35 rows, mostly the portal's notes.
        procedure = CatalogRepository(session).get("1.001193")
        assert procedure is not None
        askable = [d for d in procedure.documents if d.kind != "note"]
        assert len(names) == len({d.name for d in askable}) < len(procedure.documents)
        assert names[0].startswith("Tờ khai")  # the declaration form first
        assert not any(n.startswith("Trường hợp người yêu cầu đã nộp bản điện tử") for n in names)
        assert supplements.procedure_documents(session, "no-such") == []


def test_supplement_note_format() -> None:
    assert supplements.supplement_note(["A", "B"], "ghi chú") == (
        "Giấy tờ cần bổ sung:\n1. A\n2. B\nghi chú"
    )
    assert supplements.supplement_note([], "chỉ ghi chú") == "chỉ ghi chú"
