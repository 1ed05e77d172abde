"""Loopback fakes for the channel tests: a Telegram Bot API server, a Rasa REST
endpoint and a Zalo OA/OAuth API, each a real aiohttp server on 127.0.0.1 with
a random port (no mocking of the HTTP clients under test)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

BOT_ID = 424242


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll `predicate` until true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class _Server:
    def __init__(self) -> None:
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> _Server:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _params(request: web.Request) -> dict[str, Any]:
    """Bot API parameters: JSON body, or form fields whose values PTB JSON-encodes."""
    if request.content_type == "application/json":
        return dict(await request.json())
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        if not isinstance(value, str):
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


class FakeTelegram(_Server):
    """Enough of the Bot API for PTB: getMe, getUpdates, set/deleteWebhook,
    sendMessage, sendChatAction, answerCallbackQuery, getFile, file download."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        super().__init__()
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.failing_chats: set[int] = set()
        # chat -> retry_after (s): the next sendMessage to it gets 429 Too Many
        # Requests with `parameters.retry_after` (Bot API "ResponseParameters").
        self.flood_chats: dict[int, int] = {}
        self.flood_hits: list[float] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self.app.router.add_route("*", "/bot{token}/{method}", self._api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._file)

    @property
    def api_base_url(self) -> str:
        return f"{self.url}/bot"

    # -- what tests look at ----------------------------------------------
    def called(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            params["text"]
            for params in self.called("sendMessage")
            if chat_id is None or int(params["chat_id"]) == chat_id
        ]

    # -- what tests feed -----------------------------------------------------
    def make_update(self, **payload: Any) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), **payload}

    def push(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self._new_update.set()

    @staticmethod
    def user(chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Công dân"}

    def message(self, chat_id: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Công dân"},
            "from": self.user(chat_id),
            **extra,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.make_update(message=message)

    def callback(self, chat_id: int, data: str) -> dict[str, Any]:
        return self.make_update(
            callback_query={
                "id": f"cq{next(self._message_ids)}",
                "from": self.user(chat_id),
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "text": "...",
                },
            }
        )

    def add_file(self, file_id: str, data: bytes, path: str) -> None:
        self.files[file_id] = (path, data)

    # -- handlers --------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await _params(request)
        if method != "getUpdates":
            self.calls.append((method, params))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return await handler(params)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return self._ok(
            {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "TTHC",
                "username": "tthc_test_bot",
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        # Long poll, but briefly, so tests shut down fast.
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 0.5)
        while True:
            pending = [u for u in self.updates if u["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return self._ok(pending)
            self._new_update.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_sendChatAction(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    def group_message(
        self, chat_id: int, user_id: int, text: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A message from member `user_id` in supergroup `chat_id` (negative)."""
        update = self.message(chat_id, text, **extra)
        update["message"]["chat"] = {"id": chat_id, "type": "supergroup", "title": "Tổ dân phố"}
        update["message"]["from"] = self.user(user_id)
        return update

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        chat_id = int(params["chat_id"])
        if chat_id in self.flood_chats:
            retry_after = self.flood_chats.pop(chat_id)
            self.flood_hits.append(time.monotonic())
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
                status=429,
            )
        if chat_id in self.failing_chats:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                status=400,
            )
        return self._ok(
            {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "TTHC"},
                "text": params.get("text", ""),
            }
        )

    async def _m_getFile(self, params: dict[str, Any]) -> web.Response:
        file_id = params["file_id"]
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                status=400,
            )
        path, data = self.files[file_id]
        return self._ok(
            {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(data),
                "file_path": path,
            }
        )

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        for path, data in self.files.values():
            if path == request.match_info["path"]:
                return web.Response(body=data)
        return web.Response(status=404)


Reply = Callable[[str, str], list[dict[str, Any]]]


class FakeRasa(_Server):
    """Rasa's REST channel (`/webhooks/rest/webhook`) and the tracker endpoint."""

    def __init__(self, reply: Reply | None = None) -> None:
        super().__init__()
        self.reply: Reply = reply or (lambda sender, text: [{"text": f"Bạn nói: {text}"}])
        self.received: list[dict[str, Any]] = []
        # sender -> active loop name ("" = none); absent = API disabled (404)
        self.active_loops: dict[str, str] = {}
        # sender -> requested slot, served with active_loops by /webhooks/rest/state
        # (the state endpoint of bot/web/channel.py) once `state_endpoint` is True.
        self.requested_slots: dict[str, str] = {}
        self.state_endpoint = False
        self.fail = False
        self.app.router.add_post("/webhooks/rest/webhook", self._webhook)
        self.app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        self.app.router.add_get("/webhooks/rest/state", self._state)

    def texts(self) -> list[str]:
        return [body["message"] for body in self.received]

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        if self.fail:
            return web.Response(status=500, text="boom")
        return web.json_response(self.reply(body["sender"], body["message"]))

    async def _state(self, request: web.Request) -> web.Response:
        if not self.state_endpoint:
            return web.Response(status=404)
        sender = request.query.get("sender", "")
        return web.json_response(
            {
                "active_loop": self.active_loops.get(sender, ""),
                "requested_slot": self.requested_slots.get(sender, ""),
            }
        )

    async def _tracker(self, request: web.Request) -> web.Response:
        sender = request.match_info["sender"]
        if sender not in self.active_loops:
            return web.Response(status=404)
        name = self.active_loops[sender]
        loop = {"name": name} if name else {}
        return web.json_response({"sender_id": sender, "active_loop": loop})


class FakeZalo(_Server):
    """Zalo OA message API and OAuth token endpoint."""

    def __init__(self, access_token: str = "AT-1", refresh_token: str = "RT-1") -> None:
        super().__init__()
        self.valid_access_token = access_token
        self.valid_refresh_token = refresh_token
        self.messages: list[dict[str, Any]] = []  # accepted bodies
        self.message_headers: list[str] = []
        self.refresh_requests: list[dict[str, Any]] = []
        # user_id -> OA API error code answered for messages to that user (e.g.
        # -230 "User has not interacted with the OA in the past 7 days").
        self.user_errors: dict[str, int] = {}
        self._generation = itertools.count(2)
        # name -> bytes served at /files/<name> (Zalo's CDN links of user uploads)
        self.files: dict[str, bytes] = {}
        self.file_requests: list[str] = []
        self.app.router.add_get("/files/{name}", self._file)
        self.app.router.add_post("/v3.0/oa/message/cs", self._message)
        self.app.router.add_post("/v4/oa/access_token", self._refresh)

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.file_requests.append(name)
        if name not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[name], content_type="image/jpeg")

    def expire_token(self) -> None:
        """Invalidate the current access token (the OA API then answers -216)."""
        self.valid_access_token = "expired-" + self.valid_access_token

    async def _message(self, request: web.Request) -> web.Response:
        token = request.headers.get("access_token", "")
        self.message_headers.append(token)
        if token != self.valid_access_token:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        body = await request.json()
        user_id = str((body.get("recipient") or {}).get("user_id"))
        if user_id in self.user_errors:
            code = self.user_errors[user_id]
            return web.json_response(
                {"error": code, "message": "User has not interacted with the OA in the past 7 days"}
            )
        self.messages.append(body)
        return web.json_response(
            {
                "error": 0,
                "message": "Success",
                "data": {"message_id": f"m{len(self.messages)}", "user_id": "x"},
            }
        )

    async def _refresh(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.refresh_requests.append(
            {"form": form, "secret_key": request.headers.get("secret_key")}
        )
        if form.get("refresh_token") != self.valid_refresh_token:
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token"})
        generation = next(self._generation)
        self.valid_access_token = f"AT-{generation}"
        self.valid_refresh_token = f"RT-{generation}"
        return web.json_response(
            {
                "access_token": self.valid_access_token,
                "refresh_token": self.valid_refresh_token,
                "expires_in": "90000",
            }
        )
