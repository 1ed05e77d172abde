"""Client for a Rasa server's REST channel, used by channel processes that run
outside Rasa (the Telegram bot) so they scale independently of it."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from bot.channels.inbound import UNKNOWN_STATE, ConversationState
from core.settings import get_settings

logger = logging.getLogger(__name__)

DEFAULT_RASA_URL = "http://localhost:5005"
# Shared with the REST channel (bot/web/channel.py), which trusts `input_channel`
# only from a forwarder presenting this secret. Defined here because the
# forwarding processes must not import Rasa.
FORWARDER_SECRET_ENV = "TTHC_FORWARDER_SECRET"
FORWARDER_SECRET_HEADER = "X-TTHC-Forwarder-Secret"


class RasaUnavailable(RuntimeError):
    """Rasa did not answer, or answered with an error."""


class RasaRestClient:
    """POST {rasa_url}/webhooks/rest/webhook, one call per citizen message.

    `input_channel` is sent along so that Rasa records the real channel
    ("telegram") as the tracker's input channel instead of "rest": the dossier
    store keys notifications on it.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_RASA_URL,
        *,
        input_channel: str | None = None,
        token: str | None = None,
        timeout: float = 60.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.input_channel = input_channel
        self.token = token or None
        secret = get_settings().rasa.forwarder_secret.get_secret_value()
        # Lets Rasa trust our `input_channel` (bot/web/channel.py).
        self._headers = {FORWARDER_SECRET_HEADER: secret} if secret else {}
        # Rasa can take a while (custom actions, catalogue search): the timeout
        # is generous, the citizen sees "typing…" meanwhile.
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Send one message; returns Rasa's responses (dicts with "text",
        "buttons", "image", "custom", ...)."""
        body: dict[str, Any] = {"sender": sender, "message": message}
        if self.input_channel:
            body["input_channel"] = self.input_channel
        if metadata:
            body["metadata"] = metadata
        try:
            response = await self._http.post(
                f"{self.base_url}/webhooks/rest/webhook", json=body, headers=self._headers
            )
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, list):
            raise RasaUnavailable(f"unexpected response type {type(data).__name__}")
        return [item for item in data if isinstance(item, dict)]

    async def conversation_state(self, sender: str) -> ConversationState:
        """The form running in `sender`'s conversation and the field it asks,
        from the tracker store, through the REST channel's state endpoint
        (`GET /webhooks/rest/state`, bot/web/channel.py: no HTTP API needed),
        else Rasa's tracker API. `UNKNOWN_STATE` when neither answers."""
        url = f"{self.base_url}/webhooks/rest/state"
        try:
            response = await self._http.get(
                url, params={"sender": sender}, headers=self._headers, timeout=5.0
            )
            if response.status_code == 200:
                data = response.json()
                if isinstance(data, dict):
                    return ConversationState(
                        active_loop=str(data.get("active_loop") or ""),
                        requested_slot=str(data.get("requested_slot") or ""),
                    )
        except (httpx.HTTPError, ValueError):
            pass
        loop = await self.active_loop(sender)
        if loop is False:
            return UNKNOWN_STATE
        return ConversationState(active_loop=str(loop))

    async def active_loop(self, sender: str) -> str | bool:
        """The name of the form active in `sender`'s conversation, "" when none,
        or False when it cannot be told (Rasa started without `--enable-api`,
        wrong token, network): callers then decide without it."""
        params = {"include_events": "NONE"}
        if self.token:
            params["token"] = self.token
        url = f"{self.base_url}/conversations/{quote(sender, safe='')}/tracker"
        try:
            response = await self._http.get(url, params=params, timeout=5.0)
            if response.status_code != 200:
                return False
            tracker = response.json()
        except (httpx.HTTPError, ValueError):
            return False
        loop = tracker.get("active_loop") if isinstance(tracker, dict) else None
        if isinstance(loop, dict):
            return str(loop.get("name") or "")
        return ""
