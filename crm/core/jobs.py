"""Scheduled jobs. Contexts register callables here; `start_scheduler` runs them in APScheduler, each
inside its own app context and transaction (commit on success, rollback on error). Due work must be
taken with row locks (SKIP LOCKED on PostgreSQL) so several processes may run the scheduler at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from crm.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], Any]
    trigger: str  # "interval" or "cron"
    trigger_args: dict[str, Any]


_jobs: dict[str, Job] = {}


def register_job(job_id: str, func: Callable[[], Any], trigger: str, **trigger_args: Any) -> None:
    _jobs[job_id] = Job(job_id, func, trigger, trigger_args)


def registered_jobs() -> list[Job]:
    return list(_jobs.values())


def run_job(app: Flask, job: Job) -> Any:
    """Run one job in its own app context and transaction."""
    with app.app_context():
        db.session.info["actor_id"] = None
        try:
            result = job.func()
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", job.id)
            raise
        finally:
            db.session.remove()


def in_batches(step: Callable[[], bool], *, limit: int | None = None, seconds: float | None = None) -> int:
    """For a job that works in batches: `step()` runs in a transaction of its own, committed here, as
    long as it answers that there is more, at most `limit` times and until `seconds` have passed (the
    next run goes on). Returns how many batches ran. The job runner owns every other commit."""
    started = time.monotonic()
    runs = 0
    while True:
        more = step()
        db.session.commit()
        runs += 1
        if not more or (limit is not None and runs >= limit) or (
                seconds is not None and time.monotonic() - started > seconds):
            return runs


def start_scheduler(app: Flask) -> Any:
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in _jobs.values():
        scheduler.add_job(run_job, job.trigger, args=[app, job], id=job.id, **job.trigger_args)
    scheduler.start()
    log.info("scheduler started with %d jobs", len(_jobs))
    return scheduler
