"""Repairing running instances (the process admin's actions): retry an instance in error, suspend,
resume, terminate, and deliver the messages held while an instance was suspended or in error.

Every operation locks the instance row and runs through the same transactional step as
`crm.workflow.runtime` (one savepoint, the error recorded on the instance)."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.extensions import db
from crm.workflow import engine
from crm.workflow import inbox_sync
from crm.workflow.locks import lock_instance
from crm.workflow.models import HumanTask
from crm.workflow.models import InstanceStatus
from crm.workflow.models import MessageSubscription
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus
from crm.workflow.models import UnmatchedMessage
from crm.workflow.runtime import _event
from crm.workflow.runtime import _load
from crm.workflow.runtime import _step
from crm.workflow.runtime import _subscribed


def retry(instance_id: int, *, actor_id: int) -> ProcessInstance:
    """Run an instance in error again from its last saved state (timers refreshed, a failed message
    delivered again)."""
    instance = lock_instance(instance_id)
    if instance.status != InstanceStatus.ERROR:
        raise InvalidTransition(_l("Only a process in error can be retried."))
    pending = _last_pending(instance_id)

    def action(wf: Any) -> None:
        if pending:
            engine.deliver_message(wf, pending["message"], pending.get("payload") or {})
        wf.refresh_timers()

    # The retry carries the message on, so a retry that fails again leaves it for the next one.
    _step(instance, action, actor_id=actor_id, event=("retried", dict(pending or {})))
    return _deliver_held(instance, actor_id)


def _deliver_held(instance: ProcessInstance, actor_id: int | None) -> ProcessInstance:
    """Deliver, oldest first, the messages sent while the instance was suspended or in error. One that
    the instance no longer waits for is stored as unmatched; one whose delivery fails stays held (the
    instance is in error again, and its retry delivers it)."""
    for event in _held_messages(instance.id):
        if instance.status in (InstanceStatus.SUSPENDED, InstanceStatus.ERROR):
            break  # kept for the next resume or retry
        name, payload = event.details["message"], event.details.get("payload") or {}
        if instance.status != InstanceStatus.RUNNING or name not in _subscribed(instance):
            db.session.add(UnmatchedMessage(
                message_name=name, object_type=instance.object_type, object_id=instance.object_id,
                store_id=instance.store_id, payload=payload, sent_by_id=event.actor_id, received_at=event.occurred_at,
            ))
            _event(instance.id, "held_message_released", actor_id, held_event_id=event.id, matched=False)
            db.session.flush()
            continue
        _step(instance, partial(engine.deliver_message, name=name, payload=payload),
              actor_id=actor_id, event=("message_received", {"message": name, "payload": payload,
                                                            "held_event_id": event.id}))
    return instance


def _held_messages(instance_id: int) -> list[ProcessEvent]:
    events = list(db.session.scalars(
        select(ProcessEvent).where(
            ProcessEvent.instance_id == instance_id,
            ProcessEvent.kind.in_(["message_held", "message_received", "retried", "held_message_released"]),
        ).order_by(ProcessEvent.id)
    ))
    done = {e.details.get("held_event_id") for e in events if e.kind != "message_held"}
    return [e for e in events if e.kind == "message_held" and e.id not in done]


def _last_pending(instance_id: int) -> dict[str, Any] | None:
    """The message whose delivery the last error interrupted (directly or in a retry), if any."""
    event = db.session.scalar(
        select(ProcessEvent).where(ProcessEvent.instance_id == instance_id, ProcessEvent.kind == "error")
        .order_by(ProcessEvent.id.desc()).limit(1)
    )
    if event is None or event.details.get("during") not in ("message_received", "retried"):
        return None
    pending = event.details.get("pending") or {}
    return pending if pending.get("message") else None


def suspend(instance_id: int, *, actor_id: int) -> ProcessInstance:
    instance = lock_instance(instance_id)
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.ERROR):
        raise InvalidTransition(_l("Only a running process can be suspended."))
    instance.status = InstanceStatus.SUSPENDED
    _event(instance.id, "suspended", actor_id)
    db.session.flush()
    return instance


def resume(instance_id: int, *, actor_id: int) -> ProcessInstance:
    instance = lock_instance(instance_id)
    if instance.status != InstanceStatus.SUSPENDED:
        raise InvalidTransition(_l("Only a suspended process can be resumed."))
    instance.status = InstanceStatus.ERROR if instance.last_error else InstanceStatus.RUNNING
    _event(instance.id, "resumed", actor_id)
    db.session.flush()
    return _deliver_held(instance, actor_id)


def terminate(instance_id: int, *, actor_id: int, reason: str | None = None) -> ProcessInstance:
    instance = lock_instance(instance_id)
    if instance.status in (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED):
        raise InvalidTransition(_l("The process has already ended."))
    instance.status = InstanceStatus.TERMINATED
    instance.next_timer_at = None
    instance.completed_at = utcnow()
    inbox_sync.close_all(instance)
    db.session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == instance.id))
    instance.waiting = {"tasks": [], "messages": []}
    _event(instance.id, "terminated", actor_id, reason=reason)
    db.session.flush()
    return instance


def retranslate_open_tasks(*, batch: int = 200) -> int:
    """Render the open inbox tasks' titles and instructions again in every language (`human_task.texts`),
    from each instance's saved state: after an upgrade that brought translations, or after translators
    changed the catalogue (a task keeps the texts it opened with otherwise). Nothing else changes; a state
    that no longer loads is skipped. Returns how many tasks got new texts."""
    changed, after = 0, 0
    while True:
        rows = list(db.session.scalars(select(HumanTask).where(
            HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]), HumanTask.id > after)
            .order_by(HumanTask.id).limit(batch)))
        if not rows:
            return changed
        after = rows[-1].id
        by_instance: dict[int, list[HumanTask]] = {}
        for row in rows:
            by_instance.setdefault(row.instance_id, []).append(row)
        for instance_id, tasks in by_instance.items():
            instance = db.session.get(ProcessInstance, instance_id)
            if instance is None:
                continue
            try:
                wf = _load(instance)
            except Exception:  # noqa: BLE001 — a broken state is the repair pages' business, not this one's
                continue
            for row in tasks:
                try:
                    task = wf.get_task_from_id(UUID(row.task_guid))
                except Exception:  # noqa: BLE001 — a row the engine no longer knows (the next step removes it)
                    continue
                texts = inbox_sync.texts_of(task)
                if texts != row.texts:
                    row.texts = texts
                    changed += 1
        db.session.flush()
