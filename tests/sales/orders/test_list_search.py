"""The orders list: search by order number or customer name, and a totals row over every order the filters
list (not only the page), cancelled orders left out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.sales.orders import queries as order_queries
from tests.factories import make_customer
from tests.sales.conftest import line
from tests.sales.conftest import order_from_quote
from tests.sales.conftest import submitted
from tests.sales.orders.conftest import _cancel

pytestmark = pytest.mark.usefixtures("quote_process")


def test_search_by_number_or_customer_and_the_totals_row(org, products, customers, login_as, app, monkeypatch):
    other = make_customer(org.a_rep1, name="Zhejiang Pallet Buyer")
    first = order_from_quote(org, submitted(org.a_rep1, customers["a"], line(products["p100"], "95.00", 10)))
    second = order_from_quote(org, submitted(org.a_rep1, other, line(products["p200"], "190.00", 2)))
    gone = order_from_quote(org, submitted(org.a_rep1, other, line(products["p200"], "200.00", 1)))
    _cancel(org, gone)
    client = login_as(org.a_rep1)
    html = client.get("/orders/", query_string={"q": "pallet buyer"}).get_data(as_text=True)
    assert f'data-order-id="{second.id}"' in html and f'data-order-id="{first.id}"' not in html
    html = client.get("/orders/", query_string={"q": first.number[-5:].lower()}).get_data(as_text=True)
    assert f'data-order-id="{first.id}"' in html and f'data-order-id="{second.id}"' not in html
    # The totals: every listed order but the cancelled one, over all pages.
    monkeypatch.setitem(app.config, "PAGE_SIZE", 1)
    html = client.get("/orders/").get_data(as_text=True)
    assert 'id="orders-totals"' in html and "¥1,330.00" in html
    sums = order_queries.totals(org.a_rep1, order_queries.OrderFilters())
    assert (sums.count, sums.total, sums.collected, sums.due) == (2, Decimal("1330.00"), Decimal("0.00"), Decimal("1330.00"))
    # Outside the actor's scope nothing is counted.
    assert order_queries.totals(org.b_rep, order_queries.OrderFilters()).count == 0
