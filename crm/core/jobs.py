"""Scheduled jobs. Contexts register callables here; `start_scheduler` runs them in APScheduler, each
inside its own app context and transaction (commit on success, rollback on error). Due work must be
taken with row locks (SKIP LOCKED on PostgreSQL) so several processes may run the scheduler at once."""

from __future__ import annotations

import logging
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


def start_scheduler(app: Flask) -> Any:
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in _jobs.values():
        scheduler.add_job(run_job, job.trigger, args=[app, job], id=job.id, **job.trigger_args)
    scheduler.start()
    log.info("scheduler started with %d jobs", len(_jobs))
    return scheduler
