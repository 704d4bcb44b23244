"""Scheduled jobs of work tasks (registered by the work wiring): the next occurrences of recurring tasks
and the reminders. Rows are taken with SKIP LOCKED, so several schedulers share the work and each row is
handled once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy import update

from crm.core.clock import utcnow
from crm.extensions import db
from crm.notify.services import notify_many
from crm.work.tasks.models import WorkTask
from crm.work.tasks.models import WorkTaskParticipant
from crm.work.tasks.services import BATCH
from crm.work.tasks.services import make_next
from crm.work.tasks.services import task_url


def remind() -> int:
    """Every few minutes: reminders of tasks whose reminder time has come (each once)."""
    return send_reminders()


def recur() -> int:
    """Every few minutes: the next occurrence of recurring tasks whose due time passed (each once)."""
    return make_due_occurrences()


def make_due_occurrences(now: datetime | None = None) -> int:
    """The job: every recurring occurrence whose due time passed without a next occurrence gets one.
    Rows are taken with SKIP LOCKED so several schedulers share the work."""
    now = now or utcnow()
    made = 0
    while True:
        stmt = (select(WorkTask).where(WorkTask.series_id.is_not(None), WorkTask.next_made_at.is_(None),
                                       WorkTask.due_at < now)
                .order_by(WorkTask.due_at, WorkTask.id).limit(BATCH).with_for_update(skip_locked=True))
        batch = list(db.session.scalars(stmt))
        for task in batch:
            if make_next(task, now) is not None:
                made += 1
        db.session.flush()
        if len(batch) < BATCH:
            return made


# Reminders --------------------------------------------------------------------------------------------------
def send_reminders(now: datetime | None = None) -> int:
    """The job: tell the owner and participants of each open task whose reminder time has come, once
    (`reminded_at` marks a task dealt with, reminded or not: a closed task is marked without a word)."""
    now = now or utcnow()
    sent = 0
    while True:
        stmt = (select(WorkTask).where(WorkTask.reminded_at.is_(None), WorkTask.remind_at <= now)
                .order_by(WorkTask.remind_at, WorkTask.id).limit(BATCH).with_for_update(skip_locked=True))
        batch = list(db.session.scalars(stmt))
        if not batch:
            return sent
        ids = [t.id for t in batch if t.is_open and t.due_at is not None and t.due_at > now]
        people: dict[int, list[int]] = {i: [] for i in ids}
        for task_id, user_id in db.session.execute(select(WorkTaskParticipant.task_id, WorkTaskParticipant.user_id)
                                                   .where(WorkTaskParticipant.task_id.in_(ids))):
            people[task_id].append(user_id)
        by_store: dict[int | None, list[tuple[int, Any, Any, str | None]]] = {}
        for task in batch:
            if task.id in people:
                title = _l("Due soon: %(title)s", title=task.title)
                for uid in sorted({task.owner_id, *people[task.id]}):
                    by_store.setdefault(task.store_id, []).append((uid, title, None, task_url(task.id)))
                sent += 1
        for store_id, messages in by_store.items():
            notify_many("work_task_reminder", messages, store_id=store_id)
        db.session.execute(update(WorkTask).where(WorkTask.id.in_([t.id for t in batch]))
                           .values(reminded_at=now).execution_options(synchronize_session="evaluate"))
        db.session.flush()
        if len(batch) < BATCH:
            return sent
