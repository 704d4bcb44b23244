"""The work context's wiring: the work task and work report pages and API, the task reminder and
recurrence jobs and the report reminder, the notification kinds, the navigation, and the open tasks on the
customer and order pages."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav

REPORT_POLL_MINUTES = 10


def _clock_time(value: object, setting: str) -> str:
    """"HH:MM" checked; a setting that is not a time of day stops start-up with its name."""
    text = str(value).strip()
    hour, _, minute = text.partition(":")
    if hour.isdigit() and (minute or "0").isdigit() and int(hour) < 24 and int(minute or 0) < 60:
        return f"{int(hour):02d}:{int(minute or 0):02d}"
    raise RuntimeError(f"{setting} must be a time of day such as 18:00, not {text!r}")


def init_app(app: Flask) -> None:
    import crm.work.reports.models  # noqa: F401  (the mappers)
    import crm.work.tasks.models  # noqa: F401  (the mappers)
    from crm.auth.rest import add_resource
    from crm.customers.queries import register_customer_section
    from crm.notify.services import KINDS
    from crm.sales.orders.queries import register_order_section
    from crm.work.blueprint import bp
    from crm.work.reports import api as reports_api
    from crm.work.reports import jobs as report_jobs
    from crm.work.reports.views import bp as reports_bp
    from crm.work.tasks import api as tasks_api
    from crm.work.tasks import jobs
    from crm.work.tasks import views as task_views

    app.config["WORK_REPORT_REMINDER_AT"] = _clock_time(app.config.get("WORK_REPORT_REMINDER_AT", "18:00"),
                                                       "CRM_WORK_REPORT_REMINDER_AT")
    app.register_blueprint(bp)
    app.register_blueprint(reports_bp)
    add_resource(tasks_api.blp, order=61)
    add_resource(reports_api.blp, order=62)
    add_nav(NavItem("main", "work_reports.index", _l("Work reports"), "journal-text", permission="work.report.file",
                    order=11))
    add_nav(NavItem("main", "work_reports.team", _l("Who has reported"), "people", permission="work.report.review",
                    order=13))
    # The job polls: the reminder table keeps the reminders to one per person and day.
    register_job("work.report_reminders", report_jobs.remind, "interval", minutes=REPORT_POLL_MINUTES)
    add_nav(NavItem("main", "work.tags", _l("Task tags"), "tags", permission="work.tag.manage", order=12))
    register_job("work.task_reminders", jobs.remind, "interval", minutes=5)
    register_job("work.task_recurrence", jobs.recur, "interval", minutes=10)
    register_customer_section("work", lambda customer: task_views.related_section("customer", customer.id))
    register_order_section("work", lambda order: task_views.related_section("order", order.id))
    KINDS.setdefault("work_task_arranged", _l("Work was arranged for you"))
    KINDS.setdefault("work_task_mentioned", _l("You were mentioned on a task"))
    KINDS.setdefault("work_task_reminder", _l("A task of yours is due soon"))
    KINDS.setdefault("work_report_received", _l("A work report was sent to you"))
    KINDS.setdefault("work_report_comment", _l("A comment on a work report"))
    KINDS.setdefault("work_report_reminder", _l("Your daily report is due"))
