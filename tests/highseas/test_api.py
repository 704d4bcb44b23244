"""/api/v1/high-seas: pool listing, claim, release, assign, claim applications — same rules and errors as
the pages."""

from __future__ import annotations

from typing import Any

import pytest

from crm.extensions import db
from tests.conftest import assert_problem
from tests.conftest import grant
from tests.highseas.conftest import make_customer
from tests.highseas.conftest import set_pool

BASE = "/api/v1/high-seas"


@pytest.fixture
def api_org(org: Any) -> Any:
    for role in ("store_manager", "supervisor", "salesperson"):
        grant(org.roles[role], "api.use")
    db.session.commit()
    return org


def test_release_list_claim_and_status(call: Any, api_org: Any, clock: Any, claim_process: Any) -> None:
    o = api_org
    c = make_customer(o.a_rep1, name="API Pool", level="a")
    assert_problem(call("POST", f"{BASE}/customers/{c.id}/release", o.a_sup, json={"reason": ""}), 422, "reason")
    r = call("POST", f"{BASE}/customers/{c.id}/release", o.a_sup, json={"reason": "not answering"})
    assert r.status_code == 200 and r.get_json()["owner_id"] is None
    page = call("GET", f"{BASE}/pools/{o.store_a.id}/customers?level=a", o.a_rep2).get_json()
    [item] = page["items"]
    assert item["name"] == "API Pool" and item["reason"] == "not answering" and item["former_owner"] == "A Rep One"
    assert item["days_in_pool"] == 0 and item["claim_pending"] is False
    assert call("GET", f"{BASE}/pools/{o.store_b.id}/customers", o.a_rep2).status_code == 404
    assert_problem(call("GET", f"{BASE}/pools/{o.store_a.id}/customers?level=zz", o.a_rep2), 422, "level")
    assert_problem(call("GET", f"{BASE}/pools/{o.store_a.id}/customers?cursor=bad", o.a_rep2), 422, "cursor")
    assert_problem(call("POST", f"{BASE}/customers/{c.id}/claim", o.a_rep2, json={}), 422, "reason")
    assert call("POST", f"{BASE}/customers/{c.id}/claim", o.b_rep, json={"reason": "x"}).status_code == 404
    r = call("POST", f"{BASE}/customers/{c.id}/claim", o.a_rep2, json={"reason": "old friend"})
    assert r.status_code == 201, r.get_json()
    claim = r.get_json()
    assert claim["status"] == "visiting" and claim["reason"] == "old friend"
    assert call("GET", f"{BASE}/claims/{claim['id']}", o.a_rep2).get_json()["status"] == "visiting"
    assert call("GET", f"{BASE}/claims/{claim['id']}", o.b_sup).status_code == 404
    assert [x["id"] for x in call("GET", f"{BASE}/claims", o.a_rep2).get_json()["items"]] == [claim["id"]]
    assert call("GET", f"{BASE}/claims", o.a_rep1).get_json()["items"] == []
    assert [x["id"] for x in call("GET", f"{BASE}/claims?audit=true&status=visiting", o.a_sup).get_json()["items"]] \
        == [claim["id"]]
    assert call("GET", f"{BASE}/claims?audit=true", o.a_rep2).status_code == 403
    # the customer is owned now: a second claim answers 409
    assert_problem(call("POST", f"{BASE}/customers/{c.id}/claim", o.a_rep3, json={"reason": "me"}), 409)


def test_assign_and_rules(call: Any, api_org: Any, clock: Any, claim_process: Any) -> None:
    o = api_org
    set_pool(o.store_a, daily_claim_quota=1, cooldown_days=7)
    cs = [make_customer(o.a_rep1) for _ in range(3)]
    for c in cs:
        call("POST", f"{BASE}/customers/{c.id}/release", o.a_sup, json={"reason": "cleanup"})
    db.session.commit()
    body = assert_problem(call("POST", f"{BASE}/customers/{cs[0].id}/claim", o.a_rep1, json={"reason": "back"}),
                          422, "reason")
    assert "may take it back" in body["errors"]["reason"][0]
    assert call("POST", f"{BASE}/customers/{cs[0].id}/claim", o.a_rep2, json={"reason": "one"}).status_code == 201
    body = assert_problem(call("POST", f"{BASE}/customers/{cs[1].id}/claim", o.a_rep2, json={"reason": "two"}),
                          422, "reason")
    assert "quota" in body["errors"]["reason"][0]
    assert call("POST", f"{BASE}/assign", o.a_rep2, json={"customer_ids": [cs[1].id], "owner_id": o.a_rep2.id}
                ).status_code == 403
    assert_problem(call("POST", f"{BASE}/assign", o.a_sup, json={"customer_ids": [], "owner_id": o.a_rep2.id}),
                   422, "customer_ids")
    assert_problem(call("POST", f"{BASE}/assign", o.a_sup, json={"customer_ids": [cs[1].id], "owner_id": o.b_rep.id}),
                   422, "owner_id")
    # Another store's customer in the body is a field error (docs/api.md), not a 404 of the URL.
    assert_problem(call("POST", f"{BASE}/assign", o.b_sup, json={"customer_ids": [cs[1].id], "owner_id": o.b_rep.id}),
                   422, "customer_ids")
    r = call("POST", f"{BASE}/assign", o.a_sup, json={"customer_ids": [cs[1].id, cs[2].id], "owner_id": o.a_rep3.id,
                                                       "reason": "territory"})
    assert r.status_code == 200 and r.get_json() == {"assigned": 2}


def test_pool_export_csv_and_xlsx(call: Any, api_org: Any, clock: Any) -> None:
    """The pool's customers as a file, same filters and scope as the listing; needs customer.export."""
    import csv
    import io

    from openpyxl import load_workbook

    o = api_org
    a = make_customer(o.a_rep1, name="Export Alpha", level="a", mobile="13900000001")
    b = make_customer(o.a_rep1, name="Export Beta", level="b")
    kept = make_customer(o.a_rep1, name="Export Owned")
    for c in (a, b):
        assert call("POST", f"{BASE}/customers/{c.id}/release", o.a_sup, json={"reason": "quiet"}).status_code == 200
    r = call("GET", f"{BASE}/pools/{o.store_a.id}/customers/export", o.a_manager)
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    names = {row[1] for row in rows[1:]}
    assert rows[0][:3] == ["ID", "Name", "Company"]
    assert {"Export Alpha", "Export Beta"} <= names and kept.name not in names
    alpha = next(row for row in rows if row[1] == "Export Alpha")
    assert alpha[3] == "13900000001" and alpha[8] == "a" and alpha[12] == "A Rep One" and alpha[13] == "quiet"
    r = call("GET", f"{BASE}/pools/{o.store_a.id}/customers/export?format=xlsx&level=b", o.a_manager)
    sheet = load_workbook(io.BytesIO(r.get_data())).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Export Beta"]
    assert_problem(call("GET", f"{BASE}/pools/{o.store_a.id}/customers/export?format=pdf", o.a_manager),
                   422, "format")
    assert call("GET", f"{BASE}/pools/{o.store_b.id}/customers/export", o.a_manager).status_code == 404
    assert call("GET", f"{BASE}/pools/{o.store_a.id}/customers/export", o.a_rep2).status_code == 403  # no export
