"""Roles admin pages: the permission matrix, create, edit and delete roles; the super admin role is
read-only; role.manage is required."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.auth.models import Role
from crm.auth.permissions import CATALOGUE
from crm.auth.permissions import all_permissions
from crm.extensions import db
from tests.conftest import csrf


@pytest.fixture(autouse=True)
def _saved(org):
    db.session.commit()  # survive the rollback of requests that answer 4xx


def post(client, path, data=None, **kwargs):
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client, "/")}, **kwargs)


def html(resp):
    return resp.get_data(as_text=True)


def field_errors(resp):
    return set(re.findall(r'data-field-error="([^"]+)"', html(resp)))


def matrix_form(roles, **changes):
    """The matrix form as the page submits it, with `changes` (role key -> {"permissions", "data_scope"})."""
    data = {"role": [], "csrf_token": None}
    for role in roles:
        if role.is_system:
            continue
        wanted = changes.get(role.key, {})
        data["role"].append(role.id)
        data[f"scope-{role.id}"] = wanted.get("data_scope", role.data_scope.value)
        data[f"perm-{role.id}"] = wanted.get("permissions", role.permission_list)
    return data


def post_matrix(client, data, **kwargs):
    data = {**data, "csrf_token": csrf(client, "/")}
    return client.post("/admin/roles", data=data, **kwargs)


def all_roles():
    return list(db.session.scalars(select(Role).order_by(Role.id)))


def test_matrix_page(login_as, org):
    page = html(login_as(org.a_admin).get("/admin/roles"))
    for group in CATALOGUE.values():
        assert str(group["label"]) in page
        for perm, label in group["permissions"].items():
            assert f'title="{perm}">{label}</th>' in page  # the key is the label's tooltip, not a second line
    # Grouped and foldable, with headers that stay in sight while the matrix scrolls (issue 25).
    assert page.count('data-bs-toggle="collapse" data-bs-target="#perm-group-') == len(CATALOGUE)
    assert 'class="matrix-scroll' in page and ".matrix thead th, .matrix thead td { position: sticky;" in page
    for role in all_roles():
        assert role.display_name in page
    # super admin: read-only column, no form fields
    super_admin = org.roles["super_admin"]
    assert f'name="role" value="{super_admin.id}"' not in page
    assert f'name="scope-{super_admin.id}"' not in page
    assert f'name="perm-{super_admin.id}"' not in page
    assert f'name="scope-{org.roles["salesperson"].id}"' in page
    # user counts: 5 salespeople in the org fixture
    header = re.search(rf'data-role-id="{org.roles["salesperson"].id}".*?</th>', page, re.S).group(0)
    assert "5 users" in header
    # data scopes with their descriptions
    assert 'id="scope-legend"' in page and "Every record of the user&#39;s store." in page


def test_matrix_requires_role_manage(client, login_as, org):
    default = list(org.roles["salesperson"].permission_list)
    assert client.get("/admin/roles").status_code == 302
    for user in (org.a_rep1, org.hq_manager, org.a_manager):
        client = login_as(user)
        assert client.get("/admin/roles").status_code == 403
        assert client.get("/admin/roles/new").status_code == 403
        assert client.get(f"/admin/roles/{org.roles['salesperson'].id}/edit").status_code == 403
        assert post(client, f"/admin/roles/{org.roles['salesperson'].id}/delete").status_code == 403
        assert post_matrix(client, matrix_form(all_roles(), salesperson={"permissions": ["org.view"]})).status_code == 403
    db.session.expire_all()
    assert org.roles["salesperson"].permission_list == default


def test_matrix_saves_changed_roles(login_as, org):
    client = login_as(org.a_admin)
    before = {r.key: (list(r.permission_list), r.data_scope) for r in all_roles()}
    data = matrix_form(
        all_roles(),
        salesperson={"permissions": ["audit.view", "user.view"]},
        supervisor={"permissions": ["user.view"], "data_scope": "department_tree"},
    )
    resp = post_matrix(client, data, follow_redirects=True)
    assert "The permissions of 2 roles were saved." in html(resp)
    db.session.expire_all()
    assert org.roles["salesperson"].permission_list == ["audit.view", "user.view"]
    assert org.roles["supervisor"].permission_list == ["user.view"]
    assert org.roles["supervisor"].data_scope.value == "department_tree"
    for role in all_roles():
        if role.key not in ("salesperson", "supervisor"):
            assert (role.permission_list, role.data_scope) == before[role.key]
    # A column with every box cleared removes every permission.
    data = matrix_form(all_roles())
    del data[f"perm-{org.roles['salesperson'].id}"]
    post_matrix(client, data)
    db.session.expire_all()
    assert org.roles["salesperson"].permission_list == []
    resp = post_matrix(client, matrix_form(all_roles()), follow_redirects=True)
    assert "Nothing was changed." in html(resp)


def test_matrix_validation_is_all_or_nothing(login_as, org):
    default = list(org.roles["salesperson"].permission_list)
    client = login_as(org.a_admin)
    data = matrix_form(
        all_roles(),
        salesperson={"permissions": ["org.view"]},
        finance={"data_scope": "everywhere"},
        warehouse={"permissions": ["no.such.permission"]},
    )
    resp = post_matrix(client, data)
    assert resp.status_code == 422
    assert field_errors(resp) == {f"data_scope-{org.roles['finance'].id}", f"permissions-{org.roles['warehouse'].id}"}
    # The page shows what was submitted.
    assert re.search(rf'name="perm-{org.roles["salesperson"].id}" value="org.view"[^>]*\s+checked', html(resp))
    db.session.expire_all()
    assert org.roles["salesperson"].permission_list == default
    assert org.roles["finance"].data_scope.value == "store"


def test_matrix_refuses_changes_to_super_admin(login_as, org):
    client = login_as(org.hq_admin)
    super_admin = org.roles["super_admin"]
    before = list(super_admin.permission_list)
    default = list(org.roles["salesperson"].permission_list)
    data = matrix_form(all_roles(), salesperson={"permissions": ["org.view"]})
    resp = post_matrix(client, {**data, f"scope-{super_admin.id}": "self"})
    assert resp.status_code == 403
    resp = post_matrix(client, {**data, "role": [*data["role"], super_admin.id]})  # every box cleared
    assert resp.status_code == 403
    db.session.expire_all()
    assert super_admin.permission_list == before and super_admin.data_scope.value == "all"
    assert org.roles["salesperson"].permission_list == default  # nothing of the refused form was kept
    # Sending the super admin's current values unchanged is not a change.
    same = {**data, f"scope-{super_admin.id}": "all", f"perm-{super_admin.id}": before}
    assert post_matrix(client, same).status_code == 302


def test_matrix_unknown_role_is_404(login_as, org):
    client = login_as(org.a_admin)
    assert post_matrix(client, {"role": [999999]}).status_code == 404


def test_create_role(login_as, org):
    client = login_as(org.a_admin)
    page = html(client.get("/admin/roles/new"))
    assert 'name="data_scope" value="self" id="scope-self"' in page and "checked" in page
    data = {"key": "regional_manager", "name": "Regional manager", "description": "Watches a region",
            "data_scope": "subsidiary", "permissions": ["org.view", "user.view"]}
    resp = post(client, "/admin/roles/new", data, follow_redirects=True)
    assert "The role Regional manager was created." in html(resp)
    role = db.session.scalar(select(Role).where(Role.key == "regional_manager"))
    assert role.permission_list == ["org.view", "user.view"] and role.data_scope.value == "subsidiary"
    assert not role.is_system
    assert "Regional manager" in html(resp)  # a new column of the matrix


def test_create_role_validation(login_as, org):
    client = login_as(org.a_admin)
    count = len(all_roles())
    data = {"key": "Bad Key!", "name": "", "data_scope": "", "permissions": ["org.view", "made.up"], "description": "Typed"}
    resp = post(client, "/admin/roles/new", data)
    assert resp.status_code == 422
    assert field_errors(resp) == {"key", "name", "data_scope", "permissions"}
    assert 'value="Bad Key!"' in html(resp) and ">Typed</textarea>" in html(resp)
    resp = post(client, "/admin/roles/new", {"key": "salesperson", "name": "Again", "data_scope": "self"})
    assert resp.status_code == 422 and field_errors(resp) == {"key"}
    assert "Another role already uses this key." in html(resp)
    assert len(all_roles()) == count


def test_edit_role(login_as, org):
    client = login_as(org.a_admin)
    role = org.roles["warehouse"]
    page = html(client.get(f"/admin/roles/{role.id}/edit"))
    assert 'value="Warehouse"' in page and f"<code>{role.key}</code>" in page
    data = {"name": "Logistics", "description": "", "data_scope": "department", "permissions": ["audit.view"]}
    resp = post(client, f"/admin/roles/{role.id}/edit", data, follow_redirects=True)
    assert "The role Logistics was saved." in html(resp)
    db.session.expire_all()
    assert role.name == "Logistics" and role.data_scope.value == "department" and role.permission_list == ["audit.view"]
    resp = post(client, f"/admin/roles/{role.id}/edit", {**data, "name": ""})
    assert resp.status_code == 422 and field_errors(resp) == {"name"}
    db.session.expire_all()
    assert role.name == "Logistics"


def test_super_admin_role_cannot_be_edited_or_deleted(login_as, org):
    client = login_as(org.hq_admin)
    super_admin = org.roles["super_admin"]
    assert client.get(f"/admin/roles/{super_admin.id}/edit").status_code == 403
    data = {"name": "Root", "data_scope": "self", "permissions": []}
    assert post(client, f"/admin/roles/{super_admin.id}/edit", data).status_code == 403
    assert post(client, f"/admin/roles/{super_admin.id}/delete").status_code == 403
    db.session.expire_all()
    assert super_admin.name == "Super admin" and set(super_admin.permission_list) == set(all_permissions())
    assert client.get("/admin/roles/999999/edit").status_code == 404


def test_delete_role(login_as, org):
    client = login_as(org.a_admin)
    held = org.roles["salesperson"]
    page = html(client.get(f"/admin/roles/{held.id}/edit"))
    assert "5 active users hold this role." in page and 'id="delete"' not in page
    resp = post(client, f"/admin/roles/{held.id}/delete", follow_redirects=True)
    assert "5 users still hold this role; take it from them first." in html(resp)
    assert db.session.get(Role, held.id) is not None
    post(client, "/admin/roles/new", {"key": "temp", "name": "Temporary", "data_scope": "self"})
    temp = db.session.scalar(select(Role).where(Role.key == "temp"))
    assert 'id="delete"' in html(client.get(f"/admin/roles/{temp.id}/edit"))
    resp = post(client, f"/admin/roles/{temp.id}/delete", follow_redirects=True)
    assert "The role Temporary was deleted." in html(resp)
    assert db.session.scalar(select(Role).where(Role.key == "temp")) is None


def test_disabled_holders_also_block_delete(login_as, org):
    client = login_as(org.a_admin)
    post(client, "/admin/roles/new", {"key": "temp", "name": "Temporary", "data_scope": "self"})
    temp = db.session.scalar(select(Role).where(Role.key == "temp"))
    org.c_rep.roles = [*org.c_rep.roles, temp]
    org.c_rep.active = False
    db.session.commit()
    resp = post(client, f"/admin/roles/{temp.id}/delete", follow_redirects=True)
    assert "1 users still hold this role" in html(resp)
    assert db.session.get(Role, temp.id) is not None
