"""/api/v1/customers: list with filters and keyset pages, create with dedup, update with lock_version,
transfer, lock, contacts, follow-ups, team, import status; scope and errors like the pages. POST
/api/v1/customers/imports: upload a file with its column mapping and start the import job, with the import
page's checks and messages; a refused upload leaves neither a job nor a stored file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.customers import imports
from crm.customers.models import Customer
from crm.customers.models import ImportJob
from crm.extensions import db
from crm.workflow.models import UnmatchedMessage
from tests.conftest import assert_problem
from tests.conftest import grant
from tests.factories import Org
from tests.factories import make_customer

BASE = "/api/v1/customers"


def test_create_list_and_dedup(call: Any, api_org: Org) -> None:
    o = api_org
    resp = call("POST", BASE, o.a_rep1, json={"name": "API Pallets", "mobile": "138-0013-8000", "tags": ["vip"],
                                               "level": "a"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["mobile_norm"] == "13800138000" and body["owner_id"] == o.a_rep1.id and body["tags"] == ["vip"]
    dup = call("POST", BASE, o.a_rep2, json={"name": "Again", "mobile": "+8613800138000"})
    problem = assert_problem(dup, 422, "mobile")
    assert "owned by A Rep One" in problem["errors"]["mobile"][0] and "API Pallets" not in dup.get_data(as_text=True)
    bad = call("POST", BASE, o.a_rep1, json={"name": "", "mobile": "1", "level": "zz", "email": "x"})
    assert_problem(bad, 422, "name", "mobile", "level", "email")
    for i in range(4):
        make_customer(o.a_rep1, name=f"Listed {i}")
    db.session.commit()
    page = call("GET", f"{BASE}?limit=2&sort=name&dir=asc", o.a_rep1).get_json()
    assert [c["name"] for c in page["items"]] == ["API Pallets", "Listed 0"] and page["next_cursor"]
    nxt = call("GET", f"{BASE}?limit=2&sort=name&dir=asc&cursor={page['next_cursor']}", o.a_rep1).get_json()
    assert [c["name"] for c in nxt["items"]] == ["Listed 1", "Listed 2"]
    assert call("GET", f"{BASE}?level=a", o.a_rep1).get_json()["items"][0]["name"] == "API Pallets"
    assert call("GET", BASE, o.b_manager).get_json()["items"] == []
    assert_problem(call("GET", f"{BASE}?no_follow_days=x", o.a_rep1), 422, "no_follow_days")


def test_update_with_version_lock_transfer_and_scope(call: Any, api_org: Org) -> None:
    o = api_org
    c = make_customer(o.a_rep1, name="Versioned")
    db.session.commit()
    got = call("GET", f"{BASE}/{c.id}", o.a_rep1).get_json()
    ok = call("PATCH", f"{BASE}/{c.id}", o.a_rep1, json={"company": "New Co", "lock_version": got["lock_version"]})
    assert ok.status_code == 200 and ok.get_json()["company"] == "New Co"
    stale = call("PATCH", f"{BASE}/{c.id}", o.a_rep1, json={"company": "Late", "lock_version": got["lock_version"]})
    assert_problem(stale, 409)
    assert call("GET", f"{BASE}/{c.id}", o.b_manager).status_code == 404
    assert call("GET", f"{BASE}/{c.id}", o.a_rep2).status_code == 404
    locked = call("POST", f"{BASE}/{c.id}/lock", o.a_rep1, json={"locked": True})
    assert locked.status_code == 200 and locked.get_json()["locked"] is True
    assert call("POST", f"{BASE}/{c.id}/transfer", o.a_rep1, json={"to_user_id": o.a_rep2.id}).status_code == 403
    moved = call("POST", f"{BASE}/{c.id}/transfer", o.a_manager, json={"to_user_id": o.a_rep2.id, "keep_old_owner": True})
    assert moved.status_code == 200 and moved.get_json()["owner_id"] == o.a_rep2.id
    assert_problem(call("POST", f"{BASE}/{c.id}/transfer", o.a_manager, json={"to_user_id": o.b_rep.id}), 422,
                   "to_user_id")


def test_contacts_follow_ups_and_team(call: Any, api_org: Org) -> None:
    o = api_org
    c = make_customer(o.a_rep1)
    db.session.commit()
    contact = call("POST", f"{BASE}/{c.id}/contacts", o.a_rep1, json={"name": "Buyer", "mobile": "139 0000 1111"})
    assert contact.status_code == 201 and contact.get_json()["mobile"] == "13900001111"
    cid = contact.get_json()["id"]
    assert call("PUT", f"{BASE}/{c.id}/contacts/{cid}", o.a_rep1, json={"name": "Chief buyer"}).get_json()["name"] == \
        "Chief buyer"
    assert [x["name"] for x in call("GET", f"{BASE}/{c.id}/contacts", o.a_rep1).get_json()["items"]] == ["Chief buyer"]
    fu = call("POST", f"{BASE}/{c.id}/follow-ups", o.a_rep1, json={"kind": "wechat", "content": "Sent prices"})
    assert fu.status_code == 201
    assert db.session.scalar(select(UnmatchedMessage.object_id).where(
        UnmatchedMessage.message_name == "follow_up_recorded")) is None  # a broadcast, not an unmatched message
    assert_problem(call("POST", f"{BASE}/{c.id}/follow-ups", o.a_rep1, json={"kind": "fax", "content": ""}), 422,
                   "kind", "content")
    assert call("GET", f"{BASE}/{c.id}/follow-ups", o.a_rep1).get_json()["items"][0]["content"] == "Sent prices"
    team = call("POST", f"{BASE}/{c.id}/team", o.a_rep1, json={"user_id": o.a_rep2.id, "access": "read"})
    assert team.status_code == 200
    assert call("GET", f"{BASE}/{c.id}", o.a_rep2).status_code == 200
    assert call("DELETE", f"{BASE}/{c.id}/contacts/{cid}", o.a_rep2).status_code == 403  # read-only member
    assert call("DELETE", f"{BASE}/{c.id}/contacts/{cid}", o.a_rep1).status_code == 204
    assert db.session.get(Customer, c.id) is not None


def test_leads_api(call: Any, api_org: Org) -> None:
    o = api_org
    made = call("POST", "/api/v1/leads", o.a_manager, json={"name": "API lead", "mobile": "13600006666", "to_pool": True})
    assert made.status_code == 201 and made.get_json()["owner_id"] is None
    lead_id = made.get_json()["id"]
    assert [x["id"] for x in call("GET", "/api/v1/leads?view=pool", o.a_rep1).get_json()["items"]] == [lead_id]
    assert call("GET", f"/api/v1/leads/{lead_id}", o.b_manager).status_code == 404
    assert call("POST", f"/api/v1/leads/{lead_id}/claim", o.a_rep1).get_json()["owner_id"] == o.a_rep1.id
    fu = call("POST", f"/api/v1/leads/{lead_id}/follow-ups", o.a_rep1, json={"kind": "phone", "content": "Called"})
    assert fu.status_code == 201 and fu.get_json()["lead_id"] == lead_id
    converted = call("POST", f"/api/v1/leads/{lead_id}/convert", o.a_rep1)
    assert converted.status_code == 201 and converted.get_json()["mobile_norm"] == "13600006666"
    assert_problem(call("POST", f"/api/v1/leads/{lead_id}/convert", o.a_rep1), 422, "status")
    assert_problem(call("POST", "/api/v1/leads", o.a_rep1, json={"name": "x", "mobile": "1"}), 422, "mobile")
    assert_problem(call("GET", "/api/v1/leads?view=everything", o.a_rep1), 422, "view")


def test_follow_ups_due(call: Any, api_org: Org) -> None:
    from datetime import timedelta

    from crm.core.clock import utcnow
    from crm.customers.services import follow_ups

    o = api_org
    c = make_customer(o.a_rep1)
    follow_ups.record_follow_up(c, {"kind": "phone", "content": "Call back in 3 days",
                                    "next_contact_at": (utcnow() + timedelta(days=3)).isoformat()}, actor=o.a_rep1)
    db.session.commit()
    upcoming = call("GET", "/api/v1/customers/follow-ups/due?bucket=upcoming", o.a_rep1).get_json()["items"]
    assert [f["customer_id"] for f in upcoming] == [c.id]
    assert call("GET", "/api/v1/customers/follow-ups/due?bucket=overdue", o.a_rep1).get_json()["items"] == []
    assert_problem(call("GET", "/api/v1/customers/follow-ups/due?bucket=later", o.a_rep1), 422, "bucket")


# POST /api/v1/customers/imports ==============================================================================
URL = "/api/v1/customers/imports"


CSV = "客户名称,手机号,Level\nAPI Import One,13800000041,a\nAPI Import Two,13800000042,b\n,13800000043,c\n".encode()


@pytest.fixture
def uploads(app: Any, tmp_path: Path) -> Iterator[Path]:
    app.config["TASK_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        yield tmp_path
    finally:
        app.config["TASK_ATTACHMENT_DIR"] = None


def post(call: Any, user: Any, content: bytes = CSV, name: str = "c.csv", headers: dict[str, str] | None = None,
         **fields: Any) -> Any:
    data = {"file": (io.BytesIO(content), name), **fields}
    return call("POST", URL, user, data=data, content_type="multipart/form-data", headers=headers)


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_upload_with_a_mapping_by_title_and_index_runs_the_import(call: Any, api_org: Org, uploads: Path) -> None:
    o = api_org
    resp = post(call, o.a_manager, mapping=json.dumps({"name": "客户名称", "mobile": 1, "level": "level"}),
                default_owner_id=str(o.a_rep1.id))
    assert resp.status_code == 201, resp.get_json()
    job = resp.get_json()
    # The request answers at once: the rows are counted by the job, not here.
    assert job["status"] == "pending" and job["total_rows"] == 0 and job["store_id"] == o.store_a.id
    imports.run_imports()
    db.session.commit()
    status = call("GET", f"{URL}/{job['id']}", o.a_manager).get_json()
    assert status["status"] == "done" and status["created"] == 2 and status["failed"] == 1
    assert status["total_rows"] == 3
    assert status["errors"][0]["row"] == 4 and status["errors"][0]["field"] == "Name"
    one = db.session.scalar(select(Customer).where(Customer.name == "API Import One"))
    assert one.owner_id == o.a_rep1.id and one.level.value == "a" and one.store_id == o.store_a.id
    assert call("GET", f"{URL}/{job['id']}", o.b_manager).status_code == 404  # another store


def test_without_a_mapping_the_titles_are_matched_as_on_the_page(call: Any, api_org: Org, uploads: Path) -> None:
    resp = post(call, api_org.a_manager)
    assert resp.status_code == 201, resp.get_json()
    job = db.session.get(ImportJob, resp.get_json()["id"])
    assert job.mapping == {"name": 0, "mobile": 1, "level": 2} and job.default_owner_id is None  # to the high seas


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"content": b""}, "file"),
    ({"name": "c.txt"}, "file"),
    ({"name": "c.xlsx"}, "file"),  # not a workbook
    ({"content": b"\n\n"}, "file"),  # no titles
    ({"mapping": "{not json"}, "mapping"),
    ({"mapping": "[1, 2]"}, "mapping"),
    ({"mapping": json.dumps({"mobile": 1})}, "mapping.name"),
    ({"mapping": json.dumps({"name": 0})}, "mapping.mobile"),
    ({"mapping": json.dumps({"name": 0, "mobile": 9})}, "mapping.mobile"),
    ({"mapping": json.dumps({"name": 0, "mobile": "Phone"})}, "mapping.mobile"),
    ({"mapping": json.dumps({"name": True, "mobile": 1})}, "mapping.name"),
    ({"mapping": json.dumps({"name": 0, "mobile": 1, "colour": 2})}, "mapping.colour"),
    ({"on_duplicate": "merge"}, "on_duplicate"),
    ({"target": "orders"}, "target"),
    ({"default_owner_id": "abc"}, "default_owner_id"),
])
def test_refused_uploads_name_the_field_and_leave_nothing(call: Any, api_org: Org, uploads: Path,
                                                           kwargs: dict[str, Any], field: str) -> None:
    before = db.session.scalar(select(func.count()).select_from(ImportJob))
    assert_problem(post(call, api_org.a_manager, **kwargs), 422, field)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == before
    assert stored_files(uploads) == []


def test_errors_name_the_field_and_speak_the_callers_language(call: Any, api_org: Org, uploads: Path) -> None:
    o = api_org
    other_store_rep = str(o.b_rep.id)
    problem = assert_problem(post(call, o.a_manager, default_owner_id=other_store_rep,
                                  headers={"Accept-Language": "zh-CN"}), 422, "default_owner_id")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["errors"]["default_owner_id"][0])
    assert_problem(call("POST", URL, o.a_manager, data={}, content_type="multipart/form-data"), 422, "file")


def test_permission_and_store_rules(call: Any, api_org: Org, uploads: Path) -> None:
    o = api_org
    assert_problem(post(call, o.a_rep1), 403)  # salespeople do not import
    assert stored_files(uploads) == []


def test_the_result_names_each_skipped_row_and_what_it_matched(call: Any, api_org: Org, uploads: Path) -> None:
    o = api_org
    grant(o.roles["salesperson"], "customer.import")  # an importer who may not see every customer of the store
    mine = make_customer(o.a_rep1, name="Already Mine", mobile="13811110001")
    theirs = make_customer(o.a_rep2, name="Already Theirs", mobile="13811110002")
    db.session.commit()
    content = (b"name,mobile\nAlready Mine again,13811110001\nFresh,13811110003\nFresh twice,13811110003\n"
               b"Already Theirs again,13811110002\n")
    resp = post(call, o.a_rep1, content=content, on_duplicate="skip")
    assert resp.status_code == 201, resp.get_json()
    imports.run_imports()
    db.session.commit()
    result = call("GET", f"{URL}/{resp.get_json()['id']}", o.a_rep1).get_json()
    assert result["created"] == 1 and result["skipped"] == 3
    rows = {r["row"]: r for r in result["skipped_rows"]}
    assert set(rows) == {2, 4, 5}
    assert rows[2]["existing_id"] == mine.id and "owned by you" in rows[2]["existing"]
    assert rows[4]["same_as_row"] == 3 and rows[4]["existing_id"] is None
    # a_rep1 may not see a_rep2's customer: no id, only what the page would say.
    assert rows[5]["existing_id"] is None and "A Rep Two" in rows[5]["existing"] and str(theirs.id) not in rows[5]["existing"]
    assert all(r["reason"] for r in rows.values())


def test_date_filters_at_the_ends_of_the_calendar(call: Any, api_org: Org) -> None:
    """The first and last dates a filter can name read as open ends (a 500 before: an instant before year 1)."""
    make_customer(api_org.a_rep1, name="Any time")
    db.session.commit()
    resp = call("GET", f"{BASE}?created_from=0001-01-01&created_to=9999-12-31", api_org.a_rep1)
    assert resp.status_code == 200, resp.get_json()
    assert [c["name"] for c in resp.get_json()["items"]] == ["Any time"]
    resp = call("GET", f"{BASE}?follow_from=0001-01-01&follow_to=9999-12-31", api_org.a_rep1)
    assert resp.status_code == 200 and resp.get_json()["items"] == []  # never followed up
