"""Dossier workflow against SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import date, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from core.db import session_scope
from dossiers import service
from dossiers.backends import BackendReceipt, BackendUnavailable
from dossiers.codes import is_canonical
from dossiers.orm import Attachment, Dossier, DossierEvent, HandoffRequest, Notification
from dossiers.service import (
    AccessDenied,
    DossierNotFound,
    IdempotencyConflict,
    InvalidDossierCode,
    InvalidTransition,
    SubmissionRequest,
    change_status,
    get_dossier,
    list_dossiers,
    record_handoff,
    submit_dossier,
)
from dossiers.validation import ValidationError


def make_request(key: str = "key-1", sender: str = "tg-1001", **overrides) -> SubmissionRequest:
    values = {
        "idempotency_key": key,
        "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "sender_id": sender,
        "channel": "telegram",
        "applicant_name": "nguyễn văn an",
        "applicant_dob": date(1990, 3, 15),
        "applicant_citizen_id": "001090012345",
        "applicant_phone": "0912345678",
        "applicant_address": "Số 12 Tràng Tiền, Hoàn Kiếm, Hà Nội",
        "extra": {
            "child_name": "Nguyễn Minh Khang",
            "child_date_of_birth": date(2025, 1, 5),
            "mother_name": "Trần Thị Bình",
            "father_name": None,
        },
    }
    values.update(overrides)
    return SubmissionRequest(**values)


def submit(factory: sessionmaker, **kwargs) -> str:
    with session_scope(factory) as session:
        return submit_dossier(session, make_request(**kwargs)).code


def count(factory: sessionmaker, model) -> int:
    with session_scope(factory) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# ---------------------------------------------------------------------------
# Submission and idempotency
# ---------------------------------------------------------------------------


def test_submit_creates_dossier_and_event(factory: sessionmaker) -> None:
    code = submit(factory)
    assert is_canonical(code)
    with session_scope(factory) as session:
        dossier = session.execute(select(Dossier)).scalar_one()
        assert dossier.status == "submitted"
        assert dossier.applicant_name == "Nguyễn Văn An"  # normalised on the way in
        assert dossier.applicant_dob == date(1990, 3, 15)
        assert dossier.extra == {
            "child_name": "Nguyễn Minh Khang",
            "child_date_of_birth": "2025-01-05",
            "mother_name": "Trần Thị Bình",
        }
        assert [e.status for e in dossier.events] == ["submitted"]
        assert dossier.created_at.tzinfo is not None
        assert dossier.created_at.utcoffset().total_seconds() == 0
        assert "Nguyễn" not in repr(dossier)
    assert count(factory, Notification) == 0  # submission is confirmed in-chat


def test_submit_is_idempotent(factory: sessionmaker) -> None:
    first = submit(factory)
    second = submit(factory)  # redelivered confirmation, new transaction
    with session_scope(factory) as session:
        again = submit_dossier(session, make_request())
        also = submit_dossier(session, make_request())  # same session
    assert first == second == again.code == also.code
    assert count(factory, Dossier) == 1
    assert count(factory, DossierEvent) == 1


def test_different_keys_make_different_dossiers(factory: sessionmaker) -> None:
    assert submit(factory, key="a") != submit(factory, key="b")
    assert count(factory, Dossier) == 2


def test_idempotency_key_of_another_sender_is_not_handed_out(factory: sessionmaker) -> None:
    submit(factory, key="shared")
    with pytest.raises(IdempotencyConflict):
        submit(factory, key="shared", sender="tg-evil")


def test_submit_validates_applicant_data(factory: sessionmaker) -> None:
    with pytest.raises(ValidationError):
        submit(factory, applicant_phone="0241234567")
    with pytest.raises(ValidationError):
        submit(factory, applicant_citizen_id="001091012345")  # year digits mismatch
    with pytest.raises(ValueError):
        submit(factory, sender="")
    assert count(factory, Dossier) == 0


def test_from_form_builds_request(factory: sessionmaker) -> None:
    values = {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-03-15",
        "citizen_id": "001090012345",
        "phone": "0912345678",
        "address": "Số 12 Tràng Tiền, Hà Nội",
        "child_name": "Nguyễn Minh Khang",
        "unrelated_slot": "ignored",
    }
    request = SubmissionRequest.from_form(
        idempotency_key="form-1",
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        sender_id="zalo-9",
        channel="zalo",
        values=values,
    )
    assert request.applicant_dob == date(1990, 3, 15)
    assert "unrelated_slot" not in request.extra
    with session_scope(factory) as session:
        dossier = submit_dossier(session, request)
        assert dossier.extra == {"child_name": "Nguyễn Minh Khang"}


def test_two_sessions_racing_on_one_key(db, factory: sessionmaker) -> None:
    """Session A inserts and holds its transaction open; B (another engine, as
    another process) submits the same key, blocks on the unique index / write
    lock, then loses and must return A's dossier."""
    other_factory = db.new_factory()
    result: dict[str, object] = {}

    def racer() -> None:
        try:
            with session_scope(other_factory) as session:
                result["code"] = submit_dossier(session, make_request(key="race")).code
        except Exception as exc:  # surfaced by the assertion below
            result["error"] = exc

    session_a = factory()
    try:
        code_a = submit_dossier(session_a, make_request(key="race")).code  # flushed, not committed
        thread = threading.Thread(target=racer)
        thread.start()
        time.sleep(0.5)  # B is now blocked inside its INSERT
        assert thread.is_alive()
        session_a.commit()
    finally:
        session_a.close()
    thread.join(timeout=30)
    assert "error" not in result, result.get("error")
    assert result["code"] == code_a
    assert count(factory, Dossier) == 1
    assert count(factory, DossierEvent) == 1


def test_many_threads_racing_on_one_key(db, factory: sessionmaker) -> None:
    barrier = threading.Barrier(6)
    codes: list[str] = []
    errors: list[BaseException] = []

    def racer() -> None:
        own_factory = db.new_factory()
        try:
            barrier.wait()
            with session_scope(own_factory) as session:
                codes.append(submit_dossier(session, make_request(key="herd")).code)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(set(codes)) == 1 and len(codes) == 6
    assert count(factory, Dossier) == 1


class RecordingBackend:
    def __init__(self, fail: bool = False) -> None:
        self.payloads: list[dict] = []
        self.fail = fail

    def submit(self, dossier_payload: dict) -> BackendReceipt:
        self.payloads.append(dossier_payload)
        if self.fail:
            raise BackendUnavailable(4, "HTTP 503")
        return BackendReceipt(backend="fake", reference="MC-2025-000123")


def test_submit_through_backend(factory: sessionmaker) -> None:
    backend = RecordingBackend()
    with session_scope(factory) as session:
        dossier = submit_dossier(session, make_request(), backend=backend)
        code = dossier.code
        assert dossier.backend_reference == "MC-2025-000123"
    payload = backend.payloads[0]
    assert payload["code"] == code
    assert payload["idempotency_key"] == "key-1"
    assert payload["applicant"]["citizen_id"] == "001090012345"
    assert payload["fields"]["child_date_of_birth"] == "2025-01-05"
    # A repeat does not call the backend again.
    with session_scope(factory) as session:
        submit_dossier(session, make_request(), backend=backend)
    assert len(backend.payloads) == 1


def test_backend_failure_stores_nothing(factory: sessionmaker) -> None:
    with pytest.raises(BackendUnavailable), session_scope(factory) as session:
        submit_dossier(session, make_request(), backend=RecordingBackend(fail=True))
    assert count(factory, Dossier) == 0


# ---------------------------------------------------------------------------
# Status transitions
# ---------------------------------------------------------------------------


def test_statuses_and_labels() -> None:
    assert set(service.STATUSES) == set(service.STATUS_LABELS) == set(service.TRANSITIONS)
    assert {"completed", "rejected", "cancelled"} == service.TERMINAL_STATUSES
    for label in service.STATUS_LABELS.values():
        assert label and label[0].isupper()


def test_happy_path_with_supplement_loop(factory: sessionmaker) -> None:
    code = submit(factory)
    path = ["received", "processing", "need_supplement", "processing", "completed"]
    for status in path:
        with session_scope(factory) as session:
            change_status(session, code, status, actor="officer:42", note=f"bước {status}")
    with session_scope(factory) as session:
        dossier = session.execute(select(Dossier)).scalar_one()
        assert dossier.status == "completed"
        assert [e.status for e in dossier.events] == ["submitted", *path]
        assert dossier.events[-1].actor == "officer:42"
        assert dossier.events[-1].note == "bước completed"
    assert count(factory, Notification) == len(path)


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ([], "processing"),
        ([], "completed"),
        ([], "submitted"),
        (["received"], "need_supplement"),
        (["received", "processing"], "cancelled"),
        (["received", "processing", "need_supplement"], "completed"),
        (["received", "processing", "completed"], "processing"),
        (["cancelled"], "received"),
        (["received", "processing", "rejected"], "completed"),
    ],
)
def test_invalid_transitions(factory: sessionmaker, path: list[str], bad: str) -> None:
    code = submit(factory)
    for status in path:
        with session_scope(factory) as session:
            change_status(session, code, status, actor="officer:1")
    with pytest.raises(InvalidTransition) as info, session_scope(factory) as session:
        change_status(session, code, bad, actor="officer:1")
    assert "Không thể chuyển" in info.value.message_vi
    assert count(factory, DossierEvent) == 1 + len(path)
    assert count(factory, Notification) == len(path)


def test_cancel_allowed_from_submitted_and_received(factory: sessionmaker) -> None:
    first = submit(factory, key="c1")
    second = submit(factory, key="c2")
    with session_scope(factory) as session:
        change_status(session, second, "received", actor="officer:1")
    for code in (first, second):
        with session_scope(factory) as session:
            assert change_status(session, code, "cancelled", actor="officer:1").status == (
                "cancelled"
            )


def test_change_status_errors(factory: sessionmaker) -> None:
    code = submit(factory)
    with pytest.raises(InvalidTransition), session_scope(factory) as session:
        change_status(session, code, "archived", actor="officer:1")
    with pytest.raises(DossierNotFound), session_scope(factory) as session:
        change_status(session, "HS-0000-0000", "received", actor="officer:1")
    with pytest.raises(InvalidDossierCode), session_scope(factory) as session:
        change_status(session, "not a valid code", "received", actor="officer:1")
    with pytest.raises(ValueError), session_scope(factory) as session:
        change_status(session, code, "received", actor="")


def test_change_status_accepts_sloppy_code(factory: sessionmaker) -> None:
    code = submit(factory)
    with session_scope(factory) as session:
        assert change_status(
            session, code.lower().replace("-", ""), "received", actor="x"
        ).code == (code)


def test_status_change_and_notification_commit_together(factory: sessionmaker) -> None:
    code = submit(factory)
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        change_status(session, code, "received", actor="officer:1")
        raise RuntimeError("crash before commit")
    with session_scope(factory) as session:
        assert session.execute(select(Dossier.status)).scalar_one() == "submitted"
    assert count(factory, Notification) == 0
    assert count(factory, DossierEvent) == 1


def test_notification_content(factory: sessionmaker) -> None:
    code = submit(factory)
    with session_scope(factory) as session:
        change_status(session, code, "received", actor="officer:1")
        change_status(session, code, "processing", actor="officer:1")
        change_status(
            session,
            code,
            "need_supplement",
            actor="officer:1",
            note="Thiếu bản sao giấy chứng sinh\x00",
        )
    with session_scope(factory) as session:
        notes = session.execute(select(Notification).order_by(Notification.id)).scalars().all()
        assert len(notes) == 3
        last = notes[-1]
        assert last.channel == "telegram" and last.recipient == "tg-1001"
        assert last.status == "pending" and last.attempts == 0
        assert code in last.text
        assert "Cần bổ sung hồ sơ" in last.text
        assert "Thiếu bản sao giấy chứng sinh" in last.text and "\x00" not in last.text
        assert "001090012345" not in last.text and "0912345678" not in last.text


def test_concurrent_status_changes_do_not_both_pass(db, factory: sessionmaker) -> None:
    code = submit(factory)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def officer() -> None:
        own = db.new_factory()
        barrier.wait()
        try:
            with session_scope(own) as session:
                change_status(session, code, "received", actor="officer:x")
            outcomes.append("ok")
        except InvalidTransition:
            outcomes.append("invalid")

    threads = [threading.Thread(target=officer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["invalid", "invalid", "invalid", "ok"]
    assert count(factory, Notification) == 1


# ---------------------------------------------------------------------------
# Access control and views
# ---------------------------------------------------------------------------


def test_owner_sees_masked_view(factory: sessionmaker) -> None:
    code = submit(factory)
    with session_scope(factory) as session:
        view = get_dossier(session, code.lower(), sender_id="tg-1001")
    assert view.code == code and view.status == "submitted"
    assert view.status_label == "Đã nộp, chờ tiếp nhận"
    assert view.applicant_citizen_id == "********2345"
    assert view.applicant_phone == "*******678"
    assert view.applicant_address == "***, Hà Nội"
    assert view.applicant_name == "N. V. A."
    assert view.applicant_dob == "**/**/1990"
    details = dict(view.details)
    assert details["Họ và tên của trẻ"] == "N. M. K."
    assert details["Ngày sinh của trẻ"] == "**/**/2025"
    text = repr(view) + view.summary_vi()
    for secret in ("001090012345", "0912345678", "Tràng Tiền", "Nguyễn Văn An", "Khang"):
        assert secret not in text
    assert code in view.summary_vi()
    assert [e.status for e in view.events] == ["submitted"]


def test_unmasked_view_on_request(factory: sessionmaker) -> None:
    code = submit(factory)
    with session_scope(factory) as session:
        view = get_dossier(session, code, sender_id="tg-1001", masked=False)
    assert view.applicant_citizen_id == "001090012345"
    assert view.applicant_dob == "15/03/1990"
    assert dict(view.details)["Họ và tên của trẻ"] == "Nguyễn Minh Khang"


def test_other_sender_needs_phone_digits(factory: sessionmaker) -> None:
    code = submit(factory)
    with session_scope(factory) as session:
        with pytest.raises(AccessDenied):
            get_dossier(session, code, sender_id="tg-2002")
        with pytest.raises(AccessDenied):
            get_dossier(session, code, sender_id="tg-2002", phone_last4="0000")
        with pytest.raises(AccessDenied):
            get_dossier(session, code, sender_id="tg-2002", phone_last4="67")
        assert get_dossier(session, code, sender_id="tg-2002", phone_last4="5678").code == code
        assert get_dossier(session, code, sender_id="tg-2002", phone_last4=" 56-78 ").code == code


def test_channel_is_checked_when_given(factory: sessionmaker) -> None:
    code = submit(factory)
    with session_scope(factory) as session:
        assert get_dossier(session, code, sender_id="tg-1001", channel="telegram")
        with pytest.raises(AccessDenied):
            get_dossier(session, code, sender_id="tg-1001", channel="zalo")


def test_unknown_code_looks_like_not_yours(factory: sessionmaker) -> None:
    code = submit(factory)
    with session_scope(factory) as session:
        with pytest.raises(AccessDenied) as not_yours:
            get_dossier(session, code, sender_id="tg-2002", phone_last4="0000")
        with pytest.raises(AccessDenied) as missing:
            get_dossier(session, "HS-0000-0000", sender_id="tg-1001", phone_last4="5678")
        with pytest.raises(InvalidDossierCode):
            get_dossier(session, "HS-12", sender_id="tg-1001")
    assert not_yours.value.message_vi == missing.value.message_vi
    assert str(not_yours.value) == str(missing.value)


@pytest.mark.parametrize("sender", ["", None, 5])
def test_missing_sender_is_denied(factory: sessionmaker, sender: object) -> None:
    code = submit(factory)
    with pytest.raises(AccessDenied), session_scope(factory) as session:
        get_dossier(session, code, sender_id=sender)  # type: ignore[arg-type]


def test_list_dossiers_only_own_newest_first(factory: sessionmaker) -> None:
    first = submit(factory, key="l1")
    second = submit(factory, key="l2")
    submit(factory, key="l3", sender="tg-other")
    with session_scope(factory) as session:
        views = list_dossiers(session, "tg-1001")
        assert [view.code for view in views] == [second, first]
        assert all(view.masked for view in views)
        assert list_dossiers(session, "tg-1001", channel="zalo") == []
        assert len(list_dossiers(session, "tg-1001", limit=1)) == 1
        assert list_dossiers(session, "nobody") == []


def test_citizen_cancel(factory: sessionmaker) -> None:
    code = submit(factory)
    with pytest.raises(AccessDenied), session_scope(factory) as session:
        service.cancel_dossier(session, code, sender_id="tg-2002")
    with session_scope(factory) as session:
        assert service.cancel_dossier(session, code, sender_id="tg-1001").status == "cancelled"
    assert count(factory, Notification) == 1
    other = submit(factory, key="k2")
    with session_scope(factory) as session:
        change_status(session, other, "received", actor="officer:1")
        change_status(session, other, "processing", actor="officer:1")
    with pytest.raises(InvalidTransition), session_scope(factory) as session:
        service.cancel_dossier(session, other, sender_id="tg-1001")


# ---------------------------------------------------------------------------
# Hand-off and attachments
# ---------------------------------------------------------------------------


def test_record_handoff_and_dedup(factory: sessionmaker) -> None:
    with session_scope(factory) as session:
        first = record_handoff(session, "tg-1", "telegram", "user_request", "gặp cán bộ\x00")
        first_id = first.id
        assert first.status == "open" and first.last_message == "gặp cán bộ"
    with session_scope(factory) as session:
        again = record_handoff(session, "tg-1", "telegram", "low_confidence", "alo " * 2000)
        assert again.id == first_id
        assert again.reason == "low_confidence" and len(again.last_message) <= 2000
        again.status = "closed"
    with session_scope(factory) as session:
        assert record_handoff(session, "tg-1", "telegram", "user_request", "lại").id != first_id
        assert record_handoff(session, "tg-1", "zalo", "user_request", "khác kênh").id not in (
            first_id,
        )
    assert count(factory, HandoffRequest) == 3


def pending_attachment(sender: str) -> Attachment:
    """A file a citizen sent during the form, not yet linked to a dossier."""
    return Attachment(
        sender_id=sender,
        file_name="giay-chung-sinh.pdf",
        content_type="application/pdf",
        size_bytes=1234,
        sha256="0" * 64,
        storage_path="/tmp/x.pdf",
    )


def test_attachment_linking(factory: sessionmaker) -> None:
    code = submit(factory)
    with session_scope(factory) as session:
        session.add(pending_attachment("tg-1001"))
    with session_scope(factory) as session:
        attachment = session.execute(select(Attachment)).scalar_one()
        assert attachment.dossier_id is None
        attachment.dossier_id = session.execute(
            select(Dossier.id).where(Dossier.code == code)
        ).scalar_one()
        assert attachment.created_at.tzinfo == timezone.utc


def test_logs_carry_no_personal_data(
    factory: sessionmaker, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from dossiers.outbox import OutboxDispatcher

    class Failing:
        def send(self, recipient: str, text: str) -> None:
            raise ConnectionError(f"chat {recipient} unreachable")

    caplog.set_level(logging.DEBUG, logger="dossiers")
    code = submit(factory)
    submit(factory)  # deduplicated
    with session_scope(factory) as session:
        change_status(session, code, "received", actor="officer:1")
        with pytest.raises(AccessDenied):
            get_dossier(session, code, sender_id="tg-2002", phone_last4="1111")
        record_handoff(session, "tg-1001", "telegram", "user_request", "số tôi 0912345678")
    OutboxDispatcher(factory, {"telegram": Failing()}).dispatch_once()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert code in logged  # the logs are useful...
    for secret in ("001090012345", "0912345678", "tg-1001", "Nguyễn", "Tràng Tiền", "1111"):
        assert secret not in logged  # ...but anonymous


def test_pending_attachments_are_linked_on_submission(factory: sessionmaker) -> None:
    """Files sent during the form wait with no dossier; submitting links the
    sender's pending files, and only theirs."""
    with session_scope(factory) as session:
        session.add_all(
            [
                pending_attachment("tg-1001"),
                pending_attachment("tg-1001"),
                pending_attachment("tg-9999"),
            ]
        )
    with session_scope(factory) as session:
        dossier_id = submit_dossier(session, make_request()).id
    with session_scope(factory) as session:
        linked = {a.sender_id: a.dossier_id for a in session.query(Attachment)}
        rows = session.query(Attachment).order_by(Attachment.id).all()
        assert [a.dossier_id for a in rows] == [dossier_id, dossier_id, None]
        assert linked["tg-9999"] is None
