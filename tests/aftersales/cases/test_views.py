"""After-sales through the pages: the salesperson opens a return and refund from the order page, the
supervisor approves it in the queue, each step is taken from the inbox of its role, and the order page,
the case page, the customer page and the case list (filters, export) show it."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.extensions import db
from crm.finance.demo import VOUCHER
from tests.aftersales.conftest import case_task
from tests.aftersales.conftest import open_case
from tests.conftest import csrf
from tests.conftest import post


def _from_inbox(client: Any, login_as: Any, user: Any, case: Any, bpmn_id: str, form: dict[str, str]) -> None:
    task = case_task(case, bpmn_id)
    login_as(user)
    listed = client.get("/tasks/").get_data(as_text=True) + client.get("/tasks/group").get_data(as_text=True)
    assert f"/tasks/{task.id}" in listed, f"{bpmn_id} is not in the inbox of {user.name}"
    resp = client.post(f"/tasks/{task.id}/form", data={"csrf_token": csrf(client, f"/tasks/{task.id}"), **form})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    db.session.refresh(case)


def test_return_and_refund_through_the_pages(delivered, org, staff, client, login_as, after_sales_chain, uploads):
    order = delivered
    login_as(org.a_rep1)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="open-after-sales"' in page and 'id="order-after-sales"' not in page
    form_url = f"/after-sales/orders/{order.id}/new"
    line = order.lines[0].id
    refused = client.post(form_url, data={"csrf_token": csrf(client, form_url), "type": "return_refund",
                                          "reason": "", "amount": "2000", f"qty_{line}": "11"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'data-field-error="reason"' in text and 'data-field-error="lines"' in text
    resp = client.post(form_url, data={"csrf_token": csrf(client, form_url), "type": "return_refund",
                                       "reason": "Two pallets arrived cracked", "amount": "190.00",
                                       f"qty_{line}": "2", f"note_{line}": "cracked", "invoice_reissue": "1"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    case = db.session.query(AfterSalesCase).filter_by(order_id=order.id).one()
    assert resp.headers["Location"].endswith(f"/after-sales/{case.id}")
    assert case.invoice_reissue and case.lines[0].note == "cracked"

    login_as(org.a_sup)
    assert "Two pallets arrived cracked" in client.get("/approvals/").get_data(as_text=True)
    task = case_task(case)
    decided = client.post(f"/approvals/tasks/{task.id}/decide", data={
        "csrf_token": csrf(client, "/approvals/"), "decision": "approve", "comment": "ok"})
    assert decided.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.AWAITING_RETURN

    _from_inbox(client, login_as, org.a_rep1, case, "as_return",
                {"return_shipment.carrier": "顺丰速运", "return_shipment.tracking_no": "SF-BACK-1"})
    assert case.status == CaseStatus.AWAITING_INSPECTION
    _from_inbox(client, login_as, staff["warehouse"], case, "as_inspect",
                {"inspection.lines.0.accepted": "2", "inspection.note": "Both cracked"})
    assert case.status == CaseStatus.AWAITING_REFUND and case.refund_amount == Decimal("190.00")
    photo = client.post(f"/after-sales/{case.id}/photos", data={
        "csrf_token": csrf(client, f"/after-sales/{case.id}"), "photos": (io.BytesIO(VOUCHER), "crack.png")},
        content_type="multipart/form-data")
    assert photo.status_code == 303
    db.session.refresh(case)
    assert len(case.photos) == 1
    assert client.get(f"/after-sales/{case.id}/photos/{case.photos[0].id}").get_data() == VOUCHER

    _from_inbox(client, login_as, staff["finance"], case, "as_refund",
                {"refund.method": "bank_transfer", "refund.reference": "RF-88", "refund.paid_on": "2026-12-07"})
    assert case.status == CaseStatus.AWAITING_INVOICE and case.refunded_amount == Decimal("190.00")
    _from_inbox(client, login_as, staff["finance"], case, "as_invoice", {"invoice.comment": "none issued yet"})
    assert case.status == CaseStatus.COMPLETED and "nothing to re-issue" in case.invoice_note

    login_as(org.a_rep1)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f'id="section-case-{case.id}"' in page and 'data-status="completed"' in page
    assert f"/after-sales/{case.id}#case-process" in page and "¥190.00" in page
    detail = client.get(f"/after-sales/{case.id}").get_data(as_text=True)
    assert 'id="diagram"' in detail and "SF-BACK-1" in detail and "Both cracked" in detail and "RF-88" in detail
    diagram = client.get(f"/after-sales/{case.id}/diagram")
    assert diagram.status_code == 200 and b"after_sales" in diagram.get_data()
    customer = client.get(f"/customers/{order.customer_id}").get_data(as_text=True)
    assert 'id="customer-after-sales"' in customer and case.number in customer


def test_the_list_filters_and_exports(delivered, org, staff, client, login_as):
    refund = open_case(delivered, org.a_rep1, "refund_only", quantity=0, amount="50.00")
    reissue = open_case(delivered, org.a_rep1, "reissue", quantity=1, amount="")
    login_as(org.a_manager)
    page = client.get("/after-sales").get_data(as_text=True)
    assert f'id="case-{refund.id}"' in page and f'id="case-{reissue.id}"' in page
    only = client.get("/after-sales?type=reissue&status=awaiting_replacement").get_data(as_text=True)
    assert f'id="case-{reissue.id}"' in only and f'id="case-{refund.id}"' not in only
    by_amount = client.get("/after-sales?amount_min=10&amount_max=60").get_data(as_text=True)
    assert f'id="case-{refund.id}"' in by_amount and f'id="case-{reissue.id}"' not in by_amount
    by_number = client.get(f"/after-sales?order_number={delivered.number}&date_from=2000-01-01").get_data(as_text=True)
    assert f'id="case-{refund.id}"' in by_number
    assert f'id="case-{refund.id}"' not in client.get("/after-sales?order_number=NOPE").get_data(as_text=True)
    assert client.get("/after-sales?amount_min=x&status=nope&date_to=never").status_code == 200
    csv = client.get("/after-sales/export?format=csv&type=refund_only")
    assert csv.status_code == 200 and refund.number in csv.get_data(as_text=True)
    assert reissue.number not in csv.get_data(as_text=True)
    login_as(org.b_rep)
    assert f'id="case-{refund.id}"' not in client.get("/after-sales").get_data(as_text=True)
    assert client.get(f"/after-sales/{refund.id}").status_code == 404


def test_the_order_shows_the_after_sales_marker_while_a_case_is_open(delivered, org, client, login_as):
    case = open_case(delivered, org.a_rep1, "reissue", quantity=1, amount="")
    login_as(org.a_rep1)
    assert 'id="order-after-sales"' in client.get(f"/orders/{delivered.id}").get_data(as_text=True)
    assert f'data-after-sales="{delivered.id}"' in client.get("/orders/").get_data(as_text=True)
    assert case.is_open


def test_a_refund_only_before_shipment_points_to_the_cancellation(org, products, customers, staff, client, login_as):
    from tests.conftest import collect
    from tests.finance.conftest import signed_order

    order = signed_order(org, products, customers)
    collect(order, staff["finance"], staff["finance2"], "950.00")
    login_as(org.a_rep1)
    url = f"/after-sales/orders/{order.id}/new"
    resp = post(client, url, {"type": "refund_only", "reason": "changed mind", "amount": "100"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/orders/{order.id}")
    assert re.search(r"cancel the order instead", client.get(resp.headers["Location"]).get_data(as_text=True))
