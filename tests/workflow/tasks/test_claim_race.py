"""Two people claiming the same group task at the same moment, on PostgreSQL with real commits in a
schema of its own: the task row is locked (SELECT … FOR UPDATE), so exactly one claim wins and the other
gets a Conflict naming the winner; the history holds one "claimed"."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.core.errors import Conflict
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.workflow.models import HumanTask
from crm.workflow.models import ProcessEvent
from crm.workflow.tasks import services as tasks
from tests.conftest import committed_app
from tests.conftest import deploy_inbox_process
from tests.conftest import requires_postgres
from tests.conftest import start_review

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


@pytest.fixture
def world(tmp_path: Any) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        deploy_inbox_process()
        return {"store_a": org.store_a.id, "a_rep1": org.a_rep1.id, "a_rep2": org.a_rep2.id}

    with committed_app(tmp_path, "crm_claim", setup) as (_url, app, ids):
        yield app, ids


def _claim_at_once(app: Any, task_id: int, user_ids: list[int]) -> dict[int, str]:
    """Each user claims the task in their own thread, session and transaction, released together."""
    barrier = threading.Barrier(len(user_ids))
    outcomes: dict[int, str] = {}

    def claim(user_id: int) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, user_id)
                barrier.wait()
                tasks.claim(task_id, actor=actor)
                db.session.commit()
                outcomes[user_id] = "ok"
            except Conflict as exc:
                db.session.rollback()
                outcomes[user_id] = f"conflict: {exc.message}"
            except BaseException as exc:  # noqa: BLE001 — reported to the test
                db.session.rollback()
                outcomes[user_id] = f"error: {exc!r}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    return outcomes


def test_two_claims_at_once_one_wins(world: Any) -> None:
    app, ids = world
    for _round in range(5):
        with app.app_context():
            store = db.session.get(OrgUnit, ids["store_a"])
            reps = [db.session.get(User, ids["a_rep1"]), db.session.get(User, ids["a_rep2"])]
            task_id = start_review(store, candidates=reps).id
            db.session.commit()
            db.session.remove()

        outcomes = _claim_at_once(app, task_id, [ids["a_rep1"], ids["a_rep2"]])

        winners = [uid for uid, outcome in outcomes.items() if outcome == "ok"]
        assert len(winners) == 1, outcomes
        [loser] = [o for o in outcomes.values() if o != "ok"]
        assert loser.startswith("conflict:") and "has already claimed this task" in loser
        with app.app_context():
            assert db.session.get(HumanTask, task_id).assignee_id == winners[0]
            claims = db.session.scalar(select(func.count()).select_from(ProcessEvent).where(
                ProcessEvent.kind == "claimed", ProcessEvent.details["task_id"].as_integer() == task_id))
            assert claims == 1
            db.session.remove()
