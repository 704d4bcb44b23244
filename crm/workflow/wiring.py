"""The workflow context's wiring: the engine's tables and the timer job. Its pages are the inbox and
process admin contexts; operators and forms are registered by the contexts that own them."""

from __future__ import annotations

from flask import Flask

from crm.core.jobs import register_job


def init_app(app: Flask) -> None:
    import crm.workflow.models  # noqa: F401  (the mappers)
    from crm.workflow.jobs import fire_due_timers
    from crm.workflow.labels import event_text
    from crm.workflow.labels import task_titles

    app.jinja_env.globals.update(event_text=event_text, task_titles=task_titles)

    register_job("workflow.fire_due_timers", fire_due_timers, "interval",
                 seconds=int(app.config["SCHEDULER_INTERVAL_SECONDS"]))
