"""The webhook job: APScheduler calls it every CRM_WEBHOOK_INTERVAL_SECONDS (default 10). Batches of
BATCH deliveries, each committed on its own (`in_batches`): what was sent stays sent if a later call
fails, and no transaction holds its row locks for long; a run stops after SECONDS, the next goes on."""

from __future__ import annotations

from typing import Any

from crm.core.jobs import in_batches
from crm.integrations.webhooks.delivery import send_due

BATCH = 10
SECONDS = 30


def send_webhooks() -> dict[str, Any]:
    totals = {"delivered": 0, "retry": 0, "failed": 0}

    def step() -> bool:
        result = send_due(BATCH)
        for key, n in result.items():
            totals[key] += n
        return sum(result.values()) == BATCH

    batches = in_batches(step, seconds=SECONDS)
    return {**totals, "batches": batches}
