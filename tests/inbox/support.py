"""Test support for the inbox: a small deployed process whose first task has a form with every widget
(tests/inbox/data/wf_inbox.*), and a helper starting instances of it in a store. Also used by the
isolation crawler and the bad-input fuzzer to have real tasks of several stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from crm.extensions import db
from crm.workflow import registry
from crm.workflow import runtime
from crm.workflow.deploy import deploy_directory
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus

DATA = Path(__file__).parent / "data"
PROCESS = "wf_inbox"


def deploy_inbox_process() -> None:
    registry.register_forms_dir(DATA)
    deploy_directory(DATA)
    db.session.flush()


def start_review(store: Any, *, actor: Any = None, candidates: list[Any] = (), **data: Any) -> HumanTask:
    """A new instance in `store`; returns its open "review" task. `candidates` are added to the lane's
    supervisors (through the `assignees` task data the inbox sync reads)."""
    seed = {"order_no": "SO-1", "customer": "ACME Pallets", **data}
    if candidates:
        seed["assignees"] = [u.id for u in candidates]
    instance = runtime.start(PROCESS, object_type="order", object_id=7, store_id=store.id, data=seed,
                             actor_id=actor.id if actor is not None else None)
    return db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))
    ).one()
