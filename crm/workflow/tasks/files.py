"""Files attached to tasks: one `TaskAttachment` row per file (original name, size, content type,
uploader, the form field it fills) over the upload store of `crm.core.files` (size and type limits,
files that follow the transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import files
from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.extensions import db
from crm.org.models import User
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskAttachment
from crm.workflow.tasks.services import can_complete
from crm.workflow.tasks.services import can_manage
from crm.workflow.tasks.services import check_open
from crm.workflow.tasks.services import get_task
from crm.workflow.tasks.services import locked_task
from crm.workflow.tasks.services import record_event
from crm.workflow.tasks.services import valid_id

# The upload store's helpers, under the names other modules imported from here.
ATTACHMENT_TYPES = files.ATTACHMENT_TYPES
upload_folder = files.upload_folder
max_attachment_bytes = files.max_attachment_bytes
clean_filename = files.clean_filename
sniff = files.sniff


def add_attachment(
    task_id: Any,
    filename: Any,
    stream: IO[bytes],
    *,
    actor: User,
    field: str | None = None,
    accept: Iterable[str] | None = None,
    error_field: str = "file",
) -> TaskAttachment:
    """Store an uploaded file for an open task (size and type limits of `crm.core.files`). Field errors
    are named `error_field`."""
    task = locked_task(task_id, actor)
    check_open(task)
    if not can_complete(task, actor) and not can_manage(task, actor):
        raise PermissionDenied(_l("Only the assignee of this task can attach files to it."))
    stored = files.store_upload(filename, stream, accept=accept, error_field=error_field)
    attachment = TaskAttachment(
        task_id=task.id, instance_id=task.instance_id, original_name=stored.name, stored_name=stored.relative,
        size=stored.size, content_type=stored.content_type, field=field, uploaded_by_id=actor.id, uploaded_at=utcnow(),
    )
    db.session.add(attachment)
    db.session.flush()
    record_event(task, "attachment_added", actor, attachment_id=attachment.id, name=stored.name, size=stored.size)
    db.session.flush()
    return attachment


def attachments(task: HumanTask) -> list[TaskAttachment]:
    return list(db.session.scalars(
        select(TaskAttachment).where(TaskAttachment.task_id == task.id).order_by(TaskAttachment.id)
    ))


def get_attachment(task_id: Any, attachment_id: Any, actor: User) -> tuple[HumanTask, TaskAttachment, Path]:
    """(task, attachment, file path) for a download; NotFound unless the actor sees the task and the
    attachment belongs to it and its file exists."""
    task = get_task(task_id, actor)
    attachment = db.session.get(TaskAttachment, valid_id(attachment_id))
    if attachment is None or attachment.task_id != task.id:
        raise NotFound()
    return task, attachment, files.stored_path(attachment.stored_name)


def delete_attachment(task_id: Any, attachment_id: Any, *, actor: User) -> None:
    task = locked_task(task_id, actor)
    attachment = db.session.get(TaskAttachment, valid_id(attachment_id))
    if attachment is None or attachment.task_id != task.id:
        raise NotFound()
    check_open(task)
    if attachment.uploaded_by_id != actor.id and not actor.can("process.admin"):
        raise PermissionDenied(_l("Only whoever uploaded a file can remove it."))
    files.remove_stored(attachment.stored_name)
    db.session.delete(attachment)
    record_event(task, "attachment_removed", actor, attachment_id=attachment.id, name=attachment.original_name)
    db.session.flush()
