"""The events come from where they happen, in the same transaction, and only to the endpoints covering the
event's store: an order of store A through its pipeline, its collection verified, its invoice issued, an
after-sales case decided, customers created and assigned, work tasks created and completed."""

from __future__ import annotations

from typing import Any

import pytest

from crm.customers import services as customer_services
from crm.extensions import db
from crm.highseas import services as highseas_services
from crm.integrations.webhooks import services
from crm.work.tasks import services as work_services
from tests.aftersales.conftest import approve
from tests.aftersales.conftest import open_case
from tests.aftersales.conftest import ship
from tests.conftest import collect
from tests.factories import make_customer
from tests.finance.conftest import signed_order
from tests.integrations.webhooks.conftest import deliveries
from tests.integrations.webhooks.conftest import endpoint
from tests.integrations.webhooks.conftest import payload


@pytest.fixture
def hooks(org: Any) -> dict[str, Any]:
    """Store A's endpoint, store B's, East's "every store" (A and B), South's (C), HQ's (everything)."""
    return {"a": endpoint(org.hq_admin, store=org.store_a)[0], "b": endpoint(org.hq_admin, store=org.store_b)[0],
            "east": endpoint(org.east_admin, name="East")[0], "south": endpoint(org.south_admin, name="South")[0],
            "hq": endpoint(org.hq_admin, name="HQ")[0]}


@pytest.fixture(autouse=True)
def _regional_admins(org: Any) -> None:
    from tests.factories import UserFactory

    org.users["east_admin"] = UserFactory(name="East Admin", unit=org.east, roles=[org.roles["admin"]])
    org.users["south_admin"] = UserFactory(name="South Admin", unit=org.south, roles=[org.roles["admin"]])
    db.session.commit()


def test_an_endpoint_covers_its_store_or_every_store_of_its_creators_scope(org, hooks):
    assert (hooks["a"].unit_id, hooks["a"].store_id) == (org.store_a.id, org.store_a.id)
    assert (hooks["east"].unit_id, hooks["east"].store_id) == (org.east.id, None)
    assert hooks["hq"].unit_id == org.hq.id
    make_customer(org.a_rep1, name="Alpha")
    db.session.commit()
    got = {key for key, hook in hooks.items() if deliveries(hook, "customer.created")}
    assert got == {"a", "east", "hq"}


def test_store_bs_endpoint_gets_nothing_of_store_as_order(org, products, customers, staff, hooks, quote_process):
    order = signed_order(org, products, customers)
    collect(order, staff["finance"], staff["finance2"], "950.00")
    db.session.refresh(order)
    ship(order, staff, org)

    assert deliveries(hooks["b"]) == [] and deliveries(hooks["south"]) == []
    sent = [payload(d) for d in deliveries(hooks["a"], "order.status_changed")]
    assert [(p["data"]["previous_status"], p["data"]["status"]) for p in sent] == [
        (None, "contracting"), ("contracting", "pending_collection"), ("pending_collection", "pending_outbound"),
        ("pending_outbound", "pending_delivery"), ("pending_delivery", "pending_receipt"),
        ("pending_receipt", "completed")]
    assert all(p["store_id"] == org.store_a.id and p["data"]["order_id"] == order.id for p in sent)
    assert sent[-2]["data"]["tracking_no"] == "SF1" and sent[0]["data"]["total"] == "950.00"
    [verified] = [payload(d) for d in deliveries(hooks["a"], "collection.verified")]
    assert verified["data"]["amount"] == "950.00" and verified["data"]["order_still_due"] == "0.00"
    # HQ and East cover store A: the same events, the same event ids.
    assert [d.event_id for d in deliveries(hooks["hq"])] == [d.event_id for d in deliveries(hooks["a"])]
    assert [d.event_id for d in deliveries(hooks["east"])] == [d.event_id for d in deliveries(hooks["a"])]
    # Nothing in any body names another store's rows.
    assert customers["b"].name not in "".join(d.body for d in deliveries(hooks["hq"]))


def test_an_event_rolled_back_is_never_delivered(org, hooks):
    with db.session.begin_nested() as savepoint:
        make_customer(org.a_rep1, name="Rolled back")
        assert deliveries(hooks["a"], "customer.created")
        savepoint.rollback()
    db.session.commit()
    assert deliveries(hooks["a"]) == [] and deliveries(hooks["hq"]) == []


def test_a_refused_page_write_leaves_no_delivery(org, hooks, client, login_as):
    from tests.conftest import post

    login_as(org.a_rep1)
    resp = post(client, "/customers/new", {"name": "", "mobile": "13700000000"})
    assert resp.status_code == 422
    assert deliveries(hooks["a"]) == []
    resp = post(client, "/customers/new", {"name": "Ok Customer", "mobile": "13700000001"})
    assert resp.status_code == 302
    [created] = deliveries(hooks["a"])
    assert payload(created)["data"]["name"] == "Ok Customer"


def test_customers_assigned_by_transfer_release_and_the_high_seas(org, hooks):
    customer = make_customer(org.a_rep1, name="Moving")
    customer_services.transfer([customer], org.a_rep2.id, actor=org.a_manager)
    customer_services.release_to_pool([customer], "No answer", actor=org.a_manager)
    highseas_services.assign([customer.id], org.a_rep1.id, actor=org.a_manager)
    db.session.commit()
    moves = [(p["data"]["previous_owner_id"], p["data"]["owner_id"])
             for p in map(payload, deliveries(hooks["a"], "customer.assigned"))]
    assert moves == [(org.a_rep1.id, org.a_rep2.id), (org.a_rep2.id, None), (None, org.a_rep1.id)]


def test_work_tasks_created_and_completed(org, hooks):
    [task] = work_services.create_tasks({"title": "Call back", "assignee_ids": [org.a_rep1.id]}, actor=org.a_manager)
    work_services.complete(task.id, actor=org.a_rep1)
    db.session.commit()
    created, completed = map(payload, deliveries(hooks["a"]))
    assert (created["event"], created["data"]["task_id"], created["data"]["status"]) == ("task.created", task.id, "open")
    assert (completed["event"], completed["data"]["completed_by_id"]) == ("task.completed", org.a_rep1.id)
    # An HQ person's task (no store) reaches HQ's endpoint only.
    work_services.create_tasks({"title": "HQ work", "assignee_ids": [org.hq_clerk.id]}, actor=org.hq_manager)
    db.session.commit()
    assert len(deliveries(hooks["hq"], "task.created")) == 2 and len(deliveries(hooks["east"], "task.created")) == 1


def test_only_subscribed_events_are_queued(org):
    hook, _secret = endpoint(org.hq_admin, store=org.store_a, events=["order.status_changed"])
    make_customer(org.a_rep1)
    db.session.commit()
    assert deliveries(hook) == []
    assert services.publish("order.status_changed", {"order_id": 1}, store_id=org.store_a.id) == 1


def test_an_after_sales_decision(org, products, customers, staff, hooks, quote_process):
    from crm.aftersales.cases import services as case_services  # noqa: F401  (the operators)
    from crm.approvals import chains as approval_chains

    approval_chains.create_chain({"key": "after_sales", "name": "After-sales", "steps": [
        {"title": "Supervisor", "rule": "supervisor", "mode": "single"}]}, actor=org.hq_admin)
    db.session.commit()
    order = signed_order(org, products, customers)
    collect(order, staff["finance"], staff["finance2"], "950.00")
    db.session.refresh(order)
    ship(order, staff, org)
    case = open_case(order, org.a_rep1, type_="refund_only", quantity=0, amount="50.00")
    approve(case, org.a_sup, approved=False, comment="Not cracked")
    [decided] = [payload(d) for d in deliveries(hooks["a"], "after_sales.decided")]
    assert decided["data"]["decision"] == "rejected" and decided["data"]["case_id"] == case.id
    assert decided["data"]["decision_note"] == "Not cracked" and decided["data"]["amount"] == "50.00"
    assert deliveries(hooks["b"]) == []


def test_process_tasks_created_and_completed(org, products, customers, hooks, quote_process):
    order = signed_order(org, products, customers)
    sent = [payload(d) for d in deliveries(hooks["a"]) if d.event.startswith("task.")]
    signing = [p for p in sent if p["data"]["bpmn_id"] == "op_sign"]
    assert [p["event"] for p in signing] == ["task.created", "task.completed"]
    assert signing[0]["data"]["kind"] == "process" and signing[0]["data"]["process_key"] == "order_pipeline"
    assert (signing[0]["data"]["object_type"], signing[0]["data"]["object_id"]) == ("order", order.id)
    assert signing[1]["data"]["completed_by_id"] == org.a_rep1.id
    assert signing[0]["data"]["task_id"] == signing[1]["data"]["task_id"]
    assert deliveries(hooks["b"]) == []


def test_an_invoice_issued(org, products, customers, staff, hooks, quote_process, uploads):
    from tests.finance.invoices.conftest import issue
    from tests.finance.invoices.conftest import request_invoice

    order = signed_order(org, products, customers)
    invoice = request_invoice(order, org.a_rep1)
    assert deliveries(hooks["a"], "invoice.issued") == []
    issue(invoice, staff["finance"])
    [issued] = [payload(d) for d in deliveries(hooks["a"], "invoice.issued")]
    assert issued["data"]["invoice_id"] == invoice.id and issued["data"]["order_id"] == order.id
    assert issued["data"]["invoice_no"] == "24332000000012345678" and issued["data"]["amount"] == "950.00"
    assert issued["store_id"] == org.store_a.id and deliveries(hooks["b"]) == []
