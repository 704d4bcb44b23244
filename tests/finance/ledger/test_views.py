"""The ledger page: every receipt and payment in scope, filters, the filter's totals, pages and export."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from tests.conftest import collect
from tests.conftest import record_collection
from tests.finance.conftest import signed_order


def _ledger(client, query=""):
    resp = client.get(f"/finance/ledger{query}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_the_ledger_lists_totals_and_filters_what_finance_may_see(org, products, customers, staff, client, login_as):
    first = signed_order(org, products, customers)
    second = signed_order(org, products, customers, price="90.00", quantity=5)
    verified = collect(first, staff["finance"], staff["finance2"], "300.00")
    pending = record_collection(second, org.a_rep1, "450.00", reference="TX-PENDING")
    login_as(staff["finance"])
    page = _ledger(client)
    assert f'id="payment-{verified.id}"' in page and f'id="payment-{pending.id}"' in page
    assert page.index(f'id="payment-{pending.id}"') < page.index(f'id="payment-{verified.id}"')  # newest first
    totals = client.get("/finance/ledger/totals").get_data(as_text=True)  # loaded by the page's script
    assert 'id="total-received">¥300.00' in totals and 'id="total-pending">¥450.00' in totals
    assert 'data-src="/finance/ledger/totals"' in page
    assert first.number in page and customers["a"].name in page and 'class="voucher-thumb' in page

    only_pending = _ledger(client, f"?status=recorded&owner_id={org.a_rep1.id}&date_from=2026-01-02")
    # The filter bar shows what is chosen (macros/filters.html).
    assert '<option value="recorded" selected>' in only_pending and '<option value="verified" >' in only_pending
    assert f'<option value="{org.a_rep1.id}" selected>' in only_pending
    assert 'id="f-date-from" name="date_from" value="2026-01-02"' in only_pending
    assert f'id="payment-{pending.id}"' in only_pending and f'id="payment-{verified.id}"' not in only_pending
    by_reference = _ledger(client, "?q=TX-PENDING")
    assert f'id="payment-{pending.id}"' in by_reference and f'id="payment-{verified.id}"' not in by_reference
    by_order = _ledger(client, f"?q={first.number}")
    assert f'id="payment-{verified.id}"' in by_order and f'id="payment-{pending.id}"' not in by_order
    by_amount = _ledger(client, "?amount_min=400&amount_max=500")
    assert f'id="payment-{pending.id}"' in by_amount and f'id="payment-{verified.id}"' not in by_amount
    assert 'id="total-count">1<' in client.get("/finance/ledger/totals?amount_min=400&amount_max=500").get_data(as_text=True)
    # A bad filter value is dropped, never a 400 on a page.
    assert f'id="payment-{verified.id}"' in _ledger(client, "?status=nonsense&date_from=yesterday&amount_min=x")


def test_the_ledger_pages_by_payment_date_then_newest(org, products, customers, staff, client, login_as):
    order = signed_order(org, products, customers)
    # Typed in the order 3 Dec, 5 Dec, 5 Dec, 1 Dec: listed by the day the money moved, newest first.
    days = ["2026-12-03", "2026-12-05", "2026-12-05", "2026-12-01"]
    payments = [record_collection(order, staff["finance"], "10.00", paid_on=day) for day in days]
    from crm.finance.ledger import queries
    from crm.finance.ledger.queries import LedgerFilters

    pages, cursor = [], None
    for _ in range(3):
        page = queries.ledger_page(staff["finance"], LedgerFilters(), cursor=cursor, limit=2 if not pages else 1)
        pages.append([p.id for p in page.items])
        cursor = page.next_cursor
    assert pages == [[payments[2].id, payments[1].id], [payments[0].id], [payments[3].id]]
    assert cursor is None
    # The cursor starts a page inside a day shared by two payments without repeating or skipping one.
    middle = queries.ledger_page(staff["finance"], LedgerFilters(), limit=1)
    rest = queries.ledger_page(staff["finance"], LedgerFilters(), cursor=middle.next_cursor, limit=10)
    assert [p.id for p in middle.items + rest.items] == [payments[i].id for i in (2, 1, 0, 3)]
    in_range = queries.ledger_page(staff["finance"], LedgerFilters(date_from=payments[0].paid_on,
                                                                    date_to=payments[0].paid_on))
    assert [p.id for p in in_range.items] == [payments[0].id]


def test_the_export_has_what_the_filter_shows(org, products, customers, staff, client, login_as):
    order = signed_order(org, products, customers)
    collect(order, staff["finance"], staff["finance2"], "123.45")
    record_collection(order, staff["finance"], "10.00", reference="=HYPERLINK(\"x\")")
    login_as(staff["finance"])
    resp = client.get("/finance/ledger/export?format=xlsx&status=verified")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].endswith('ledger.xlsx"')
    rows = list(load_workbook(io.BytesIO(resp.get_data())).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[0][0] == "Number" and Decimal(str(rows[1][4])) == Decimal("123.45")
    csv = client.get("/finance/ledger/export?format=csv").get_data(as_text=True)
    assert "'=HYPERLINK" in csv  # a formula-looking reference is neutralised


def test_who_sees_the_ledger(org, products, customers, staff, client, login_as):
    order = signed_order(org, products, customers)
    payment = record_collection(order, staff["finance"], "10.00")
    login_as(org.a_rep1)
    assert client.get("/finance/ledger").status_code == 403  # no finance.view: the order page shows theirs
    assert f"/finance/payments/{payment.id}" in client.get(f"/orders/{order.id}").get_data(as_text=True)
    login_as(org.b_manager)
    assert f'id="payment-{payment.id}"' not in _ledger(client)  # another store's manager
    assert client.get(f"/finance/payments/{payment.id}").status_code == 404
    login_as(org.a_manager)  # store A's manager reads the ledger of the store
    assert f'id="payment-{payment.id}"' in _ledger(client)


def test_the_ledger_in_chinese(org, products, customers, staff, client, login_as):
    order = signed_order(org, products, customers)
    record_collection(order, staff["finance"], "10.00")
    login_as(staff["finance"])
    page = client.get("/finance/ledger", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "收付款台账" in page and "银行转账" in page and "待核实" in page
