"""The enquiry statistics' wiring: pages, API, navigation, the reminder job."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav

REMINDER_POLL_MINUTES = 10


def clock_time(value: object, setting: str) -> tuple[int, int]:
    """"HH:MM" -> (hour, minute); a setting that is not a time of day stops start-up with its name."""
    text = str(value).strip()
    hour, _, minute = text.partition(":")
    if hour.isdigit() and (minute or "0").isdigit() and int(hour) < 24 and int(minute or 0) < 60:
        return int(hour), int(minute or 0)
    raise RuntimeError(f"{setting} must be a time of day such as 10:00, not {text!r}")


def init_app(app: Flask) -> None:
    import crm.enquiries.models  # noqa: F401  (the mappers)
    from crm.auth.rest import add_resource
    from crm.enquiries import api
    from crm.enquiries.jobs import remind
    from crm.enquiries.views import bp

    hour, minute = clock_time(app.config.get("ENQUIRY_REMINDER_AT", "10:00"), "CRM_ENQUIRY_REMINDER_AT")
    app.config["ENQUIRY_REMINDER_AT"] = f"{hour:02d}:{minute:02d}"
    app.register_blueprint(bp)
    add_resource(api.blp, order=170)
    # The job polls: a process started after the hour still sends that day's reminders, and the reminder
    # table keeps them to one per person and day whatever the number of runs or processes.
    register_job("enquiries.remind", remind, "interval", minutes=REMINDER_POLL_MINUTES)
    add_nav(NavItem("main", "enquiries.index", _l("Enquiry statistics"), "graph-up", permission="enquiry.view",
                    order=30, group="sales"))
    add_nav(NavItem("main", "enquiries.mine", _l("My daily figures"), "pencil-square", permission="enquiry.enter_own",
                    order=31, group="sales"))
