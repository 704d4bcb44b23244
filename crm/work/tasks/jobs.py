"""Scheduled jobs of work tasks (registered by the work wiring)."""

from __future__ import annotations

from crm.work.tasks import services


def remind() -> int:
    """Every few minutes: reminders of tasks whose reminder time has come (each once)."""
    return services.send_reminders()


def recur() -> int:
    """Every few minutes: the next occurrence of recurring tasks whose due time passed (each once)."""
    return services.make_due_occurrences()
