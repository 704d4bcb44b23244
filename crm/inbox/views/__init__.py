"""Inbox pages (blueprint `inbox`, under /tasks).

URL variables are named `task_id`, `filter_id`, `attachment_id` and `comment_id`: the store-isolation
crawler finds routes by these names."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_nav
from crm.inbox.views import lists  # noqa: F401  (registers the list routes)
from crm.inbox.views import task  # noqa: F401  (registers the task routes)
from crm.inbox.views.common import bp
from crm.inbox.views.common import open_task_count

__all__ = ["bp"]

add_nav(NavItem("main", "inbox.mine", _l("Tasks"), "inbox", order=10, badge=open_task_count))
