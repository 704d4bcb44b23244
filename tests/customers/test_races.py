"""Races on PostgreSQL with real commits in a schema of its own: two people saving the same customer with
the version they both read (one wins, the other gets a Conflict), and two people creating a customer with
the same mobile number at once (the unique index lets exactly one in; the other gets a clear answer)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.core.errors import Conflict
from crm.core.errors import ValidationFailed
from crm.customers import services
from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import User
from tests.conftest import committed_app
from tests.conftest import requires_postgres

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


@pytest.fixture
def world(tmp_path: Any) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        return {"a_rep1": org.a_rep1.id, "a_sup": org.a_sup.id, "a_manager": org.a_manager.id}

    with committed_app(tmp_path, "crm_cust_race", setup) as (_url, app, ids):
        yield app, ids


def at_once(app: Any, steps: dict[str, Callable[[User], Any]], users: dict[str, int]) -> dict[str, str]:
    barrier = threading.Barrier(len(steps))
    outcomes: dict[str, str] = {}

    def run(key: str) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, users[key])
                prepared = steps[key](actor)  # reads before the barrier, writes after
                barrier.wait()
                prepared()
                db.session.commit()
                outcomes[key] = "ok"
            except Conflict as exc:
                db.session.rollback()
                outcomes[key] = f"conflict: {exc.message}"
            except ValidationFailed as exc:
                db.session.rollback()
                outcomes[key] = f"invalid: {exc.errors}"
            except BaseException as exc:  # noqa: BLE001 — reported to the test
                db.session.rollback()
                outcomes[key] = f"error: {exc!r}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(k,)) for k in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    return outcomes


def test_two_edits_with_the_same_version_one_wins(world: Any) -> None:
    app, ids = world
    for round_ in range(3):
        with app.app_context():
            owner = db.session.get(User, ids["a_rep1"])
            customer = services.create_customer({"name": f"Race {round_}", "mobile": f"1370000{round_:04d}"},
                                                actor=owner)
            db.session.commit()
            cid, version = customer.id, customer.lock_version
            db.session.remove()

        def editor(name: str, cid: int = cid, version: int = version) -> Callable[[User], Any]:
            def prepare(actor: User) -> Any:
                customer = db.session.get(Customer, cid)
                return lambda: services.update_customer(customer, {"company": name}, actor=actor,
                                                        lock_version=version, partial=True)
            return prepare

        outcomes = at_once(app, {"a_rep1": editor("Rep Co"), "a_sup": editor("Supervisor Co")}, ids)
        assert sorted(o.split(":")[0] for o in outcomes.values()) == ["conflict", "ok"], outcomes
        winner = next(k for k, o in outcomes.items() if o == "ok")
        with app.app_context():
            row = db.session.get(Customer, cid)
            assert row.company == ("Rep Co" if winner == "a_rep1" else "Supervisor Co")
            assert row.lock_version == version + 1
            db.session.remove()


def test_two_creations_with_the_same_mobile_one_wins(world: Any) -> None:
    app, ids = world
    for round_ in range(3):
        mobile = f"1380000{round_:04d}"

        def creator(name: str, mobile: str = mobile) -> Callable[[User], Any]:
            def prepare(actor: User) -> Any:
                return lambda: services.create_customer({"name": name, "mobile": mobile}, actor=actor)
            return prepare

        outcomes = at_once(app, {"a_rep1": creator("First"), "a_manager": creator("Second")}, ids)
        kinds = sorted(o.split(":")[0] for o in outcomes.values())
        assert kinds in (["conflict", "ok"], ["invalid", "ok"]), outcomes
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Customer)
                                     .where(Customer.mobile_norm == mobile)) == 1
            db.session.remove()
