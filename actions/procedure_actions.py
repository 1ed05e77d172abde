"""Answering questions about procedures: one action for every ask_* intent and
for a procedure named alone (`inform`), with follow-up context, variant
choice and "not found".

The procedure a question is about, in order of preference:

1. the citizen is answering our "which one?" question (button, "số 2",
   "cái thứ hai", a name or a label) -> the chosen option, for the question
   they asked before;
2. a button payload's `procedure` entity;
3. the NLU's ranked candidates, decided by `catalog.resolution.resolve`
   (confident → answer; two or three variants → one short question with
   labelled buttons; loose matches → "did you mean"; nothing → out of scope);
4. the `procedure` slot: "còn lệ phí thì sao?" is about the last procedure;
5. otherwise "which procedure?".

Every facet asked is answered in one reply (`catalog.facets`): "hết bao
nhiêu tiền, mấy ngày" gets the fee and the processing time.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import catalog
from actions import common as c
from actions.rating_actions import rating_buttons
from catalog import answers
from catalog.facets import facets_of
from catalog.resolution import Outcome, Resolution, resolve
from core.vietnamese import is_procedure_code
from core.wording import say

log = logging.getLogger(__name__)

MAX_BUTTON_TITLE = 60
# Zalo's template limit (bot/channels/zalo_api.MAX_BUTTONS); Telegram and web have none.
MAX_ANSWER_BUTTONS = 5
# Several questions asked at once travel as one "ask_fee+ask_processing_time"
# (the pending_intent slot keeps them while the citizen picks a variant).
FACET_SEPARATOR = "+"


def _clip(text: str, limit: int = MAX_BUTTON_TITLE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _choice_events(options: list[dict[str, Any]], question: str) -> list[EventType]:
    kept = [
        {"code": o["code"], "name": o["name"], **({"label": o["label"]} if o.get("label") else {})}
        for o in options
    ]
    return [
        SlotSet(c.SLOT_OPTIONS, kept),
        SlotSet(c.SLOT_PENDING_INTENT, question),
        SlotSet(c.SLOT_AWAITING_CHOICE, True),
    ]


def _clear_choice_events(tracker: Tracker) -> list[EventType]:
    if not tracker.get_slot(c.SLOT_AWAITING_CHOICE) and not tracker.get_slot(c.SLOT_OPTIONS):
        return []
    return [
        SlotSet(c.SLOT_OPTIONS, None),
        SlotSet(c.SLOT_PENDING_INTENT, None),
        SlotSet(c.SLOT_AWAITING_CHOICE, False),
    ]


def utter_choice(
    dispatcher: CollectingDispatcher, options: list[dict[str, Any]], intro: str
) -> None:
    """The "which one?" question: numbered list plus one `/inform{"procedure": code}`
    button per option (the button shows the option's short `label` when it has one)."""
    lines = []
    for i, o in enumerate(options, start=1):
        label = o.get("label")
        name = _clip(o["name"], 150)
        lines.append(
            say("procedure.choice_line_labelled", number=i, label=label, name=name, code=o["code"])
            if label
            else say("procedure.choice_line", number=i, name=name, code=o["code"])
        )
    dispatcher.utter_message(
        text=f"{intro}\n" + "\n".join(lines) + "\n" + say("procedure.choice_how"),
        buttons=[
            c.button(
                _clip(o["label"]) if o.get("label") else f"{i}. {_clip(o['name'])}",
                c.intent_payload("inform", {"procedure": o["code"]}),
            )
            for i, o in enumerate(options, start=1)
        ],
    )


def utter_resolution_choice(
    dispatcher: CollectingDispatcher, resolution: Resolution, question: str
) -> list[EventType]:
    """Ask the citizen to pick among the resolution's options (AMBIGUOUS: the
    short distinguishing question; WEAK: "did you mean")."""
    options = [o.as_dict() for o in resolution.options]
    if resolution.outcome is Outcome.AMBIGUOUS and resolution.question:
        intro = resolution.question
    else:
        intro = say("procedure.did_you_mean")
        options = [{**o, "label": ""} for o in options]
    utter_choice(dispatcher, options, intro)
    return _choice_events(options, question)


def compose_answer(question: str, curated: object) -> answers.Answer:
    """One answer for one or several facets ("ask_fee+ask_processing_time"):
    the sections of catalog.answers in the order asked, under one header,
    with one portal link at the end; follow-ups are the facets not asked."""
    facets = [f for f in question.split(FACET_SEPARATOR) if f] or ["ask_procedure"]
    parts = [answers.answer_for_intent(f, curated) for f in dict.fromkeys(facets)]
    if len(parts) == 1:
        return parts[0]
    lines: list[str] = []
    link: str | None = None
    for i, part in enumerate(parts):
        for line in part.text.split("\n"):
            if line.startswith("🔗"):
                link = link or line
                continue
            if i > 0 and line.startswith("📄 "):
                continue
            lines.append(line)
    if link:
        lines.append(link)
    follow_ups = [f for p in parts for f in p.follow_ups if f not in facets]
    return answers.Answer("\n".join(lines), tuple(dict.fromkeys(follow_ups))[:3])


def utter_answer(
    dispatcher: CollectingDispatcher,
    question: str,
    code: str,
    *,
    in_form: bool = False,
    rate: bool = False,
) -> bool:
    """Send the catalog answer for `question` (one facet or several joined by
    "+") about `code`; False if the code is unknown. `rate`: end the buttons
    with 👍 / 👎 (issue 12; when, see actions.rating_actions)."""
    curated = catalog.get_curated_procedure(code)
    if curated is None:
        return False
    answer = compose_answer(question, curated)
    buttons = [
        c.button(answers.QUESTION_LABELS[intent], c.intent_payload(intent, {"procedure": code}))
        for intent in answer.follow_ups
        if intent in answers.QUESTION_LABELS
    ]
    if not in_form:
        buttons.append(
            c.button(
                say("button.submit_dossier"),
                c.intent_payload("submit_dossier", {"procedure": code}),
            )
        )
    if rate:
        # Zalo shows at most 5 buttons: the last follow-up gives way to 👍 / 👎.
        stars = rating_buttons("answer")
        while len(buttons) + len(stars) > MAX_ANSWER_BUTTONS:
            del buttons[-1 if in_form else -2]
        buttons += stars
    dispatcher.utter_message(text=answer.text, buttons=buttons)
    return True


def utter_not_found(
    dispatcher: CollectingDispatcher,
    question: str,
    candidates: list[dict[str, Any]] | None,
    text: str,
) -> None:
    """Nothing in the catalog matches (an unknown name, traffic fines): say so,
    say what the assistant does, offer an officer (a button: nothing is filed
    unless the citizen presses it)."""
    quoted = (
        say("procedure.not_found_quote", text=_clip(text, 80))
        if text and not text.startswith("/")
        else ""
    )
    dispatcher.utter_message(
        text=say("procedure.not_found", quoted=quoted),
        buttons=[
            c.button(say("button.what_i_do"), c.intent_payload("help")),
            c.button(say("button.human"), c.intent_payload("human_handoff")),
        ],
    )


def utter_which_procedure(dispatcher: CollectingDispatcher) -> None:
    buttons = [
        c.button(_clip(name), c.intent_payload("ask_procedure", {"procedure": code}))
        for code, name in _popular()
    ]
    dispatcher.utter_message(
        text=say("procedure.which"),
        buttons=buttons,
    )


def _popular() -> list[tuple[str, str]]:
    try:
        return catalog.popular_procedures(limit=5)
    except Exception:  # the menu must not fail because the catalog is unreachable
        log.exception("could not read popular procedures")
        return []


def _question_of(tracker: Tracker, intent: str, text: str) -> str:
    """The facets to answer, joined by "+": from the message ("hết bao nhiêu
    tiền, mấy ngày" → fee and time), else the question pending from before
    a choice, else the overview."""
    if text.startswith("/"):  # a button payload names its intent exactly
        if intent in c.QUESTION_INTENTS:
            return intent
        return tracker.get_slot(c.SLOT_PENDING_INTENT) or "ask_procedure"
    facets = facets_of(text, intent, c.QUESTION_INTENTS)
    if facets == ("ask_procedure",) and intent not in c.QUESTION_INTENTS:
        return tracker.get_slot(c.SLOT_PENDING_INTENT) or "ask_procedure"
    return FACET_SEPARATOR.join(facets)


def answer_procedure_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, fallback: bool = False
) -> list[EventType] | None:
    """Answer the latest message about a procedure; the logic of
    action_answer_procedure_question (see the module docstring).

    With `fallback=True` (the NLU was not confident of any intent) it answers
    only when the message names a procedure (confidently, or as a short
    choice) and returns None otherwise, so the caller can say "not understood".
    """
    intent = c.latest_intent(tracker)
    text = c.latest_text(tracker)
    in_form = bool(tracker.active_loop_name)
    entity = c.latest_entity(tracker, "procedure")
    if entity is not None and not is_procedure_code(entity, loose=True):
        entity = None
    candidates = c.candidates_of(tracker)

    # 1. The citizen answers our "which one?" question.
    options = tracker.get_slot(c.SLOT_OPTIONS) or []
    if not isinstance(options, list):
        options = []
    options = [
        o
        for o in options
        if isinstance(o, dict) and is_procedure_code(o.get("code"), loose=True)
    ]
    if tracker.get_slot(c.SLOT_AWAITING_CHOICE) and options and not in_form:
        index = ActionAnswerProcedureQuestion._resolve_choice(entity, text, options)
        if index is not None:
            question = tracker.get_slot(c.SLOT_PENDING_INTENT) or "ask_procedure"
            if intent in c.QUESTION_INTENTS and intent != "ask_procedure":
                question = intent  # "lệ phí cái thứ hai" asks something new
            return _answer(dispatcher, tracker, question, options[index]["code"])
        names_nothing = entity is None and not candidates
        if not fallback and (intent not in c.QUESTION_INTENTS or names_nothing):
            utter_choice(
                dispatcher,
                options,
                say("procedure.choice_unclear"),
            )
            return []

    question = _question_of(tracker, intent, text)

    # 2. A button payload names the procedure exactly (no candidates attached).
    if entity is not None and candidates is None:
        return _answer(dispatcher, tracker, question, entity)

    # 3. A procedure named in this message: one decision, catalog.resolution.
    code: str | None = None
    if candidates:
        resolution = resolve(candidates, text)
        if resolution.outcome is Outcome.CONFIDENT:
            code = resolution.code
        elif in_form:
            code = entity  # inside the form a question never opens a choice
        elif resolution.outcome in (Outcome.AMBIGUOUS, Outcome.WEAK):
            if fallback and resolution.outcome is Outcome.WEAK:
                return None
            return utter_resolution_choice(dispatcher, resolution, question)
        elif fallback:
            return None
    elif fallback:
        return None

    # 4. Context: the procedure of the previous questions (or of the form).
    # Only when the message names nothing: the NLU sends no candidates for
    # "còn lệ phí thì sao?", but weak ones for an unknown procedure name,
    # which must not get an answer about another one.
    if code is None and not candidates:
        code = tracker.get_slot(c.SLOT_PROCEDURE) or tracker.get_slot("dossier_procedure")
        if code is not None and not is_procedure_code(code, loose=True):
            code = None

    # 5. Nothing usable.
    if code is None:
        if candidates:
            utter_not_found(dispatcher, question, candidates, text)
        else:
            utter_which_procedure(dispatcher)
        return _clear_choice_events(tracker)
    return _answer(dispatcher, tracker, question, code)


_CONVERSATION_START = ("session_started", "restart")


def _rating_offered(tracker: Tracker, code: str) -> bool:
    """Whether a bot message of this conversation (since the last session start
    or restart) already offered 👍/👎 on an answer about `code`.

    Read from the tracker's bot events, not from the `procedure` slot: the slot
    mapping fills that slot from the NLU entity (or a typed `/intent{…}`)
    before the action runs, so it already names `code` on the first answer.
    An answer's buttons carry `{"procedure": code}` (follow-ups, "Nộp hồ sơ")
    next to the `/rate…"rating_kind":"answer"` pair."""
    marker = f'"procedure":"{code}"'
    for event in reversed(tracker.events or []):
        kind = event.get("event")
        if kind in _CONVERSATION_START:
            return False
        if kind != "bot":
            continue
        payloads = [
            str(b.get("payload") or "")
            for b in (event.get("data") or {}).get("buttons") or []
            if isinstance(b, dict)
        ]
        rated = any(p.startswith("/rate") and '"rating_kind":"answer"' in p for p in payloads)
        if rated and any(marker in p for p in payloads):
            return True
    return False


def _answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, question: str, code: str
) -> list[EventType]:
    in_form = bool(tracker.active_loop_name)
    # 👍/👎 once per procedure: on its first answer, not on follow-ups about it.
    first = not _rating_offered(tracker, code)
    if not utter_answer(dispatcher, question, code, in_form=in_form, rate=first and not in_form):
        utter_not_found(dispatcher, question, None, code)
        return _clear_choice_events(tracker)
    return [SlotSet(c.SLOT_PROCEDURE, code), *_clear_choice_events(tracker)]


class ActionAnswerProcedureQuestion(Action):
    """One action for all ask_* intents (and for the answer to "which one?")."""

    def name(self) -> str:
        return "action_answer_procedure_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # None comes only with fallback=True; `or []` just says so to the type checker
        return answer_procedure_question(dispatcher, tracker) or []

    @staticmethod
    def _resolve_choice(entity: str | None, text: str, options: list[dict[str, Any]]) -> int | None:
        # What the citizen typed against what we showed, before the NLU's own
        # procedure guess: a label or name first ("lần đầu" is the "Cấp lần đầu"
        # button, not the ordinal "đầu" = the first option), then a number or
        # ordinal ("số 2", "cái thứ hai"), and only then the search's guess.
        index = c.choice_by_name(text, options)
        if index is None:
            index = c.choice_index(text, len(options))
        if index is not None:
            return index
        codes = [o.get("code") for o in options]
        return codes.index(entity) if entity in codes else None


class ActionGreetMenu(Action):
    """Greeting / help: what the assistant does and the most asked procedures."""

    def name(self) -> str:
        return "action_greet_menu"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if c.latest_intent(tracker) == "help":
            intro = say("procedure.help")
        else:
            intro = say("procedure.greeting")
        popular = _popular()
        if popular:
            intro += "\n" + say("procedure.popular_heading")
        buttons = [
            c.button(_clip(name), c.intent_payload("ask_procedure", {"procedure": code}))
            for code, name in popular
        ]
        buttons.append(c.button(say("button.check_status"), c.intent_payload("check_status")))
        buttons.append(c.button(say("button.human"), c.intent_payload("human_handoff")))
        dispatcher.utter_message(text=intro, buttons=buttons)
        return []
