"""The settlement pages as finance uses them: the form offers the store's orders waiting for money, a refused
batch shows every message on its line, the batch's page verifies all, and collections show their batch."""

from __future__ import annotations

import io

from crm.extensions import db
from crm.finance.demo import VOUCHER
from crm.finance.payments.models import PaymentStatus
from crm.finance.settlements import services
from tests.conftest import html
from tests.conftest import post
from tests.finance.settlements.conftest import batch
from tests.finance.settlements.conftest import record


def test_record_a_settlement_on_the_page_and_verify_all(orders, staff, client, login_as):
    one, two, three = orders
    login_as(staff["finance"])
    form = html(client.get("/finance/settlements/new"))
    for order in orders:
        assert f'id="candidate-{order.id}"' in form and 'data-open="950.00"' in form
    fields = {"payer": "Tmall", "reference": "TM-9", "method": "platform_settlement", "paid_on": "2026-12-01",
              "amount": "1000.00", "order": [str(one.id), str(two.id)], f"amount_{one.id}": "950.00",
              f"amount_{two.id}": "100.00"}
    refused = post(client, "/finance/settlements/new", {**fields, "vouchers": [(io.BytesIO(VOUCHER), "s.png")]},
                   content_type="multipart/form-data")
    assert refused.status_code == 422
    page = html(refused)
    assert "¥50.00 more than the settlement" in page and 'value="100.00"' in page
    saved = post(client, "/finance/settlements/new", {**fields, "amount": "1050.00",
                                                       "vouchers": [(io.BytesIO(VOUCHER), "s.png")]},
                 content_type="multipart/form-data", follow_redirects=True)
    assert saved.status_code == 200, html(saved)
    page = html(saved)
    assert "TM-9" in page and "0 of 2 verified" in page and 'id="verify-all"' not in page  # the recorder
    (settlement,) = db.session.scalars(db.select(services.Settlement))
    (voucher,) = settlement.vouchers
    assert client.get(f"/finance/settlements/{settlement.id}/vouchers/{voucher.id}").get_data() == VOUCHER
    # The other finance user verifies all from the batch's page.
    login_as(staff["finance2"])
    page = html(client.get(f"/finance/settlements/{settlement.id}"))
    assert 'id="verify-all"' in page
    done = post(client, f"/finance/settlements/{settlement.id}/verify", follow_redirects=True)
    assert "2 collections of the settlement were verified." in html(done) and "2 of 2 verified" in html(done)
    assert {p.status for p in services.lines_of(settlement.id)} == {PaymentStatus.VERIFIED}
    # The list, the ledger and each collection's page name the batch; the collection serves its voucher.
    listing = html(client.get("/finance/settlements?q=TM-9"))
    assert f'id="settlement-{settlement.id}"' in listing and "2 of 2 verified" in listing
    assert "Settlement TM-9" in html(client.get("/finance/ledger"))
    line = services.lines_of(settlement.id)[0]
    payment_page = html(client.get(f"/finance/payments/{line.id}"))
    assert 'id="payment-settlement"' in payment_page and f"/finance/payments/{line.id}/vouchers/{voucher.id}" in payment_page
    assert client.get(f"/finance/payments/{line.id}/vouchers/{voucher.id}").get_data() == VOUCHER


def test_who_sees_settlements(orders, staff, org, client, login_as):
    settlement = record(staff["finance"], batch(orders[:1], ["10.00"]))
    voucher = settlement.vouchers[0]
    line = services.lines_of(settlement.id)[0]
    login_as(org.a_rep1)  # the order's salesperson: the collection and its voucher, not the batch
    assert client.get(f"/finance/settlements/{settlement.id}").status_code in (403, 404)
    assert client.get("/finance/settlements").status_code in (403, 404)
    assert client.get(f"/finance/payments/{line.id}/vouchers/{voucher.id}").status_code == 200
    login_as(org.b_manager)
    assert client.get(f"/finance/payments/{line.id}/vouchers/{voucher.id}").status_code == 404
    assert client.get(f"/finance/settlements/{settlement.id}/vouchers/{voucher.id}").status_code in (403, 404)


def test_verify_all_refused_to_the_recorder_on_the_page(orders, staff, client, login_as):
    settlement = record(staff["finance"], batch(orders[:1], ["10.00"]))
    login_as(staff["finance"])
    resp = post(client, f"/finance/settlements/{settlement.id}/verify", follow_redirects=True)
    assert "another finance user verifies it" in html(resp)
    assert {p.status for p in services.lines_of(settlement.id)} == {PaymentStatus.RECORDED}
