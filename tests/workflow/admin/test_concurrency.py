"""Migration under concurrency, on PostgreSQL with real commits in a schema of its own: two admins moving
the same instance at once — one moves it, the other is told it changed since the preview; a move racing
a task completion — exactly one of them wins, and the instance stays loadable and finishes."""

from __future__ import annotations

from typing import Any

import pytest

from crm.extensions import db
from crm.org.models import User
from crm.workflow import runtime
from crm.workflow.admin import instances as admin
from crm.workflow.deploy import deploy_files
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessInstance
from tests import factories
from tests.conftest import chain
from tests.conftest import committed_app
from tests.conftest import requires_postgres
from tests.workflow.conftest import _open_task_ids
from tests.workflow.conftest import _race

pytestmark = [requires_postgres("concurrency needs PostgreSQL (row locks)"), pytest.mark.committed]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        owner = factories.UserFactory(name="Owner", unit=org.hq, roles=[roles["process_owner"]])
        db.session.flush()
        return {"owner": owner.id, "store_a": org.store_a.id}

    with committed_app(tmp_path_factory.mktemp("procconc"), "crm_procconc", setup) as (_url, app, ids):
        yield app, ids


def _instances_and_new_version(app: Any, ids: dict[str, int], key: str, version_steps: tuple[str, ...]) -> list[int]:
    """One instance of `key` (v1 = A -> B, waiting at A), then a new version with `version_steps`."""
    with app.app_context():
        deploy_files({f"{key}.bpmn": chain(key, "A", "B").encode()}, source="file")
        started = [runtime.start(key, store_id=ids["store_a"], actor_id=ids["owner"]).id]
        db.session.commit()
        deploy_files({f"{key}.bpmn": chain(key, *version_steps).encode()}, source="file")
        db.session.commit()
        db.session.remove()
    return started


def _preview(app: Any, instance_id: int, owner_id: int) -> str:
    with app.app_context():
        token = admin.migration_preview(instance_id, actor=db.session.get(User, owner_id)).token
        db.session.remove()
    return token


def _move(instance_id: int, token: str, owner_id: int) -> Any:
    return lambda: admin.migrate(instance_id, token, actor=db.session.get(User, owner_id)) and "moved"


def test_two_admins_moving_the_same_instance_one_wins(shared: Any) -> None:
    app, ids = shared
    owner = ids["owner"]
    for round_ in range(3):
        [instance_id] = _instances_and_new_version(app, ids, f"wf_two_admins_{round_}", ("A", "N", "B"))
        token = _preview(app, instance_id, owner)
        outcomes = _race(app, [_move(instance_id, token, owner), _move(instance_id, token, owner)])
        assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"], outcomes
        with app.app_context():
            instance = db.session.get(ProcessInstance, instance_id)
            runtime._load(instance)  # still loads
            assert sum(1 for e in runtime.history(instance_id) if e.kind == "migrated") == 1
            db.session.remove()


def test_a_move_racing_a_task_completion(shared: Any) -> None:
    app, ids = shared
    owner = ids["owner"]
    for round_ in range(3):
        [instance_id] = _instances_and_new_version(app, ids, f"wf_move_vs_task_{round_}", ("A", "X", "B"))
        token = _preview(app, instance_id, owner)
        with app.app_context():
            task_id = _open_task_ids(instance_id)["A"]
            db.session.remove()
        outcomes = _race(app, [_move(instance_id, token, owner), (task_id, owner)])
        kinds = [kind for kind, _ in outcomes]
        assert "error" not in kinds, outcomes
        with app.app_context():
            instance = db.session.get(ProcessInstance, instance_id)
            moved = any(e.kind == "migrated" for e in runtime.history(instance_id))
            completed = any(e.kind == "task_completed" for e in runtime.history(instance_id))
            if kinds[0] == "conflict":  # the completion came first: the preview was stale
                assert completed and not moved
            else:  # moved first; the completion then ran on the new version
                assert moved
            # Whatever the order, the instance goes on to the end.
            while instance.status == InstanceStatus.RUNNING:
                open_tasks = _open_task_ids(instance_id)
                runtime.complete_task(next(iter(open_tasks.values())), {}, actor_id=owner)
                db.session.commit()
                db.session.refresh(instance)
            assert instance.status == InstanceStatus.COMPLETED
            db.session.remove()
