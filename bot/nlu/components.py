"""The custom Rasa graph components of tthc-bot, in one importable place.

`config.yml` names them by this module path (`bot.nlu.components.X`); Rasa
imports the module, which registers each class with the default recipe.

- `VietnameseTokenizer`: underthesea word segmentation, offsets into the
  original (possibly NFD) text, accent-folded lemmas;
- `VietnameseRegexEntityExtractor`: dossier_code, citizen_id, phone, date;
- `ProcedureEntityExtractor`: the `procedure` entity and
  `procedure_candidates` from the catalog search;
- `RetrievalIntentResponseSelector`: Rasa's ResponseSelector, run only for
  messages whose intent is the retrieval intent (`faq`);
- `IntentGuard`: keeps `human_handoff` only when a person is asked for, and
  turns a procedure question mistaken for faq/out_of_scope into `ask_*`.
"""

from __future__ import annotations

from bot.nlu.entities import VietnameseRegexEntityExtractor
from bot.nlu.intent_guard import IntentGuard
from bot.nlu.procedure_extractor import ProcedureEntityExtractor
from bot.nlu.selectors import RetrievalIntentResponseSelector
from bot.nlu.tokenizer import VietnameseTokenizer

__all__ = [
    "IntentGuard",
    "ProcedureEntityExtractor",
    "RetrievalIntentResponseSelector",
    "VietnameseRegexEntityExtractor",
    "VietnameseTokenizer",
]
