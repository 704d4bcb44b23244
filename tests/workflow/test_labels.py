"""The process history in words (crm.workflow.labels): no element id, message key, unrendered template or
version field reaches the reader, in English and Chinese."""

from __future__ import annotations

from types import SimpleNamespace

from flask_babel import force_locale

from crm.workflow.labels import event_text
from crm.workflow.labels import unrendered_free


def _event(kind: str, bpmn_id: str | None = None, task_guid: str | None = None, **details: object) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, bpmn_id=bpmn_id, task_guid=task_guid, instance_id=1, details=details)


def test_history_lines_in_words(app):
    with app.test_request_context("/"):
        assert unrendered_free("Approve: {{ step.title }}") == "Approve"
        assert unrendered_free("Approve (escalated)：{{ step.title }}") == "Approve (escalated)"
        done = _event("task_completed", "st_decide", "g-1")
        assert event_text(done, titles={"g-1": "Approve: Supervisor"}) == "Completed: Approve: Supervisor"
        # Without the task's row (an old event): the element's name, never its template or its id.
        assert event_text(done, names={"st_decide": "Approve: {{ step.title }}"}) == "Completed: Approve"
        assert event_text(_event("task_completed", "op_sign")) == "Task completed"
        paid = _event("message_received", message="order_paid")
        assert event_text(paid) == "Order paid"
        assert event_text(paid, messages={"order_paid": "Paid"}) == "Paid"
        moved = _event("migrated", from_version=1, to_version=2)
        assert event_text(moved) == "Moved from version 1 to version 2"
        assert event_text(_event("timer_fired", "op_timer"), names={"op_timer": "Reminder"}) == "Timer fired: Reminder"
        with force_locale("zh"):
            assert event_text(done, titles={"g-1": "审批：主管"}) == "已完成：审批：主管"
            assert event_text(paid) == "订单已付款"
            assert event_text(moved) == "从第 1 版迁移到第 2 版"
