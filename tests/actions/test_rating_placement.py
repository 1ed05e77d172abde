"""Where 👍/👎 appear (issue 12): on the first answer about a procedure (within
Zalo's 5 buttons), not on follow-ups about it nor inside the form; on a
finished dossier's status, not on an open one's."""

from __future__ import annotations

from action_helpers import entity, file_dossier, make_tracker, run

from actions import common
from actions.procedure_actions import ActionAnswerProcedureQuestion
from actions.rating_actions import rating_buttons
from actions.status_actions import ActionCheckStatus
from dossiers.service import change_status

ACTION = ActionAnswerProcedureQuestion()


def _rating_payloads(dispatcher) -> list[str]:
    return [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []
            if b["payload"].startswith("/rate")]


def test_first_answer_about_a_procedure_offers_a_rating(dispatcher, domain):
    tracker = make_tracker("lệ phí khai sinh", "ask_fee",
                           entities=[entity("procedure", "1.001193")])
    run(ACTION, dispatcher, tracker, domain)
    buttons = dispatcher.messages[0]["buttons"]
    assert len(dispatcher.messages) == 1 and len(buttons) <= 5
    assert _rating_payloads(dispatcher) == [
        '/rate{"rating":"5","rating_kind":"answer"}', '/rate{"rating":"1","rating_kind":"answer"}']
    assert any(b["payload"].startswith("/submit_dossier") for b in buttons)


def _answered(code: str, *, rated: bool) -> list[dict]:
    """The events of an earlier answer about `code` (with or without 👍/👎)."""
    buttons = [{"title": "Nộp hồ sơ", "payload": f'/submit_dossier{{"procedure":"{code}"}}'}]
    if rated:
        buttons += rating_buttons("answer")
    return [{"event": "user", "text": "lệ phí", "parse_data": {}, "timestamp": 0.5},
            {"event": "bot", "text": "…", "data": {"buttons": buttons}, "timestamp": 0.6}]


def test_first_answer_rated_when_the_entity_already_filled_the_slot(dispatcher, domain):
    # In production the slot mapping fills `procedure` from the NLU entity
    # before the action runs: the slot alone cannot say "first answer".
    tracker = make_tracker("lệ phí khai sinh", "ask_fee",
                           entities=[entity("procedure", "1.001193")],
                           slots={"procedure": "1.001193"},
                           events=[{"event": "slot", "name": "procedure", "value": "1.001193"}])
    run(ACTION, dispatcher, tracker, domain)
    assert len(_rating_payloads(dispatcher)) == 2


def test_rating_is_per_procedure_and_per_conversation(dispatcher, domain):
    other = make_tracker("lệ phí khai sinh", "ask_fee", entities=[entity("procedure", "1.001193")],
                         slots={"procedure": "1.001193"},
                         events=_answered("1.014061", rated=True))
    run(ACTION, dispatcher, other, domain)
    assert len(_rating_payloads(dispatcher)) == 2
    dispatcher.messages.clear()
    # A new session (or a restart) is a new conversation: rated again.
    new_session = make_tracker("lệ phí khai sinh", "ask_fee",
                               entities=[entity("procedure", "1.001193")],
                               slots={"procedure": "1.001193"},
                               events=[*_answered("1.001193", rated=True),
                                       {"event": "session_started", "timestamp": 0.8}])
    run(ACTION, dispatcher, new_session, domain)
    assert len(_rating_payloads(dispatcher)) == 2


def test_follow_ups_and_the_form_get_no_rating(dispatcher, domain):
    follow_up = make_tracker("còn thời gian?", "ask_processing_time",
                             entities=[entity("procedure", "1.001193")],
                             slots={"procedure": "1.001193"},
                             events=_answered("1.001193", rated=True))
    run(ACTION, dispatcher, follow_up, domain)
    in_form = make_tracker("lệ phí?", "ask_fee", entities=[entity("procedure", "1.001193")],
                           active_loop="dossier_form")
    run(ACTION, dispatcher, in_form, domain)
    assert dispatcher.messages and _rating_payloads(dispatcher) == []




def test_a_finished_dossier_offers_a_rating(dispatcher, domain):
    open_code = file_dossier("k-rate-open", sender="owner-r")
    done_code = file_dossier("k-rate-done", sender="owner-r")
    with common.db_session() as session:
        for status in ("received", "processing", "completed"):
            change_status(session, done_code, status, actor="officer-1")

    def look_up(code: str) -> list[str]:
        dispatcher.messages.clear()
        run(ActionCheckStatus(), dispatcher, make_tracker(
            f"tra cứu {code}", "check_status", entities=[entity("dossier_code", code)],
            sender_id="owner-r"), domain)
        return _rating_payloads(dispatcher)

    assert look_up(open_code) == []
    assert look_up(done_code) == [
        f'/rate{{"rating":"5","rating_kind":"dossier","dossier_code":"{done_code}"}}',
        f'/rate{{"rating":"1","rating_kind":"dossier","dossier_code":"{done_code}"}}',
    ]
