"""Uploaded files on disk: under the upload folder (`TASK_ATTACHMENT_DIR`, default instance/uploads/),
in <yyyy>/<mm>/ with a random name, limited in size (`TASK_ATTACHMENT_MAX_BYTES`, 10 MB by default)
and in type (an allowed extension whose content matches it: sniffed magic bytes; text must be text).
Files follow the transaction: a new file goes when it rolls back, a removed one when it commits.
Contexts keep their own rows (original name, size, type, who) pointing at `StoredFile.relative`."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.extensions import db


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    # The read may have cut a multi-byte character in two at the end.
    try:
        head[:-3].decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
# extension -> (content type, magic prefixes; None = plain text)
ATTACHMENT_TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".txt": ("text/plain", None),
    ".csv": ("text/csv", None),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    ".xls": ("application/vnd.ms-excel", _OLE),
    ".doc": ("application/msword", _OLE),
}


def upload_folder() -> Path:
    configured = current_app.config.get("TASK_ATTACHMENT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def max_attachment_bytes() -> int:
    return int(current_app.config.get("TASK_ATTACHMENT_MAX_BYTES") or 10 * 1024 * 1024)


def clean_filename(raw: Any) -> str:
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".")
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        name = stem[: 200 - len(ext)] + ext
    return name


def sniff(filename: str, head: bytes, *, accept: Iterable[str] | None = None) -> str:
    """The content type of an upload whose extension is allowed and whose content matches it; raises
    ValueError with a user message otherwise."""
    ext = os.path.splitext(filename)[1].lower()
    allowed = [e for e in ATTACHMENT_TYPES if accept is None or e in set(accept)]
    if ext not in allowed:
        raise ValueError(str(_l("Files of this type are not accepted. Accepted: %(types)s.",
                                types=", ".join(e.lstrip(".") for e in allowed))))
    content_type, magic = ATTACHMENT_TYPES[ext]
    ok = _is_text(head) if magic is None else head.startswith(magic)
    if ok and ext == ".webp":
        ok = head[8:12] == b"WEBP"
    if not ok:
        raise ValueError(str(_l("The file's content does not match its type (%(ext)s).", ext=ext.lstrip("."))))
    return content_type


IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


@dataclass(frozen=True)
class StoredFile:
    name: str  # the cleaned original name
    relative: str  # path under the upload folder
    size: int
    content_type: str


def _megabytes(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:.0f}" if value >= 1 else f"{value:.2f}"


def store_upload(
    filename: Any, stream: IO[bytes], *, accept: Iterable[str] | None = None, error_field: str = "file",
    limit: int | None = None, folder: str = "",
) -> StoredFile:
    """Check and write an upload under `folder` (e.g. "customers"); field errors are named
    `error_field` and name the file. The file is removed again if the transaction rolls back."""
    name = clean_filename(filename)
    if not name:
        raise ValidationFailed({error_field: _l("Choose a file.")})
    limit = limit or max_attachment_bytes()
    content = stream.read(limit + 1)
    if len(content) > limit:
        raise ValidationFailed({error_field: _l("%(name)s is larger than %(mb)s MB.", name=name, mb=_megabytes(limit))})
    if not content:
        raise ValidationFailed({error_field: _l("%(name)s is empty.", name=name)})
    try:
        content_type = sniff(name, content[:8192], accept=accept)
    except ValueError as exc:
        raise ValidationFailed({error_field: f"{name}: {exc}"}) from None
    now = utcnow()
    prefix = f"{folder.strip('/')}/" if folder else ""
    relative = f"{prefix}{now:%Y}/{now:%m}/{secrets.token_hex(16)}{os.path.splitext(name)[1].lower()}"
    path = upload_folder() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    _remember_file(path, "crm_new_files")
    return StoredFile(name=name, relative=relative, size=len(content), content_type=content_type)


def stored_path(relative: str) -> Path:
    """The file's path; NotFound if it is missing or would lie outside the upload folder."""
    root = upload_folder().resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound()
    return path


def remove_stored(relative: str) -> None:
    """Delete the file once the transaction commits (kept if it rolls back)."""
    _remember_file(upload_folder() / relative, "crm_deleted_files")


# Files follow the transaction: new files go when it rolls back, removed ones when it commits.
def _remember_file(path: Path, key: str) -> None:
    db.session.info.setdefault(key, []).append(str(path))


def _unlink(paths: list[str]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            os.unlink(p)


@event.listens_for(Session, "after_commit")
def _files_after_commit(session: Session) -> None:
    session.info.pop("crm_new_files", None)
    _unlink(session.info.pop("crm_deleted_files", []))


@event.listens_for(Session, "after_rollback")
def _files_after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint (a failed process step, say): the request may still commit
    _unlink(session.info.pop("crm_new_files", []))
    session.info.pop("crm_deleted_files", None)
