"""Invoice races on PostgreSQL with real commits (the order world of tests/sales/orders/test_races.py): two
salespeople asking at the same moment for invoices that together exceed what can be invoiced — of an
order, or of a quote without an order — get one invoice and one refusal naming what is left."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.extensions import db
from crm.finance.invoices import services
from crm.finance.invoices.models import Invoice
from crm.org.models import User
from crm.sales.quotes import services as quote_services
from tests.conftest import requires_postgres
from tests.sales.orders.test_races import _order
from tests.sales.orders.test_races import race
from tests.sales.orders.test_races import world  # noqa: F401 — the fixture

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


def _ask(request: Any, target_id: int, amount: str) -> Any:
    return lambda actor: request(target_id, {"type": "electronic", "title": "宁波港物流", "amount": amount,
                                             "email": "fp@example.com"}, actor=actor)


def _invoiced(**where: Any) -> Decimal:
    column = getattr(Invoice, next(iter(where)))
    return Decimal(db.session.scalar(select(func.coalesce(func.sum(Invoice.amount), 0))
                                     .where(column == next(iter(where.values())))))


def test_two_requests_of_one_order_at_once_do_not_over_invoice(world: Any) -> None:  # noqa: F811
    app, ids = world
    with app.app_context():
        order_id = _order(ids, "prepay")  # ¥950.00
        db.session.remove()
    # The order's salesperson and a finance user (who may request too) ask at the same moment.
    outcomes = race(app, [(_ask(services.request_for_order, order_id, "600.00"), ids["rep"]),
                          (_ask(services.request_for_order, order_id, "600.00"), ids["f1"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        assert _invoiced(order_id=order_id) == Decimal("600.00")
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1
        db.session.remove()


def test_two_requests_of_one_quote_at_once_do_not_over_invoice(world: Any) -> None:  # noqa: F811
    app, ids = world
    with app.app_context():
        rep = db.session.get(User, ids["rep"])
        quote = quote_services.create_quote({"customer_id": ids["customer"], "lines": [
            {"product_id": ids["product"], "quantity": 10, "unit_price": "95.00"}]}, actor=rep)
        quote_services.submit_quote(quote.id, actor=rep)  # approved at once: no order yet
        db.session.commit()
        quote_id = quote.id
        db.session.remove()
    outcomes = race(app, [(_ask(services.request_for_quote, quote_id, "500.00"), ids["rep"]),
                          (_ask(services.request_for_quote, quote_id, "500.00"), ids["f2"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        assert _invoiced(quote_id=quote_id) == Decimal("500.00")
        db.session.remove()
