"""The timer job: APScheduler calls it every CRM_SCHEDULER_INTERVAL_SECONDS (default 5)."""

from __future__ import annotations

import time

from crm.extensions import db
from crm.workflow import runtime

BATCH = 200
TIME_BUDGET_SECONDS = 50.0


def fire_due_timers() -> int:
    """Take due instances in batches, one transaction per batch, until none is due or the time budget is
    spent (the next run goes on). This job is a transaction boundary, like a request."""
    started = time.monotonic()
    total = 0
    while True:
        taken = runtime.fire_due_timers(limit=BATCH)
        db.session.commit()
        total += taken
        if taken < BATCH or time.monotonic() - started > TIME_BUDGET_SECONDS:
            return total
