"""The receivables' maintained due rows (`finance_receivable_due`) stay equal to a recomputation from the
orders through every event that changes what an order owes or when, written by the services as users
cause them; the ageing sums read from them equal the same aggregate over the orders; `flask crm
receivables verify` / `rebuild` find and repair a drift; a rolled-back flush leaves them as they were."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from crm.extensions import db
from crm.finance.ledger import dues
from crm.finance.ledger import receivables
from crm.finance.ledger.models import ReceivableDue
from crm.finance.ledger.receivables import Bucket
from crm.finance.ledger.receivables import ReceivableFilters
from tests.conftest import collect
from tests.finance.conftest import signed_order
from tests.finance.makeups.conftest import decide
from tests.finance.makeups.conftest import make_up_chain  # noqa: F401  (fixture)
from tests.finance.makeups.conftest import request
from tests.finance.plans.conftest import save

TODAY = date(2027, 3, 1)


def _rows(order) -> list[tuple[date | None, Decimal]]:
    return sorted((tuple(r) for r in db.session.execute(select(ReceivableDue.due_on, ReceivableDue.amount)
                                     .where(ReceivableDue.order_id == order.id)).all()), key=str)


def _in_step(actor) -> None:
    """The rows equal the recomputation, and both aggregates agree for every bucket filter."""
    assert dues.differences(db.session.connection()) == []
    for bucket in [None, *Bucket]:
        filters = ReceivableFilters(bucket=bucket)
        from_dues = sorted(db.session.execute(receivables.grouped_from_dues(actor, filters, TODAY)).all())
        from_orders = sorted(db.session.execute(receivables.grouped_from_orders(actor, filters, TODAY)).all())
        assert [(s, o, int(r), Decimal(a)) for s, o, r, a in from_dues] == \
               [(s, o, int(r), Decimal(a)) for s, o, r, a in from_orders]


def test_the_rows_follow_every_event(org, products, customers, staff, make_up_chain):  # noqa: F811
    finance = staff["finance"]
    order = signed_order(org, products, customers)  # ¥950, prepay: due the day it was signed
    [(due_on, amount)] = _rows(order)
    assert amount == Decimal("950.00") and due_on is not None
    _in_step(finance)

    save(order, org.a_rep1, ("300", "2027-01-10"), ("650", "2027-02-20"))  # a plan replaces the implicit row
    assert _rows(order) == [(date(2027, 1, 10), Decimal("300.00")), (date(2027, 2, 20), Decimal("650.00"))]
    _in_step(finance)

    collect(order, org.a_rep1, finance, amount="400.00")  # fills the first instalment, 100 of the second
    assert _rows(order) == [(date(2027, 2, 20), Decimal("550.00"))]
    _in_step(finance)

    make_up = request(order, org.a_rep1, amount="120.00")
    assert _rows(order) == [(date(2027, 2, 20), Decimal("550.00"))]  # requested, not approved: owes nothing more
    decide(make_up, org.a_sup)
    assert sum(a for _d, a in _rows(order)) == Decimal("670.00")  # the make-up is a new instalment
    _in_step(finance)

    arrears = signed_order(org, products, customers, mode="arrears", quantity=3)  # not received: not due
    assert _rows(arrears) == [(None, Decimal("285.00"))]
    _in_step(finance)

    from crm.sales.orders import services as order_services

    order_services.cancel_order(arrears.id, {"reason": "Changed their mind"}, actor=org.a_rep1)
    db.session.commit()
    assert _rows(arrears) == []  # a cancelled order owes nothing
    _in_step(finance)

    collect(order, org.a_rep1, finance, amount="670.00")  # paid in full
    assert _rows(order) == []
    _in_step(finance)


def test_verify_finds_a_drift_and_rebuild_repairs_it(app, org, products, customers, staff):
    order = signed_order(org, products, customers)
    db.session.execute(update(ReceivableDue).where(ReceivableDue.order_id == order.id).values(amount=1))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "receivables", "verify"])
    assert result.exit_code == 1 and f"order {order.id}" in result.output and "missing" in result.output
    result = runner.invoke(args=["crm", "receivables", "rebuild"])
    assert result.exit_code == 0 and "1 due rows written" in result.output, result.output
    assert runner.invoke(args=["crm", "receivables", "verify"]).exit_code == 0
    assert _rows(order)[0][1] == Decimal("950.00")


def test_a_rolled_back_flush_leaves_the_rows(org, products, customers, staff):
    order = signed_order(org, products, customers)
    before = db.session.scalar(select(func.count()).select_from(ReceivableDue))
    order.paid_amount = Decimal("950.00")
    db.session.flush()
    assert _rows(order) == []  # the flush rewrote them in the transaction…
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ReceivableDue)) == before  # …and the rollback undid it
    assert _rows(order) == [(_rows(order)[0][0], Decimal("950.00"))]
