"""The inbox's wiring: the task pages and the tasks API, and the Tasks entry with its badge."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_badge
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    from crm.auth.rest import add_resource
    from crm.inbox import api
    from crm.inbox.views import bp
    from crm.inbox.views.common import approval_count
    from crm.inbox.views.common import open_task_count

    app.register_blueprint(bp)
    add_resource(api.blp, order=60)
    add_nav(NavItem("main", "inbox.mine", _l("Tasks"), "inbox", order=10, badge=open_task_count))
    add_badge("approvals.queue", approval_count)
