"""The conversation on a work task: comments with @mentions that tell those who may see the task and its
related record, and attached files (through the shared upload store). Like `services`, every function
takes the actor, flushes and never commits."""

from __future__ import annotations

from typing import IO
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.auth.scopes import get_visible
from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.files import remove_stored
from crm.core.files import store_upload
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.extensions import db
from crm.notify.services import notify
from crm.org.models import User
from crm.work.tasks.models import WorkTask
from crm.work.tasks.models import WorkTaskAttachment
from crm.work.tasks.models import WorkTaskComment
from crm.work.tasks.schemas import CommentInput
from crm.work.tasks.services import get_task
from crm.work.tasks.services import is_involved
from crm.work.tasks.services import may_edit
from crm.work.tasks.services import may_see_related
from crm.work.tasks.services import row_id
from crm.work.tasks.services import task_url


# Comments ---------------------------------------------------------------------------------------------------
def may_be_told(task: WorkTask, user: User) -> bool:
    """Whether `user` may read the task and its related record (whom a mention may tell)."""
    if not user.active:
        return False
    try:
        get_visible(WorkTask, task.id, user)
    except NotFound:
        return False
    return may_see_related(task.object_type, task.object_id, user)


def add_comment(task_id: Any, data: Loaded | dict[str, Any], *, actor: User) -> tuple[WorkTaskComment, list[int]]:
    """A comment by someone who may see the task. `@Name` in the text (people of the task's store) and
    `mention_ids` are told — only those who may see the task and its related record. Returns the comment
    and who was told."""
    task = get_task(task_id, actor)
    loaded = load_input(CommentInput(), data)
    if loaded.errors:
        raise ValidationFailed(loaded.errors)
    body = loaded.values["body"]
    wanted = list(loaded.values.get("mention_ids") or [])
    colleagues = select(User.id, User.name).where(User.active)
    colleagues = colleagues.where(User.store_id == task.store_id) if task.store_id is not None \
        else colleagues.where(User.org_unit_id == task.unit_id)
    if wanted:
        # An id of someone outside the task's store (or unit) is refused, never silently dropped.
        known = set(db.session.scalars(colleagues.with_only_columns(User.id).where(User.id.in_(wanted))))
        if set(wanted) - known:
            raise ValidationFailed({"mention_ids": _l("Mention active people of the task's store.")})
    if "@" in body:
        for uid, name in db.session.execute(colleagues):
            if f"@{name}" in body and uid not in wanted:
                wanted.append(uid)
    candidates = db.session.scalars(select(User).where(User.id.in_(wanted), User.id != actor.id)) if wanted else []
    told = sorted(u.id for u in candidates if may_be_told(task, u))
    comment = WorkTaskComment(task_id=task.id, author_id=actor.id, body=body, mentioned=told, created_at=utcnow())
    db.session.add(comment)
    db.session.flush()
    if told:
        notify(told, "work_task_mentioned", _l("%(name)s mentioned you on %(title)s", name=actor.name, title=task.title),
               body=body[:500], url=task_url(task.id), store_id=task.store_id)
    return comment, told


def comments(task: WorkTask) -> list[WorkTaskComment]:
    return list(db.session.scalars(select(WorkTaskComment).where(WorkTaskComment.task_id == task.id)
                                   .order_by(WorkTaskComment.id)))


# Attachments ------------------------------------------------------------------------------------------------
def add_attachment(task_id: Any, filename: Any, stream: IO[bytes], *, actor: User) -> WorkTaskAttachment:
    task = get_task(task_id, actor)
    if not is_involved(task, actor) and not may_edit(task, actor):
        raise PermissionDenied()
    stored = store_upload(filename, stream, folder="work")
    row = WorkTaskAttachment(task_id=task.id, original_name=stored.name, stored_name=stored.relative, size=stored.size,
                             content_type=stored.content_type, uploaded_by_id=actor.id, uploaded_at=utcnow())
    db.session.add(row)
    db.session.flush()
    return row


def get_attachment(task_id: Any, attachment_id: Any, actor: User) -> tuple[WorkTask, WorkTaskAttachment]:
    task = get_task(task_id, actor)
    row = db.session.get(WorkTaskAttachment, row_id(attachment_id))
    if row is None or row.task_id != task.id:
        raise NotFound()
    return task, row


def delete_attachment(task_id: Any, attachment_id: Any, *, actor: User) -> None:
    task, row = get_attachment(task_id, attachment_id, actor)
    if row.uploaded_by_id != actor.id and not may_edit(task, actor):
        raise PermissionDenied()
    remove_stored(row.stored_name)
    db.session.delete(row)
    db.session.flush()


def attachments(task: WorkTask) -> list[WorkTaskAttachment]:
    return list(db.session.scalars(select(WorkTaskAttachment).where(WorkTaskAttachment.task_id == task.id)
                                   .order_by(WorkTaskAttachment.id)))
