"""Races on PostgreSQL with real commits: two salespeople claiming the same pool customer at the same
moment (one application proceeds, the other is told someone applied first), and a claim racing the
sweep (nothing lost, nothing doubled)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import ValidationFailed
from crm.customers import services as customers
from crm.customers.models import Customer
from crm.extensions import db
from crm.highseas import rules
from crm.highseas import services
from crm.highseas import sweep as recycling
from crm.highseas.models import HighSeasClaim
from crm.highseas.models import HighSeasMove
from crm.org.models import User
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from tests.conftest import committed_app
from tests.conftest import requires_postgres

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


@pytest.fixture
def world(tmp_path: Any) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        deploy_directory(PROCESS_DIR)
        pool = rules.pool_for(org.store_a.id)
        pool.daily_claim_quota = None
        pool.cooldown_days = 0
        db.session.flush()
        return {"a_rep1": org.a_rep1.id, "a_rep2": org.a_rep2.id, "a_rep3": org.a_rep3.id, "a_sup": org.a_sup.id}

    with committed_app(tmp_path, "crm_hs_race", setup) as (_url, app, ids):
        yield app, ids


def at_once(app: Any, steps: dict[str, Callable[[User], Any]], users: dict[str, int]) -> dict[str, str]:
    barrier = threading.Barrier(len(steps))
    outcomes: dict[str, str] = {}

    def run(key: str) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, users[key])
                prepared = steps[key](actor)
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


def _pool_customer(app: Any, ids: dict[str, int], n: int) -> int:
    with app.app_context():
        owner = db.session.get(User, ids["a_rep1"])
        c = customers.create_customer({"name": f"Pool {n}", "mobile": f"1351000{n:04d}"}, actor=owner)
        db.session.flush()
        services.move_to_pool([c], "race setup", actor=db.session.get(User, ids["a_sup"]))
        db.session.commit()
        cid = c.id
        db.session.remove()
    return cid


def test_two_salespeople_claim_the_same_customer(world: Any) -> None:
    app, ids = world
    for round_ in range(3):
        cid = _pool_customer(app, ids, round_)

        def claimer(reason: str, cid: int = cid) -> Callable[[User], Any]:
            return lambda actor: (lambda: services.apply_claim(cid, reason, actor=actor))

        outcomes = at_once(app, {"a_rep2": claimer("first"), "a_rep3": claimer("second")}, ids)
        assert sorted(o.split(":")[0] for o in outcomes.values()) == ["conflict", "ok"], outcomes
        loser = next(o for o in outcomes.values() if o != "ok")
        assert "already applied" in loser or "no longer in the high seas" in loser, loser
        with app.app_context():
            claims = db.session.scalars(select(HighSeasClaim).where(HighSeasClaim.customer_id == cid)).all()
            assert len(claims) == 1
            winner = next(k for k, o in outcomes.items() if o == "ok")
            assert claims[0].applicant_id == ids[winner]
            db.session.remove()


def test_claim_racing_the_sweep(world: Any) -> None:
    """The sweep recycles rep1's stale customers while rep2 claims one of them: whichever order the
    row locks give, each customer has at most one recycle move and at most one claim, and it ends either
    owned or in the pool, never lost."""
    app, ids = world
    with app.app_context():
        owner = db.session.get(User, ids["a_rep1"])
        stale = []
        for n in range(20):
            c = customers.create_customer({"name": f"Stale {n}", "mobile": f"1352000{n:04d}"}, actor=owner)
            stale.append(c)
        db.session.flush()
        for c in stale:
            c.owned_since = utcnow() - timedelta(days=40)
        db.session.commit()
        stale_ids = [c.id for c in stale]
        db.session.remove()
    target = stale_ids[0]

    def do_sweep(actor: User) -> Any:
        return lambda: recycling.sweep()

    def do_claim(actor: User) -> Any:
        def run() -> None:
            # Retry a few times as a user would: before the sweep it is not yet in the pool.
            for _ in range(50):
                try:
                    services.apply_claim(target, "saw it recycled", actor=actor)
                    return
                except Conflict:
                    db.session.rollback()
                    threading.Event().wait(0.05)
            raise Conflict("never reached the pool")
        return run

    with time_machine.travel(utcnow(), tick=True):
        outcomes = at_once(app, {"a_sup": do_sweep, "a_rep2": do_claim}, ids)
    assert outcomes["a_sup"] == "ok", outcomes
    assert outcomes["a_rep2"] == "ok", outcomes
    with app.app_context():
        for cid in stale_ids:
            recycles = db.session.scalar(select(func.count()).select_from(HighSeasMove).where(
                HighSeasMove.customer_id == cid, HighSeasMove.kind == "recycled"))
            assert recycles == 1, cid
        claims = db.session.scalars(select(HighSeasClaim).where(HighSeasClaim.customer_id == target)).all()
        assert len(claims) == 1
        row = db.session.get(Customer, target)
        assert row.owner_id == ids["a_rep2"]  # no chain configured: approved at once
        assert db.session.scalar(select(func.count()).select_from(HighSeasMove).where(
            HighSeasMove.customer_id == target, HighSeasMove.kind == "claimed")) == 1
        # A second sweep changes nothing.
        assert recycling.sweep()["recycled"] == 0
        db.session.rollback()
        db.session.remove()
