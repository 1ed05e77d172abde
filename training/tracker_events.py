"""Rasa's SQL tracker store as the console and the maintainers' loop read it.

Rasa 3.6 (`rasa.core.tracker_store.SQLTrackerStore`) keeps every event of
every conversation in one `events` table; this is the one description of the
columns we read (the table is Rasa's: we never create or migrate it), and the
one list of the intents and actions that mark a fallback or a hand-off, so
the transcripts, the inbox, the analytics and retention agree on them.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
FALLBACK_ACTIONS = frozenset({"action_handle_fallback", "action_default_fallback"})
HANDOFF_INTENTS = frozenset({"human_handoff"})
HANDOFF_ACTIONS = frozenset({"action_human_handoff"})

_metadata = MetaData()
EVENTS = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
