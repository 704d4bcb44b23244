"""The webhook job: APScheduler calls it every CRM_WEBHOOK_INTERVAL_SECONDS (default 10)."""

from __future__ import annotations

from crm.integrations.webhooks.delivery import send_due


def send_webhooks() -> dict[str, int]:
    return send_due()
