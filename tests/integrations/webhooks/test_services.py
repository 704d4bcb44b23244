"""Registering endpoints: the input is checked field by field, a store outside the admin's scope is refused,
the URL must be HTTPS to a public address (SSRF), the secret is new on creation and on rotation; only the
holders of `integration.webhooks.manage` (the admin roles) manage them."""

from __future__ import annotations

import pytest

from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.integrations.webhooks import services
from tests.integrations.webhooks.conftest import PUBLIC_URL
from tests.integrations.webhooks.conftest import endpoint


def refused(actor, **data) -> set[str]:
    values = {"name": "ERP", "url": PUBLIC_URL, "events": ["customer.created"], **data}
    with pytest.raises(ValidationFailed) as exc:
        services.create_endpoint(values, actor=actor)
    db.session.rollback()
    return set(exc.value.errors)


def test_the_admin_roles_hold_the_permission(org):
    assert org.hq_admin.can(services.PERMISSION) and org.a_admin.can(services.PERMISSION)
    assert not org.a_manager.can(services.PERMISSION) and not org.hq_manager.can(services.PERMISSION)
    with pytest.raises(PermissionDenied):
        services.create_endpoint({"name": "x", "url": PUBLIC_URL, "events": ["customer.created"]}, actor=org.a_manager)


def test_every_field_is_checked(org):
    assert refused(org.hq_admin, name="", url="ftp://x.example.com", events=[]) == {"name", "url", "events"}
    assert refused(org.hq_admin, events=["order.deleted"]) == {"events"}
    assert refused(org.hq_admin, url="https://user:pw@93.184.216.34/") == {"url"}
    assert refused(org.hq_admin, store_id="abc") == {"store_id"}


@pytest.mark.parametrize("url", ["http://93.184.216.34/hook", "https://127.0.0.1/hook", "https://localhost/x",
                                 "https://10.1.2.3/hook", "https://192.168.1.10/hook", "https://169.254.169.254/latest",
                                 "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://0.0.0.0/hook",
                                 "http://localhost:8000/hook", "https://no-such-host.invalid/hook"])
def test_only_https_to_public_addresses_in_production_config(org, url):
    assert refused(org.hq_admin, url=url) == {"url"}


def test_localhost_over_http_and_private_addresses_where_the_configuration_allows(org, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP_LOCALHOST", True)
    assert refused(org.hq_admin, url="http://localhost:8000/hook") == {"url"}  # still a loopback address
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", True)
    hook, _secret = endpoint(org.hq_admin, url="http://localhost:8000/hook")
    assert hook.url == "http://localhost:8000/hook"
    assert refused(org.hq_admin, url="http://10.1.2.3/hook") == {"url"}  # plain HTTP: localhost only


def test_a_store_outside_the_admins_scope_is_refused(org):
    assert refused(org.a_admin, store_id=org.store_b.id) == {"store_id"}
    assert refused(org.a_admin, store_id=org.east.id) == {"store_id"}  # not a store
    hook, _secret = endpoint(org.a_admin)  # "every store" of a store admin: their store
    assert (hook.unit_id, hook.store_id) == (org.store_a.id, org.store_a.id)


def test_another_scopes_endpoint_is_not_found(org):
    hook, _secret = endpoint(org.hq_admin, store=org.store_b)
    for action in (lambda: services.get_endpoint(hook.id, org.a_admin),
                   lambda: services.update_endpoint(hook.id, {"name": "x"}, actor=org.a_admin),
                   lambda: services.rotate_secret(hook.id, actor=org.a_admin),
                   lambda: services.delete_endpoint(hook.id, actor=org.a_admin)):
        with pytest.raises(NotFound):
            action()
    services.publish("customer.created", {"customer_id": 1}, store_id=org.store_b.id)
    db.session.commit()
    [delivery] = services_deliveries(hook)
    with pytest.raises(NotFound):
        services.resend(delivery.id, actor=org.a_admin)


def services_deliveries(hook):
    from tests.integrations.webhooks.conftest import deliveries

    return deliveries(hook)


def test_secrets_are_new_each_time_and_kept_out_of_the_operation_log(org):
    hook, first = endpoint(org.hq_admin, store=org.store_a)
    _same, second = services.rotate_secret(hook.id, actor=org.hq_admin)
    db.session.commit()
    assert first.startswith("whsec_") and len(first) > 40 and first != second == hook.secret
    from crm.core.audit import timeline

    entries = timeline(db.session, "webhook_endpoint", hook.id)
    assert entries  # the creation is logged, without the secret
    logged = repr(entries)
    assert first not in logged and second not in logged and "secret" not in logged


def test_update_changes_only_what_is_sent_and_delete_takes_the_deliveries(org):
    hook, _secret = endpoint(org.hq_admin, store=org.store_a, events=["customer.created", "task.created"])
    services.update_endpoint(hook.id, {"name": "Warehouse"}, actor=org.hq_admin)
    assert (hook.name, hook.events, hook.store_id) == ("Warehouse", ["customer.created", "task.created"], org.store_a.id)
    services.update_endpoint(hook.id, {"store_id": None}, actor=org.hq_admin)
    assert (hook.unit_id, hook.store_id) == (org.hq.id, None)
    services.publish("customer.created", {"customer_id": 1}, store_id=org.store_c.id)
    services.send_test(hook.id, actor=org.hq_admin)
    db.session.commit()
    assert len(services_deliveries(hook)) == 2
    services.delete_endpoint(hook.id, actor=org.hq_admin)
    db.session.commit()
    assert services_deliveries(hook) == []
