"""The notify context's wiring: the bell and announcement pages, the API, the e-mail job, and the signals
it answers (a task opened, due soon, overdue or escalated; a follow-up due)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core import signals
from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav


def _unread(user: Any) -> int | None:
    from crm.notify import queries

    return queries.unread_count(user) or None


def init_app(app: Flask) -> None:
    import crm.notify.models  # noqa: F401  (the mappers)
    from crm.auth.rest import add_resource
    from crm.notify import api
    from crm.notify.jobs import send_email
    from crm.notify.services import on_follow_up_due
    from crm.notify.services import on_task_due
    from crm.notify.services import on_task_opened
    from crm.notify.services import on_tasks_closed
    from crm.notify.services import task_recipient_columns
    from crm.notify.views import bp
    from crm.workflow import inbox_sync

    app.register_blueprint(bp)
    add_resource(api.blp, order=90)
    register_job("notify.send_email", send_email, "interval", seconds=int(app.config["EMAIL_INTERVAL_SECONDS"]))
    add_nav(NavItem("tray", "notify.index", _l("Notifications"), "bell", order=90, badge=_unread))
    signals.task_opened.connect(on_task_opened)
    inbox_sync.read_recipients_with(task_recipient_columns)
    signals.task_due.connect(on_task_due)
    signals.tasks_closed.connect(on_tasks_closed)
    signals.follow_up_due.connect(on_follow_up_due)
