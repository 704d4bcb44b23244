"""Contracting orders through the services and the pipeline: cancellation at every step that allows it (and
none after outbound, never without a reason); auto-confirmation of receipt with the time machine; direct
orders and the discount rule, which is the quote approval diagram's condition; one order per approved
quote; a merged customer's orders; the shipped task forms. Through the pages: test_views.py."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.sales.orders import services as order_services
from crm.sales.orders.models import OrderStatus
from crm.workflow import runtime
from tests.sales.conftest import approved_quote
from tests.sales.conftest import line
from tests.sales.conftest import open_task
from tests.sales.conftest import order_from_quote
from tests.sales.orders.conftest import _cancel
from tests.sales.orders.conftest import _pay_service
from tests.sales.orders.conftest import _sign
from tests.sales.orders.conftest import _status

pytestmark = pytest.mark.usefixtures("quote_process")


def test_cancel_while_contracting(org, products, customers, staff):
    order = _cancel(org, order_from_quote(org, approved_quote(org, products, customers), "prepay"))
    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "客户改主意了" and order.cancelled_at
    assert order.lines[0].signed_at is None


def test_cancel_while_pending_collection_needs_no_refund(org, products, customers, staff):
    order = order_from_quote(org, approved_quote(org, products, customers), "prepay")
    _sign(org, order)
    assert _status(order) == OrderStatus.PENDING_COLLECTION
    order = _cancel(org, order)
    assert order.status == OrderStatus.CANCELLED and order.refunded_amount == 0
    assert all(ln.signed_at is None for ln in order.lines)  # no longer a transaction price


def test_cancel_before_outbound_in_arrears_needs_no_refund(org, products, customers, staff):
    order = order_from_quote(org, approved_quote(org, products, customers), "arrears")
    _sign(org, order)
    assert _cancel(org, order).status == OrderStatus.CANCELLED


def test_no_cancellation_after_outbound_and_a_reason_is_required(org, products, customers, staff):
    order = order_from_quote(org, approved_quote(org, products, customers), "arrears")
    with pytest.raises(ValidationFailed) as exc:
        order_services.cancel_order(order.id, {"reason": " "}, actor=org.a_rep1)
    assert "reason" in exc.value.errors
    _sign(org, order)
    runtime.complete_task(open_task(order, "op_outbound").id, {"picked": [{"quantity": 10}]},
                          actor_id=staff["warehouse"].id)
    db.session.commit()
    with pytest.raises(InvalidTransition) as refused:
        order_services.cancel_order(order.id, {"reason": "too late"}, actor=org.a_rep1)
    assert "warehouse" in str(refused.value.message)
    assert _status(order) == OrderStatus.PENDING_DELIVERY


def test_receipt_is_confirmed_automatically_after_n_days(org, products, customers, staff, app):
    order = order_from_quote(org, approved_quote(org, products, customers), "prepay")
    _sign(org, order)
    _pay_service(staff, order)
    runtime.complete_task(open_task(order, "op_outbound").id, {"picked": [{"quantity": 10}]},
                          actor_id=staff["warehouse"].id)
    runtime.complete_task(open_task(order, "op_delivery").id, {"carrier": "SF", "tracking_no": "1"},
                          actor_id=staff["logistics"].id)
    db.session.commit()
    assert _status(order) == OrderStatus.PENDING_RECEIPT
    days = order_services.receipt_days()
    with time_machine.travel(utcnow() + timedelta(days=days) - timedelta(hours=1), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
        assert _status(order) == OrderStatus.PENDING_RECEIPT
    with time_machine.travel(utcnow() + timedelta(days=days, minutes=1), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
    assert _status(order) == OrderStatus.COMPLETED
    assert order.receipt_auto and order.rating is None and order.received_at is not None


def test_direct_orders_follow_the_discount_rule(org, products, customers, staff):
    with pytest.raises(ValidationFailed) as exc:
        order_services.create_direct({"customer_id": customers["a"].id, "payment_mode": "arrears",
                                      "lines": [line(products["p100"], "89.99", 2)]}, actor=org.a_rep1)
    assert "make a quote" in exc.value.errors["lines.0.unit_price"][0]
    order = order_services.create_direct({"customer_id": customers["a"].id, "payment_mode": "arrears",
                                          "ship_address": "上海", "lines": [line(products["p100"], "90.00", 2)]},
                                         actor=org.a_rep1)
    db.session.commit()
    assert order.quote_id is None and order.total == Decimal("180.00") and order.status == OrderStatus.CONTRACTING
    with pytest.raises(ValidationFailed) as bad:
        order_services.create_direct({"customer_id": customers["b"].id, "payment_mode": "cash", "lines": []},
                                     actor=org.a_rep1)
    assert {"customer_id", "payment_mode", "lines"} <= set(bad.value.errors)


def test_the_direct_order_rule_is_the_quote_approval_diagram_s_condition(org, products, customers, staff):
    """A process owner who moves the discount audit to 80 % in the diagram moves it for direct orders too."""
    from pathlib import Path

    from crm.workflow.deploy import deploy_files

    xml = (Path(__file__).parents[3] / "processes" / "quote_approval.bpmn").read_text()
    assert "min_rate &lt; 0.90" in xml
    deploy_files({"quote_approval.bpmn": xml.replace("min_rate &lt; 0.90", "min_rate &lt; 0.80").encode()},
                 source="editor")
    db.session.commit()
    assert order_services.audit_threshold() == Decimal("0.8")
    order = order_services.create_direct({"customer_id": customers["a"].id, "payment_mode": "arrears",
                                          "ship_address": "上海", "lines": [line(products["p100"], "85.00", 2)]},
                                         actor=org.a_rep1)
    assert order.total == Decimal("170.00")
    with pytest.raises(ValidationFailed) as exc:
        order_services.create_direct({"customer_id": customers["a"].id, "payment_mode": "arrears",
                                      "lines": [line(products["p100"], "79.00", 2)]}, actor=org.a_rep1)
    assert "Under 80 % of the list price" in exc.value.errors["lines.0.unit_price"][0]


def test_only_an_approved_quote_becomes_an_order_once(org, products, customers, staff):
    from crm.sales.quotes import services as quote_services

    pending = quote_services.submit_quote(quote_services.create_quote(
        {"customer_id": customers["a"].id, "lines": [line(products["p100"], "80.00")]}, actor=org.a_rep1).id,
        actor=org.a_rep1)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        order_from_quote(org, pending)
    db.session.rollback()
    quote = approved_quote(org, products, customers)
    order_from_quote(org, quote)
    with pytest.raises(InvalidTransition):
        order_from_quote(org, quote)


def test_a_merged_customers_orders_move_to_the_survivor(org, products, customers, staff):
    from crm.customers.services.merge import merge
    from tests.sales.conftest import submitted

    quote = submitted(org.a_rep1, customers["a2"], line(products["p100"], "95.00"))
    order = order_from_quote(org, quote, "arrears")
    _sign(org, order)
    merge(customers["a2"], customers["a"], actor=org.a_manager)
    db.session.commit()
    db.session.refresh(order)
    assert order.customer_id == customers["a"].id
    assert all(ln.customer_id == customers["a"].id for ln in order.lines)  # the price history follows too


def test_the_outbound_form_keeps_the_delivery_notes_rows(app):
    """The picked quantities are one row per delivery-note line (`ui:options` addable/removable false):
    a row more or less is refused by field, and the read-only cells are the task data's, whatever was
    sent (they used to be dropped from the completed rows)."""
    from crm.workflow.tasks import forms

    data = {"picked": [{"product": "Pallet A · PL-1", "ordered": 10, "quantity": 10},
                       {"product": "Pallet B · PL-2", "ordered": 5, "quantity": 5}]}
    form = forms.load_form("order_pipeline.outbound.schema.json", None, data)
    picked = next(f for f in forms.walk(form.fields) if f.name == "picked")
    assert not picked.addable and not picked.removable
    values, errors = forms.parse_json(form, {"picked": [{"quantity": 9, "ordered": 99999, "product": "forged"},
                                                        {"quantity": 5}]}, data, set())
    assert not errors
    assert values["picked"] == [{"product": "Pallet A · PL-1", "ordered": 10, "quantity": 9},
                                {"product": "Pallet B · PL-2", "ordered": 5, "quantity": 5}]
    for rows in ([{"quantity": 9}], [{"quantity": 1}, {"quantity": 1}, {"quantity": 1}]):
        _values, errors = forms.parse_json(form, {"picked": rows}, data, set())
        assert list(errors) == ["picked"], errors


def test_the_shipped_forms_speak_the_readers_language(app):
    """Form text (titles, help, option labels) goes through the message catalogue: the receipt form in
    Chinese for a Chinese reader; text the catalogue does not know (a process owner's) stays as written.
    The strings reach the catalogue through the forms extractor of babel.cfg."""
    import io
    from pathlib import Path

    from flask_babel import force_locale

    from crm.workflow.tasks import forms
    from crm.workflow.tasks.forms.i18n import extract

    with app.test_request_context():
        with force_locale("zh"):
            zh = forms.load_form("order_pipeline.receipt.schema.json", None, {})
        with force_locale("en"):
            en = forms.load_form("order_pipeline.receipt.schema.json", None, {})
    assert (en.title, zh.title) == ("Receipt", "确认收货")
    rating_en, rating_zh = (next(f for f in form.fields if f.name == "rating") for form in (en, zh))
    assert rating_en.title == "Customer's rating" and rating_zh.title == "客户评分"
    assert [label for _v, label in rating_zh.options][0] == "★★★★★ 5"

    source = (Path(__file__).resolve().parents[3] / "forms/order_pipeline.receipt.schema.json").read_bytes()
    found = [message for _line, _fn, message, _c in extract(io.BytesIO(source), [], [], {})]
    assert found[:3] == ["Receipt", "Customer's rating", "★★★★★ 5"] and "Customer's comment" in found
