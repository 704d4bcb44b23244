"""The receivables: what signed orders still owe, aged by days past each open instalment's due date as of
today in Asia/Shanghai (boundaries 0, 1, 30, 31, 60, 61, 90, 91 days, under the time machine), for plans
and for orders without one; sums per bucket, store and salesperson in one aggregate statement; filters,
keyset pages, export, the API, the home card and the scope."""

from __future__ import annotations

import io
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from crm.extensions import db
from crm.finance.ledger import receivables
from crm.finance.ledger.receivables import Bucket
from crm.finance.ledger.receivables import ReceivableFilters
from crm.finance.ledger.receivables import bucket_of
from tests.conftest import assert_problem
from tests.conftest import collect
from tests.conftest import grant
from tests.conftest import html
from tests.conftest import statements
from tests.finance.conftest import signed_order
from tests.finance.plans.conftest import save

DUE = date(2027, 1, 10)
BOUNDARIES = [(0, Bucket.NOT_DUE), (1, Bucket.DAYS_1_30), (30, Bucket.DAYS_1_30), (31, Bucket.DAYS_31_60),
              (60, Bucket.DAYS_31_60), (61, Bucket.DAYS_61_90), (90, Bucket.DAYS_61_90), (91, Bucket.OVER_90)]


def _on(day: date, hour: str = "10:00"):
    """A moment of that day in Shanghai."""
    return time_machine.travel(f"{day.isoformat()} {hour}:00+08:00", tick=False)


def _listed(actor, **filters):
    return {r.order.id: r for r in receivables.receivables_page(actor, ReceivableFilters(**filters)).items}


def test_the_buckets_by_days_past_due():
    assert [bucket_of(d) for d, _b in BOUNDARIES] == [b for _d, b in BOUNDARIES]
    assert bucket_of(-5) == Bucket.NOT_DUE and bucket_of(None) == Bucket.NOT_DUE


@pytest.mark.parametrize(("days", "bucket"), BOUNDARIES)
def test_an_instalment_ages_into_its_bucket(waiting, org, staff, days, bucket):
    save(waiting, org.a_rep1, ("950", DUE.isoformat()))
    with _on(DUE + timedelta(days=days), "00:05"):
        row = _listed(staff["finance"])[waiting.id]
        assert row.bucket == bucket and row.next_due == DUE and row.planned
        sums = receivables.summary(staff["finance"], ReceivableFilters())
        assert sums.totals.buckets[bucket] == Decimal("950.00") and sums.totals.total == Decimal("950.00")
        assert receivables.overdue(staff["finance"]) == ((0, Decimal(0)) if days == 0 else (1, Decimal("950.00")))


@pytest.mark.parametrize(("days", "bucket"), BOUNDARIES)
def test_an_order_without_a_plan_is_due_when_it_was_signed(waiting, staff, days, bucket):
    # Signed at 23:30 in Shanghai (15:30 UTC): its due day is the Shanghai day, not the UTC one.
    waiting.signed_at = datetime(2027, 1, 10, 15, 30, tzinfo=UTC)
    db.session.commit()
    with _on(DUE + timedelta(days=days), "23:55"):
        row = _listed(staff["finance"])[waiting.id]
        assert row.bucket == bucket and row.next_due == DUE and not row.planned
        assert receivables.summary(staff["finance"], ReceivableFilters()).totals.buckets[bucket] == Decimal("950.00")


def test_amounts_age_per_instalment_and_the_order_by_its_oldest(waiting, org, staff):
    save(waiting, org.a_rep1, ("300", "2027-01-10"), ("200", "2027-02-20"), ("450", "2027-04-01"))
    today = date(2027, 3, 1)  # 50 and 9 days past the first two
    with _on(today):
        row = _listed(staff["finance"])[waiting.id]
        assert (row.bucket, row.next_due, row.total, row.collected, row.still_due) == (
            Bucket.DAYS_31_60, date(2027, 1, 10), Decimal("950.00"), Decimal(0), Decimal("950.00"))
        sums = receivables.summary(staff["finance"], ReceivableFilters()).totals.buckets
        assert (sums[Bucket.DAYS_31_60], sums[Bucket.DAYS_1_30], sums[Bucket.NOT_DUE]) == (
            Decimal("300.00"), Decimal("200.00"), Decimal("450.00"))
    collect(waiting, org.a_rep1, staff["finance"], "350.00")  # the first in full, 50 of the second
    with _on(today):
        row = _listed(staff["finance"])[waiting.id]
        assert (row.bucket, row.next_due, row.collected) == (Bucket.DAYS_1_30, date(2027, 2, 20), Decimal("350.00"))
        sums = receivables.summary(staff["finance"], ReceivableFilters()).totals.buckets
        assert (sums[Bucket.DAYS_31_60], sums[Bucket.DAYS_1_30], sums[Bucket.NOT_DUE]) == (
            Decimal(0), Decimal("150.00"), Decimal("450.00"))
        assert receivables.overdue(staff["finance"]) == (1, Decimal("150.00"))
        assert set(_listed(staff["finance"], bucket=Bucket.DAYS_1_30)) == {waiting.id}
        assert _listed(staff["finance"], bucket=Bucket.DAYS_31_60) == {}


def test_what_is_listed_filters_sums_and_pages(org, products, customers, staff):
    first = signed_order(org, products, customers)  # ¥950, a_rep1
    second = signed_order(org, products, customers, quantity=5)  # ¥475
    paid = signed_order(org, products, customers, quantity=2)
    collect(paid, org.a_rep1, staff["finance"])  # paid in full: owes nothing
    arrears = signed_order(org, products, customers, mode="arrears", quantity=3)  # in delivery: not due yet
    for order in (first, second, arrears):
        db.session.refresh(order)
    listed = _listed(staff["finance"])
    assert set(listed) == {first.id, second.id, arrears.id}
    assert listed[arrears.id].bucket == Bucket.NOT_DUE and listed[arrears.id].next_due is None
    assert listed[first.id].customer == customers["a"].name and listed[first.id].owner == org.a_rep1.name
    assert listed[first.id].store == org.units["store_a"].name

    page1 = receivables.receivables_page(staff["finance"], ReceivableFilters(), limit=2)
    page2 = receivables.receivables_page(staff["finance"], ReceivableFilters(), cursor=page1.next_cursor, limit=2)
    assert [r.order.id for r in page1.items + page2.items] == [arrears.id, second.id, first.id]
    assert page2.next_cursor is None

    assert set(_listed(staff["finance"], q=first.number)) == {first.id}
    assert set(_listed(staff["finance"], owner_id=org.a_rep2.id)) == set()
    assert set(_listed(staff["finance"], customer_id=customers["a"].id)) >= {first.id}
    assert set(_listed(staff["finance"], store_id=org.units["store_b"].id)) == set()

    with statements() as seen:
        sums = receivables.summary(staff["finance"], ReceivableFilters())
    # One aggregate over the maintained due rows, then the names; the orders themselves are not read.
    assert len([s for s in seen if "finance_receivable_due" in s]) == 1
    assert not [s for s in seen if "sales_order" in s]
    assert sums.totals.total == Decimal("950.00") + Decimal("475.00") + Decimal("285.00")
    [store] = sums.store_groups
    assert store.id == org.units["store_a"].id and store.total == sums.totals.total
    [owner] = sums.owner_groups
    assert owner.id == org.a_rep1.id and owner.name == org.a_rep1.name


def test_the_statement_count_does_not_grow_with_the_orders(org, products, customers, staff):
    signed_order(org, products, customers)

    def count():
        with statements() as seen:
            receivables.receivables_page(staff["finance"], ReceivableFilters())
            receivables.summary(staff["finance"], ReceivableFilters())
        return len(seen)

    count()  # the actor's scope is read once and kept
    before = count()
    for quantity in (2, 3, 4):
        signed_order(org, products, customers, quantity=quantity)
    assert count() == before <= 8, before  # the page (its ids, then their figures) and its 3 name look-ups, the summary and its 2


def test_cancelled_orders_owe_nothing(waiting, org):
    from crm.sales.orders import services as order_services

    order_services.cancel_order(waiting.id, {"reason": "Changed their mind"}, actor=org.a_rep1)
    db.session.commit()
    assert waiting.id not in _listed(org.a_manager)


def test_the_page_the_export_and_the_home_card(waiting, org, staff, client, login_as):
    save(waiting, org.a_rep1, ("950", "2027-01-10"))
    with _on(date(2027, 2, 20)):
        login_as(staff["finance"])  # signed in that day (a session ends after 12 hours)
        page = html(client.get("/finance/receivables"))
        assert f'id="receivable-{waiting.id}"' in page and 'data-bucket="31_60"' in page
        assert 'id="bucket-31_60">¥950.00' in page and f'id="sums-store-{waiting.store_id}"' in page
        assert f'id="sums-owner-{waiting.owner_id}"' in page
        assert f'id="receivable-{waiting.id}"' not in html(client.get("/finance/receivables?bucket=over_90"))
        assert client.get("/finance/receivables?bucket=nonsense&store_id=x").status_code == 200
        home = html(client.get("/"))
        assert 'id="overdue-receivables"' in home and "¥950.00 overdue" in home
        resp = client.get("/finance/receivables/export?format=xlsx")
        assert resp.status_code == 200 and resp.headers["Content-Disposition"].endswith('receivables.xlsx"')
        rows = list(load_workbook(io.BytesIO(resp.get_data())).active.iter_rows(values_only=True))
        assert rows[0][0] == "Order" and rows[1][0] == waiting.number and Decimal(str(rows[1][6])) == Decimal("950")
        assert rows[1][8] == "31–60 days"
        csv = client.get("/finance/receivables/export?format=csv").get_data(as_text=True)
        assert waiting.number in csv and "2027-01-10" in csv
    login_as(org.a_rep1)
    assert client.get("/finance/receivables").status_code == 403
    assert 'id="overdue-receivables"' not in html(client.get("/"))


def test_the_page_shows_the_largest_sums_and_counts_the_rest(waiting, staff, client, login_as, monkeypatch):
    from crm.finance.ledger import views

    monkeypatch.setattr(views, "GROUP_ROWS", 0)  # HQ has hundreds of salespeople; here one is one too many
    login_as(staff["finance"])
    page = html(client.get("/finance/receivables"))
    assert f'id="sums-owner-{waiting.owner_id}"' not in page and 'id="sums-owner-more"' in page
    assert "1 more with smaller amounts" in page


def test_another_store_sees_nothing(waiting, org, roles, staff, client, login_as, call):
    from tests.factories import UserFactory

    b_finance = UserFactory(name="B Finance", unit=org.units["store_b"], roles=[roles["finance"]])
    grant(roles["finance"], "api.use")
    db.session.commit()
    assert _listed(b_finance) == {}
    assert receivables.summary(b_finance, ReceivableFilters()).totals.total == 0
    login_as(b_finance)
    assert waiting.number not in html(client.get("/finance/receivables"))
    assert call("GET", "/api/v1/receivables", b_finance).get_json()["items"] == []
    assert call("GET", f"/api/v1/receivables?store_id={waiting.store_id}", b_finance).get_json()["items"] == []


def test_the_receivables_api(waiting, org, roles, staff, call):
    grant(roles["finance"], "api.use")
    grant(roles["salesperson"], "api.use")
    db.session.commit()
    save(waiting, org.a_rep1, ("300", "2027-01-10"), ("650", "2027-03-10"))
    with _on(date(2027, 2, 1)):
        body = call("GET", "/api/v1/receivables", staff["finance"]).get_json()
        [item] = body["items"]
        assert item["order_id"] == waiting.id and item["bucket"] == "1_30" and item["next_due"] == "2027-01-10"
        assert (item["total"], item["collected"], item["still_due"], item["planned"]) == ("950.00", "0.00", "950.00", True)
        assert call("GET", "/api/v1/receivables?bucket=over_90", staff["finance"]).get_json()["items"] == []
        assert_problem(call("GET", "/api/v1/receivables?bucket=later", staff["finance"]), 422, "bucket")
        summary = call("GET", "/api/v1/receivables/summary", staff["finance"]).get_json()
        assert summary["as_of"] == "2027-02-01"
        assert summary["totals"]["buckets"] == {"not_due": "650.00", "1_30": "300.00", "31_60": "0.00",
                                                "61_90": "0.00", "over_90": "0.00"}
        assert summary["totals"]["overdue"] == "300.00"
        assert [s["id"] for s in summary["stores"]] == [waiting.store_id]
        assert summary["salespeople"][0]["name"] == org.a_rep1.name
        assert call("GET", "/api/v1/receivables", org.a_rep2).status_code == 403  # the ageing is finance's
