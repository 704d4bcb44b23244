"""Inbox pages (blueprint `inbox`, under /tasks).

URL variables are named `task_id`, `filter_id`, `attachment_id` and `comment_id`: the store-isolation
crawler finds routes by these names."""

from __future__ import annotations

from crm.inbox.views import lists  # noqa: F401  (registers the list routes)
from crm.inbox.views import task  # noqa: F401  (registers the task routes)
from crm.inbox.views.common import bp

__all__ = ["bp"]

