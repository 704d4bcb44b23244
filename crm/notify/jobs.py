"""The e-mail job: APScheduler calls it every CRM_EMAIL_INTERVAL_SECONDS (default 30)."""

from __future__ import annotations

from crm.notify.services import send_due_emails


def send_email() -> dict[str, int]:
    return send_due_emails()
