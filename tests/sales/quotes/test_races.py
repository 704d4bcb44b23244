"""Races on PostgreSQL with real commits: the same draft submitted twice at once starts exactly one
`quote_approval`; the same rejected quote revised twice at once makes exactly one v2."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.core.errors import DomainError
from crm.extensions import db
from crm.org.models import User
from crm.sales.catalog import services as product_services
from crm.sales.quotes import services as quote_services
from crm.sales.quotes.models import Quote
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from crm.workflow.models import ProcessInstance
from tests.approvals.conftest import decide
from tests.conftest import committed_app
from tests.conftest import requires_postgres
from tests.factories import make_customer

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


@pytest.fixture
def world(tmp_path: Any) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        deploy_directory(PROCESS_DIR)
        approval_chains.create_chain({"key": "discount_audit", "steps": [
            {"title": "Supervisor", "rule": "supervisor", "mode": "single"}]}, actor=org.hq_admin)
        product = product_services.create_product({"sku": "RACE-1", "name": "Race pallet", "list_price": "100"},
                                                  actor=org.hq_admin)
        customer = make_customer(org.a_rep1)
        db.session.flush()
        return {"rep": org.a_rep1.id, "sup": org.a_sup.id, "product": product.id, "customer": customer.id}

    with committed_app(tmp_path, "crm_quote_race", setup) as (_url, app, ids):
        yield app, ids


def twice(app: Any, fn: Any, user_id: int) -> list[str]:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, user_id)
                barrier.wait()
                fn(actor)
                db.session.commit()
                outcomes.append("ok")
            except DomainError as exc:
                db.session.rollback()
                outcomes.append(f"refused: {exc.message}")
            except BaseException as exc:  # noqa: BLE001 — reported to the test
                db.session.rollback()
                outcomes.append(f"error: {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    return sorted(outcomes)


def _draft(ids: dict[str, Any], price: str) -> int:
    rep = db.session.get(User, ids["rep"])
    quote = quote_services.create_quote({"customer_id": ids["customer"], "lines": [
        {"product_id": ids["product"], "quantity": 10, "unit_price": price}]}, actor=rep)
    db.session.commit()
    return quote.id


def test_two_submits_of_one_draft_start_one_process(world: Any) -> None:
    app, ids = world
    with app.app_context():
        quote_id = _draft(ids, "80.00")
        db.session.remove()
    outcomes = twice(app, lambda actor: quote_services.submit_quote(quote_id, actor=actor), ids["rep"])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.object_type == "quote", ProcessInstance.object_id == quote_id))
        assert count == 1
        assert db.session.get(Quote, quote_id).status.value == "pending_approval"
        db.session.remove()


def test_two_revisions_of_one_rejected_quote_make_one_new_version(world: Any) -> None:
    app, ids = world
    with app.app_context():
        quote_id = _draft(ids, "70.00")
        rep = db.session.get(User, ids["rep"])
        quote_services.submit_quote(quote_id, actor=rep)
        db.session.commit()
        instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.object_id == quote_id,
                                                                    ProcessInstance.object_type == "quote")).one()
        decide(instance, db.session.get(User, ids["sup"]), approved=False, comment="no")
        number = db.session.get(Quote, quote_id).number
        db.session.remove()
    outcomes = twice(app, lambda actor: quote_services.revise_quote(quote_id, actor=actor), ids["rep"])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        versions = db.session.scalars(select(Quote.version).where(Quote.number == number).order_by(Quote.version)).all()
        assert versions == [1, 2]
        db.session.remove()
