"""A step's side writes (the closed tasks, their bells marked read, the new task's candidates and bell, the
history) are queued and sent at the step's end, as one statement on PostgreSQL (crm.core.deferred, issue
26). A step that fails after queueing them leaves none of them; a step that succeeds leaves all of them,
visible to whatever reads them next in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.core import deferred
from crm.extensions import db
from crm.notify.models import Notification
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessEvent
from crm.workflow.models import TaskStatus
from tests.conftest import statements
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload


@pytest.fixture
def bill(org, deploy):
    deploy("errors")  # enter (the initiator's) -> compute -> book -> confirm (the initiator's)
    instance = runtime.start("wf_errors", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                             actor_id=org.a_rep1.id)
    db.session.commit()
    return instance


def _bell(task_id: int) -> Notification | None:
    return db.session.scalar(select(Notification).where(Notification.url == f"/tasks/{task_id}"))


def _rows(model, **where) -> int:  # type: ignore[no-untyped-def]
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalar(stmt) or 0


@pytest.mark.parametrize("first_write", [True, False], ids=["the transaction is the step", "in a savepoint"])
def test_a_step_failing_after_its_side_writes_were_queued_leaves_none_of_them(bill, org, monkeypatch, first_write):
    enter = one_task(bill, "enter")
    assert _bell(enter.id) is not None and _bell(enter.id).read_at is None
    events_before = _rows(ProcessEvent, instance_id=bill.id)
    tasks_before, candidates_before, bells_before = _rows(HumanTask), _rows(HumanTaskCandidate), _rows(Notification)
    queued: list[int] = []
    passage = runtime._passage

    def passage_then_fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        passage(*args, **kwargs)  # the history joins the closing, the candidates and the bell in the queue
        queued.append(len(db.session.info[deferred._KEY]))
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(runtime, "_passage", passage_then_fail)
    if not first_write:
        org.a_rep2.name = "Renamed before the step"  # the step then runs in a savepoint of its own
    with pytest.raises(runtime.StepFailed):
        runtime.complete_task(enter.id, {"total": 100, "parts": 4}, actor_id=org.a_rep1.id)
    assert queued and queued[0] >= 4  # bells read, task closed, candidates, bell, history
    # What the queue holds now is the error's history row only (queued after the rollback, for the commit).
    assert [[row["kind"] for row in w.rows or []] for w in db.session.info[deferred._KEY]] == [["error"]]
    db.session.commit()  # the web edge keeps the error record
    monkeypatch.undo()

    assert reload(bill).status == InstanceStatus.ERROR and "the disk is full" in bill.last_error
    assert one_task(bill, "enter").id == enter.id  # still open
    assert _bell(enter.id).read_at is None
    assert (_rows(HumanTask), _rows(HumanTaskCandidate), _rows(Notification)) == (
        tasks_before, candidates_before, bells_before)
    # One history row more: the error; none of the failed attempt's passage.
    assert _rows(ProcessEvent, instance_id=bill.id) == events_before + 1 and kinds(bill)[-1] == "error"
    if not first_write:
        assert db.session.get(type(org.a_rep2), org.a_rep2.id).name == "Renamed before the step"

    # Retried, it goes through, and writes them all once.
    runtime.complete_task(enter.id, {"total": 100, "parts": 4}, actor_id=org.a_rep1.id)
    confirm = one_task(bill, "confirm")
    assert _rows(HumanTaskCandidate, task_id=confirm.id) == 1 and _bell(confirm.id) is not None


def test_a_completions_bell_candidates_and_history_are_read_later_in_the_same_transaction(bill, org):
    enter = one_task(bill, "enter")
    runtime.complete_task(enter.id, {"total": 100, "parts": 4}, actor_id=org.a_rep1.id)
    assert not deferred.pending(db.session)  # sent at the step's end, before anything else could read
    # No commit in between: what the step wrote is there for the rest of the request.
    confirm = one_task(bill, "confirm")
    assert set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == confirm.id))
               ) == {org.a_rep1.id}
    bell = _bell(confirm.id)
    assert bell is not None and bell.user_id == org.a_rep1.id and bell.read_at is None
    assert _bell(enter.id).read_at is not None  # the closed task's bell, marked read
    assert enter.status == TaskStatus.COMPLETED and enter.completed_by_id == org.a_rep1.id  # the session's copy
    assert kinds(bill)[-1] == "task_completed"


def test_the_side_writes_of_a_completion_are_one_statement_on_postgresql(bill, org):
    enter = one_task(bill, "enter")
    with statements() as seen:
        runtime.complete_task(enter.id, {"total": 100, "parts": 4}, actor_id=org.a_rep1.id)
    alone = [s.split(" (")[0].split(" SET")[0] for s in seen
             if s.startswith(("INSERT INTO human_task_candidate", "INSERT INTO notification", "UPDATE notification",
                              "UPDATE human_task"))]
    together = [s for s in seen if s.startswith("WITH")]
    if db.engine.dialect.name == "postgresql":
        assert alone == [] and len(together) == 1
        for part in ("UPDATE notification", "UPDATE human_task", "INSERT INTO human_task_candidate",
                     "INSERT INTO notification", "INSERT INTO process_event"):
            assert part in together[0]
    else:  # one statement each, in the order they were queued (the step's history is one more)
        assert together == [] and alone == ["UPDATE notification", "UPDATE human_task",
                                            "INSERT INTO human_task_candidate", "INSERT INTO notification"]
