"""Opportunity pages: the board (moves by form and by JSON), the pipeline settings, a quote from an
opportunity, the history in words."""

from __future__ import annotations

import pytest

from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.sales.opportunities import services as svc
from tests.conftest import csrf
from tests.sales.opportunities.conftest import opp


def test_board_page_move_by_form_and_json(org, pipes, customers, login_as):
    o = opp(org.a_rep1, customers["a"], pipes["a"], name="Board deal")
    client = login_as(org.a_rep1)
    html = client.get("/opportunities/").get_data(as_text=True)
    assert "Board deal" in html and 'draggable="true"' in html and f'id="move-{o.id}"' in html
    sample = pipes["a"].stages[1]
    token = csrf(client, "/opportunities/")
    seen = o.lock_version
    resp = client.post(f"/opportunities/{o.id}/move", data={"csrf_token": token, "stage_id": sample.id,
                                                           "lock_version": seen},
                       headers={"Accept": "application/json"})
    assert resp.status_code == 200 and resp.get_json()["ok"] and resp.get_json()["stage_id"] == sample.id
    stale = client.post(f"/opportunities/{o.id}/move", data={"csrf_token": token, "stage_id": pipes["a"].stages[2].id,
                                                            "lock_version": seen},
                        headers={"Accept": "application/json"})
    assert stale.status_code == 409 and not stale.get_json()["ok"]
    assert client.get("/opportunities/forecast").status_code == 200
    assert client.get(f"/opportunities/{o.id}").status_code == 200
    other = login_as(org.b_rep)
    assert other.get(f"/opportunities/{o.id}").status_code == 404
    assert "Board deal" not in other.get("/opportunities/").get_data(as_text=True)


def test_pipeline_settings_page(org, login_as):
    client = login_as(org.a_manager)
    token = csrf(client, "/opportunities/pipelines")
    resp = client.post("/opportunities/pipelines", data={"csrf_token": token, "name": "Export",
                                                         "stages-0-name": "Contact", "stages-0-win_rate": "20",
                                                         "stages-1-name": "Offer", "stages-1-win_rate": "x"})
    assert resp.status_code == 422 and 'data-field-error="stages.1.win_rate"' in resp.get_data(as_text=True)
    resp = client.post("/opportunities/pipelines", data={"csrf_token": token, "name": "Export",
                                                         "stages-0-name": "Contact", "stages-0-win_rate": "20"})
    assert resp.status_code == 303
    assert login_as(org.a_rep1).get("/opportunities/pipelines").status_code == 403


def test_a_quote_from_an_opportunity(org, pipes, customers, products, login_as, quote_process):
    from crm.sales.quotes import services as quote_services

    o = opp(org.a_rep1, customers["a"], pipes["a"], name="Quoted deal")
    q = quote_services.create_quote({"opportunity_id": o.id, "lines": [
        {"product_id": products["p100"].id, "quantity": 1, "unit_price": "95"}]}, actor=org.a_rep1)
    db.session.commit()
    assert (q.customer_id, q.opportunity_id) == (customers["a"].id, o.id)
    with pytest.raises(ValidationFailed) as err:
        quote_services.create_quote({"opportunity_id": o.id, "customer_id": customers["a2"].id, "lines": [
            {"product_id": products["p100"].id, "quantity": 1, "unit_price": "95"}]}, actor=org.a_rep1)
    assert set(err.value.errors) == {"opportunity_id"}
    b = opp(org.b_rep, customers["b"], pipes["b"])
    with pytest.raises(ValidationFailed) as err:
        quote_services.create_quote({"opportunity_id": b.id, "lines": [
            {"product_id": products["p100"].id, "quantity": 1, "unit_price": "95"}]}, actor=org.a_rep1)
    assert "opportunity_id" in err.value.errors
    client = login_as(org.a_rep1)
    assert q.number in client.get(f"/opportunities/{o.id}").get_data(as_text=True)
    assert 'id="quote-opportunity"' in client.get(f"/quotes/{q.id}").get_data(as_text=True)
    page = client.get(f"/quotes/new?customer_id={customers['a'].id}&opportunity_id={o.id}").get_data(as_text=True)
    assert f'name="opportunity_id" value="{o.id}"' in page


def test_the_opportunity_history_reads_in_words(org, pipes, customers, login_as):
    """Its pipeline, stages, store, customer and salesperson by name and its status by label, in the
    creation and in a stage move alike."""
    import re

    o = opp(org.a_rep1, customers["a"], pipes["a"], name="Pallets for Q3")
    lead, sample, _nego = pipes["a"].stages
    svc.move_stage(o.id, sample.id, actor=org.a_rep1)
    db.session.commit()
    page = login_as(org.a_rep1).get(f"/opportunities/{o.id}").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('id="timeline"'):]))
    for words in ("From stage Lead", "To stage Sample sent", "Pipeline Wholesale", "Stage Lead", "Status Open",
                  f"Customer {customers['a'].name}", f"Salesperson {org.a_rep1.name}"):
        assert words in text, words
    for raw in ("pipeline_id", "stage_id", "owner_id", "customer_id", "store_id"):
        assert raw not in text, raw
