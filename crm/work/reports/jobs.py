"""Scheduled job of work reports (registered by the work wiring)."""

from __future__ import annotations

from crm.work.reports import services


def remind() -> int:
    """Every few minutes: once the reminder time has come, whoever has not filed today's daily report is
    told (once a day)."""
    return services.send_reminders()
