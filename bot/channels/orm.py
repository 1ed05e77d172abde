"""Tables owned by the channels (need an Alembic migration; see the module
docstrings below for the columns).

They live in the project database rather than in process memory because every
channel may run as several processes (Telegram pollers/webhook workers, Rasa
replicas serving the Zalo webhook): a button pressed on a message sent by one
process is resolved by another, and a Zalo retry may land on another replica.
Timestamps are aware UTC (`core.db.UTCDateTime`).
"""

from __future__ import annotations

from sqlalchemy import Column, String, Text

from core.db import Base, UTCDateTime, utcnow


class ChannelCallbackPayload(Base):
    """A Rasa button payload behind a short Telegram `callback_data` id.

    Telegram caps `callback_data` at 64 bytes; Rasa payloads such as
    `/chon_thu_tuc{"procedure_code": "1.001234"}` can be longer. The id is
    derived from the payload's hash, so re-sending the same button reuses the
    row and concurrent inserts of the same payload collide harmlessly.
    """

    __tablename__ = "channel_callback_payloads"

    id = Column(String(32), primary_key=True)
    payload = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)


class ChannelProcessedEvent(Base):
    """Inbound webhook deliveries already accepted, to drop re-deliveries
    (Zalo re-sends an event when it does not get 200 within ~2 s)."""

    __tablename__ = "channel_processed_events"

    channel = Column(String(32), primary_key=True)
    event_id = Column(String(128), primary_key=True)
    received_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)


class ChannelOAuthToken(Base):
    """The current OAuth token pair of a channel account (e.g. the Zalo OA).

    Zalo refresh tokens are single-use: once a refresh succeeds the old one is
    dead, so the new pair must be stored durably before it is used, and every
    process reads it from here rather than from its environment.
    """

    __tablename__ = "channel_oauth_tokens"

    account = Column(String(64), primary_key=True)  # e.g. "zalo:<app_id>"
    access_token = Column(Text, nullable=False)
    refresh_token = Column(Text, nullable=False, default="")
    expires_at = Column(UTCDateTime, nullable=True)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)


CHANNEL_TABLES = (
    ChannelCallbackPayload.__table__,
    ChannelProcessedEvent.__table__,
    ChannelOAuthToken.__table__,
)
