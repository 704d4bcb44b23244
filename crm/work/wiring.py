"""The work context's wiring: the work task pages and API, the reminder and recurrence jobs, the
notification kinds, the tags page in the navigation, and the open tasks on the customer and order pages."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    import crm.work.tasks.models  # noqa: F401  (the mappers)
    from crm.auth.rest import add_resource
    from crm.customers.queries import register_customer_section
    from crm.notify.services import KINDS
    from crm.sales.orders.queries import register_order_section
    from crm.work.blueprint import bp
    from crm.work.tasks import api as tasks_api
    from crm.work.tasks import jobs
    from crm.work.tasks import views as task_views

    app.register_blueprint(bp)
    add_resource(tasks_api.blp, order=61)
    add_nav(NavItem("main", "work.tags", _l("Task tags"), "tags", permission="work.tag.manage", order=12))
    register_job("work.task_reminders", jobs.remind, "interval", minutes=5)
    register_job("work.task_recurrence", jobs.recur, "interval", minutes=10)
    register_customer_section("work", lambda customer: task_views.related_section("customer", customer.id))
    register_order_section("work", lambda order: task_views.related_section("order", order.id))
    KINDS.setdefault("work_task_arranged", _l("Work was arranged for you"))
    KINDS.setdefault("work_task_mentioned", _l("You were mentioned on a task"))
    KINDS.setdefault("work_task_reminder", _l("A task of yours is due soon"))
