"""A `while True:` in a diagram, on PostgreSQL with real commits (issue 18): the request that runs it
answers within the step's budget plus a margin, the step rolls back, and a second request on the same
instance, which waits for the first one's row lock, is served; no transaction stays open."""

from __future__ import annotations

import threading
from time import monotonic
from typing import Any

import pytest
from sqlalchemy import text

from crm.auth.services import create_token
from crm.extensions import db
from crm.org.models import User
from crm.workflow import runtime
from crm.workflow.deploy import deploy_files
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessInstance
from tests.conftest import committed_app
from tests.conftest import requires_postgres
from tests.workflow.conftest import _diagram
from tests.workflow.conftest import one_task

pytestmark = [requires_postgres("row locks and idle transactions are PostgreSQL's"), pytest.mark.committed]


@pytest.fixture(scope="module")
def loop_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        deploy_files({"wf_loop_pg.bpmn": _diagram("wf_loop_pg", "while True:\n    pass", wait_first=True)},
                     source="file")
        roles["salesperson"].permissions = sorted({*roles["salesperson"].permission_list, "api.use"})
        _row, plain = create_token(org.a_rep1, "budget")
        return {"rep": org.a_rep1.id, "token": plain}

    with committed_app(tmp_path_factory.mktemp("budget"), "crm_budget", setup) as (_url, app, ids):
        app.config["PROCESS_STEP_BUDGET_SECONDS"] = 1
        yield app, ids


def test_a_looping_step_answers_within_the_budget_and_frees_the_instance(loop_app: Any) -> None:
    app, ids = loop_app
    with app.app_context():
        instance_id = runtime.start("wf_loop_pg", actor_id=ids["rep"]).id
        db.session.commit()
        task_id = one_task(db.session.get(ProcessInstance, instance_id), "wait").id
        db.session.remove()

    answers: dict[str, tuple[int, float]] = {}

    def complete(name: str, delay: float) -> None:
        threading.Event().wait(delay)
        started = monotonic()
        resp = app.test_client().post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}},
                                      headers={"Authorization": f"Bearer {ids['token']}"})
        answers[name] = (resp.status_code, monotonic() - started)

    first = threading.Thread(target=complete, args=("first", 0))
    second = threading.Thread(target=complete, args=("second", 0.2))
    first.start()
    second.start()
    first.join(60)
    second.join(60)
    assert not first.is_alive() and not second.is_alive(), "a request hangs"
    # Each answers once its own step's budget (1 s) has run out; the second waited at most for the first.
    # The margins are generous: without the budget neither would answer at all.
    assert answers["first"][1] < 1 + 15 and answers["second"][1] < 2 + 15, answers
    assert answers["first"][0] == 409 and answers["second"][0] == 409, answers
    with app.app_context():
        instance = db.session.get(ProcessInstance, instance_id)
        assert instance.status == InstanceStatus.ERROR and "time budget" in instance.last_error
        assert one_task(instance, "wait").id == task_id  # both steps rolled back
        assert db.session.get(User, ids["rep"]) is not None
        idle = db.session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid() "
            "AND application_name = current_setting('application_name')")).scalar()
        assert idle == 0
        settings = (db.session.execute(text("SHOW statement_timeout")).scalar(),
                    db.session.execute(text("SHOW idle_in_transaction_session_timeout")).scalar())
        assert settings == ("30s", "1min")
        db.session.remove()
