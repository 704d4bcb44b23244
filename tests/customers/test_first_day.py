"""A salesperson's first day on the customer pages: releasing their own customer to the high seas (and only
their own), the page after a release that exists, owner pickers that offer sales people only, overdue
next follow-ups in red, mobile numbers to tap, a bulk bar that says what it does."""

from __future__ import annotations

from datetime import timedelta

from crm.core.clock import utcnow
from crm.extensions import db
from tests.conftest import csrf
from tests.factories import UserFactory
from tests.factories import make_customer


def _release(client, customer, reason="不再联系"):
    return client.post(f"/customers/{customer.id}/release",
                       data={"csrf_token": csrf(client, f"/customers/{customer.id}"), "reason": reason})


def test_a_salesperson_releases_their_own_customer_and_lands_on_the_high_seas(org, login_as):
    mine = make_customer(org.a_rep1, name="我的客户")
    theirs = make_customer(org.a_rep2, name="Colleague's")
    db.session.commit()
    client = login_as(org.a_rep1)
    page = client.get(f"/customers/{mine.id}").get_data(as_text=True)
    assert 'id="release-customer"' in page and 'id="transfer-customer"' not in page
    resp = _release(client, mine)
    assert resp.status_code == 303 and "/high-seas" in resp.location
    assert client.get(resp.location).status_code == 200
    db.session.refresh(mine)
    assert mine.owner_id is None
    # Someone else's customer: not through this permission (not visible to a salesperson at all).
    assert _release(client, theirs).status_code in (403, 404)
    db.session.refresh(theirs)
    assert theirs.owner_id == org.a_rep2.id


def test_a_release_without_a_reason_stays_on_the_customer_with_the_error(org, login_as):
    mine = make_customer(org.a_rep1)
    db.session.commit()
    resp = _release(login_as(org.a_rep1), mine, reason="")
    assert resp.status_code == 422 and 'data-field-error="reason"' in resp.get_data(as_text=True)
    db.session.refresh(mine)
    assert mine.owner_id == org.a_rep1.id


def test_a_supervisor_who_releases_a_customer_lands_on_a_page_that_exists(org, login_as):
    c = make_customer(org.a_rep1)
    db.session.commit()
    client = login_as(org.a_sup)
    resp = _release(client, c)
    assert resp.status_code == 303
    assert client.get(resp.location).status_code == 200


def test_owner_pickers_offer_sales_people_not_finance_or_warehouse(org, login_as):
    clerk = UserFactory(name="Store A Cashier", unit=org.store_a, roles=[org.roles["finance"]])
    packer = UserFactory(name="Store A Packer", unit=org.store_a, roles=[org.roles["warehouse"]])
    c = make_customer(org.a_rep1)
    db.session.commit()
    client = login_as(org.a_sup)
    listing = client.get("/customers/").get_data(as_text=True)
    assert org.a_rep2.name in listing
    assert clerk.name not in listing and packer.name not in listing
    detail = client.get(f"/customers/{c.id}").get_data(as_text=True)
    transfer = detail[detail.index('id="transfer-form"'):]
    transfer = transfer[: transfer.index("</form>")]
    assert org.a_rep2.name in transfer and clerk.name not in transfer and packer.name not in transfer


def test_overdue_follow_ups_are_marked_and_mobiles_are_links_to_call(org, login_as):
    late = make_customer(org.a_rep1, name="Late one", mobile="13900001111")
    soon = make_customer(org.a_rep1, name="Soon one")
    late.next_follow_up_at = utcnow() - timedelta(days=2)
    soon.next_follow_up_at = utcnow() + timedelta(days=2)
    db.session.commit()
    client = login_as(org.a_rep1)
    html = client.get("/customers/").get_data(as_text=True)
    row_late = html[html.index(f'data-customer-id="{late.id}"'):]
    row_late = row_late[: row_late.index("</tr>")]
    row_soon = html[html.index(f'data-customer-id="{soon.id}"'):]
    row_soon = row_soon[: row_soon.index("</tr>")]
    assert "crm-overdue" in row_late and "crm-overdue" not in row_soon
    assert 'href="tel:13900001111"' in row_late
    assert 'href="tel:13900001111"' in client.get(f"/customers/{late.id}").get_data(as_text=True)
    assert 'data-bulk-bar="ids"' in html and "data-help=" in html


def test_a_new_lead_with_an_existing_customers_mobile_is_flagged_at_once(org, login_as):
    existing = make_customer(org.a_rep2, name="已有客户", mobile="13912345678")
    other_store = make_customer(org.b_rep, name="B's", mobile="13987654321")
    db.session.commit()
    client = login_as(org.a_rep1)
    found = client.get("/customers/leads/duplicates", query_string={"mobile": "139 1234 5678"}).get_json()
    assert len(found["duplicates"]) == 1 and org.a_rep2.name in found["duplicates"][0]["text"]
    assert found["duplicates"][0]["url"] is None  # a colleague's customer: described, not opened
    assert client.get("/customers/leads/duplicates", query_string={"mobile": "13900000000"}).get_json() == {"duplicates": []}
    # Another store's customer is not this store's duplicate (and nothing of it leaks).
    assert client.get("/customers/leads/duplicates", query_string={"mobile": "13987654321",
                                                                     "store_id": org.store_b.id}).get_json() == {"duplicates": []}
    page = client.get("/customers/leads/new").get_data(as_text=True)
    assert 'id="lead-duplicate"' in page and "data-duplicates-url" in page
    resp = client.post("/customers/leads/new", data={"csrf_token": csrf(client, "/customers/leads/new"),
                                                     "name": "New lead", "mobile": "13912345678"}, follow_redirects=True)
    assert resp.status_code == 200 and "already exists" in resp.get_data(as_text=True)
    assert existing.id and other_store.id
