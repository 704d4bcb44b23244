"""Counted-work guards (issue 26): the SQL statements of the hot requests, counted like Django's
assertNumQueries, so a regression fails here instead of in a benchmark weeks later. Counts, never times.

Each request is made once to warm the process's caches (parsed specs and forms, compiled templates) and
counted the second time, on an object of its own. The counts include the test harness's SAVEPOINT and
RELEASE SAVEPOINT around each transaction (in production: an implicit BEGIN and a COMMIT), so the harness
count of a request is its production count with the COMMIT included.

Changing a count on purpose: run the test, read the statements the failure lists, and if the new list is
what the change means to do (a statement removed, or one added for a reason worth its cost), set the new
number here in the same commit as the change, and say why in the commit message. A count that differs
between SQLite and PostgreSQL is given per dialect; run both (CRM_TEST_DATABASE_URL for PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from crm.extensions import db
from tests.conftest import assert_statements
from tests.conftest import grant
from tests.conftest import record_collection
from tests.conftest import statements
from tests.conftest import verification_task
from tests.finance.conftest import signed_order
from tests.sales.conftest import approved_quote
from tests.sales.conftest import open_task
from tests.sales.conftest import order_from_quote


@pytest.fixture
def api(org: Any, roles: Any, staff: Any, quote_process: Any) -> Any:
    for role in ("salesperson", "store_manager", "finance"):
        grant(roles[role], "api.use")
    db.session.commit()
    return org


def _order(quote: Any) -> dict[str, Any]:
    return {"quote_id": quote.id, "payment_mode": "prepay", "terminal": "pc", "ship_address": "宁波市北仑区 1 号"}


def _create(call: Any, api: Any, products: Any, customers: Any) -> Any:
    quote = approved_quote(api, products, customers)
    resp = call("POST", "/api/v1/orders", api.a_rep1, json=_order(quote))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_creating_an_order_from_a_quote(call, api, products, customers):
    _create(call, api, products, customers)
    quote = approved_quote(api, products, customers)
    with statements() as seen:
        resp = call("POST", "/api/v1/orders", api.a_rep1, json=_order(quote))
    assert resp.status_code == 201, resp.get_json()
    # +5 since the guard was written: the webhooks' endpoint read, the kanban's order facts and sales day;
    # -4 (issue 22's third pass): a contracting order counts nowhere in the kanban, which now reads nothing.
    # Issue 26, PostgreSQL: the first step's candidates, bell and history go out as one statement (-3).
    assert_statements(seen, {"postgresql": 25, "sqlite": 28})


def test_completing_a_task(call, api, products, customers):
    def sign(task_id: int) -> Any:
        return call("POST", f"/api/v1/tasks/{task_id}/complete", api.a_rep1, json={"data": {"contract_no": "C-1"}})

    first, order = (order_from_quote(api, approved_quote(api, products, customers)) for _ in range(2))
    tasks = [open_task(o, "op_sign").id for o in (first, order)]
    assert sign(tasks[0]).status_code == 200
    with statements() as seen:
        resp = sign(tasks[1])
    assert resp.status_code == 200, resp.get_json()
    # +11: the receivables' due rows (PostgreSQL: delete, INSERT … SELECT; SQLite: delete, read, insert) and
    # the kanban's summaries (~8: the order's fact, lines, cases, follow-ups, the customer's rows, the day's
    # upsert) are rewritten when an order is signed. Issue 22's third pass: the kanban's part is the stored
    # fact, one read of the order with its lines, and on PostgreSQL one write statement (SQLite: one upsert
    # per table): -9 / -3. +1: the customer's chain of order days (`kanban.chain.rechain`, issue 22's
    # fourth pass; on SQLite it replaces the first order day's update with two). SQLite +3: the per-store
    # twins of the sales, product and province/terminal summaries (PostgreSQL writes them in its one statement).
    # Issue 26, PostgreSQL: closing the task, its bells marked read and the step's history in one statement
    # (-2; signing opens no task of the user's).
    assert_statements(seen, {"postgresql": 18, "sqlite": 29})


def test_verifying_a_collection(call, api, products, customers, staff):
    def verify(payment: Any) -> Any:
        return call("POST", f"/api/v1/tasks/{tasks[payment.id]}/complete", staff["finance"],
                    json={"data": {"verification": {"decision": "verify"}}})

    first, payment = (record_collection(signed_order(api, products, customers), api.a_rep1) for _ in range(2))
    tasks = {p.id: verification_task(p).id for p in (first, payment)}
    assert verify(first).status_code == 200
    with statements() as seen:
        resp = verify(payment)
    assert resp.status_code == 200, resp.get_json()
    # +9: the same due rows and kanban summaries, rewritten when the collection is verified; -6 / -4 since
    # the kanban's maintenance reads an order in one statement and writes in one (PostgreSQL). SQLite +1:
    # the per-store twin of the day's sales (the payment's count). Issue 26, PostgreSQL: each of the two
    # steps sends its side writes as one statement (-5).
    assert_statements(seen, {"postgresql": 29, "sqlite": 36})


def test_the_inbox_first_page(login_as, api, products, customers):
    from crm.work.tasks import services as work_services

    for _ in range(3):
        order_from_quote(api, approved_quote(api, products, customers))
    # Both kinds on the page: arranged work, one task with subtasks (their progress is read with the tasks).
    tasks = work_services.create_tasks({"title": "Call back", "assignee_ids": [api.a_rep1.id]}, actor=api.a_manager)
    work_services.create_tasks({"title": "Visit", "assignee_ids": [api.a_rep1.id]}, actor=api.a_manager)
    work_services.add_subtask(tasks[0].id, {"title": "Prepare samples"}, actor=api.a_rep1)
    db.session.commit()
    client = login_as(api.a_rep1)
    assert client.get("/tasks/").status_code == 200
    with statements() as seen:
        resp = client.get("/tasks/")
    assert resp.status_code == 200
    assert b"Prepare samples" not in resp.data and b"0/1" in resp.data
    assert_statements(seen, {"postgresql": 14, "sqlite": 14})


def test_the_customer_list_first_page(login_as, api, customers):
    client = login_as(api.a_rep1)
    assert client.get("/customers/").status_code == 200
    with statements() as seen:
        resp = client.get("/customers/")
    assert resp.status_code == 200
    # +1: the salesperson's owner picker lists only people whose roles can edit customers (issue 25).
    assert_statements(seen, {"postgresql": 15, "sqlite": 15})
