"""User admin pages: filtered keyset list, create, profile + history, edit, disable with transfer, enable,
password reset; scope isolation and the permission matrix."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.services import verify_password
from crm.core import ownership
from crm.extensions import db
from crm.org.models import User
from tests import factories
from tests.conftest import csrf
from tests.conftest import field_errors
from tests.conftest import html
from tests.conftest import options
from tests.conftest import post


@pytest.fixture(autouse=True)
def _saved(org):
    db.session.commit()  # survive the rollback of requests that answer 4xx (see tests/org/test_views.py)


def user_count():
    return db.session.scalar(select(func.count()).select_from(User))


def listed(resp):
    """Names in the user table, in page order."""
    return re.findall(r'<a href="/admin/users/\d+" class="fw-semibold">([^<]+)</a>', html(resp))


NEW_USER = {
    "name": "New Rep",
    "mobile": "138 0013 8000",
    "email": "New.Rep@Example.com",
    "gender": "female",
    "position": "Sales",
}


# List -----------------------------------------------------------------------------------------------------
def test_list_is_scoped_to_the_store(login_as, org):
    names = listed(login_as(org.a_admin).get("/admin/users"))
    assert set(names) == {"A Manager", "A Supervisor", "A Rep One", "A Rep Two", "A Rep Three", "A Admin"}
    assert names == sorted(names)
    names = listed(login_as(org.hq_admin).get("/admin/users"))
    assert "B Rep" in names and "HQ Admin" in names and len(names) == 15


def test_filters(login_as, org):
    client = login_as(org.hq_admin)
    assert listed(client.get("/admin/users?q=rep ONE")) == ["A Rep One"]
    assert listed(client.get(f"/admin/users?q={org.b_rep.mobile[-6:]}")) == ["B Rep"]
    assert listed(client.get("/admin/users?q=%25")) == []  # LIKE wildcards are matched literally
    assert set(listed(client.get(f"/admin/users?unit_id={org.a_sales.id}"))) == {
        "A Supervisor", "A Rep One", "A Rep Two", "A Rep Three"
    }
    supervisor_role = org.roles["supervisor"].id
    assert listed(client.get(f"/admin/users?role_id={supervisor_role}")) == ["A Supervisor", "B Supervisor"]
    org.c_rep.active = False
    db.session.commit()
    assert "C Rep" not in listed(client.get("/admin/users"))
    assert listed(client.get("/admin/users?active=no")) == ["C Rep"]
    assert "C Rep" in listed(client.get("/admin/users?active=all"))
    resp = client.get("/admin/users?q=nobody-has-this")
    assert "No users match these filters" in html(resp)
    # Junk in the filters is ignored rather than failing.
    assert client.get("/admin/users?role_id=abc&active=maybe").status_code == 200


def test_unit_filter_of_another_store_is_404(login_as, org):
    client = login_as(org.a_admin)
    assert client.get(f"/admin/users?unit_id={org.b_sales.id}").status_code == 404
    labels = [label.strip("\u2003") for _v, label in options(client.get("/admin/users"), "unit_id")]
    assert labels == ["All units", "Store A", "A Sales", "A Sales Sub"]


def test_keyset_pages(app, login_as, org, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 4)
    client = login_as(org.hq_admin)
    seen, url = [], "/admin/users"
    while url:
        resp = client.get(url)
        names = listed(resp)
        assert 0 < len(names) <= 4
        seen += names
        match = re.search(r'href="([^"]+)" id="next-page"', html(resp))
        url = match.group(1).replace("&amp;", "&") if match else None
    assert len(seen) == 15 and len(set(seen)) == 15 and seen == sorted(seen)
    assert client.get("/admin/users?cursor=garbage").status_code == 422


def test_list_has_no_query_per_row(app, login_as, org):
    client = login_as(org.hq_admin)

    def count_queries():
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/admin/users").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    few = count_queries()
    for i in range(10):
        factories.UserFactory(name=f"Extra {i}", unit=[org.a_sales, org.b_sales, org.c_sales][i % 3],
                              roles=[org.roles["salesperson"]], supervisor=None)
    db.session.commit()
    assert count_queries() == few


def test_list_permissions_and_empty_state(client, login_as, org):
    assert client.get("/admin/users").status_code == 302
    assert login_as(org.a_rep1).get("/admin/users").status_code == 403
    client = login_as(org.a_sup)  # user.view, self and subordinates
    resp = client.get("/admin/users")
    assert set(listed(resp)) == {"A Supervisor", "A Rep One", "A Rep Two", "A Rep Three"}
    assert 'id="new-user"' not in html(resp)
    assert "No users match these filters" in html(client.get("/admin/users?q=zzz"))


# Create -----------------------------------------------------------------------------------------------
def test_create_user(login_as, org):
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/new?org_unit_id={org.a_sales.id}")
    assert re.search(rf'<option value="{org.a_sales.id}"\s+selected>', html(resp))
    data = {**NEW_USER, "org_unit_id": org.a_sales.id, "supervisor_id": org.a_sup.id,
            "role_ids": [org.roles["salesperson"].id, org.roles["supervisor"].id], "password": "Start#2026"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 302, html(resp)
    user = db.session.scalar(select(User).where(User.mobile == "13800138000"))
    assert resp.headers["Location"].endswith(f"/admin/users/{user.id}")
    assert user.email == "new.rep@example.com" and user.gender.value == "female"
    assert user.store_id == org.store_a.id and user.supervisor_id == org.a_sup.id
    assert sorted(r.key for r in user.roles) == ["salesperson", "supervisor"]
    assert verify_password(user.password_hash, "Start#2026")
    page = html(client.get(resp.headers["Location"]))
    assert "The user New Rep was created." in page and 'id="timeline"' in page


def test_create_user_validation_keeps_input_and_writes_nothing(login_as, org):
    client = login_as(org.a_admin)
    before = user_count()
    data = {"name": "", "mobile": "12345", "email": "not-an-email", "position": "Typed position",
            "org_unit_id": "", "role_ids": [org.roles["salesperson"].id], "password": "short"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 422
    assert field_errors(resp) == {"name", "mobile", "email", "org_unit_id", "password"}
    page = html(resp)
    assert 'value="Typed position"' in page and 'value="not-an-email"' in page
    assert re.search(rf'value="{org.roles["salesperson"].id}"[^>]*\s+checked', page)
    assert 'value="short"' not in page  # passwords are never echoed
    assert user_count() == before


def test_create_user_duplicate_mobile(login_as, org):
    client = login_as(org.a_admin)
    data = {**NEW_USER, "mobile": org.b_rep.mobile, "org_unit_id": org.a_sales.id, "password": "Start#2026"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 422 and field_errors(resp) == {"mobile"}
    assert "Another user already has this mobile number." in html(resp)


def test_create_user_outside_scope_is_refused(login_as, org):
    client = login_as(org.a_admin)
    before = user_count()
    data = {**NEW_USER, "org_unit_id": org.b_sales.id, "supervisor_id": org.b_sup.id, "password": "Start#2026"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 422 and field_errors(resp) == {"org_unit_id", "supervisor_id"}
    assert user_count() == before
    # Neither is offered in the form.
    resp = client.get("/admin/users/new")
    assert str(org.b_sales.id) not in {v for v, _l in options(resp, "org_unit_id")}
    assert str(org.b_sup.id) not in {v for v, _l in options(resp, "supervisor_id")}


def test_only_super_admin_grants_super_admin(login_as, org):
    client = login_as(org.a_admin)
    super_admin = org.roles["super_admin"].id
    assert f'name="role_ids" value="{super_admin}"' not in html(client.get("/admin/users/new"))
    data = {**NEW_USER, "org_unit_id": org.a_sales.id, "role_ids": [super_admin], "password": "Start#2026"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 422 and field_errors(resp) == {"role_ids"}
    client = login_as(org.hq_admin)
    assert f'name="role_ids" value="{super_admin}"' in html(client.get("/admin/users/new"))


# Detail, edit -------------------------------------------------------------------------------------------
def test_profile(login_as, org):
    page = html(login_as(org.a_admin).get(f"/admin/users/{org.a_sup.id}"))
    assert "A Supervisor" in page and org.a_sup.mobile in page
    assert f'href="/admin/users/{org.a_manager.id}">A Manager</a>' in page  # supervisor, linked
    subordinates = page[page.index('id="subordinates"'):]
    assert "A Rep One" in subordinates and "A Rep Two" in subordinates
    assert "Data scope: Own and subordinates&#39; records" in page
    assert 'id="timeline"' in page
    page = html(login_as(org.a_admin).get(f"/admin/users/{org.a_manager.id}"))
    assert "East Manager" in page and f'href="/admin/users/{org.east_manager.id}"' not in page  # out of scope: no link
    assert 'id="no-subordinates"' not in page
    assert 'id="no-subordinates"' in html(login_as(org.a_admin).get(f"/admin/users/{org.a_rep2.id}"))


def test_other_stores_users_answer_404(login_as, org):
    client = login_as(org.a_admin)
    for user in (org.b_rep, org.b_manager, org.east_manager, org.hq_admin):
        assert client.get(f"/admin/users/{user.id}").status_code == 404
        assert client.get(f"/admin/users/{user.id}/edit").status_code == 404
        assert client.get(f"/admin/users/{user.id}/disable").status_code == 404
        assert client.get(f"/admin/users/{user.id}/reset-password").status_code == 404
        assert post(client, f"/admin/users/{user.id}/edit", {"name": "Mine"}).status_code == 404
        assert post(client, f"/admin/users/{user.id}/disable").status_code == 404
        assert post(client, f"/admin/users/{user.id}/enable").status_code == 404
        assert post(client, f"/admin/users/{user.id}/reset-password", {"password": "Taken#2026", "confirm_password": "Taken#2026"}).status_code == 404
    db.session.expire_all()
    assert org.b_rep.active and org.b_rep.name == "B Rep"
    assert verify_password(org.b_rep.password_hash, factories.PASSWORD)


def test_edit_user_and_history(login_as, org):
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/{org.a_rep2.id}/edit")
    assert 'value="A Rep Two"' in html(resp)
    data = {"name": "A Rep Two", "mobile": org.a_rep2.mobile, "email": "", "gender": "male", "position": "Senior",
            "org_unit_id": org.a_sales_sub.id, "supervisor_id": org.a_rep1.id,
            "role_ids": [org.roles["salesperson"].id, org.roles["finance"].id]}
    resp = post(client, f"/admin/users/{org.a_rep2.id}/edit", data)
    assert resp.status_code == 302, html(resp)
    db.session.expire_all()
    assert org.a_rep2.position == "Senior" and org.a_rep2.email is None
    assert org.a_rep2.org_unit_id == org.a_sales_sub.id and org.a_rep2.supervisor_id == org.a_rep1.id
    assert sorted(r.key for r in org.a_rep2.roles) == ["finance", "salesperson"]
    page = html(client.get(f"/admin/users/{org.a_rep2.id}"))
    timeline = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('id="timeline"'):]))
    assert "Roles changed" in timeline and "finance, salesperson" in timeline
    assert "Position Staff → Senior" in timeline
    assert "Org unit A Sales → A Sales Sub" in timeline
    assert "Gender Not specified → Male" in timeline


def test_edit_user_validation_writes_nothing(login_as, org):
    client = login_as(org.a_admin)
    data = {"name": "Changed", "mobile": "not a number", "org_unit_id": org.b_sales.id, "supervisor_id": org.a_rep3.id}
    resp = post(client, f"/admin/users/{org.a_rep1.id}/edit", data)
    assert resp.status_code == 422
    # a_rep3 reports to a_rep1: choosing them is a cycle
    assert field_errors(resp) == {"mobile", "org_unit_id", "supervisor_id"}
    assert 'value="Changed"' in html(resp)
    db.session.expire_all()
    assert org.a_rep1.name == "A Rep One" and org.a_rep1.org_unit_id == org.a_sales.id


def test_edit_keeps_a_supervisor_outside_the_scope(login_as, org):
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/{org.a_manager.id}/edit")
    assert (str(org.east_manager.id), "East Manager") in options(resp, "supervisor_id")
    data = {"name": "A Manager", "mobile": org.a_manager.mobile, "org_unit_id": org.store_a.id,
            "supervisor_id": org.east_manager.id, "role_ids": [org.roles["store_manager"].id], "position": "Boss"}
    assert post(client, f"/admin/users/{org.a_manager.id}/edit", data).status_code == 302
    db.session.expire_all()
    assert org.a_manager.supervisor_id == org.east_manager.id and org.a_manager.position == "Boss"


def test_super_admin_accounts_are_protected(login_as, org):
    hq_it = factories.UserFactory(name="HQ IT", unit=org.hq, roles=[org.roles["admin"]])
    db.session.commit()
    client = login_as(hq_it)
    assert client.get(f"/admin/users/{org.hq_admin.id}").status_code == 200
    assert 'id="edit-user"' not in html(client.get(f"/admin/users/{org.hq_admin.id}"))
    assert client.get(f"/admin/users/{org.hq_admin.id}/edit").status_code == 403
    assert post(client, f"/admin/users/{org.hq_admin.id}/reset-password", {"password": "Taken#2026", "confirm_password": "Taken#2026"}).status_code == 403
    assert post(client, f"/admin/users/{org.hq_admin.id}/disable").status_code == 403
    assert client.get(f"/admin/users/{org.hq_manager.id}/edit").status_code == 200
    db.session.expire_all()
    assert org.hq_admin.active and verify_password(org.hq_admin.password_hash, factories.PASSWORD)


def test_manage_permission_required(login_as, org):
    client = login_as(org.a_sup)  # user.view only
    assert client.get(f"/admin/users/{org.a_rep1.id}").status_code == 200
    assert 'id="edit-user"' not in html(client.get(f"/admin/users/{org.a_rep1.id}"))
    assert client.get("/admin/users/new").status_code == 403
    assert client.get(f"/admin/users/{org.a_rep1.id}/edit").status_code == 403
    assert post(client, f"/admin/users/{org.a_rep1.id}/disable").status_code == 403
    assert post(client, f"/admin/users/{org.a_rep1.id}/enable").status_code == 403
    assert client.get(f"/admin/users/{org.a_rep1.id}/reset-password").status_code == 403


# Disable, enable, reset password -----------------------------------------------------------------------
@pytest.fixture
def team_as_records(monkeypatch):
    """Stand-in for a business context: count a user's direct reports as records they own."""
    monkeypatch.setattr(ownership, "_registry", [])
    ownership.register_owned(User, "Team members", owner_column="supervisor_id")


def test_disable_with_transfer(login_as, org, team_as_records):
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/{org.a_sup.id}/disable")
    page = html(resp)
    counts = page[page.index('id="owned-counts"'):]
    assert re.search(r"Team members</th><td[^>]*>2</td>", counts)
    choices = {label.split(" · ")[0] for v, label in options(resp, "transfer_to_id") if v}
    assert choices == {"A Manager", "A Rep One", "A Rep Two", "A Rep Three", "A Admin"}  # same store, not self
    resp = post(client, f"/admin/users/{org.a_sup.id}/disable")
    assert resp.status_code == 422 and field_errors(resp) == {"transfer_to_id"}
    resp = post(client, f"/admin/users/{org.a_sup.id}/disable", {"transfer_to_id": org.a_manager.id}, follow_redirects=True)
    assert "A Supervisor was disabled; 2 records moved to A Manager." in html(resp)
    db.session.expire_all()
    assert not org.a_sup.active
    assert org.a_rep1.supervisor_id == org.a_rep2.supervisor_id == org.a_manager.id
    timeline = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(resp)[html(resp).index('id="timeline"'):]))
    disabled = timeline[timeline.index("Disabled"):][:120]  # the newest entry (JSONB may reorder its fields)
    assert "Records transferred to A Manager" in disabled and "Records moved 2" in disabled


def test_disable_transfer_target_must_be_in_the_store(login_as, org, team_as_records):
    client = login_as(org.hq_admin)
    resp = post(client, f"/admin/users/{org.a_sup.id}/disable", {"transfer_to_id": org.b_rep.id})
    assert resp.status_code == 422 and "Records can only move to a user of the same store." in html(resp)
    client = login_as(org.a_admin)
    resp = post(client, f"/admin/users/{org.a_sup.id}/disable", {"transfer_to_id": org.b_rep.id})
    assert resp.status_code == 422 and field_errors(resp) == {"transfer_to_id"}
    db.session.expire_all()
    assert org.a_sup.active and org.a_rep1.supervisor_id == org.a_sup.id


def test_disable_without_records_then_enable(login_as, org):
    client = login_as(org.a_admin)
    page = html(client.get(f"/admin/users/{org.a_rep2.id}/disable"))
    assert 'id="owns-nothing"' in page
    resp = post(client, f"/admin/users/{org.a_rep2.id}/disable", {"transfer_to_id": ""}, follow_redirects=True)
    assert "A Rep Two was disabled and can no longer sign in." in html(resp)
    db.session.expire_all()
    assert not org.a_rep2.active
    # A disabled user's session ends at once.
    assert login_as(org.a_rep2).get("/").status_code == 302
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/{org.a_rep2.id}/disable", follow_redirects=True)
    assert "A Rep Two is already disabled." in html(resp)
    resp = post(client, f"/admin/users/{org.a_rep2.id}/enable", follow_redirects=True)
    assert "A Rep Two can sign in again." in html(resp)
    assert "Enabled again" in html(resp)
    db.session.expire_all()
    assert org.a_rep2.active
    resp = post(client, f"/admin/users/{org.a_rep2.id}/enable", follow_redirects=True)
    assert "This user is already active." in html(resp)


def test_cannot_disable_oneself(login_as, org):
    client = login_as(org.a_admin)
    assert 'id="self-disable"' in html(client.get(f"/admin/users/{org.a_admin.id}/disable"))
    resp = post(client, f"/admin/users/{org.a_admin.id}/disable", follow_redirects=True)
    assert "You cannot disable your own account." in html(resp)
    db.session.expire_all()
    assert org.a_admin.active


def test_reset_password(login_as, org):
    client = login_as(org.a_admin)
    assert client.get(f"/admin/users/{org.a_rep1.id}/reset-password").status_code == 200
    resp = post(client, f"/admin/users/{org.a_rep1.id}/reset-password", {"password": "short", "confirm_password": "short"})
    assert resp.status_code == 422 and field_errors(resp) == {"password"}
    resp = post(client, f"/admin/users/{org.a_rep1.id}/reset-password", {"password": "Fresh#2026", "confirm_password": "Fresh#2027"})
    assert resp.status_code == 422 and field_errors(resp) == {"confirm_password"}
    db.session.expire_all()
    assert verify_password(org.a_rep1.password_hash, factories.PASSWORD)
    resp = post(client, f"/admin/users/{org.a_rep1.id}/reset-password",
                {"password": "Fresh#2026", "confirm_password": "Fresh#2026"}, follow_redirects=True)
    assert "The password of A Rep One was reset" in html(resp)
    assert "Password reset by an administrator" in html(resp)
    db.session.expire_all()
    assert verify_password(org.a_rep1.password_hash, "Fresh#2026")
    # Own password: the account page, which asks for the current one.
    resp = client.get(f"/admin/users/{org.a_admin.id}/reset-password")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")


def test_csrf_is_required(login_as, org):
    client = login_as(org.a_admin)
    csrf(client, "/")
    resp = client.post(f"/admin/users/{org.a_rep1.id}/enable")
    assert resp.status_code == 400
