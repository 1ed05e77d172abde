"""File upload for the web chat and REST clients (issue 13, item 4):
`POST /webhooks/<channel>/upload`, multipart/form-data with a `sender` field
and one `file` part.

The same type and size limits as Telegram and Zalo (`bot.channels.attachments`:
JPG, PNG or PDF, checked by content, at most 10 MB). Where the file goes:
- a supplement request waits for this sender on this channel: attached to it
  (`dossiers.supplements.attach_file`), answer says how to finish;
- the conversation is in the dossier form: kept as a pending attachment that
  the submission claims (as on Telegram);
- otherwise: refused with 409 and a plain explanation (nothing waits for a file).

Answers are JSON `{"text": "<Vietnamese reply for the chat>"}` plus
`dossier_code` when attached to a supplement; errors carry `error` too.

Rate limits (`core.ratelimit`, counters shared by every process, limits in
`core.settings` group `rate_limits`): per chat sender on this channel, per
remote address, and per dossier when the file answers a supplement request.
Over a limit: 429 with `Retry-After` and `{"error": "rate_limited", "text":
<polite re-ask naming the wait>, "retry_after": <seconds>}`; the file is not
stored, files accepted before stay where they are.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from core.wording import say

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from core.ratelimit import Decision

NOTHING_WAITS_VI = say("supplement_request.nothing_waits")


def _over_limit(checks: list[tuple[str, str, int]]) -> Decision | None:
    """Count this upload in each (scope, identity, limit) bucket; the first
    refusing decision, else None. Every bucket is counted (no short cut), so a
    client hammering one bucket cannot dodge the others."""
    from core.ratelimit import rate_limiter
    from core.settings import get_settings

    window = get_settings().rate_limits.window_seconds
    limiter = rate_limiter()
    refused = None
    for scope, identity, limit in checks:
        decision = limiter.hit(scope, identity, limit, window)
        if not decision.allowed and refused is None:
            refused = decision
    return refused


def _rate_limited(decision: Decision) -> tuple[int, dict[str, Any]]:
    from core.wording import say

    return 429, {
        "error": "rate_limited",
        "text": say("channel.file.too_many", seconds=decision.retry_after),
        "retry_after": decision.retry_after,
    }


def _store_and_route(
    sender: str,
    channel: str,
    file_name: str,
    content_type: str,
    data: bytes,
    in_form: bool,
    address: str = "",
) -> tuple[int, dict[str, Any]]:
    from bot.channels.attachments import AttachmentRejected, AttachmentStore, human_size
    from core.db import session_factory, session_scope
    from core.settings import get_settings
    from dossiers import supplements
    from dossiers.service import DossierError

    limits = get_settings().rate_limits
    refused = _over_limit(
        [
            ("upload-sender", f"{channel}:{sender}", limits.upload_per_sender),
            ("upload-address", address, limits.upload_per_address if address else 0),
        ]
    )
    if refused is not None:
        return _rate_limited(refused)
    factory = session_factory()
    with session_scope(factory) as session:
        waiting = supplements.waiting_supplement(session, sender, channel)
    if waiting is None and not in_form:
        return 409, {"error": "nothing_waits", "text": NOTHING_WAITS_VI}
    if waiting is not None:
        refused = _over_limit(
            [("upload-dossier", str(waiting.dossier_id), limits.upload_per_dossier)]
        )
        if refused is not None:
            return _rate_limited(refused)
    store = AttachmentStore(factory)
    try:
        saved = store.save(sender, file_name, content_type, data)
    except AttachmentRejected as exc:
        return 415, {"error": "rejected", "text": str(exc)}
    size = human_size(saved.size_bytes)
    if waiting is None:
        return 200, {
            "text": say("channel.file.received_for_form", file_name=saved.file_name, size=size)
        }
    try:
        with session_scope(factory) as session:
            view = supplements.attach_file(session, waiting.id, saved.id)
    except DossierError as exc:
        return 409, {"error": "closed", "text": exc.message_vi}
    return 200, {
        "text": say(
            "channel.file.received_for_supplement",
            file_name=saved.file_name, size=size, code=view.dossier_code,
        ),
        "dossier_code": view.dossier_code,
    }


def add_upload_route(webhook: Blueprint, channel: str) -> None:
    """Register `POST /upload` on a channel's blueprint (`channel` = the
    input channel name stored with dossiers, e.g. "webchat", "rest")."""
    from bot.channels.attachments import MAX_ATTACHMENT_BYTES
    from bot.channels.inbound import LIMITS

    @webhook.route("/upload", methods=["POST"])
    async def upload(request: Request) -> HTTPResponse:
        declared = (request.headers.get("content-length") or "").strip()
        if declared.isdigit() and int(declared) > MAX_ATTACHMENT_BYTES + 64 * 1024:
            return response.json(
                {"error": "too_large", "text": say("supplement_request.upload_too_big")},
                status=413,
            )
        sender = (request.form.get("sender") or "").strip() if request.form else ""
        upload = request.files.get("file") if request.files else None
        if not sender or len(sender) > LIMITS.max_sender_chars or upload is None:
            return response.json(
                {"error": "bad_request", "text": 'Cần trường "sender" và một tệp "file".'},
                status=400,
            )
        from bot.web.channel import conversation_state

        state = await conversation_state(request, sender)
        status, body = await asyncio.get_running_loop().run_in_executor(
            None,
            _store_and_route,
            sender,
            channel,
            upload.name or "",
            (upload.type or "").split(";")[0].strip(),
            upload.body or b"",
            bool(state.get("active_loop")),
            request.remote_addr or request.ip or "",
        )
        headers = {"Retry-After": str(body["retry_after"])} if status == 429 else None
        return response.json(body, status=status, headers=headers)
