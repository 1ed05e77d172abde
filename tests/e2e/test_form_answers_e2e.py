"""Issue 14 end to end (real model, real action server and Rasa server over
REST): on a temporary-residence dossier the form's own "Bỏ qua" button on the
optional landlord field skips it instead of cancelling, "12 tháng" is the
range "Từ 6 đến 12 tháng", a landlord's name is taken as the name (not a
FAQ), and cancelling needs an explicit, confirmed "hủy"."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.e2e.applicants import TEMPORARY_RESIDENCE
from tests.e2e.conftest import Servers

pytestmark = pytest.mark.slow


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def _fill_until(servers: Servers, citizen: str, stop_at: str, answers: dict[str, str]) -> None:
    for _ in range(30):
        slot = servers.requested_slot(citizen)
        if slot == stop_at:
            return
        assert slot in answers, f"unexpected slot {slot}"
        servers.say(citizen, answers[slot])
    raise AssertionError(f"{stop_at} never asked")


def _start(servers: Servers) -> str:
    citizen = f"e2e-answers-{secrets.token_hex(4)}"
    servers.say(citizen, "tôi muốn nộp hồ sơ đăng ký tạm trú")
    if servers.requested_slot(citizen) == "dossier_procedure":
        servers.say(citizen, "đăng ký tạm trú")
    return citizen


def test_skip_button_range_answer_and_names_are_taken(servers: Servers) -> None:
    citizen = _start(servers)
    answers = {**TEMPORARY_RESIDENCE, "stay_duration": "12 tháng"}
    _fill_until(servers, citizen, "stay_duration", answers)
    servers.say(citizen, "12 tháng")
    assert servers.requested_slot(citizen) == "stay_reason"
    _fill_until(servers, citizen, "landlord_name", answers)
    reply = texts(servers.say(citizen, "bỏ qua"))  # the form's own button payload
    assert "Đã hủy" not in reply
    assert servers.requested_slot(citizen) == "dossier_confirmed"
    assert "Từ 6 đến 12 tháng" in reply and "(bỏ qua)" in reply
    # Back to the landlord field: a name is taken as the name.
    servers.say(citizen, "sửa họ và tên chủ nhà")
    assert servers.requested_slot(citizen) == "landlord_name"
    reply = texts(servers.say(citizen, "Trần Thị Giờ"))
    assert servers.requested_slot(citizen) == "dossier_confirmed"
    assert "Trần Thị Giờ" in reply


def test_cancel_needs_an_explicit_confirmed_request(servers: Servers) -> None:
    citizen = _start(servers)
    _fill_until(servers, citizen, "date_of_birth", TEMPORARY_RESIDENCE)
    reply = texts(servers.say(citizen, "hủy"))
    assert "có chắc" in reply
    assert servers.requested_slot(citizen) == "date_of_birth"  # the form still waits
    servers.say(citizen, "tiếp tục")
    assert servers.requested_slot(citizen) == "date_of_birth"
    servers.say(citizen, "hủy")
    reply = texts(servers.say(citizen, "/cancel"))
    assert "Đã hủy" in reply
    assert servers.requested_slot(citizen) is None
