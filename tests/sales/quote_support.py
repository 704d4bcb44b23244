"""Fixtures and helpers of the quote tests: a catalogue (with Chinese names), customers in stores A and B,
the `discount_audit` chain (the submitter's direct supervisor approves) and the processes deployed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crm.approvals import services as approval_services
from crm.extensions import db
from crm.sales.catalog import services
from crm.sales.quotes import services as quote_services
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from tests.customers.support import make_customer


@pytest.fixture
def products(org):
    admin = org.hq_admin
    items = {
        "p100": services.create_product({"sku": "PL-100", "name": "九脚塑料托盘 1210", "list_price": "100.00",
                                         "cost_price": "60.00"}, actor=admin),
        "p200": services.create_product({"sku": "PL-200", "name": "川字托盘 1311", "list_price": "200.00"}, actor=admin),
        "p999": services.create_product({"sku": "PL-999", "name": "Big pallet", "list_price": "10000.00"}, actor=admin),
        "off": services.create_product({"sku": "PL-OFF", "name": "Old crate", "list_price": "10.00", "on_shelf": False},
                                       actor=admin),
    }
    db.session.commit()
    return items


@pytest.fixture
def customers(org):
    items = {"a": make_customer(org.a_rep1, name="宁波港物流"), "a2": make_customer(org.a_rep1, name="Second A"),
             "b": make_customer(org.b_rep, name="B Customer")}
    db.session.commit()
    return items


@pytest.fixture
def quote_process(org):
    deploy_directory(PROCESS_DIR)
    approval_services.create_chain({"key": "discount_audit", "name": "Discount audit",
                                    "steps": [{"title": "Supervisor", "rule": "supervisor", "mode": "single"}]},
                                   actor=org.hq_admin)
    db.session.commit()


def line(product: Any, price: str, quantity: int = 1) -> dict[str, Any]:
    return {"product_id": product.id, "quantity": quantity, "unit_price": price}


def quote(user: Any, customer: Any, *lines: dict[str, Any], **extra: Any) -> Any:
    q = quote_services.create_quote({"customer_id": customer.id, "lines": list(lines), **extra}, actor=user)
    db.session.commit()
    return q


def submitted(user: Any, customer: Any, *lines: dict[str, Any]) -> Any:
    q = quote(user, customer, *lines)
    q = quote_services.submit_quote(q.id, actor=user)
    db.session.commit()
    db.session.refresh(q)
    return q


def sell(user: Any, approved: Any) -> Any:
    """The approved quote made into an order the customer signed: its prices become transaction prices
    (the history shown beside quote lines)."""
    from crm.sales.orders import services as order_services
    from crm.workflow import runtime
    from tests.sales.order_support import open_task

    order = order_services.create_from_quote(approved.id, {"payment_mode": "arrears", "ship_address": "x"}, actor=user)
    runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=user.id)
    db.session.commit()
    return order


def sold(user: Any, customer: Any, *lines: dict[str, Any]) -> Any:
    q = submitted(user, customer, *lines)
    assert q.status.value == "approved", q.status
    return sell(user, q)


D = Decimal
