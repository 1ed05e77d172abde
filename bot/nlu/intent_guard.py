"""Last word on the intent, after the classifier and the catalog search.

Two mistakes of the intent classifier cost citizens most (issue 9):

- chit-chat taken for `human_handoff` ("ai là người giàu nhất thế giới" filed
  an officer request): a hand-off intent is kept only when the message asks
  for a person (`HANDOFF_MARKERS`); otherwise it is `out_of_scope`;
- a question about a procedure taken for `faq`, `out_of_scope` or
  `submit_dossier` ("chứng thực bản sao bằng đại học làm ở đâu, phí thế
  nào"): when the catalog is confident about the procedure
  (`catalog.resolution`) and the message asks something (a facet, or a
  "how/what" question), the intent becomes that question (`ask_*`);
- a bare procedure name taken for something else: "sổ đỏ" and "cà vẹt" look
  like `affirm` ("số đó"), "làm cccd" like `submit_dossier`. With a confident
  procedure and no yes/no word (`AFFIRM_WORDS`) or submitting word
  (`SUBMIT_WORDS`), the message is the name: `inform`, which the dialogue
  answers with the overview (and its "Nộp hồ sơ" button).

`inform` and `nlu_fallback` are never rewritten: inside the dossier form an
`inform` fills a field, and the fallback path already asks the catalog.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.config_component import ConfigOnlyComponent
from bot.nlu.procedure_extractor import CANDIDATES_KEY
from catalog.answers import QUESTION_INTENTS
from catalog.facets import detect_facets
from catalog.resolution import Outcome, resolve
from core.vietnamese import fold

# Folded words with which citizens ask for a person.
HANDOFF_MARKERS = re.compile(
    r"\bcan bo\b|\bnguoi (?:that|thiet|ho tro|tu van|phu trach|truc|co chuyen mon|duoc khong)\b"
    r"|\bnhan vien\b|\btu van (?:vien|truc tiep)\b|\btong dai\b|\badmin\b|\bad\b|\bgap nguoi\b"
    r"|\bchuyen vien\b|\bhotline\b|\bvoi may\b|\bcon nguoi\b|\bco ai\b|\btruc tiep\b"
    r"|\bgoi lai\b|\bcho gap\b|\bgap nguoi\b|\bnguoi$|\bai (?:o do|truc)\b|\bnoi chuyen voi\b"
    # Shorthand: "gặp nv tư vấn", "nc vs ng thật" (nhân viên, nói chuyện với người).
    r"|\bnv\b|\bcb\b|\bng (?:that|thiet)\b|\bnc (?:voi|vs)\b|\bgap (?:\w+ )?(?:nv|cb|ng)\b"
)
# Folded signs that a message asks something (beyond the facets).
QUESTION_MARKERS = re.compile(
    r"\?|\bthu tuc\b|\blam (?:sao|the nao|gi|nhu the nao)\b|\bnhu the nao\b|\bra sao\b|\bthe nao\b"
    r"|\bphai lam\b|\bcan lam\b|\bhuong dan\b|\bcach (?:lam|nao)\b"
    r"|\bco (?:phai|bat buoc|duoc|can)\b|\bduoc khong\b|\bkhong a\b"
    # Shorthand: "tt ... ntn", "hd mình ..." (thủ tục, như thế nào, hướng dẫn).
    r"|\btt\b|\bntn\b|\bhd\b"
)
# Folded words that make a short message a yes/no answer.
AFFIRM_WORDS = re.compile(
    r"\b(?:co|vang|u|uh|um|ok|oke|okay|dung|phai|da|yes|duoc|chuan|chinh xac|khong|ko|k"
    r"|sai|chua|thoi|no|nope|dong y|roi|xac nhan|gui|nop|di|luon|chot|tiep|tiep tuc)\b"
)
# Folded words that make a message a request to submit, not a name.
SUBMIT_WORDS = re.compile(
    r"\b(?:nop|ho so|hs|to khai|luon|ngay|giup|dum|gium|tao|lap|dien|gui|tien hanh"
    r"|thuc hien|bat dau|o day|qua bot)\b"
)
# Folded words of a status look-up or a cancellation: those intents stay.
STATUS_WORDS = re.compile(
    r"\btra cuu\b|\btinh trang\b|\bden dau\b|\bxong chua\b|\bduyet chua\b|\bket qua\b"
    r"|\bhs-|\bma ho so\b|\bcua (?:toi|minh|mk|em|e)\b|\bda nop\b|\bsao (?:r|roi)\b"
)
# Folded words of using the portal itself (VNeID, log-in, OTP, payment): such a
# question is a portal FAQ even when its words also name a procedure, so `faq`
# is never rewritten when they appear. "tài khoản" is not one of them: the
# level-2 electronic identity account is a procedure citizens ask about.
PORTAL_WORDS = re.compile(
    r"\bvneid\b|\bdang nhap\b|\bmat khau\b|\botp\b|\bcong dich vu cong\b"
    r"|\bdvc\b|\bthanh toan\b|\bbuu dien\b"
)
CANCEL_WORDS = re.compile(r"\b(?:huy|thoi|dung|bo|khong|ko|stop|thoat)\b")
# A message whose best candidate scores this much names that procedure (an
# official name or alias, typos tolerated): it is never chit-chat.
NAMED_SCORE = 75.0
_REWRITABLE = frozenset({"faq", "out_of_scope", "submit_dossier", "check_status"})
_NAME_LIKE = frozenset({"affirm", "deny", "submit_dossier", "cancel"})


def guarded_intent(intent: str, text: str, candidates: Any) -> str | None:
    """The intent that should replace `intent`, or None to keep it."""
    folded = fold(text or "")
    if not folded or folded.startswith("/"):
        return None
    if intent == "human_handoff":
        if HANDOFF_MARKERS.search(folded):
            return None
        # Not a request for a person: chit-chat, or a procedure named alone.
        return guarded_intent("out_of_scope", text, candidates) or "out_of_scope"
    if intent not in _REWRITABLE | _NAME_LIKE or not candidates:
        return None
    if intent == "faq" and PORTAL_WORDS.search(folded):
        return None
    resolution = resolve(candidates, text)
    if resolution.outcome is not Outcome.CONFIDENT:
        return None
    scores = [float(c.get("score") or 0) for c in candidates if isinstance(c, dict)]
    named = max(scores, default=0.0) >= NAMED_SCORE
    facets = [f for f in detect_facets(text) if f in QUESTION_INTENTS]
    if intent in ("affirm", "deny"):
        # Only a real name ("sổ đỏ"), never a confirmation ("xác nhận", "đúng rồi").
        if AFFIRM_WORDS.search(folded) or facets or not named:
            return None
        return "ask_procedure" if QUESTION_MARKERS.search(folded) else "inform"
    if intent == "cancel":
        return None if CANCEL_WORDS.search(folded) or not named else "inform"
    if intent == "check_status" and STATUS_WORDS.search(folded):
        return None
    if intent == "submit_dossier":
        if SUBMIT_WORDS.search(folded):
            # "nộp hồ sơ online" is a submission; "nộp hồ sơ ở đâu" a question.
            facets = [f for f in facets if f != "ask_online"]
            return facets[0] if facets else None
        return facets[0] if facets else "inform"
    if facets:
        return facets[0]
    if QUESTION_MARKERS.search(folded):
        return "ask_procedure"
    return "inform" if named else None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class IntentGuard(ConfigOnlyComponent):
    """Rewrites the two costly intent mistakes (see the module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            name = intent.get("name")
            text = message.get(TEXT)
            if not isinstance(name, str) or not isinstance(text, str):
                continue
            new = guarded_intent(name, text, message.get(CANDIDATES_KEY))
            if new is None or new == name:
                continue
            message.set(
                INTENT,
                {"name": new, "confidence": float(intent.get("confidence") or 0.0)},
                add_to_output=True,
            )
        return messages
