"""Every CSV/XLSX export goes through the one writer, which makes formula text inert (issue 18, item 4):
records whose text holds `=cmd|...`, `+1+1`, `@SUM(...)`, `=HYPERLINK(...)`... are exported through every
export route, in both formats, and read back: no cell is a formula, no text cell starts as one."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from crm.customers import imports
from crm.customers.leads import services as lead_services
from crm.extensions import db
from crm.highseas import services as highseas_services
from crm.sales.catalog import services as product_services
from crm.sales.orders import services as order_services
from crm.workflow import runtime
from tests.conftest import grant
from tests.core.conftest import PAYLOADS
from tests.core.conftest import assert_inert
from tests.factories import Org
from tests.factories import make_customer
from tests.sales.conftest import approved_quote
from tests.sales.conftest import open_task

FORMATS = ["csv", "xlsx"]


def get(client: Any, url: str) -> bytes:
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert "attachment" in resp.headers["Content-Disposition"]
    return bytes(resp.data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_customer_export(client: Any, login_as: Any, org: Org, fmt: str) -> None:
    for payload in PAYLOADS:
        c = make_customer(org.a_rep1)
        c.name, c.company, c.remarks, c.address = payload, payload, payload, payload
    db.session.commit()
    login_as(org.a_manager)
    assert_inert(get(client, f"/customers/export?format={fmt}"), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lead_export(client: Any, login_as: Any, org: Org, fmt: str) -> None:
    for n, payload in enumerate(PAYLOADS):
        lead = lead_services.create_lead({"name": f"Lead {n}", "mobile": f"1370000{n:04d}"}, actor=org.a_manager)
        lead.name, lead.company, lead.message = payload, payload, payload
    db.session.commit()
    login_as(org.a_manager)
    assert_inert(get(client, f"/customers/leads/export?view=all&format={fmt}"), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_product_export(client: Any, login_as: Any, org: Org, fmt: str) -> None:
    for n, payload in enumerate(PAYLOADS):
        p = product_services.create_product({"sku": f"FX-{n}", "name": f"P {n}", "list_price": "10.00",
                                             "cost_price": "12.50"}, actor=org.hq_admin)
        p.name, p.description, p.size = payload, payload, payload
    db.session.commit()
    login_as(org.hq_admin)  # sees the cost, so the (negative) margin column too
    values = assert_inert(get(client, f"/products/?export={fmt}"), fmt)
    assert "-25.00%" in values and "10.00" in values  # numbers formatted as before, not quoted


@pytest.mark.parametrize("fmt", FORMATS)
def test_high_seas_export_page_and_api(client: Any, login_as: Any, call: Any, api_org: Org, fmt: str) -> None:
    o = api_org
    for payload in PAYLOADS:
        c = make_customer(o.a_rep1)
        c.name, c.company = payload, payload
        highseas_services.move_to_pool([c], payload, actor=o.a_sup)  # the reason is exported too
    db.session.commit()
    login_as(o.a_manager)
    assert_inert(get(client, f"/high-seas/export?store_id={o.store_a.id}&format={fmt}"), fmt)
    resp = call("GET", f"/api/v1/high-seas/pools/{o.store_a.id}/customers/export?format={fmt}", o.a_manager)
    assert resp.status_code == 200
    assert_inert(resp.data, fmt)


@pytest.mark.usefixtures("quote_process")
def test_signed_orders_export_page_and_api(client: Any, login_as: Any, call: Any, org: Org, roles: Any,
                                           products: Any, customers: Any, staff: Any) -> None:
    order = order_services.create_from_quote(approved_quote(org, products, customers).id, {
        "payment_mode": "arrears", "terminal": "pc", "ship_address": "宁波"}, actor=org.a_rep1)
    db.session.commit()
    runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=org.a_rep1.id)  # signed: exported
    grant(roles["finance"], "api.use")
    db.session.commit()
    for payload in PAYLOADS:  # the customer's name is the order export's free text
        customers["a"].name = payload
        db.session.commit()
        for fmt in FORMATS:
            login_as(org.a_manager)
            assert_inert(get(client, f"/orders/export?format={fmt}"), fmt, [payload])
            resp = call("GET", f"/api/v1/orders/export?format={fmt}", staff["finance"])
            assert resp.status_code == 200
            values = assert_inert(resp.data, fmt, [payload])
            assert order.number in values


def test_after_sales_export(client: Any, login_as: Any, org: Org, products: Any, customers: Any, staff: Any,
                            quote_process: Any) -> None:
    from crm.aftersales.cases import services as case_services
    from tests.conftest import collect
    from tests.finance.conftest import signed_order

    order = signed_order(org, products, customers)
    collect(order, staff["finance"], staff["finance2"], "950.00")
    runtime.complete_task(open_task(order, "op_outbound").id, {"picked": [{"quantity": 10}]},
                          actor_id=staff["warehouse"].id)
    db.session.commit()
    cases = [case_services.open_case(order.id, {"type": "refund_only", "reason": payload, "amount": "1.00"},
                                     actor=org.a_rep1) for payload in PAYLOADS]  # the reason is exported
    db.session.commit()
    login_as(org.a_manager)
    for fmt in FORMATS:
        # the reason is trimmed when the case is opened, so "\t=1" and "\r=1" were stored as "=1"
        values = assert_inert(get(client, f"/after-sales/export?format={fmt}"), fmt, [p.strip() for p in PAYLOADS])
        assert all(case.number in values for case in cases)


def test_import_error_report(client: Any, login_as: Any, org: Org, app: Any, tmp_path: Any) -> None:
    """The refused rows' values come from the uploaded file as they were: the report quotes them too."""
    app.config["TASK_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        sheet = io.StringIO()
        csv.writer(sheet).writerows([["name", "mobile"], *([f"Row {n}", p] for n, p in enumerate(PAYLOADS))])
        job = imports.upload("bad.csv", io.BytesIO(sheet.getvalue().encode()), actor=org.a_manager)
        imports.confirm(job, job.mapping, "skip", "pool", actor=org.a_manager)
        imports.run_imports()
        db.session.commit()
        assert job.failed == len(PAYLOADS)
        login_as(org.a_manager)
        # the import strips the cells, so "\t=1" and "\r=1" were refused as "=1"
        assert_inert(get(client, f"/customers/import/{job.id}/errors.csv"), "csv", [p.strip() for p in PAYLOADS])
    finally:
        app.config["TASK_ATTACHMENT_DIR"] = None
