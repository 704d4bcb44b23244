"""Cross-context signals. Upstream contexts learn about downstream events only through these (or BPMN).

Receivers run inside the sender's transaction: they may write rows, never commit."""

from __future__ import annotations

from blinker import Namespace

signals = Namespace()

# Sent by org when a user is disabled: receivers move that user's records (kwargs: user, to_user, actor).
user_disabled = signals.signal("user-disabled")
# Sent after a user logs in successfully (kwargs: user).
user_logged_in = signals.signal("user-logged-in")
# Sent by the workflow inbox when a user task opens (kwargs: task_id, title, user_ids, store_id,
# object_type, object_id, kind: the element's notify_kind property or task_assigned). Receivers (notifications) run in the step's transaction. A task whose element
# has the property notify=false (e.g. approvals, which notify in their own words) is not announced.
task_opened = signals.signal("task-opened")
# Sent by the workflow's due-date job (crm.workflow.tasks.reminders), once per message: a task is due soon,
# overdue, or escalated (kwargs: task_id, title, texts, user_ids, store_id, due_at, kind: task_due_soon,
# task_overdue or task_escalated). Receivers (notifications) run in the job's transaction.
task_due = signals.signal("task-due")
# Sent by the workflow inbox for every new inbox task, notified or not (kwargs: task_id, instance_id,
# process_key, bpmn_id, title, store_id, object_type, object_id, assignee_id, completed_by_id=None), and for
# the task a step completed, before its row is closed (kwargs: instance, task_guid, completed_by_id).
# Receivers (the integrations' webhooks) run in the step's transaction.
task_created = signals.signal("task-created")
task_completed = signals.signal("task-completed")
# Sent by the workflow inbox when open user tasks are completed or cancelled (kwargs: tasks, a select of their
# ids, to be read before their rows close: the closing updates are queued after the receivers ran, see
# crm.core.deferred). The bells that announced them are marked read (notify).
tasks_closed = signals.signal("tasks-closed")

# Sent once per follow-up whose next-contact time has come (kwargs: follow_up_id, customer_id, store_id,
# user_id = the author to remind, due_at, customer_name). crm.customers.jobs sends it; notify subscribes to it.
follow_up_due = signals.signal("follow-up-due")

# Sent by customers after a customer was released to the high seas by hand (kwargs: customer,
# old_owner_id, reason, actor). The highseas context records the move with its reason.
customer_released = signals.signal("customer-released")
# Sent by customers before a customer is locked (kwargs: customer, actor). A receiver may refuse by raising
# a DomainError (the highseas cap on locked customers).
customer_locking = signals.signal("customer-locking")
