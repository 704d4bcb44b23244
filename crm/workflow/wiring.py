"""The workflow context's wiring: the engine's tables, the timer job and the due-date job. Its pages are the inbox and
process admin contexts; operators and forms are registered by the contexts that own them."""

from __future__ import annotations

from flask import Flask

from crm.core import workcalendar
from crm.core.jobs import register_job


def _check_calendar(app: Flask) -> None:
    """The working calendar and the default lead and delay are read once at start-up: a setting that cannot
    be read stops it with its name, rather than every task opening without a due date."""
    try:
        workcalendar.from_config(app.config)
    except workcalendar.CalendarError as exc:
        raise RuntimeError(f"CRM_{exc}") from exc  # the message starts with the setting's name
    for name in ("TASK_REMIND_BEFORE", "TASK_ESCALATE_AFTER"):
        value = str(app.config.get(name) or "").strip()
        if value and value.lower() not in ("none", "off", "0"):
            try:
                workcalendar.parse_duration(value)
            except workcalendar.CalendarError as exc:
                raise RuntimeError(f"CRM_{name}: {exc}") from exc


def init_app(app: Flask) -> None:
    import crm.workflow.models  # noqa: F401  (the mappers)
    from crm.workflow.jobs import fire_due_timers
    from crm.workflow.labels import event_text
    from crm.workflow.labels import task_titles
    from crm.workflow.tasks import reminders

    app.jinja_env.globals.update(event_text=event_text, task_titles=task_titles)

    _check_calendar(app)
    register_job("workflow.fire_due_timers", fire_due_timers, "interval",
                 seconds=int(app.config["SCHEDULER_INTERVAL_SECONDS"]))
    # Reminders before and escalations after the due dates of process tasks (each sent once).
    register_job("workflow.task_deadlines", reminders.run, "interval", minutes=int(app.config["TASK_DUE_POLL_MINUTES"]))
