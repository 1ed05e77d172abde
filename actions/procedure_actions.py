"""Answering questions about procedures: one action for every ask_* intent,
with follow-up context, disambiguation and "not found".

The procedure a question is about, in order of preference:

1. the citizen is answering our "which one?" question (button, "số 2",
   "cái thứ hai" or a name) -> the chosen option, for the question they
   asked before;
2. the `procedure` entity of the message (set by the NLU, or by a button
   payload) — unless the NLU's ranked candidates are close, then we ask;
3. the `procedure` slot: "còn lệ phí thì sao?" is about the last procedure;
4. otherwise "not found" with the closest matches and a human.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import catalog
from actions import common as c
from catalog import answers

log = logging.getLogger(__name__)

MAX_BUTTON_TITLE = 60
# Shown as "closest matches" when nothing is good enough.
NOT_FOUND_SUGGESTION_SCORE = 25.0


def _clip(text: str, limit: int = MAX_BUTTON_TITLE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _name_of(code: str) -> str:
    curated = catalog.get_curated_procedure(code)
    return curated.procedure.name if curated else code


def _choice_events(options: list[dict[str, Any]], question: str) -> list[EventType]:
    return [
        SlotSet(c.SLOT_OPTIONS, [{"code": o["code"], "name": o["name"]} for o in options]),
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
    """The "which one?" question: numbered list plus one button per option."""
    listing = answers.format_candidates([(o["code"], o["name"]) for o in options])
    dispatcher.utter_message(
        text=f"{intro}\n{listing}\n"
        "Bạn chọn bằng nút bấm, gõ số thứ tự (ví dụ “2”) hoặc tên thủ tục.",
        buttons=[
            c.button(
                f"{i}. {_clip(o['name'])}",
                c.intent_payload("inform", {"procedure": o["code"]}),
            )
            for i, o in enumerate(options, start=1)
        ],
    )


def utter_answer(
    dispatcher: CollectingDispatcher, question: str, code: str, *, in_form: bool = False
) -> bool:
    """Send the catalog answer for `question` about `code`; False if unknown."""
    curated = catalog.get_curated_procedure(code)
    if curated is None:
        return False
    answer = answers.answer_for_intent(question, curated)
    buttons = [
        c.button(answers.QUESTION_LABELS[intent], c.intent_payload(intent, {"procedure": code}))
        for intent in answer.follow_ups
    ]
    if not in_form:
        buttons.append(
            c.button("📝 Nộp hồ sơ", c.intent_payload("submit_dossier", {"procedure": code}))
        )
    dispatcher.utter_message(text=answer.text, buttons=buttons)
    return True


def utter_not_found(
    dispatcher: CollectingDispatcher,
    question: str,
    candidates: list[dict[str, Any]] | None,
    text: str,
) -> None:
    closest = [x for x in (candidates or []) if x["score"] >= NOT_FOUND_SUGGESTION_SCORE][:3]
    quoted = f" “{_clip(text, 80)}”" if text and not text.startswith("/") else ""
    lines = [f"Xin lỗi, tôi chưa tìm thấy thủ tục hành chính phù hợp với{quoted}."]
    buttons = []
    if closest:
        lines.append("Các thủ tục gần nhất tôi tìm được:")
        lines.append(answers.format_candidates([(x["code"], x["name"]) for x in closest]))
        buttons = [
            c.button(_clip(x["name"]), c.intent_payload(question, {"procedure": x["code"]}))
            for x in closest
        ]
    lines.append(
        "Bạn có thể gõ lại tên thủ tục rõ hơn (ví dụ “đăng ký khai sinh”), "
        "hoặc gặp cán bộ hỗ trợ."
    )
    buttons.append(c.button("👤 Gặp cán bộ", c.intent_payload("human_handoff")))
    dispatcher.utter_message(text="\n".join(lines), buttons=buttons)


def utter_which_procedure(dispatcher: CollectingDispatcher) -> None:
    buttons = [
        c.button(_clip(name), c.intent_payload("ask_procedure", {"procedure": code}))
        for code, name in _popular()
    ]
    dispatcher.utter_message(
        text="Bạn muốn hỏi về thủ tục nào? Hãy gõ tên thủ tục, ví dụ “đăng ký khai sinh”, "
        "“cấp lại thẻ căn cước”.",
        buttons=buttons,
    )


def _popular() -> list[tuple[str, str]]:
    try:
        return catalog.popular_procedures(limit=5)
    except Exception:  # the menu must not fail because the catalog is unreachable
        log.exception("could not read popular procedures")
        return []


class ActionAnswerProcedureQuestion(Action):
    """One action for all ask_* intents (and for the answer to "which one?")."""

    def name(self) -> str:
        return "action_answer_procedure_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = c.latest_intent(tracker)
        text = c.latest_text(tracker)
        in_form = bool(tracker.active_loop_name)
        entity = c.latest_entity(tracker, "procedure")
        if entity is not None and not c.is_procedure_code(entity):
            entity = None
        candidates = c.candidates_of(tracker)

        # 1. The citizen answers our "which one?" question.
        options = tracker.get_slot(c.SLOT_OPTIONS) or []
        if tracker.get_slot(c.SLOT_AWAITING_CHOICE) and options and not in_form:
            index = self._resolve_choice(entity, text, options)
            if index is not None:
                question = tracker.get_slot(c.SLOT_PENDING_INTENT) or "ask_procedure"
                if intent in c.QUESTION_INTENTS and intent != "ask_procedure":
                    question = intent  # "lệ phí cái thứ hai" asks something new
                return self._answer(dispatcher, tracker, question, options[index]["code"])
            if intent not in c.QUESTION_INTENTS or (entity is None and not candidates):
                utter_choice(
                    dispatcher,
                    options,
                    "Tôi chưa rõ bạn chọn thủ tục nào. Các thủ tục tôi đã gợi ý:",
                )
                return []

        question = intent if intent in c.QUESTION_INTENTS else "ask_procedure"
        if intent not in c.QUESTION_INTENTS:
            question = tracker.get_slot(c.SLOT_PENDING_INTENT) or "ask_procedure"

        # 2. A procedure named in this message.
        if candidates and not in_form and c.is_ambiguous(candidates):
            close = c.close_candidates(candidates)
            if entity is None or entity in {x["code"] for x in close}:
                utter_choice(
                    dispatcher, close, "Có một số thủ tục gần giống nhau, bạn muốn hỏi thủ tục nào?"
                )
                return _choice_events(close, question)
        code = entity
        if code is None and candidates:
            top = candidates[0]
            if top["score"] >= c.CONFIDENT_SCORE:
                code = top["code"]
            elif top["score"] >= c.MIN_SCORE and not in_form:
                close = c.close_candidates(candidates)
                utter_choice(
                    dispatcher, close, "Có phải bạn muốn hỏi về một trong các thủ tục sau?"
                )
                return _choice_events(close, question)

        # 3. Context: the procedure of the previous questions (or of the form).
        # Only when the message names nothing: the NLU sends no candidates for
        # "còn lệ phí thì sao?", but weak ones for an unknown procedure name,
        # which must get "not found" rather than an answer about another one.
        if code is None and not candidates:
            code = tracker.get_slot(c.SLOT_PROCEDURE) or tracker.get_slot("dossier_procedure")
            if code is not None and not c.is_procedure_code(code):
                code = None

        # 4. Nothing usable.
        if code is None:
            if candidates:
                utter_not_found(dispatcher, question, candidates, text)
            else:
                utter_which_procedure(dispatcher)
            return _clear_choice_events(tracker)
        return self._answer(dispatcher, tracker, question, code)

    @staticmethod
    def _resolve_choice(entity: str | None, text: str, options: list[dict[str, Any]]) -> int | None:
        codes = [o.get("code") for o in options]
        if entity in codes:
            return codes.index(entity)
        index = c.choice_index(text, len(options))
        if index is not None:
            return index
        return c.choice_by_name(text, options)

    @staticmethod
    def _answer(
        dispatcher: CollectingDispatcher, tracker: Tracker, question: str, code: str
    ) -> list[EventType]:
        in_form = bool(tracker.active_loop_name)
        if not utter_answer(dispatcher, question, code, in_form=in_form):
            utter_not_found(dispatcher, question, None, code)
            return _clear_choice_events(tracker)
        return [SlotSet(c.SLOT_PROCEDURE, code), *_clear_choice_events(tracker)]


class ActionGreetMenu(Action):
    """Greeting / help: what the assistant does and the most asked procedures."""

    def name(self) -> str:
        return "action_greet_menu"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if c.latest_intent(tracker) == "help":
            intro = (
                "Tôi có thể giúp bạn:\n"
                "• Tra cứu thủ tục: hồ sơ cần chuẩn bị, lệ phí, thời gian, nơi nộp, "
                "nộp trực tuyến, căn cứ pháp lý (ví dụ “lệ phí đăng ký khai sinh”);\n"
                "• Nộp hồ sơ qua trò chuyện (gõ “nộp hồ sơ”);\n"
                "• Tra cứu tình trạng hồ sơ (gửi mã hồ sơ dạng HS-XXXX-XXXX);\n"
                "• Chuyển cho cán bộ hỗ trợ (gõ “gặp cán bộ”)."
            )
        else:
            intro = (
                "Xin chào! Tôi là trợ lý thủ tục hành chính của Cổng Dịch vụ công. "
                "Bạn có thể hỏi về hồ sơ, lệ phí, thời gian, nơi nộp của một thủ tục, "
                "nộp hồ sơ hoặc tra cứu hồ sơ đã nộp."
            )
        popular = _popular()
        if popular:
            intro += "\nCác thủ tục được hỏi nhiều:"
        buttons = [
            c.button(_clip(name), c.intent_payload("ask_procedure", {"procedure": code}))
            for code, name in popular
        ]
        buttons.append(c.button("🔎 Tra cứu hồ sơ", c.intent_payload("check_status")))
        buttons.append(c.button("👤 Gặp cán bộ", c.intent_payload("human_handoff")))
        dispatcher.utter_message(text=intro, buttons=buttons)
        return []
