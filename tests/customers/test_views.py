"""Customer pages: list, create with a duplicate, detail, edit conflict, follow-up, team, transfer, lock,
bulk actions, saved views, export, import pages."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from crm.core.clock import utcnow
from crm.customers import imports
from crm.customers.models import Customer
from crm.customers.models import ImportJob
from crm.extensions import db
from tests.conftest import csrf
from tests.factories import Org
from tests.factories import make_customer
from tests.factories import mobile


def test_list_page_with_filters_columns_and_count(client: Any, login_as: Any, org: Org) -> None:
    for i in range(3):
        make_customer(org.a_rep1, name=f"Pallet buyer {i}", level="a" if i else "b")
    make_customer(org.b_rep, name="Store B buyer")
    db.session.commit()
    login_as(org.a_manager)
    page = client.get("/customers").get_data(as_text=True)
    assert "Pallet buyer 0" in page and "Store B buyer" not in page
    assert re.search(r'id="customer-count">\s*3</span>', page)
    page = client.get("/customers?level=a&cols=industry&cols=tags&sort=name&dir=asc").get_data(as_text=True)
    assert "Pallet buyer 0" not in page and page.index("Pallet buyer 1") < page.index("Pallet buyer 2")
    assert "Industry" in page
    bad = client.get("/customers?no_follow_days=abc&created_from=x")
    assert bad.status_code == 422 and "Enter a number of days" in bad.get_data(as_text=True)
    # With a trailing slash too, like /orders/ and /tasks/ (the same page, the same scope).
    for path in ("/customers/", "/customers/leads/"):
        resp = client.get(path)
        assert resp.status_code == 200, path
    assert "Store B buyer" not in client.get("/customers/").get_data(as_text=True)


def test_create_and_duplicate_message(client: Any, login_as: Any, org: Org) -> None:
    login_as(org.a_rep1)
    token = csrf(client, "/customers/new")
    resp = client.post("/customers/new", data={"csrf_token": token, "name": "杭州物流", "mobile": "138 0013 8000",
                                               "level": "a", "tags": "vip, 冷链"})
    assert resp.status_code == 302
    c = db.session.scalar(select(Customer).where(Customer.mobile_norm == "13800138000"))
    assert c.owner_id == org.a_rep1.id and c.tags == ["vip", "冷链"]
    login_as(org.a_rep2)
    resp = client.post("/customers/new", data={"csrf_token": csrf(client, "/customers/new"), "name": "Copy",
                                               "mobile": "+86 13800138000"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "owned by A Rep One" in body and "杭州物流" not in body
    assert f"/customers/{c.id}" not in body
    assert db.session.scalar(select(Customer).where(Customer.name == "Copy")) is None


def test_detail_follow_up_and_timeline(client: Any, login_as: Any, org: Org, app: Any, tmp_path: Any) -> None:
    app.config["TASK_ATTACHMENT_DIR"] = str(tmp_path)
    c = make_customer(org.a_rep1, name="Timeline Co")
    db.session.commit()
    login_as(org.a_rep1)
    token = csrf(client, f"/customers/{c.id}")
    resp = client.post(f"/customers/{c.id}/follow-ups", data={
        "csrf_token": token, "kind": "visit", "content": "Visited the warehouse",
        "next_contact_at": (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "attachments": (io.BytesIO(b"notes"), "notes.txt")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    page = client.get(f"/customers/{c.id}").get_data(as_text=True)
    assert "Visited the warehouse" in page and "Follow-up recorded" in page and "notes.txt" in page
    resp = client.post(f"/customers/{c.id}/follow-ups", data={"csrf_token": token, "kind": "phone", "content": ""})
    assert resp.status_code == 422 and "This field is required" in resp.get_data(as_text=True)
    fid = re.search(r"/follow-ups/(\d+)/files/0", page).group(1)
    with client.get(f"/customers/{c.id}/follow-ups/{fid}/files/0") as download:
        assert download.data == b"notes"
    assert client.get(f"/customers/{c.id}/follow-ups/{fid}/files/5").status_code == 404
    assert "Timeline Co" in client.get("/customers/follow-up").get_data(as_text=True)
    app.config["TASK_ATTACHMENT_DIR"] = None


def test_edit_conflict_keeps_the_other_change(client: Any, login_as: Any, org: Org) -> None:
    c = make_customer(org.a_rep1, name="Before")
    db.session.commit()
    login_as(org.a_rep1)
    form = client.get(f"/customers/{c.id}/edit").get_data(as_text=True)
    version = re.search(r'name="lock_version" value="(\d+)"', form).group(1)
    token = csrf(client, f"/customers/{c.id}/edit")
    ok = client.post(f"/customers/{c.id}/edit", data={"csrf_token": token, "name": "First", "mobile": c.mobile,
                                                       "lock_version": version})
    assert ok.status_code == 302
    late = client.post(f"/customers/{c.id}/edit", data={"csrf_token": token, "name": "Second", "mobile": c.mobile,
                                                         "lock_version": version})
    assert late.status_code == 409 and "changed by someone else" in late.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Customer, c.id).name == "First"


def test_team_transfer_lock_pages(client: Any, login_as: Any, org: Org) -> None:
    c = make_customer(org.a_rep1)
    db.session.commit()
    login_as(org.a_rep1)
    token = csrf(client, f"/customers/{c.id}")
    assert client.post(f"/customers/{c.id}/team", data={"csrf_token": token, "user_id": org.a_rep2.id,
                                                         "access": "read"}).status_code == 302
    assert client.post(f"/customers/{c.id}/team", data={"csrf_token": token, "user_id": org.b_rep.id,
                                                         "access": "read"}).status_code == 422
    assert client.post(f"/customers/{c.id}/lock", data={"csrf_token": token, "locked": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, c.id).locked
    login_as(org.a_rep2)
    assert client.get(f"/customers/{c.id}").status_code == 200  # team member reads
    assert client.get(f"/customers/{c.id}/edit").status_code == 403  # read-only
    login_as(org.a_sup)
    token = csrf(client, f"/customers/{c.id}")
    resp = client.post(f"/customers/{c.id}/transfer", data={"csrf_token": token, "to_user_id": org.a_rep3.id,
                                                             "with_contacts": "1", "keep_old_owner": "1"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, c.id).owner_id == org.a_rep3.id
    login_as(org.b_manager)
    assert client.get(f"/customers/{c.id}").status_code == 404


def test_bulk_actions_saved_view_and_export(client: Any, login_as: Any, org: Org) -> None:
    a, b = make_customer(org.a_rep1, name="Bulk A"), make_customer(org.a_rep1, name="Bulk B")
    other = make_customer(org.b_rep, name="Other store")
    db.session.commit()
    login_as(org.a_manager)
    token = csrf(client, "/customers")
    resp = client.post("/customers/bulk", data={"csrf_token": token, "action": "transfer", "to_user_id": org.a_rep2.id,
                                                "ids": [a.id, b.id, other.id]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert {db.session.get(Customer, i).owner_id for i in (a.id, b.id)} == {org.a_rep2.id}
    assert db.session.get(Customer, other.id).owner_id == org.b_rep.id
    client.post("/customers/bulk", data={"csrf_token": token, "action": "pool", "reason": "Dormant", "ids": [a.id]})
    db.session.expire_all()
    assert db.session.get(Customer, a.id).owner_id is None
    resp = client.post("/customers/views", data={"csrf_token": token, "name": "Pool", "query": "owner=pool",
                                                 "cols": ["tags"]})
    view_id = re.search(r"view_id=(\d+)", resp.headers["Location"]).group(1)
    opened = client.get(f"/customers?view_id={view_id}")
    assert opened.status_code == 302 and "owner=pool" in opened.headers["Location"]
    page = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert "Bulk A" in page and "Bulk B" not in page
    export = client.get("/customers/export?format=csv")
    assert export.status_code == 200 and b"Bulk B" in export.data and b"Other store" not in export.data
    login_as(org.b_manager)
    assert client.get(f"/customers?view_id={view_id}").status_code == 404


def test_import_pages(client: Any, login_as: Any, org: Org, app: Any, tmp_path: Any) -> None:
    app.config["TASK_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        login_as(org.a_manager)
        token = csrf(client, "/customers/import")
        data = b"name,mobile\nGood,13800000021\n,13800000022\n"
        resp = client.post("/customers/import", data={"csrf_token": token, "file": (io.BytesIO(data), "c.csv")},
                           content_type="multipart/form-data")
        assert resp.status_code == 302
        job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
        page = client.get(f"/customers/import/{job_id}").get_data(as_text=True)
        assert "Good" in page
        resp = client.post(f"/customers/import/{job_id}", data={"csrf_token": token, "map_name": "0", "map_mobile": "1",
                                                                 "on_duplicate": "skip", "default_owner_id": "pool"})
        assert resp.status_code == 302
        imports.run_imports()
        status = client.get(f"/customers/import/{job_id}/status", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert 'data-status="done"' in status and 'id="n-created">1<' in status
        report = client.get(f"/customers/import/{job_id}/errors.csv").data.decode("utf-8-sig")
        assert "3" in report and "Name" in report
        login_as(org.b_manager)
        assert client.get(f"/customers/import/{job_id}/status").status_code == 404  # another store
    finally:
        app.config["TASK_ATTACHMENT_DIR"] = None
    assert db.session.get(ImportJob, job_id) is not None
    assert mobile()


def test_merge_page(client: Any, login_as: Any, org: Org) -> None:
    target = make_customer(org.a_rep1, name="Keep me", mobile="13800000031")
    source = make_customer(org.a_rep2, name="Fold me", mobile="", chat_id="fold_me")
    hidden = make_customer(org.b_rep, name="Other store")
    db.session.commit()
    login_as(org.a_manager)
    page = client.get(f"/customers/{target.id}/merge")
    assert page.status_code == 200
    token = csrf(client, f"/customers/{target.id}/merge")
    resp = client.post(f"/customers/{target.id}/merge", data={"csrf_token": token, "source_id": hidden.id})
    assert resp.status_code == 422 and "Other store" not in resp.get_data(as_text=True)
    resp = client.post(f"/customers/{target.id}/merge", data={"csrf_token": token, "source_id": "abc"})
    assert resp.status_code == 422
    resp = client.post(f"/customers/{target.id}/merge", data={"csrf_token": token, "source_id": source.id})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, source.id) is None
    assert db.session.get(Customer, target.id).chat_id_norm == "fold_me"
    page = client.get(f"/customers/{target.id}").get_data(as_text=True)
    assert "Merged with a duplicate" in page and "Fold me" in page
    login_as(org.a_rep1)
    assert client.get(f"/customers/{target.id}/merge").status_code == 403


def test_cross_store_duplicates_report(client: Any, login_as: Any, org: Org) -> None:
    make_customer(org.a_rep1, name="Shared in A", mobile="13800000041")
    make_customer(org.b_rep, name="Shared in B", mobile="138 0000 0041")
    make_customer(org.c_rep, name="Shared in C", mobile="13800000041")
    make_customer(org.a_rep1, name="Only in A", mobile="13800000042")
    db.session.commit()
    login_as(org.hq_admin)
    page = client.get("/customers/duplicates").get_data(as_text=True)
    assert "Shared in A" in page and "Shared in B" in page and "Shared in C" in page and "Only in A" not in page
    login_as(org.east_manager)  # sees stores A and B only; lacks customer.merge by default
    assert client.get("/customers/duplicates").status_code == 403
    from crm.customers import queries as q

    groups, _next = q.cross_store_duplicates(org.east_manager, "mobile", None)
    assert [(k, sorted(c.name for c in cs)) for k, cs in groups] == [("13800000041", ["Shared in A", "Shared in B"])]
    login_as(org.a_manager)  # one store: nothing crosses
    assert "Shared in B" not in client.get("/customers/duplicates").get_data(as_text=True)


def test_import_mapping_page_lists_duplicates_with_a_choice_each(client: Any, login_as: Any, org: Org, app: Any,
                                                                tmp_path: Any) -> None:
    app.config["TASK_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        existing = make_customer(org.a_rep1, name="Already here", mobile="13800000081")
        db.session.commit()
        login_as(org.a_manager)
        token = csrf(client, "/customers/import")
        data = "姓名,电话\nAgain,13800000081\nFresh,13800000082\n".encode()
        resp = client.post("/customers/import", data={"csrf_token": token, "file": (io.BytesIO(data), "d.csv")},
                           content_type="multipart/form-data")
        job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
        page = client.get(f"/customers/import/{job_id}").get_data(as_text=True)
        assert 'id="duplicate-rows"' in page and 'name="row_2"' in page and "Already here" in page
        check = client.post(f"/customers/import/{job_id}", data={"csrf_token": token, "step": "check",
                                                                  "map_name": "0", "map_mobile": "1"})
        assert check.status_code == 302
        start = client.post(f"/customers/import/{job_id}", data={
            "csrf_token": token, "map_name": "0", "map_mobile": "1", "on_duplicate": "skip", "row_2": "update",
            "default_owner_id": "pool"})
        assert start.status_code == 302
        imports.run_imports()
        db.session.expire_all()
        assert db.session.get(Customer, existing.id).name == "Again"
    finally:
        app.config["TASK_ATTACHMENT_DIR"] = None
