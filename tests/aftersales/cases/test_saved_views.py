"""Saved views on the after-sales case list (issue 21): save the current filters under a name, open the
view from the menu, replace it, delete it; nobody else (another user, another list) may use or delete it."""

from __future__ import annotations

import re
from typing import Any

from crm.core import saved_views
from crm.core.saved_views import SavedView
from crm.extensions import db
from tests.aftersales.conftest import open_case
from tests.conftest import csrf


def test_a_saved_view_of_the_case_list(delivered: Any, org: Any, client: Any, login_as: Any) -> None:
    refund = open_case(delivered, org.a_rep1, "refund_only", quantity=0, amount="50.00")
    reissue = open_case(delivered, org.a_rep1, "reissue", quantity=1, amount="")
    login_as(org.a_manager)
    filtered = client.get("/after-sales?type=reissue").get_data(as_text=True)
    assert 'id="save-view"' in filtered and 'id="views-menu"' not in filtered  # no views yet: no menu
    token = csrf(client, "/after-sales")
    resp = client.post("/after-sales/views", data={"csrf_token": token, "name": "Reissues",
                                                   "query": "type=reissue&cursor=abc"})
    assert resp.status_code == 302
    view_id = int(re.search(r"view_id=(\d+)", resp.headers["Location"]).group(1))
    view = db.session.get(SavedView, view_id)
    assert (view.list_key, view.user_id, view.query) == ("aftersales_cases", org.a_manager.id, "type=reissue")

    page = client.get("/after-sales").get_data(as_text=True)
    assert 'id="views-menu"' in page and f"/after-sales?view_id={view_id}" in page
    opened = client.get(f"/after-sales?view_id={view_id}")
    assert opened.status_code == 302 and "type=reissue" in opened.headers["Location"]
    shown = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert f'id="case-{reissue.id}"' in shown and f'id="case-{refund.id}"' not in shown
    assert "Reissues" in shown and 'id="delete-view"' in shown

    # The same name replaces the view; a name is required.
    client.post("/after-sales/views", data={"csrf_token": token, "name": "Reissues", "query": "type=refund_only"})
    assert db.session.scalar(db.select(db.func.count()).select_from(SavedView)) == 1
    db.session.expire_all()
    assert db.session.get(SavedView, view_id).query == "type=refund_only"
    client.post("/after-sales/views", data={"csrf_token": token, "name": " ", "query": "type=reissue"})
    assert db.session.scalar(db.select(db.func.count()).select_from(SavedView)) == 1

    # Someone else's view, or a customer view opened on this list: 404, and it stays.
    customer_view = saved_views.save_view("customers", "Mine", "owner=me", [], actor=org.a_manager)
    db.session.commit()
    assert client.get(f"/after-sales?view_id={customer_view.id}").status_code == 404
    assert client.post(f"/after-sales/views/{customer_view.id}/delete", data={"csrf_token": token}).status_code == 404
    login_as(org.a_sup)
    other = csrf(client, "/after-sales")
    assert "Reissues" not in client.get("/after-sales").get_data(as_text=True)
    assert client.get(f"/after-sales?view_id={view_id}").status_code == 404
    assert client.post(f"/after-sales/views/{view_id}/delete", data={"csrf_token": other}).status_code == 404
    db.session.expire_all()
    assert db.session.get(SavedView, view_id) is not None

    login_as(org.a_manager)
    token = csrf(client, "/after-sales")
    assert client.post(f"/after-sales/views/{view_id}/delete", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(SavedView, view_id) is None
    assert db.session.get(SavedView, customer_view.id) is not None
