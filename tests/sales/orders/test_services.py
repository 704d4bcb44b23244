"""Contracting orders through the pages: full lifecycles in both payment modes, each step done from the
inbox of the person whose role the diagram names; cancellation at every step that allows it (with the
refund when money came in); auto-confirmation of receipt with the time machine; direct orders and the
discount rule; store isolation."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.sales.orders import services as order_services
from crm.sales.orders.models import OrderStatus
from crm.sales.orders.models import PaymentKind
from crm.sales.quotes.models import QuoteStatus
from crm.workflow import runtime
from tests.conftest import csrf
from tests.sales.conftest import approved_quote
from tests.sales.conftest import candidates
from tests.sales.conftest import line
from tests.sales.conftest import open_task
from tests.sales.conftest import order_from_quote

pytestmark = pytest.mark.usefixtures("quote_process")


def _status(order: Any) -> OrderStatus:
    db.session.refresh(order)
    return order.status


def _from_inbox(client: Any, login_as: Any, user: Any, order: Any, bpmn_id: str, form: dict[str, str]) -> None:
    """`user` finds the order's task in their inbox (mine or group) and completes it with the form."""
    task = open_task(order, bpmn_id)
    login_as(user)
    listed = client.get("/tasks/").get_data(as_text=True) + client.get("/tasks/group").get_data(as_text=True)
    assert f"/tasks/{task.id}" in listed, f"{bpmn_id} is not in the inbox of {user.name}"
    token = csrf(client, f"/tasks/{task.id}")
    resp = client.post(f"/tasks/{task.id}/form", data={"csrf_token": token, **form})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]


def _pay(client: Any, login_as: Any, user: Any, order: Any) -> None:
    login_as(user)
    token = csrf(client, f"/orders/{order.id}")
    resp = client.post(f"/orders/{order.id}/payment", data={"csrf_token": token, "method": "bank transfer",
                                                            "reference": "TX-1"})
    assert resp.status_code == 303
    assert "danger" not in client.get(f"/orders/{order.id}").get_data(as_text=True).split("id=\"collections\"")[0][-200:]


def _make_order_through_the_page(client: Any, login_as: Any, org: Any, quote: Any, mode: str) -> Any:
    login_as(org.a_rep1)
    token = csrf(client, f"/quotes/{quote.id}/order")
    resp = client.post(f"/quotes/{quote.id}/order", data={
        "csrf_token": token, "payment_mode": mode, "terminal": "mini_program", "ship_name": "王经理",
        "ship_phone": "13900001111", "ship_address": "宁波市北仑区 1 号", "note": ""})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    from crm.sales.orders.models import Order

    order = db.session.query(Order).filter_by(quote_id=quote.id).one()
    assert resp.headers["Location"].endswith(f"/orders/{order.id}")
    return order


def test_pay_before_delivery_from_quote_to_completed_each_step_from_the_right_inbox(
        org, products, customers, staff, client, login_as):
    quote = approved_quote(org, products, customers, "95.00", 10)
    order = _make_order_through_the_page(client, login_as, org, quote, "prepay")
    db.session.refresh(quote)
    assert quote.status == QuoteStatus.CONVERTED
    assert order.status == OrderStatus.CONTRACTING and order.total == Decimal("950.00")
    assert order.delivery_note_no and order.terminal.value == "mini_program"
    assert candidates(open_task(order, "op_sign")) == {org.a_rep1.id}

    _from_inbox(client, login_as, org.a_rep1, order, "op_sign", {"contract_no": "HT-2026-001"})
    assert _status(order) == OrderStatus.PENDING_COLLECTION and order.signed_at and order.contract_no == "HT-2026-001"
    assert all(ln.signed_at for ln in order.lines)

    login_as(staff["finance"])
    waiting = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Waiting for finance to record the collection of ¥950.00." in waiting  # not "no task is waiting"
    _pay(client, login_as, staff["finance"], order)
    assert _status(order) == OrderStatus.PENDING_OUTBOUND and order.paid_amount == Decimal("950.00")
    outbound = open_task(order, "op_outbound")
    assert candidates(outbound) == {staff["warehouse"].id, staff["warehouse2"].id}  # not store B's warehouse

    _from_inbox(client, login_as, staff["warehouse"], order, "op_outbound", {"picked.0.quantity": "10"})
    assert _status(order) == OrderStatus.PENDING_DELIVERY and order.lines[0].picked_quantity == 10
    assert candidates(open_task(order, "op_delivery")) == {staff["logistics"].id}

    _from_inbox(client, login_as, staff["logistics"], order, "op_delivery", {"carrier": "顺丰速运",
                                                                                "tracking_no": "SF1234567890"})
    assert _status(order) == OrderStatus.PENDING_RECEIPT and order.tracking_no == "SF1234567890"

    login_as(org.a_rep1)
    receipt = client.get(f"/tasks/{open_task(order, 'op_receipt').id}").get_data(as_text=True)
    assert len(re.findall(r'type="radio" name="rating"', receipt)) == 5
    assert "★★★★★ 5" in receipt  # the rating is picked from five, not typed
    _from_inbox(client, login_as, org.a_rep1, order, "op_receipt", {"rating": "5", "rating_comment": "很好"})
    assert _status(order) == OrderStatus.COMPLETED
    assert order.rating == 5 and not order.receipt_auto and order.completed_at is not None
    assert runtime.instances_of("order", order.id)[-1].status.value == "completed"

    login_as(org.a_rep1)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-status="completed"' in page and "SF1234567890" in page and "HT-2026-001" in page
    assert "The pipeline is finished." in page


def test_delivery_in_arrears_collects_after_receipt(org, products, customers, staff, client, login_as):
    order = _make_order_through_the_page(client, login_as, org, approved_quote(org, products, customers), "arrears")
    _from_inbox(client, login_as, org.a_rep1, order, "op_sign", {})
    assert _status(order) == OrderStatus.PENDING_OUTBOUND
    login_as(staff["finance"])
    assert client.post(f"/orders/{order.id}/payment", data={"csrf_token": csrf(client, f"/orders/{order.id}")}
                       ).status_code == 303
    assert order_services.get_order(order.id, org.a_rep1).paid_amount == 0  # not waiting for money yet: refused
    _from_inbox(client, login_as, staff["warehouse2"], order, "op_outbound", {"picked.0.quantity": "8"})
    assert _status(order) == OrderStatus.PENDING_DELIVERY and order.lines[0].picked_quantity == 8  # short pick
    _from_inbox(client, login_as, staff["logistics"], order, "op_delivery", {"carrier": "德邦", "tracking_no": "DB1"})
    _from_inbox(client, login_as, org.a_rep1, order, "op_receipt", {"rating": "4"})
    assert _status(order) == OrderStatus.PENDING_COLLECTION and order.received_at
    _pay(client, login_as, staff["finance"], order)
    assert _status(order) == OrderStatus.COMPLETED and order.paid_amount == order.total


def _cancel(org: Any, order: Any, reason: str = "客户改主意了") -> Any:
    order_services.cancel_order(order.id, {"reason": reason}, actor=org.a_rep1)
    db.session.commit()
    db.session.refresh(order)
    return order


def _sign(org: Any, order: Any) -> None:
    runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=org.a_rep1.id)
    db.session.commit()


def _pay_service(staff: Any, order: Any) -> None:
    order_services.record_payment(order.id, {}, actor=staff["finance"])
    db.session.commit()


def test_the_order_page_offers_what_the_pipeline_waits_for(org, products, customers, staff, client, login_as):
    """Cancel and pay are offered while the diagram catches `order_cancelled` / waits for `order_paid`, not
    by a list of statuses: an order whose process an admin terminated offers neither."""
    from crm.workflow.admin import repair

    order = order_from_quote(org, approved_quote(org, products, customers), mode="prepay")
    login_as(org.a_rep1)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="cancel"' in page and 'id="payment-form"' not in page  # contracting: not yet waiting to be paid
    [instance] = runtime.instances_of("order", order.id)
    repair.terminate(instance.id, actor_id=org.hq_admin.id, reason="test")
    db.session.commit()
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert _status(order) == OrderStatus.CONTRACTING
    assert 'id="cancel"' not in page and 'id="payment-form"' not in page


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


def test_cancel_after_the_customer_paid_goes_through_a_refund_by_finance(
        org, products, customers, staff, client, login_as):
    order = order_from_quote(org, approved_quote(org, products, customers), "prepay")
    _sign(org, order)
    _pay_service(staff, order)
    assert _status(order) == OrderStatus.PENDING_OUTBOUND
    order = _cancel(org, order)
    assert order.status == OrderStatus.PENDING_REFUND
    refund = open_task(order, "op_refund")
    assert candidates(refund) == {staff["finance"].id}
    _from_inbox(client, login_as, staff["finance"], order, "op_refund", {"reference": "RF-1"})
    assert _status(order) == OrderStatus.CANCELLED
    assert order.refunded_amount == order.paid_amount == order.total
    assert [p.kind for p in order.payments] == [PaymentKind.COLLECTION, PaymentKind.REFUND]


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


def test_another_store_cannot_see_or_act_on_the_order(org, products, customers, staff, client, login_as):
    order = order_from_quote(org, approved_quote(org, products, customers))
    for user in (org.b_rep, org.b_manager, org.a_rep2):
        with pytest.raises(NotFound):
            order_services.get_order(order.id, user)
    with pytest.raises(NotFound):
        order_services.cancel_order(order.id, {"reason": "x"}, actor=org.b_manager)
    login_as(org.b_manager)
    assert client.get(f"/orders/{order.id}").status_code == 404
    assert client.get(f"/orders/{order.id}/diagram").status_code == 404
    login_as(org.a_manager)
    assert client.get(f"/orders/{order.id}").status_code == 200


def test_the_list_filters_and_the_page_export(org, products, customers, staff, client, login_as):
    import io

    from openpyxl import load_workbook

    prepay = order_from_quote(org, approved_quote(org, products, customers), "prepay")
    arrears = order_from_quote(org, approved_quote(org, products, customers), "arrears", terminal="app")
    _sign(org, arrears)
    login_as(org.a_manager)
    page = client.get("/orders/?payment_mode=arrears").get_data(as_text=True)
    assert arrears.number in page and prepay.number not in page
    page = client.get(f"/orders/?status=contracting&owner_id={org.a_rep1.id}&terminal=pc").get_data(as_text=True)
    assert prepay.number in page and arrears.number not in page
    assert client.get("/orders/?status=nonsense&date_from=yesterday&store_id=abc").status_code == 200
    resp = client.get("/orders/export?format=xlsx")
    assert resp.status_code == 200
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [arrears.number]  # signed orders only
    login_as(org.a_rep1)
    assert client.get("/orders/export").status_code == 403
    customer_page = client.get(f"/customers/{customers['a'].id}").get_data(as_text=True)
    assert prepay.number in customer_page and arrears.number in customer_page


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


def test_an_outbound_with_a_missing_row_is_refused_and_can_be_corrected(
        org, products, customers, staff, client, login_as):
    quote = submitted_two_lines(org, products, customers)
    order = order_from_quote(org, quote, "arrears")
    _sign(org, order)
    task = open_task(order, "op_outbound")
    login_as(staff["warehouse"])
    token = csrf(client, f"/tasks/{task.id}")
    resp = client.post(f"/tasks/{task.id}/form", data={"csrf_token": token, "picked.0.quantity": "",
                                                       "picked.1.quantity": "3"})
    # The form keeps the delivery note's rows (not addable, not removable): an emptied row comes back as a
    # missing one, refused by field before the pipeline is asked (whose operator refuses it too: API below).
    assert resp.status_code == 422 and "Picked quantities needs exactly 2 rows, one per given line (1 sent)." in (
        resp.get_data(as_text=True).replace("&#39;", "'"))
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="f-picked-add"' not in page and 'aria-label="Remove row"' not in page  # no "Add row", no bin
    assert _status(order) == OrderStatus.PENDING_OUTBOUND and order.lines[1].picked_quantity is None
    _from_inbox(client, login_as, staff["warehouse"], order, "op_outbound",
                {"picked.0.quantity": "9", "picked.1.quantity": "3"})
    assert _status(order) == OrderStatus.PENDING_DELIVERY
    assert [ln.picked_quantity for ln in order.lines] == [9, 3]


def submitted_two_lines(org, products, customers):
    from tests.sales.conftest import submitted

    return submitted(org.a_rep1, customers["a"], line(products["p100"], "95.00", 10), line(products["p200"], "190.00", 3))


def test_a_direct_order_through_the_page_under_90_percent_is_sent_to_make_a_quote(
        org, products, customers, staff, client, login_as):
    from crm.sales.orders.models import Order

    login_as(org.a_rep1)
    token = csrf(client, "/orders/new")
    base = {"csrf_token": token, "customer_id": str(customers["a"].id), "payment_mode": "arrears", "terminal": "pc",
            "ship_address": "杭州", "lines-0-product_id": str(products["p100"].id), "lines-0-quantity": "4"}
    refused = client.post("/orders/new", data={**base, "lines-0-unit_price": "85.00"})
    assert refused.status_code == 422 and "make a quote" in refused.get_data(as_text=True)
    assert db.session.query(Order).count() == 0
    resp = client.post("/orders/new", data={**base, "lines-0-unit_price": "92.00"})
    assert resp.status_code == 303
    order = db.session.query(Order).one()
    assert order.total == Decimal("368.00") and order.quote_id is None and order.status == OrderStatus.CONTRACTING
    assert order.ship_name == customers["a"].name  # empty: from the customer


def test_the_task_page_links_to_its_order(org, products, customers, staff, client, login_as):
    order = order_from_quote(org, approved_quote(org, products, customers))
    task = open_task(order, "op_sign")
    login_as(org.a_rep1)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'href="/orders/{order.id}">Order {order.number}</a>' in page  # by its number, not "#id"
    assert client.get(f"/orders/{order.id}").status_code == 200


def _timeline_text(page: str) -> str:
    section = page[page.index('id="timeline"'):]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))


def test_the_order_history_reads_in_words(org, products, customers, staff, client, login_as):
    """The operation log on the order page names fields by their labels, statuses and modes by theirs,
    and the store, customer, salesperson and quote by name, not by column names and ids."""
    quote = approved_quote(org, products, customers)
    order = _make_order_through_the_page(client, login_as, org, quote, "prepay")
    _from_inbox(client, login_as, org.a_rep1, order, "op_sign", {"contract_no": "HT-2026-009"})
    login_as(org.a_rep1)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    process = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('id="history"'):page.index('id="timeline"')]))
    assert f"Task completed · Contracting order {order.number}: record the signature" in process  # not "op_sign"
    assert "op_sign" not in process
    text = _timeline_text(page)
    for words in ("Status Contracting → Pending collection", "Contract number HT-2026-009",
                  f"Store {order.store.name}", f"Salesperson {org.a_rep1.name}", f"Customer {order.customer.name}",
                  f"Quote {quote.number} v{quote.version}", "Payment mode Pay before delivery",
                  "Terminal Mini-program", f"· {org.a_rep1.name} Changed"):
        assert words in text, words
    for raw in ("pending_collection", "contracting", "owner_id", "store_id", "customer_id", "contract_no", "prepay",
                "mini_program"):
        assert raw not in text, raw


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


def test_finance_home_lists_the_collections_to_record(org, products, customers, staff, client, login_as):
    """The pipeline gives finance no task while an order waits for its payment: their home page counts
    those orders in their scope, with the amount outstanding, and links to them. Others see no card."""
    order = order_from_quote(org, approved_quote(org, products, customers))
    _sign(org, order)
    login_as(staff["finance"])
    home = client.get("/").get_data(as_text=True)
    card = home[home.index('id="collections-to-record"'):]
    assert f"1 order waits for its collection · ¥{order.total:,.2f} outstanding" in card
    assert 'href="/orders/?status=pending_collection"' in card
    _pay_service(staff, order)
    login_as(staff["finance"])
    assert "No order waits for a collection." in client.get("/").get_data(as_text=True)
    login_as(org.a_rep1)
    assert 'id="collections-to-record"' not in client.get("/").get_data(as_text=True)


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
