"""Writes test_stories.yml (kept in the repo; re-run after editing this file).

The stories are written as data here because the form stories share long
step sequences; the YAML is what `rasa test core` reads.
"""

from __future__ import annotations

from pathlib import Path

import yaml

KS = "1.001193"


def user(text, intent, **entities):
    step = {"user": text, "intent": intent}
    if entities:
        step["entities"] = [{k: v} for k, v in entities.items()]
    return step


def act(name):
    return {"action": name}


def slot(**values):
    return {"slot_was_set": [{k: v} for k, v in values.items()]}


def loop(name):
    return {"active_loop": name}


ANSWER = act("action_answer_procedure_question")
QUESTIONS = [
    ("hồ sơ làm khai sinh gồm những gì", "ask_documents"),
    ("lệ phí đăng ký khai sinh bao nhiêu", "ask_fee"),
    ("đăng ký khai sinh mất mấy ngày", "ask_processing_time"),
    ("đăng ký khai sinh nộp ở đâu", "ask_agency"),
    ("đăng ký khai sinh nộp online được không", "ask_online"),
    ("đăng ký khai sinh căn cứ luật nào", "ask_legal_basis"),
    ("thủ tục đăng ký khai sinh thế nào", "ask_procedure"),
]

stories = []


def story(name, *steps):
    stories.append({"story": name, "steps": list(steps)})


for text, intent in QUESTIONS:
    story(f"question {intent}", user(text, intent, procedure=KS), slot(procedure=KS), ANSWER)

story("follow-up fee after documents",
      user("làm khai sinh cần giấy tờ gì", "ask_documents", procedure=KS), slot(procedure=KS),
      ANSWER, user("còn lệ phí thì sao?", "ask_fee"), ANSWER)
story("follow-up online after overview",
      user("thủ tục cấp hộ chiếu", "ask_procedure", procedure="1.001456"),
      slot(procedure="1.001456"), ANSWER,
      user("nộp qua mạng được không", "ask_online"), ANSWER,
      user("thế mất bao lâu", "ask_processing_time"), ANSWER)
story("follow-up by button payload",
      user("lệ phí đổi bằng lái", "ask_fee", procedure="3.000347"), slot(procedure="3.000347"),
      ANSWER, user('/ask_documents{"procedure":"3.000347"}', "ask_documents",
                   procedure="3.000347"), ANSWER)

AMBIG = [user("làm căn cước cần gì", "ask_documents"), ANSWER,
         slot(awaiting_procedure_choice=True)]
story("disambiguation by button", *AMBIG,
      user('/inform{"procedure":"1.014064"}', "inform", procedure="1.014064"),
      slot(procedure="1.014064"), ANSWER, slot(awaiting_procedure_choice=False))
story("disambiguation by number", *AMBIG, user("2", "inform"), ANSWER,
      slot(awaiting_procedure_choice=False))
story("disambiguation by ordinal word", *AMBIG, user("cái thứ hai", "nlu_fallback"), ANSWER,
      slot(awaiting_procedure_choice=False))
story("disambiguation by typed name", *AMBIG, user("cấp lại thẻ căn cước", "inform"), ANSWER,
      slot(awaiting_procedure_choice=False), user("lệ phí bao nhiêu", "ask_fee"), ANSWER)
story("disambiguation then a new question instead", *AMBIG,
      user("lệ phí đăng ký kết hôn", "ask_fee", procedure="1.000894"),
      slot(procedure="1.000894"), ANSWER, slot(awaiting_procedure_choice=False))
story("not found", user("lệ phí nuôi rồng", "ask_fee"), ANSWER,
      user("cho tôi gặp cán bộ", "human_handoff"), act("action_human_handoff"))

story("greet", user("xin chào", "greet"), act("action_greet_menu"))
story("help", user("bạn giúp được gì", "help"), act("action_greet_menu"))
story("goodbye", user("tạm biệt", "goodbye"), act("utter_goodbye"))
story("thanks", user("cảm ơn nhé", "thank"), act("utter_thank"))
story("bot challenge", user("bạn là người hay máy", "bot_challenge"), act("utter_bot_challenge"))
story("out of scope", user("hôm nay thời tiết thế nào", "out_of_scope"),
      act("utter_out_of_scope"))
story("portal faq", user("làm sao tạo tài khoản dịch vụ công", "faq"), act("utter_faq"))
story("fallback once", user("asdfgh", "nlu_fallback"), act("action_handle_fallback"))
story("fallback twice then human",
      user("asdfgh", "nlu_fallback"), act("action_handle_fallback"),
      user("qwerty zxc", "nlu_fallback"), act("action_handle_fallback"),
      user("/human_handoff", "human_handoff"), act("action_human_handoff"))
story("handoff", user("tôi muốn gặp cán bộ", "human_handoff"), act("action_human_handoff"))

CODE = "HS-7K2M-Q9XD"
story("status by owner", user(f"tra cứu hồ sơ {CODE}", "check_status", dossier_code=CODE),
      slot(dossier_code=CODE), act("action_check_status"))
story("status by stranger with phone digits",
      user(f"hồ sơ {CODE} sao rồi", "check_status", dossier_code=CODE), slot(dossier_code=CODE),
      act("action_check_status"), slot(awaiting_phone_last4=True),
      user("5678", "inform"), act("action_check_status"), slot(awaiting_phone_last4=False))
story("status by stranger, digits not understood",
      user(CODE, "check_status", dossier_code=CODE), slot(dossier_code=CODE),
      act("action_check_status"), slot(awaiting_phone_last4=True),
      user("không nhớ", "nlu_fallback"), act("action_check_status"),
      slot(awaiting_phone_last4=False))
story("my dossiers", user("hồ sơ của tôi", "check_status"), act("action_check_status"))

# --- the dossier form -----------------------------------------------------------------------
PROC = "2.000815"  # no procedure-specific fields: the common applicant fields only
START = [user("nộp hồ sơ chứng thực bản sao", "submit_dossier", procedure=PROC),
         slot(procedure=PROC), act("action_start_dossier"), act("dossier_form"),
         loop("dossier_form"), slot(requested_slot="full_name")]
FIELDS = [("full_name", "Nguyễn Văn An"), ("date_of_birth", "15/03/1990"),
          ("citizen_id", "001090012345"), ("phone", "0912345678"),
          ("address", "Số 12 Tràng Tiền, Hoàn Kiếm, Hà Nội")]
BAD = {"full_name": "An", "date_of_birth": "31/02/1990", "citizen_id": "123456789",
       "phone": "0241234567", "address": "HN"}


def fill(from_index=0, bad_for=None):
    steps = []
    for i, (name, value) in enumerate(FIELDS[from_index:], start=from_index):
        if name == bad_for:
            steps += [user(BAD[name], "inform"), act("dossier_form"),
                      slot(**{name: None}), slot(requested_slot=name)]
        nxt = FIELDS[i + 1][0] if i + 1 < len(FIELDS) else "dossier_confirmed"
        steps += [user(value, "inform"), act("dossier_form"), slot(**{name: value}),
                  slot(requested_slot=nxt)]
    return steps


CONFIRM = [user("/affirm", "affirm"), act("dossier_form"), slot(dossier_confirmed="yes"),
           loop(None), slot(requested_slot=None), act("action_submit_dossier")]

story("form happy path", *START, *fill(), *CONFIRM)
for name, _ in FIELDS:
    story(f"form invalid {name} is re-asked", *START, *fill(bad_for=name), *CONFIRM)
story("form invalid confirmation answer is re-asked", *START, *fill(),
      user("hmm", "inform"), act("dossier_form"), slot(dossier_confirmed=None),
      slot(requested_slot="dossier_confirmed"), *CONFIRM)
story("form asks the procedure when unknown",
      user("tôi muốn nộp hồ sơ", "submit_dossier"), act("action_start_dossier"),
      act("dossier_form"), loop("dossier_form"), slot(requested_slot="dossier_procedure"),
      user("nuôi rồng", "inform"), act("dossier_form"), slot(dossier_procedure=None),
      slot(requested_slot="dossier_procedure"),
      user("chứng thực bản sao", "inform"), act("dossier_form"), slot(dossier_procedure=PROC),
      slot(requested_slot="full_name"), *fill(), *CONFIRM)
story("form question inside is answered and the form resumes", *START, *fill(0)[:4],
      user("lệ phí bao nhiêu", "ask_fee"), ANSWER, act("dossier_form"), loop("dossier_form"),
      *fill(1), *CONFIRM)
story("form documents question inside", *START,
      user("cần mang giấy tờ gì", "ask_documents"), ANSWER, act("dossier_form"),
      loop("dossier_form"), *fill(), *CONFIRM)
story("form faq inside", *START, user("quên mật khẩu dịch vụ công", "faq"), act("utter_faq"),
      act("dossier_form"), loop("dossier_form"), *fill(), *CONFIRM)
story("form help inside", *START, *fill(0)[:4], user("giúp tôi với", "help"),
      act("action_greet_menu"), act("dossier_form"), loop("dossier_form"), *fill(1), *CONFIRM)
story("form bot challenge inside", *START, user("bạn là bot à", "bot_challenge"),
      act("utter_bot_challenge"), act("dossier_form"), loop("dossier_form"), *fill(), *CONFIRM)
story("form edit a field at confirmation", *START, *fill(),
      user('/inform{"edit_field":"phone"}', "inform", edit_field="phone"), act("dossier_form"),
      slot(phone=None), slot(requested_slot="phone"),
      user("0987654321", "inform"), act("dossier_form"), slot(phone="0987654321"),
      slot(requested_slot="dossier_confirmed"), *CONFIRM)
story("form edit by typing", *START, *fill(), user("sửa địa chỉ", "inform"),
      act("dossier_form"), slot(address=None), slot(requested_slot="address"),
      user("Số 5 Lê Lợi, phường Bến Nghé, TP Hồ Chí Minh", "inform"), act("dossier_form"),
      slot(address="Số 5 Lê Lợi, phường Bến Nghé, TP Hồ Chí Minh"),
      slot(requested_slot="dossier_confirmed"), *CONFIRM)
story("form cancel midway", *START, *fill(0)[:4], user("thôi hủy đi", "cancel"),
      act("action_cancel_dossier"), act("action_deactivate_loop"), loop(None))
story("form cancel at confirmation", *START, *fill(), user("/cancel", "cancel"),
      act("action_cancel_dossier"), act("action_deactivate_loop"), loop(None))
story("form handoff inside", *START, user("cho gặp cán bộ", "human_handoff"),
      act("action_human_handoff"), act("action_deactivate_loop"), loop(None))
story("form three failures then handoff", *START,
      *[s for _ in range(3) for s in (user("An", "inform"), act("dossier_form"),
                                      slot(full_name=None), slot(requested_slot="full_name"))],
      user("/human_handoff", "human_handoff"), act("action_human_handoff"),
      act("action_deactivate_loop"), loop(None))
story("form duplicate confirmation returns the same dossier", *START, *fill(), *CONFIRM,
      user("/affirm", "affirm"), act("action_submit_dossier"))
story("form started from an answer button",
      user("lệ phí đăng ký khai sinh", "ask_fee", procedure=KS), slot(procedure=KS), ANSWER,
      user('/submit_dossier{"procedure":"1.001193"}', "submit_dossier", procedure=KS),
      act("action_start_dossier"), act("dossier_form"), loop("dossier_form"),
      slot(requested_slot="full_name"),
      user("hủy", "cancel"), act("action_cancel_dossier"), act("action_deactivate_loop"),
      loop(None))
story("status look-up inside the form", *START,
      user(f"tra cứu {CODE}", "check_status", dossier_code=CODE), slot(dossier_code=CODE),
      act("action_check_status"), act("dossier_form"), loop("dossier_form"), *fill(), *CONFIRM)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _quoted_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Rasa reads YAML 1.2, where 0912345678 is a number; PyYAML (1.1) would
    # leave it unquoted. Quote everything that starts with a digit or sign.
    style = '"' if value[:1].isdigit() or value[:1] in "+-" else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _quoted_str)


header = (
    "# Conversation tests (`rasa test core` format), generated by make_stories.py.\n"
    "# Run: pytest tests/conversations (trains a model when none is newer than the data).\n"
)
out = Path(__file__).with_name("test_stories.yml")
out.write_text(
    header
    + yaml.dump({"version": "3.1", "stories": stories}, Dumper=_Dumper, allow_unicode=True,
                sort_keys=False, width=100),
    encoding="utf-8",
)
print(f"{len(stories)} stories -> {out}")
