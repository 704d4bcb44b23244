"""Concurrency on PostgreSQL with real commits, in a schema of its own (not the suite's savepointed
session): (a) two scheduler processes fire the same 200 due timers — each fires exactly once and its
operator runs once; (b) two users complete the same task at the same moment — one wins, the other gets
Conflict, the instance stays intact; (c) two users complete two parallel tasks of one instance at once —
both count (no lost update); (d) the same message sent twice at once is delivered once, the other kept as
unmatched; (e) a user completes a task while the scheduler fires its interrupting timer: one of them
wins, never both."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.extensions import db
from crm.workflow import registry
from crm.workflow import runtime
from crm.workflow.deploy import deploy_directory
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from tests.conftest import committed_app
from tests.conftest import make_test_app
from tests.conftest import requires_postgres
from tests.workflow.conftest import DATA
from tests.workflow.conftest import _open_task_ids
from tests.workflow.conftest import _race

pytestmark = [requires_postgres("concurrency needs PostgreSQL (row locks, SKIP LOCKED)"), pytest.mark.committed]

TIMERS = 200


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(database url, app, {name: user id}) on a fresh schema with roles, an org and the scenarios."""
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        for scenario in ("concurrency", "timers"):
            registry.register_forms_dir(DATA / scenario)
            deploy_directory(DATA / scenario)
        return {"a_sup": org.a_sup.id, "a_manager": org.a_manager.id, "a_rep1": org.a_rep1.id,
                "store_a": org.store_a.id}

    with committed_app(tmp_path_factory.mktemp("concurrency"), "crm_conc", setup) as (url, app, users):
        yield url, app, users


def _events(instance_ids: list[int], kind: str) -> Counter[int]:
    rows = db.session.execute(
        select(ProcessEvent.instance_id, func.count()).where(ProcessEvent.instance_id.in_(instance_ids),
                                                              ProcessEvent.kind == kind)
        .group_by(ProcessEvent.instance_id)
    ).all()
    return Counter({instance_id: n for instance_id, n in rows})


# (a) two schedulers ----------------------------------------------------------------------------------------
def _scheduler(url: str, barrier: Any, results: Any) -> None:
    """A scheduler process: the app, the test operators, and the real timer job (small batches, so the
    two processes interleave)."""
    import tests.workflow.conftest  # noqa: F401 — registers test.record in this process
    from crm.workflow import jobs

    app = make_test_app(url)
    with app.app_context():
        jobs.BATCH = 10
        barrier.wait()
        try:
            results.put(("ok", jobs.fire_due_timers()))
        except BaseException as exc:  # noqa: BLE001 — report it to the test, whatever it is
            results.put(("error", repr(exc)))
        finally:
            db.session.remove()
            db.engine.dispose()


def test_two_schedulers_fire_each_timer_exactly_once(shared):
    url, app, users = shared
    with app.app_context():
        # Started two hours ago: their one-hour timers are due now.
        with time_machine.travel(utcnow() - timedelta(hours=2), tick=False):
            ids = [runtime.start("wf_tick", object_type="ticket", object_id=n, actor_id=users["a_rep1"]).id
                   for n in range(TIMERS)]
        db.session.commit()
        due = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.id.in_(ids), ProcessInstance.next_timer_at < utcnow()))
        assert due == TIMERS
        db.session.remove()

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=_scheduler, args=(url, barrier, results)) for _ in range(2)]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    # Every instance was taken by exactly one of them (SKIP LOCKED), so the counts add up.
    assert sum(n for _, n in outcomes) == TIMERS

    with app.app_context():
        fired, effects = _events(ids, "timer_fired"), _events(ids, "test_effect")
        assert set(fired.values()) == {1} and len(fired) == TIMERS
        assert set(effects.values()) == {1} and len(effects) == TIMERS
        statuses = set(db.session.scalars(select(ProcessInstance.status).where(ProcessInstance.id.in_(ids))))
        assert statuses == {InstanceStatus.COMPLETED}
        db.session.remove()


# (b), (c) two users at the same moment ---------------------------------------------------------------------
def test_two_users_completing_the_same_task_one_wins(shared):
    url, app, users = shared
    sup, manager = users["a_sup"], users["a_manager"]
    for _round in range(5):
        with app.app_context():
            instance = runtime.start("wf_race", data={"deciders": [sup, manager], "parallel": False},
                                     actor_id=users["a_rep1"])
            db.session.commit()
            instance_id, task_id = instance.id, _open_task_ids(instance.id)["decide"]
            db.session.remove()

        outcomes = _race(app, [(task_id, sup), (task_id, manager)])

        assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"], outcomes
        [message] = [detail for kind, detail in outcomes if kind == "conflict"]
        assert "already completed" in message
        with app.app_context():
            instance = db.session.get(ProcessInstance, instance_id)
            assert instance.status == InstanceStatus.COMPLETED and instance.last_error is None
            runtime._load(instance)  # the state still loads
            assert _events([instance_id], "task_completed")[instance_id] == 1
            assert _events([instance_id], "test_effect")[instance_id] == 1
            assert _events([instance_id], "error")[instance_id] == 0
            db.session.remove()


def test_two_users_completing_parallel_tasks_of_one_instance_both_count(shared):
    url, app, users = shared
    sup, manager = users["a_sup"], users["a_manager"]
    for _round in range(3):
        with app.app_context():
            instance = runtime.start("wf_race", data={"deciders": [sup, manager], "parallel": True},
                                     actor_id=users["a_rep1"])
            db.session.commit()
            instance_id = instance.id
            tasks = _open_task_ids(instance_id)
            db.session.remove()
        assert set(tasks) == {"branch_a", "branch_b"}

        outcomes = _race(app, [(tasks["branch_a"], sup), (tasks["branch_b"], manager)])

        assert outcomes == [("ok", ""), ("ok", "")]
        with app.app_context():
            instance = db.session.get(ProcessInstance, instance_id)
            # Neither completion was lost: the join passed and the operator after it ran once.
            assert instance.status == InstanceStatus.COMPLETED
            assert _events([instance_id], "task_completed")[instance_id] == 2
            assert _events([instance_id], "test_effect")[instance_id] == 1
            db.session.remove()


def test_the_same_message_sent_twice_at_once_is_delivered_once(shared):
    url, app, users = shared
    from crm.workflow.models import UnmatchedMessage

    for order_id in range(900, 905):
        with app.app_context():
            instance_id = runtime.start("wf_wait", object_type="order", object_id=order_id,
                                        data={"wait_hours": 48}, actor_id=users["a_rep1"]).id
            db.session.commit()
            db.session.remove()

        def send(n: int, order_id: int = order_id) -> list[int]:
            return runtime.send_message("payment_received", "order", order_id, {"n": n})

        outcomes = _race(app, [lambda: send(1), lambda: send(2)])

        assert sorted(result for _, result in outcomes) == [[], [instance_id]], outcomes
        with app.app_context():
            assert db.session.get(ProcessInstance, instance_id).status == InstanceStatus.COMPLETED
            assert _events([instance_id], "message_received")[instance_id] == 1
            assert _events([instance_id], "test_effect")[instance_id] == 1
            stored = db.session.scalars(select(UnmatchedMessage).where(UnmatchedMessage.object_id == order_id)).all()
            assert len(stored) == 1
            db.session.remove()


def test_completing_a_task_while_its_interrupting_timer_fires(shared):
    url, app, users = shared
    for _round in range(5):
        with app.app_context():
            with time_machine.travel(utcnow() - timedelta(hours=3), tick=False):  # its 2 h timers are due
                instance = runtime.start("wf_reminder", object_type="ticket", object_id=1, store_id=users["store_a"],
                                         data={"escalate_hours": 2}, actor_id=users["a_rep1"])
            db.session.commit()
            instance_id, task_id = instance.id, _open_task_ids(instance.id)["handle"]
            db.session.remove()

        user, scheduler = _race(app, [(task_id, users["a_sup"]), runtime.fire_due_timers])

        assert user[0] in ("ok", "conflict") and scheduler[0] == "ok", (user, scheduler)
        with app.app_context():
            instance = db.session.get(ProcessInstance, instance_id)
            open_tasks = _open_task_ids(instance_id)
            if user[0] == "ok":  # the user was first: the timers went with the task
                assert instance.status == InstanceStatus.COMPLETED and open_tasks == {}
                assert _events([instance_id], "timer_fired")[instance_id] == 0
            else:  # the timer was first: the task was cancelled under the user's feet
                assert "already completed or cancelled" in user[1]
                assert instance.status == InstanceStatus.RUNNING and set(open_tasks) == {"escalation"}
                assert _events([instance_id], "timer_fired")[instance_id] == 1
                assert _events([instance_id], "task_completed")[instance_id] == 0
            runtime._load(instance)
            db.session.remove()
