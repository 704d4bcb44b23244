"""Completing a recurring task while the recurrence job finds its due time passed, on PostgreSQL with real
commits: whichever comes first, the series gets exactly one next occurrence (the job takes rows with SKIP
LOCKED, the insert skips on the unique (series, day), the completion locks the row and reads it again)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from crm.core.clock import local_today
from crm.extensions import db
from crm.work.tasks import jobs
from crm.work.tasks import services
from crm.work.tasks.models import WorkStatus
from crm.work.tasks.models import WorkTask
from crm.work.tasks.schedule import due_moment
from tests.conftest import committed_app
from tests.conftest import requires_postgres
from tests.sales.orders.test_races import race

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]

ROUNDS = 4


@pytest.fixture
def world(tmp_path: Any) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        later = (local_today() + timedelta(days=7)).isoformat()  # not due yet: each round makes it due
        ids = [services.create_tasks({"title": f"Daily call {n}", "due_on": later, "recurrence": "daily"},
                                     actor=org.a_rep1)[0].id for n in range(ROUNDS)]
        return {"rep": org.a_rep1.id, "tasks": ids}

    with committed_app(tmp_path, "crm_work_race", setup) as (_url, app, ids):
        yield app, ids


def test_completing_and_the_job_at_once_make_one_next_occurrence(world: Any) -> None:
    app, ids = world
    yesterday = local_today() - timedelta(days=1)
    for task_id in ids["tasks"]:
        with app.app_context():  # this round's task is now a day overdue (its next occurrence: today)
            db.session.execute(update(WorkTask).where(WorkTask.id == task_id).values(
                due_on=yesterday, occurrence_on=yesterday, due_at=due_moment(yesterday, None)))
            db.session.commit()
            db.session.remove()

        def complete(actor: Any, task_id: int = task_id) -> Any:
            return services.complete(task_id, actor=actor)

        def job(_actor: Any) -> Any:
            return jobs.make_due_occurrences()

        outcomes = race(app, [(complete, ids["rep"]), (job, ids["rep"])])
        # Both succeed: the completion first (the job skips the locked row or finds its next one made), or
        # the job first (the completion waits for its lock and finds the next occurrence made).
        assert outcomes == ["ok", "ok"], outcomes
        with app.app_context():
            task = db.session.get(WorkTask, task_id)
            following = db.session.scalar(select(func.count()).select_from(WorkTask).where(
                WorkTask.series_id == task.series_id, WorkTask.id != task.id))
            assert following == 1, outcomes
            assert task.next_made_at is not None
            assert task.status == WorkStatus.DONE and task.completed_by_id == ids["rep"]
            db.session.remove()
