"""Generated parts of the Rasa domain (`bot/domain/`), like the NLU data is.

`bot/domain/dossier_form.yml` is built from the form's DATA, never kept by
hand: every field of `dossiers.forms.COMMON_FIELDS` and
`dossiers/form_fields.yml` becomes a slot filled from the citizen's text only
while the form asks for it (`requested_slot` condition) and never from an
interrupting intent (`not_intent`, the ONE list `INTERRUPTING_INTENTS` below),
plus its `action_ask_<field>` action. Adding a procedure's fields to
`form_fields.yml` and running `tthc domain build` (or `tthc train`, which
builds a stale domain first) is all a new form needs.

`tthc domain build --check` (and tests/bot/test_domain_build.py) fails when a
committed generated file differs from what the generator writes.

Only the standard library, PyYAML and `dossiers.forms` are imported: no Rasa.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from catalog.answers import QUESTION_INTENTS
from dossiers import forms

DOMAIN_DIR = Path(__file__).resolve().parent / "domain"
DOSSIER_FORM_DOMAIN = DOMAIN_DIR / "dossier_form.yml"
FORM_NAME = "dossier_form"
PROCEDURE_SLOT = "dossier_procedure"
CONFIRM_SLOT = "dossier_confirmed"

# Intents that interrupt the dossier form instead of answering the question
# it asked: a question about a procedure (the seven catalog question intents),
# "hủy" (cancel), "gặp cán bộ" (human_handoff), help, "bạn là người hay máy"
# (bot_challenge), a status look-up and an FAQ. No form slot is ever filled
# from a message classified as one of these; the rules in
# nlu_data/rules/dossier.yml run the digression and the form resumes.
# (bot.form_answers turns a message that validates as the asked field into
# `inform` before this applies, so an answer misread as `faq` still fills it.)
INTERRUPTING_INTENTS: tuple[str, ...] = (
    *QUESTION_INTENTS,
    "cancel",
    "human_handoff",
    "help",
    "bot_challenge",
    "check_status",
    "faq",
)

# Form state kept in slots, set by the actions only (custom mappings).
STATE_SLOTS: dict[str, str] = {
    "dossier_form_id": "form-instance id drawn by action_start_dossier (submission idempotency)",
    "submitted_form_id": "the form instance already submitted (a double 'Xác nhận' files once)",
    "last_dossier_code": "code of the dossier just filed, for status follow-ups",
    "form_failures": "invalid answers per field; after too many the form offers a hand-off",
    "dossier_cancel_pending": (
        "the citizen asked to cancel a form holding answers: the next explicit 'hủy' "
        "cancels, 'tiếp tục' or an answer goes on (issue 14)"
    ),
}
# Actions of the form besides one `action_ask_<slot>` per asked slot.
FORM_ACTIONS: tuple[str, ...] = (
    "action_start_dossier",
    "validate_dossier_form",
    "action_submit_dossier",
    "action_cancel_dossier",
)


def _asked_slot_mapping(slot: str) -> dict[str, Any]:
    """The citizen's text fills `slot` while the form asks it, unless it is an interruption."""
    return {
        "type": "from_text",
        "not_intent": list(INTERRUPTING_INTENTS),
        "conditions": [{"active_loop": FORM_NAME, "requested_slot": slot}],
    }


def field_names(form_fields_path: Path | None = None) -> list[str]:
    """Every field the form may ask, in asking order: the common applicant
    fields, then each procedure's own fields in file order (a name shared by
    two procedures, e.g. `father_name`, once). Raises `forms.FormDataError`."""
    names = [spec.name for spec in forms.COMMON_FIELDS]
    for specs in forms.load_form_fields(form_fields_path).values():
        names += [spec.name for spec in specs if spec.name not in names]
    return names


def dossier_form_domain(form_fields_path: Path | None = None) -> dict[str, Any]:
    """The parsed content of `dossier_form.yml` (version, forms, slots, actions)."""
    fields = field_names(form_fields_path)
    slots: dict[str, Any] = {
        PROCEDURE_SLOT: {
            "type": "any",
            "influence_conversation": False,
            "mappings": [
                {
                    "type": "from_entity",
                    "entity": "procedure",
                    "conditions": [{"active_loop": FORM_NAME, "requested_slot": PROCEDURE_SLOT}],
                },
                _asked_slot_mapping(PROCEDURE_SLOT),
            ],
        }
    }
    for name in fields:
        slots[name] = {
            "type": "any",
            "influence_conversation": False,
            "mappings": [_asked_slot_mapping(name)],
        }
    # Categorical so that rules and stories can tell a confirmed form.
    slots[CONFIRM_SLOT] = {
        "type": "categorical",
        "values": ["yes"],
        "influence_conversation": True,
        "mappings": [_asked_slot_mapping(CONFIRM_SLOT)],
    }
    for name in STATE_SLOTS:
        slots[name] = {
            "type": "any",
            "influence_conversation": False,
            "mappings": [{"type": "custom"}],
        }
    common = [spec.name for spec in forms.COMMON_FIELDS]
    return {
        "version": "3.1",
        "forms": {FORM_NAME: {"required_slots": [PROCEDURE_SLOT, *common, CONFIRM_SLOT]}},
        "slots": slots,
        "actions": [
            *FORM_ACTIONS,
            f"action_ask_{PROCEDURE_SLOT}",
            f"action_ask_{CONFIRM_SLOT}",
            *(f"action_ask_{name}" for name in fields),
        ],
    }


def _header() -> str:
    state = "\n".join(
        textwrap.fill(
            f"{name}: {why}", width=79, initial_indent="#   ", subsequent_indent="#     "
        )
        for name, why in STATE_SLOTS.items()
    )
    return f"""\
# GENERATED by bot/domain_build.py from dossiers/form_fields.yml and
# dossiers/forms.py COMMON_FIELDS - do not edit; run `tthc domain build`.
#
# The dossier form: every field is a slot filled from the citizen's text only
# while the form asks for it (`requested_slot` condition), and never from the
# interrupting intents (`not_intent`, bot.domain_build.INTERRUPTING_INTENTS):
# those are digressions handled by rules. The procedure-specific fields are
# added to required_slots at run time by validate_dossier_form.
# Form state slots (set by the actions):
{state}
"""


def render_dossier_form(form_fields_path: Path | None = None) -> str:
    """The full text of `bot/domain/dossier_form.yml` (deterministic)."""
    body = yaml.safe_dump(
        dossier_form_domain(form_fields_path),
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return _header() + body


@dataclass(frozen=True)
class Generated:
    """One generated domain file and the function returning its full text."""

    path: Path
    render: Callable[[], str]


def _render_responses() -> str:
    """bot/domain/responses.yml: the Rasa responses from core/wording/vi.yml (issue 15.6)."""
    from core.wording.rasa import render_responses

    return render_responses()


# Every generated file of bot/domain/.
GENERATED: tuple[Generated, ...] = (
    Generated(DOSSIER_FORM_DOMAIN, render_dossier_form),
    Generated(DOMAIN_DIR / "responses.yml", _render_responses),
)


def stale_files() -> list[Path]:
    """Generated files whose committed text differs from the generator's output."""
    stale = []
    for item in GENERATED:
        try:
            current = item.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != item.render():
            stale.append(item.path)
    return stale


def build() -> list[Path]:
    """Write every stale generated file; returns the paths written (none when current)."""
    written = []
    for item in GENERATED:
        text = item.render()
        try:
            current = item.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            item.path.write_text(text, encoding="utf-8")
            written.append(item.path)
    return written
