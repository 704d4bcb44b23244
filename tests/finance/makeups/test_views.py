"""The make-up pages: the order page's section and request form, the list with filters, a make-up's page
with its approval and withdrawal, as the real roles."""

from __future__ import annotations

from crm.extensions import db
from crm.finance.makeups.models import MakeUp
from crm.finance.makeups.models import MakeUpStatus
from tests.conftest import field_errors
from tests.conftest import html
from tests.conftest import post
from tests.finance.makeups.conftest import request


def test_the_order_page_requests_a_make_up_and_shows_it(login_as, waiting, org, make_up_chain):
    client = login_as(org.a_rep1)
    page = html(client.get(f"/orders/{waiting.id}"))
    assert 'id="make-ups"' in page and 'id="make-up-form"' in page
    bad = post(client, f"/finance/orders/{waiting.id}/make-ups/new", {"amount": "abc", "kind": "x", "reason": ""})
    assert bad.status_code == 422 and field_errors(bad) >= {"amount", "kind", "reason"}
    ok = post(client, f"/finance/orders/{waiting.id}/make-ups/new",
              {"amount": "88.00", "kind": "freight", "reason": "Second delivery", "due_on": ""})
    assert ok.status_code == 303
    make_up = db.session.query(MakeUp).one()
    detail = html(client.get(ok.headers["Location"]))
    assert "Second delivery" in detail and 'id="withdraw-make-up"' in detail
    page = html(client.get(f"/orders/{waiting.id}"))
    assert f'id="section-make-up-{make_up.id}"' in page
    assert post(client, f"/finance/make-ups/{make_up.id}/withdraw").status_code == 303
    db.session.refresh(make_up)
    assert make_up.status == MakeUpStatus.WITHDRAWN


def test_the_list_filters_and_stays_in_the_store(login_as, waiting, org, staff):
    mine = request(waiting, org.a_rep1, "42.00")
    client = login_as(staff["finance"])
    listing = html(client.get("/finance/make-ups"))
    assert f'id="make-up-{mine.id}"' in listing
    assert f'id="make-up-{mine.id}"' not in html(client.get("/finance/make-ups?status=rejected"))
    assert f'id="make-up-{mine.id}"' in html(client.get("/finance/make-ups?kind=freight&status=approved"))
    other = login_as(org.b_rep)
    assert f'id="make-up-{mine.id}"' not in html(other.get("/finance/make-ups"))
    assert other.get(f"/finance/make-ups/{mine.id}").status_code == 404
    # The order page's "still due" includes the approved make-up.
    page = html(login_as(staff["finance"]).get(f"/orders/{waiting.id}"))
    assert "¥992.00" in page


def test_a_cancelled_order_offers_no_request(login_as, waiting, org):
    from crm.sales.orders import services as order_services

    order_services.cancel_order(waiting.id, {"reason": "gone"}, actor=org.a_rep1)
    db.session.commit()
    client = login_as(org.a_rep1)
    assert 'id="make-up-form"' not in html(client.get(f"/orders/{waiting.id}"))
    refused = post(client, f"/finance/orders/{waiting.id}/make-ups/new", {"amount": "1", "kind": "other", "reason": "x"})
    assert refused.status_code == 303 and db.session.query(MakeUp).count() == 0
