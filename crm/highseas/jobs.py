"""Scheduled jobs of the high seas (registered by `create_app`)."""

from __future__ import annotations

from crm.highseas import sweep as recycling


def sweep() -> dict[str, int]:
    """The daily recycle sweep (02:00 by default, CRM_HIGHSEAS_SWEEP_AT): rules, reminders, moves."""
    return recycling.sweep()
