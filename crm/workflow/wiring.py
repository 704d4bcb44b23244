"""The workflow context's wiring: the engine's tables, the timer job and the due-date job. Its pages are the inbox and
process admin contexts; operators and forms are registered by the contexts that own them."""

from __future__ import annotations

from flask import Flask

from crm.core.jobs import register_job


def init_app(app: Flask) -> None:
    import crm.workflow.models  # noqa: F401  (the mappers)
    from crm.workflow.jobs import fire_due_timers
    from crm.workflow.tasks import reminders

    register_job("workflow.fire_due_timers", fire_due_timers, "interval",
                 seconds=int(app.config["SCHEDULER_INTERVAL_SECONDS"]))
    # Reminders before and escalations after the due dates of process tasks (each sent once).
    register_job("workflow.task_deadlines", reminders.run, "interval", minutes=int(app.config["TASK_DUE_POLL_MINUTES"]))
