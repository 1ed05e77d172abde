"""Database access for the channels: short button ids, de-duplication of
webhook deliveries and the durable OAuth token store.

All functions are synchronous (SQLAlchemy 1.4 ORM); async callers run them in
a worker thread so a slow database never blocks the event loop.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.channels.orm import ChannelCallbackPayload, ChannelOAuthToken, ChannelProcessedEvent
from core import db
from core.db import utcnow

# Telegram callback data of a button = this prefix + `ChannelStore.callback_id`
# (the bridge's inline keyboards and the outbox sender's must agree).
CALLBACK_PREFIX = "b:"


class DatabaseBacked:
    """Channel storage bound to a session factory: the one given, else the
    process-wide factory, opened on first use (not at import or start-up)."""

    def __init__(self, session_factory: sessionmaker | None = None) -> None:
        self._factory = session_factory

    @property
    def session_factory(self) -> sessionmaker:
        """The factory the store's sessions come from."""
        if self._factory is None:
            # The process-wide factory: one pool per database per process,
            # shared with the actions and the catalog.
            self._factory = db.session_factory()
        return self._factory


class ChannelStore(DatabaseBacked):
    """The channels' tables behind one session factory."""

    # -- button payloads -------------------------------------------------
    @staticmethod
    def callback_id(payload: str) -> str:
        """A deterministic 16-character id for `payload` (96 bits of SHA-256,
        URL-safe base64): collisions are out of reach, and it is far below
        Telegram's 64-byte callback_data limit."""
        digest = hashlib.sha256(payload.encode("utf-8")).digest()[:12]
        return base64.urlsafe_b64encode(digest).decode("ascii")

    def callback_rows(self, buttons: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        """Rasa buttons -> (title, Telegram callback data) pairs, one per
        button with a title; each payload is stored under its short id, since
        Telegram's callback data holds at most 64 bytes. Used by the bridge's
        inline keyboards and the notification sender alike."""
        rows: list[tuple[str, str]] = []
        for button in buttons:
            title = str(button.get("title") or "").strip()
            if title:
                payload = str(button.get("payload") or title)
                rows.append((title, CALLBACK_PREFIX + self.save_payload(payload)))
        return rows

    def save_payload(self, payload: str) -> str:
        """Store `payload` (idempotent) and return its short id."""
        ident = self.callback_id(payload)
        now = utcnow()
        with self.session_factory() as session:
            row = session.get(ChannelCallbackPayload, ident)
            if row is not None:
                row.last_used_at = now
                session.commit()
                return ident
            session.add(
                ChannelCallbackPayload(id=ident, payload=payload, created_at=now, last_used_at=now)
            )
            try:
                session.commit()
            except IntegrityError:
                # Another process stored the same payload first: same id, same text.
                session.rollback()
        return ident

    def resolve_payload(self, ident: str) -> str | None:
        """The payload behind a short id, or None when unknown (purged)."""
        with self.session_factory() as session:
            row = session.get(ChannelCallbackPayload, ident)
            return None if row is None else row.payload

    def purge_payloads(self, older_than: timedelta) -> int:
        """Delete payloads not used for `older_than` (buttons in old chats stop
        working, which the bot explains to the citizen)."""
        return self._purge(ChannelCallbackPayload, ChannelCallbackPayload.last_used_at, older_than)

    def _purge(self, model: type[Any], stamp: Any, older_than: timedelta) -> int:
        """Delete the `model` rows whose time column `stamp` is more than
        `older_than` ago; returns how many went."""
        cutoff = utcnow() - older_than
        with self.session_factory() as session:
            result = session.execute(delete(model).where(stamp < cutoff))
            session.commit()
            return int(result.rowcount or 0)

    # -- webhook de-duplication -----------------------------------------
    def first_delivery(self, channel: str, event_id: str) -> bool:
        """Record the delivery `(channel, event_id)`; False when it was already
        recorded. The primary key makes this safe across processes."""
        with self.session_factory() as session:
            session.add(ChannelProcessedEvent(channel=channel, event_id=event_id[:128]))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True

    def purge_events(self, older_than: timedelta) -> int:
        """Forget deliveries older than `older_than` (Zalo retries only briefly)."""
        return self._purge(ChannelProcessedEvent, ChannelProcessedEvent.received_at, older_than)

    # -- OAuth tokens ------------------------------------------------------
    def load_token(self, account: str) -> ChannelOAuthToken | None:
        with self.session_factory() as session:
            return session.get(ChannelOAuthToken, account)

    def seed_token(self, account: str, access_token: str, refresh_token: str) -> None:
        """Store the initial token pair from the environment unless the
        database already has one (the database copy is newer once a refresh
        has happened: the env refresh token is then spent)."""
        if not access_token:
            return
        with self.session_factory() as session:
            if session.get(ChannelOAuthToken, account) is not None:
                return
            session.add(
                ChannelOAuthToken(
                    account=account,
                    access_token=access_token,
                    refresh_token=refresh_token or "",
                    updated_at=utcnow(),
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()

    def rotate_token(
        self,
        account: str,
        stale_access_token: str,
        refresh: Callable[[str], tuple[str, str, int]],
    ) -> str:
        """Replace the token pair of `account` unless another process already did.

        `refresh(refresh_token) -> (access_token, refresh_token, expires_in_s)`
        is called inside a transaction holding the row lock (SELECT ... FOR
        UPDATE on PostgreSQL) so that two processes never spend the same
        single-use refresh token. Returns the access token to use.
        """
        with self.session_factory() as session:
            row = session.execute(
                select(ChannelOAuthToken)
                .where(ChannelOAuthToken.account == account)
                .with_for_update()
            ).scalar_one_or_none()
            if row is None:
                raise LookupError(f"no token stored for {account}")
            if row.access_token != stale_access_token:
                return row.access_token  # refreshed meanwhile by another process
            access, new_refresh, expires_in = refresh(row.refresh_token)
            row.access_token = access
            # Zalo always returns a new refresh token; keep the old one only if
            # a provider does not.
            row.refresh_token = new_refresh or row.refresh_token
            row.expires_at = (
                utcnow() + timedelta(seconds=expires_in) if expires_in else None
            )
            row.updated_at = utcnow()
            session.commit()
            return access
