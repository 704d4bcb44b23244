"""Scheduled job of the receivable plans (registered by the finance wiring)."""

from __future__ import annotations

from crm.finance.plans import services


def remind() -> dict[str, int]:
    """Daily: reminders before instalments fall due and notices once they are overdue (each once)."""
    return services.send_reminders()
