"""The timer job: APScheduler calls it every CRM_SCHEDULER_INTERVAL_SECONDS (default 5)."""

from __future__ import annotations

from crm.core.jobs import in_batches
from crm.workflow import runtime

BATCH = 200
TIME_BUDGET_SECONDS = 50.0


def fire_due_timers() -> int:
    """Take due instances in batches, one transaction per batch (`in_batches` commits each), until none
    is due or the time budget is spent (the next run goes on)."""
    total = 0

    def batch() -> bool:
        nonlocal total
        taken = runtime.fire_due_timers(limit=BATCH)
        total += taken
        return taken >= BATCH

    in_batches(batch, seconds=TIME_BUDGET_SECONDS)
    return total
