"""Scheduled jobs of the customers context (registered by `create_app`)."""

from __future__ import annotations

from crm.customers import imports
from crm.customers.services import follow_ups


def follow_up_reminders() -> int:
    """Send `follow_up_due` once for every follow-up whose next-contact time has come."""
    return follow_ups.send_due_reminders()


def run_imports() -> int:
    """Process a few chunks of pending customer imports."""
    return imports.run_imports()
