"""New default permissions and roles of a release reach an existing database once: listed on the Roles
page, granted or declined there (or by `flask crm sync-roles`), never offered again, and nothing an admin
changed is undone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.auth.defaults import DEFAULT_ROLES
from crm.auth.defaults import apply_defaults
from crm.auth.defaults import pending_defaults
from crm.auth.models import Role
from crm.auth.permissions import all_permissions
from crm.core.audit import OperationLog
from crm.extensions import db
from tests.conftest import csrf
from tests.factories import ORDER_PERMISSIONS as ORDERS
from tests.factories import like_before_orders


def _role(key):
    return db.session.scalar(select(Role).where(Role.key == key))


def test_a_fresh_database_has_nothing_pending(org):
    assert pending_defaults() == []
    assert all(set(_role(spec["key"]).offered_permissions) == set(_role(spec["key"]).permission_list)
               for spec in DEFAULT_ROLES)


def test_new_defaults_are_granted_once_and_a_removal_sticks(org):
    like_before_orders(org)
    salesperson = _role("salesperson")
    salesperson.permissions = sorted(set(salesperson.permission_list) - {"customer.lock"})  # the admin's own edit
    db.session.flush()

    pending = {item.key: item for item in pending_defaults()}
    assert pending["salesperson"].permissions == ["order.view", "order.create", "order.cancel"]
    assert pending["finance"].permissions == ["order.view", "order.export"]
    assert pending["logistics"].role is None and pending["logistics"].permissions == ["api.use", "order.view",
                                                                                       "finance.invoice.mail"]
    assert "super_admin" not in pending and "process_owner" not in pending

    apply_defaults(grant=True, actor=org.a_admin)
    salesperson = _role("salesperson")
    assert ORDERS & set(salesperson.permission_list) == {"order.view", "order.create", "order.cancel"}
    assert "customer.lock" not in salesperson.permission_list  # the admin's edit is kept
    assert sorted(_role("logistics").permission_list) == ["api.use", "finance.invoice.mail", "order.view"]
    assert _role("logistics").default_name == "Logistics"
    assert pending_defaults() == []

    # The admin takes order.cancel away again: it is not offered a second time.
    salesperson.permissions = sorted(set(salesperson.permission_list) - {"order.cancel"})
    db.session.flush()
    assert pending_defaults() == []
    apply_defaults(grant=True, actor=org.a_admin)
    assert "order.cancel" not in _role("salesperson").permission_list


def test_declined_defaults_are_recorded_and_missing_roles_still_created(org):
    like_before_orders(org)
    apply_defaults(grant=False, actor=org.a_admin)
    assert not ORDERS & set(_role("salesperson").permission_list)
    assert ORDERS & set(_role("salesperson").offered_permissions) == {"order.view", "order.create", "order.cancel"}
    assert _role("logistics") is not None
    assert pending_defaults() == []


def test_custom_roles_are_left_alone(org):
    custom = Role(key="logistics", name="Our couriers", data_scope=org.roles["warehouse"].data_scope,
                  permissions=["customer.view"])
    db.session.delete(org.roles["logistics"])
    db.session.flush()
    db.session.add(custom)
    db.session.flush()
    assert "logistics" not in {item.key for item in pending_defaults()}
    apply_defaults(grant=True, actor=org.a_admin)
    assert custom.permission_list == ["customer.view"] and custom.offered_permissions == []


def test_the_super_admin_role_list_is_brought_up_to_date_silently(org):
    role = org.roles["super_admin"]
    role.permissions = sorted(set(role.permission_list) - ORDERS)
    db.session.flush()
    assert pending_defaults() == []
    apply_defaults(grant=False, actor=None)
    assert set(role.permission_list) == set(all_permissions())


def test_only_role_managers_may_apply(org):
    from crm.core.errors import PermissionDenied

    like_before_orders(org)
    with pytest.raises(PermissionDenied):
        apply_defaults(grant=True, actor=org.a_manager)
    assert _role("logistics") is None


def test_roles_page_lists_and_grants(org, login_as, client):
    like_before_orders(org)
    admin = login_as(org.a_admin)
    page = admin.get("/admin/roles").get_data(as_text=True)
    assert 'id="new-defaults"' in page
    assert 'data-role-key="logistics"' in page and 'data-role-key="salesperson"' in page

    resp = admin.post("/admin/roles/defaults", data={"action": "grant", "csrf_token": csrf(admin, "/")})
    assert resp.status_code == 302
    assert "order.view" in _role("salesperson").permission_list
    page = admin.get("/admin/roles").get_data(as_text=True)
    assert 'id="new-defaults"' not in page
    entries = db.session.scalars(select(OperationLog).where(OperationLog.object_type == "role",
                                                            OperationLog.object_id == _role("salesperson").id))
    assert any("permissions" in (entry.changes or {}) for entry in entries)  # audited like any role change


def test_roles_page_refuses_a_bad_action_and_other_users(org, login_as):
    like_before_orders(org)
    admin = login_as(org.a_admin)
    resp = admin.post("/admin/roles/defaults", data={"action": "everything", "csrf_token": csrf(admin, "/")})
    assert resp.status_code == 422
    assert _role("logistics") is None
    rep = login_as(org.a_rep1)
    resp = rep.post("/admin/roles/defaults", data={"action": "grant", "csrf_token": csrf(rep, "/")})
    assert resp.status_code == 403
    assert _role("logistics") is None


def test_sync_roles_command(org, app):
    like_before_orders(org)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["crm", "sync-roles", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "new role logistics: api.use, order.view" in dry.output
    assert "salesperson: grant order.view, order.create, order.cancel" in dry.output
    assert _role("logistics") is None

    done = runner.invoke(args=["crm", "sync-roles"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert "order.view" in _role("salesperson").permission_list
    again = runner.invoke(args=["crm", "sync-roles"])
    assert "The roles are up to date." in again.output
