"""Two approvers of an any-of step approving at the same moment (PostgreSQL, real commits in a schema
of its own): exactly one decision is decisive, the other gets AlreadyDecided, the request is approved
once, the requester is told once, and the process moved on once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.approvals import services
from crm.approvals.models import ApprovalDecision
from crm.approvals.models import ApprovalRequest
from crm.approvals.models import RequestStatus
from crm.core.errors import Conflict
from crm.extensions import db
from crm.notify.models import Notification
from crm.org.models import User
from crm.workflow import runtime
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from crm.workflow.models import HumanTask
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus
from tests.approvals.conftest import DATA
from tests.conftest import committed_app
from tests.conftest import requires_postgres

pytestmark = [requires_postgres("concurrency needs PostgreSQL (row locks)"), pytest.mark.committed]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        deploy_directory(PROCESS_DIR)
        deploy_directory(DATA)
        approval_chains.create_chain({"key": "expense", "steps": [
            {"title": "Either", "rule": "users", "mode": "any", "user_ids": [org.a_sup.id, org.a_manager.id]}]},
            actor=org.hq_admin)
        return {"a_sup": org.a_sup.id, "a_manager": org.a_manager.id, "a_rep1": org.a_rep1.id,
                "store_a": org.store_a.id}

    with committed_app(tmp_path_factory.mktemp("approvals_conc"), "crm_apconc", setup) as (_url, app, users):
        yield app, users


def _race(app: Any, calls: list[tuple[int, int]]) -> list[tuple[str, str]]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, str]] = [("none", "")] * len(calls)

    def approver(i: int, task_id: int, user_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                services.decide(task_id, approved=True, comment=f"by {user_id}", actor=db.session.get(User, user_id))
                db.session.commit()
                outcomes[i] = ("ok", "")
            except Conflict as exc:
                db.session.rollback()
                outcomes[i] = ("conflict", str(exc))
            except BaseException as exc:  # noqa: BLE001
                db.session.rollback()
                outcomes[i] = ("error", repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approver, args=(i, t, u)) for i, (t, u) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    return outcomes


def test_two_any_of_approvers_at_once_one_decision_counts(shared):
    app, users = shared
    sup, manager = users["a_sup"], users["a_manager"]
    for n in range(5):
        with app.app_context():
            from decimal import Decimal

            from tests.approvals.conftest import EXPENSES

            EXPENSES[9000 + n] = {"id": 9000 + n, "store_id": users["store_a"], "amount": Decimal("10"),
                                  "category": "travel"}
            instance = runtime.start("wf_expense", object_type="test_expense", object_id=9000 + n,
                                     store_id=users["store_a"], data={"approval_chain": "expense"},
                                     actor_id=users["a_rep1"])
            db.session.commit()
            tasks = {t.assignee_id: t.id for t in db.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance.id, HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])))}
            instance_id = instance.id
            db.session.remove()

        outcomes = _race(app, [(tasks[sup], sup), (tasks[manager], manager)])

        assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"], outcomes
        [message] = [detail for kind, detail in outcomes if kind == "conflict"]
        assert "already decided" in message
        with app.app_context():
            instance = db.session.get(ProcessInstance, instance_id)
            assert instance.status == InstanceStatus.COMPLETED and instance.last_error is None
            request = db.session.scalars(select(ApprovalRequest).where(ApprovalRequest.instance_id == instance_id)).one()
            assert request.status == RequestStatus.APPROVED
            decisions = db.session.scalar(select(func.count()).select_from(ApprovalDecision).where(
                ApprovalDecision.request_id == request.id))
            assert decisions == 1
            completed = db.session.scalar(select(func.count()).select_from(ProcessEvent).where(
                ProcessEvent.instance_id == instance_id, ProcessEvent.kind == "task_completed"))
            assert completed == 1
            told = db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.user_id == users["a_rep1"], Notification.kind == "approval_decided",
                Notification.url == f"/approvals/requests/{request.id}"))
            assert told == 1
            db.session.remove()
