"""Reminders before a task's due time and escalations after it (the `workflow.task_deadlines` job), each
sent once.

A task opened with a `due` property (`crm.workflow.deadlines`) carries `remind_at` and `escalate_at`. The
job takes the rows whose time has come (indexed, SKIP LOCKED so several schedulers share the work):
- reminder: the assignee (or, unclaimed, the candidates) is told the task is due soon; `remind_at` is
  cleared and `reminded_at` set;
- first escalation, at the due time: the assignee (or candidates) is told it is overdue and the assignee's
  supervisor is told and made a candidate; then `escalate_at` moves to the due time plus the
  element's `escalate_after` if it names a role (`escalate_to`), else it is cleared;
- second escalation: the holders of that role in the task's store are told and made candidates.
A task without an assignee or whose assignee has no active supervisor goes straight to the role.
Closed tasks are cleared without a word. Every message sent is recorded in the instance's history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from crm.core import signals
from crm.core import workcalendar
from crm.core.clock import utcnow
from crm.core.workcalendar import Duration
from crm.extensions import db
from crm.org.models import User
from crm.workflow import deadlines
from crm.workflow.inbox_sync import role_holders
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import ProcessEvent

BATCH = 200


def _people(task: HumanTask) -> list[int]:
    """Whom a reminder is for: the assignee, or the candidates of an unclaimed task."""
    if task.assignee_id:
        return [task.assignee_id]
    return list(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)
                                   .order_by(HumanTaskCandidate.user_id)))


def _announce(task: HumanTask, kind: str, user_ids: list[int], now: datetime, **details: Any) -> None:
    if not user_ids:
        return
    signals.task_due.send(None, task_id=task.id, title=task.title, texts=task.texts, user_ids=user_ids,
                          store_id=task.store_id, kind=kind, due_at=task.due_at)
    details = {"task_id": task.id, "title": task.title, "to": user_ids, **details}
    db.session.add(ProcessEvent(instance_id=task.instance_id, kind=kind, task_guid=task.task_guid,
                                bpmn_id=task.bpmn_id, occurred_at=now,
                                details=json.loads(json.dumps(details, default=str))))


def _take(column: Any, now: datetime) -> list[HumanTask]:
    return list(db.session.scalars(
        select(HumanTask).where(column <= now).order_by(column, HumanTask.id).limit(BATCH)
        .with_for_update(skip_locked=True)
    ))


def send_reminders(now: datetime | None = None) -> int:
    """Tell the people on each open task whose reminder time has come that it is due soon, once."""
    now = now or utcnow()
    sent = 0
    while True:
        batch = _take(HumanTask.remind_at, now)
        for task in batch:
            if task.is_open and task.due_at is not None and task.due_at > now:
                _announce(task, "task_due_soon", _people(task), now, due_at=task.due_at)
                task.reminded_at = now
                sent += 1
            task.remind_at = None
        db.session.flush()
        if len(batch) < BATCH:
            return sent


def _supervisor(user_id: int | None) -> int | None:
    if not user_id:
        return None
    user = db.session.get(User, user_id)
    boss = db.session.get(User, user.supervisor_id) if user is not None and user.supervisor_id else None
    return boss.id if boss is not None and boss.active else None


def _allowed(task: HumanTask, user_ids: list[int]) -> list[int]:
    """Without the people the task's `exclude` kept off it (four eyes holds for escalations too)."""
    excluded = {int(u) for u in (task.due_policy or {}).get("exclude") or []}
    return [uid for uid in user_ids if uid not in excluded and uid != task.assignee_id]


def _make_candidates(task: HumanTask, user_ids: list[int]) -> None:
    known = set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))
    for uid in user_ids:
        if uid not in known:
            db.session.add(HumanTaskCandidate(task_id=task.id, user_id=uid))


def _escalate_one(task: HumanTask, now: datetime) -> bool:
    policy = task.due_policy or {}
    roles = [str(r) for r in policy.get("escalate_to") or []]
    level = task.escalation_level or 0
    task.escalate_at = None
    sent = False
    if level == 0:
        _announce(task, "task_overdue", _people(task), now, due_at=task.due_at)
        boss = _supervisor(task.assignee_id)
        level = 1
        if boss is not None and _allowed(task, [boss]):
            _make_candidates(task, [boss])
            _announce(task, "task_escalated", [boss], now, level=1, due_at=task.due_at)
            sent = True
            if roles and task.due_at is not None:
                delay = Duration(minutes=float(policy.get("escalate_minutes") or 0))
                task.escalate_at = max(workcalendar.current().add(task.due_at, delay), now)
            task.escalation_level = level
            return sent
    if roles:
        people = _allowed(task, sorted(role_holders(roles, task.store_id)))
        _make_candidates(task, people)
        _announce(task, "task_escalated", people, now, level=2, role=",".join(roles), due_at=task.due_at)
        sent = bool(people)
        level = 2
    task.escalation_level = level
    return sent


def escalate(now: datetime | None = None) -> int:
    """Escalate each open task whose escalation time has come, one level at a time, each level once."""
    now = now or utcnow()
    sent = 0
    while True:
        batch = _take(HumanTask.escalate_at, now)
        for task in batch:
            if task.is_open:
                sent += int(_escalate_one(task, now))
            else:
                task.escalate_at = None
        db.session.flush()
        if len(batch) < BATCH:
            return sent


def run(now: datetime | None = None) -> dict[str, int]:
    """The job's body: reminders, then escalations."""
    return {"reminded": send_reminders(now), "escalated": escalate(now)}


def rearm(task: HumanTask) -> None:
    """The due date was changed by hand: the reminder and escalations start again from the new one, with
    the same lead (in working time) as the element asked for."""
    policy = task.due_policy or {}
    task.reminded_at = None
    task.escalation_level = 0
    if task.due_at is None:
        task.remind_at = task.escalate_at = None
        return
    calendar = workcalendar.current()
    lead = float(policy["remind_minutes"] or 0) if "remind_minutes" in policy else deadlines.default_lead(calendar)
    remind_at = calendar.subtract(task.due_at, Duration(minutes=lead)) if lead > 0 else None
    task.remind_at = remind_at if remind_at is not None and remind_at > utcnow() else None
    task.escalate_at = task.due_at
