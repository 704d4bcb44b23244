"""The process instance list names each instance's business object ("Order SO… · customer", "Quote Q… v1 ·
customer"), linked to its page, read with one query per object type for the whole page: the number of
statements does not grow with the rows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.workflow.models import ProcessInstance
from tests.conftest import assert_statements
from tests.conftest import statements
from tests.sales.conftest import line
from tests.sales.conftest import order_from_quote
from tests.sales.conftest import submitted

pytestmark = pytest.mark.usefixtures("quote_process")


def _queries(seen):
    return [s for s in seen if not s.startswith(("SAVEPOINT", "RELEASE"))]


def _orders(org, products, customer, n):
    return [order_from_quote(org, submitted(org.a_rep1, customer, line(products["p100"], "95.00")))
            for _i in range(n)]


def test_the_instance_list_shows_the_business_object_with_one_lookup_per_type(org, products, customers, login_as):
    client = login_as(org.hq_admin)
    first = _orders(org, products, customers["a"], 2)
    client.get("/processes/")  # what a first page view loads once (the diagrams' names)
    with statements() as few:
        page = client.get("/processes/").get_data(as_text=True)
    for order in first:
        assert f'href="/orders/{order.id}"' in page and f"Order {order.number} · 宁波港物流" in page
    quote = first[0].quote_id
    assert re.search(rf'href="/quotes/{quote}"[^>]*>Quote Q[^<]* v1 · 宁波港物流<', page)
    assert not re.search(r">(Order|Quote) #\d+<", page)
    _orders(org, products, customers["a2"], 3)
    rows = db.session.scalar(select(db.func.count()).select_from(ProcessInstance))
    with statements() as more:
        page = client.get("/processes/").get_data(as_text=True)
    assert page.count('class="object-link"') >= 10 and rows >= 10 and "· Second A" in page
    # Three more orders, their quotes and processes: not one statement more (a transaction's SAVEPOINT aside),
    # and one read of the orders and one of the quotes.
    assert_statements(_queries(more), len(_queries(few)))
    assert sorted(" ".join(q.split())[:24] for q in more if "FROM sales_order JOIN customer" in q
                  or "FROM quote JOIN" in q) == ["SELECT quote.id, quote.n", "SELECT sales_order.id, s"]


def test_the_list_names_no_object_outside_the_readers_scope(org, products, customers, login_as):
    order = _orders(org, products, customers["a"], 1)[0]
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.object_type == "order",
                                                               ProcessInstance.object_id == order.id))
    page = login_as(org.a_rep2).get("/processes/", query_string={"process": instance.process_key})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "宁波港物流" not in text
