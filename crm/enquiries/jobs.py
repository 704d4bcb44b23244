"""Scheduled jobs of the enquiry statistics (registered by `create_app`)."""

from __future__ import annotations

from crm.enquiries import services


def remind() -> int:
    """Every few minutes: once ENQUIRY_REMINDER_AT has come, remind the salespeople without yesterday's
    figures (once per person and day)."""
    return services.send_reminders()
