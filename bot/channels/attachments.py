"""Files citizens send while filling in a dossier (scans, photos).

The bytes go to a content-addressed file under `TTHC_ATTACHMENTS_DIR`
(default `var/attachments`); a `dossiers.orm.Attachment` row links them to
the sender id ("telegram:<chat_id>") with `dossier_id` NULL. Submitting the
dossier claims the sender's pending rows (`dossier_id IS NULL`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from bot.channels.inbound import LIMITS
from bot.channels.store import DatabaseBacked
from core.settings import get_settings
from core.wording import say

# The limits are declared once for every channel (bot/channels/inbound.py).
MAX_ATTACHMENT_BYTES = LIMITS.max_attachment_bytes
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
ALLOWED_TYPES: dict[str, str] = {kind: _EXTENSIONS[kind] for kind in LIMITS.attachment_types}
# Telegram's mime type comes from the client and can lie; the first bytes cannot.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
ATTACHMENTS_DIR_ENV = "TTHC_ATTACHMENTS_DIR"


class AttachmentRejected(ValueError):
    """A file we do not accept; `str(exc)` is the Vietnamese message for the citizen."""


def attachments_dir() -> Path:
    """Where uploads are stored: `TTHC_ATTACHMENTS_DIR`, else var/attachments (core.settings)."""
    return get_settings().attachments.dir


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")
    return f"{max(1, round(size / 1024))} KB"


def check_declared(content_type: str | None, size: int | None, max_bytes: int) -> str:
    """Reject early from what Telegram tells before downloading. Returns the type."""
    content_type = (content_type or "").lower()
    if content_type not in ALLOWED_TYPES:
        raise AttachmentRejected(say("channel.file.wrong_type"))
    if size is not None and size > max_bytes:
        raise AttachmentRejected(
            say("channel.file.too_big", size=human_size(size), limit=human_size(max_bytes))
        )
    return content_type


def check_content(content_type: str, data: bytes, max_bytes: int) -> None:
    """Reject the downloaded bytes when too big or not what they claim to be."""
    check_declared(content_type, len(data), max_bytes)
    if not data.startswith(_MAGIC[content_type]):
        raise AttachmentRejected(say("channel.file.corrupt"))


@dataclass(frozen=True)
class SavedAttachment:
    id: int
    file_name: str
    content_type: str
    size_bytes: int


class AttachmentStore(DatabaseBacked):
    """Writes the bytes to disk and the `Attachment` row to the database."""

    def __init__(
        self,
        session_factory: sessionmaker | None = None,
        directory: Path | None = None,
        max_bytes: int = MAX_ATTACHMENT_BYTES,
    ) -> None:
        super().__init__(session_factory)
        self.directory = directory or attachments_dir()
        self.max_bytes = max_bytes

    def save(
        self, sender_id: str, file_name: str, content_type: str, data: bytes
    ) -> SavedAttachment:
        """Validate, store and register one file as pending for `sender_id`."""
        from dossiers.orm import Attachment

        check_content(content_type, data, self.max_bytes)
        digest = hashlib.sha256(data).hexdigest()
        path = self.directory / digest[:2] / f"{digest}.{ALLOWED_TYPES[content_type]}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a reader never sees half a file, and two
            # processes storing the same content both end with the same file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        safe_name = os.path.basename(file_name or "").strip()[:255] or path.name
        with self.session_factory() as session:
            row = Attachment(
                sender_id=sender_id,
                file_name=safe_name,
                content_type=content_type,
                size_bytes=len(data),
                sha256=digest,
                storage_path=str(path),
            )
            session.add(row)
            session.commit()
            return SavedAttachment(row.id, safe_name, content_type, len(data))


def waiting_supplement_id(
    session_factory: sessionmaker, sender_id: str, channel: str
) -> int | None:
    """Id of the supplement request waiting for `sender_id`'s files on
    `channel` (dossiers.supplements, issue 13), or None. Read from the
    database, so every channel process sees the same answer."""
    try:
        from dossiers import supplements
    except ImportError:  # pragma: no cover - the supplements module is optional
        return None
    with session_factory() as session:
        view = supplements.waiting_supplement(session, sender_id, channel)
        return view.id if view is not None else None


def attach_to_supplement(
    session_factory: sessionmaker, supplement_id: int, attachment_id: int
) -> str:
    """Link a stored attachment to the waiting supplement; returns the
    dossier code. Raises the supplement module's `DossierError` subclasses
    (their `message_vi` is for the citizen)."""
    from core.db import session_scope
    from dossiers import supplements

    with session_scope(session_factory) as session:
        view = supplements.attach_file(session, supplement_id, attachment_id)
        return view.dossier_code


def attach_to_waiting_supplement(
    session_factory: sessionmaker, sender_id: str, channel: str, attachment_id: int
) -> str:
    """Link a stored attachment to the supplement request waiting for
    `sender_id` on `channel`; returns the dossier code. Raises LookupError when
    none waits any more (it closed after the file arrived), or what
    `attach_to_supplement` raises."""
    supplement = waiting_supplement_id(session_factory, sender_id, channel)
    if supplement is None:
        raise LookupError("the supplement closed meanwhile")
    return attach_to_supplement(session_factory, supplement, attachment_id)


def supplement_refusal(exc: Exception) -> str:
    """What the citizen is told when a file could not join the supplement:
    the business refusal's own `message_vi`, else that it closed."""
    return getattr(exc, "message_vi", None) or say("channel.file.supplement_closed")
