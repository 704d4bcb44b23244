"""factory-boy factories, a standard org tree and the other object builders of the tests.

Org units and users are created through `crm.org.services`, so factories obey the same invariants
(paths, cached store ids, supervisor rules) as the pages do; customers through `crm.customers.services`."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from itertools import count
from typing import Any

import factory

from crm.auth.services import hash_password
from crm.customers import services as customer_services
from crm.customers.models import Customer
from crm.extensions import db
from crm.org import services
from crm.org.models import OrgUnit
from crm.org.models import User

PASSWORD = "Secret#123"
_SYSTEM = User(id=0, name="system")


class OrgUnitFactory(factory.Factory):
    class Meta:
        model = dict

    kind = "department"
    name = factory.Sequence(lambda n: f"Unit {n}")
    code = factory.Sequence(lambda n: f"U{n:04d}")
    parent_id = None
    platform = None
    shop_name = None

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> OrgUnit:
        parent = kwargs.pop("parent", None)
        if parent is not None:
            kwargs["parent_id"] = parent.id
        if kwargs["kind"] == "store":
            kwargs.setdefault("platform", "tmall")
            kwargs["platform"] = kwargs["platform"] or "tmall"
            kwargs["shop_name"] = kwargs["shop_name"] or f"{kwargs['name']} shop"
        return services.create_unit(kwargs, actor=_SYSTEM)


_mobile_seq = iter(range(10_000_000, 99_999_999))


class UserFactory(factory.Factory):
    class Meta:
        model = dict

    name = factory.Sequence(lambda n: f"User {n}")
    mobile = factory.LazyFunction(lambda: f"139{next(_mobile_seq):08d}")
    email = factory.LazyAttribute(lambda o: f"{o.mobile}@example.com")
    position = "Staff"
    gender = "unspecified"

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> User:
        unit: OrgUnit = kwargs.pop("unit")
        roles = kwargs.pop("roles", [])
        supervisor = kwargs.pop("supervisor", None)
        password = kwargs.pop("password", PASSWORD)
        data = dict(kwargs, org_unit_id=unit.id, supervisor_id=supervisor.id if supervisor else None)
        return services.create_user(data, password_hash=hash_password(password), roles=roles, actor=_SYSTEM)


@dataclass
class Org:
    """HQ ─┬─ hq_dept
           ├─ east ─┬─ store_a ─┬─ a_sales (a_sup, a_rep1, a_rep2)   a_manager at store_a
           │        │           └─ a_sales_sub (a_rep3, supervisor a_sup)
           │        └─ store_b ─── b_sales (b_sup, b_rep)              b_manager at store_b
           └─ south ── store_c ─── c_sales (c_rep)                      c_manager at store_c
    hq_admin (super admin at HQ), hq_manager (all), east_manager (subsidiary, at east)."""

    units: dict[str, OrgUnit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    roles: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name in self.users:
            return self.users[name]
        if name in self.units:
            return self.units[name]
        raise AttributeError(name)


def build_org(roles: dict[str, Any]) -> Org:
    o = Org(roles=roles)
    u = o.units
    u["hq"] = OrgUnitFactory(kind="hq", name="HQ")
    u["hq_dept"] = OrgUnitFactory(kind="department", name="HQ Finance", parent=u["hq"])
    u["east"] = OrgUnitFactory(kind="subsidiary", name="East", parent=u["hq"])
    u["south"] = OrgUnitFactory(kind="subsidiary", name="South", parent=u["hq"])
    u["store_a"] = OrgUnitFactory(kind="store", name="Store A", parent=u["east"], platform="tmall")
    u["store_b"] = OrgUnitFactory(kind="store", name="Store B", parent=u["east"], platform="jd")
    u["store_c"] = OrgUnitFactory(kind="store", name="Store C", parent=u["south"], platform="1688")
    u["a_sales"] = OrgUnitFactory(kind="department", name="A Sales", parent=u["store_a"])
    u["a_sales_sub"] = OrgUnitFactory(kind="department", name="A Sales Sub", parent=u["a_sales"])
    u["b_sales"] = OrgUnitFactory(kind="department", name="B Sales", parent=u["store_b"])
    u["c_sales"] = OrgUnitFactory(kind="department", name="C Sales", parent=u["store_c"])
    r = roles
    p = o.users
    p["hq_admin"] = UserFactory(name="HQ Admin", unit=u["hq"], roles=[r["super_admin"]])
    p["hq_manager"] = UserFactory(name="HQ Manager", unit=u["hq"], roles=[r["hq_manager"]])
    p["hq_clerk"] = UserFactory(name="HQ Clerk", unit=u["hq_dept"], roles=[r["finance"]], supervisor=p["hq_manager"])
    p["east_manager"] = UserFactory(name="East Manager", unit=u["east"], roles=[r["subsidiary_manager"]])
    p["a_manager"] = UserFactory(name="A Manager", unit=u["store_a"], roles=[r["store_manager"]], supervisor=p["east_manager"])
    p["a_sup"] = UserFactory(name="A Supervisor", unit=u["a_sales"], roles=[r["supervisor"]], supervisor=p["a_manager"])
    p["a_rep1"] = UserFactory(name="A Rep One", unit=u["a_sales"], roles=[r["salesperson"]], supervisor=p["a_sup"])
    p["a_rep2"] = UserFactory(name="A Rep Two", unit=u["a_sales"], roles=[r["salesperson"]], supervisor=p["a_sup"])
    p["a_rep3"] = UserFactory(name="A Rep Three", unit=u["a_sales_sub"], roles=[r["salesperson"]], supervisor=p["a_rep1"])
    p["a_admin"] = UserFactory(name="A Admin", unit=u["store_a"], roles=[r["admin"]])
    p["b_manager"] = UserFactory(name="B Manager", unit=u["store_b"], roles=[r["store_manager"]], supervisor=p["east_manager"])
    p["b_sup"] = UserFactory(name="B Supervisor", unit=u["b_sales"], roles=[r["supervisor"]], supervisor=p["b_manager"])
    p["b_rep"] = UserFactory(name="B Rep", unit=u["b_sales"], roles=[r["salesperson"]], supervisor=p["b_sup"])
    p["c_manager"] = UserFactory(name="C Manager", unit=u["store_c"], roles=[r["store_manager"]])
    p["c_rep"] = UserFactory(name="C Rep", unit=u["c_sales"], roles=[r["salesperson"]], supervisor=p["c_manager"])
    db.session.flush()
    return o


ORDER_PERMISSIONS = {"order.view", "order.create", "order.cancel", "order.export"}


def like_before_orders(org: Org) -> None:
    """The org's roles as a database from before the orders release has them after the upgrade: no
    `order.*` permission and none offered, no logistics role."""
    for role in org.roles.values():
        if role.key == "logistics":
            db.session.delete(role)
        elif not role.is_system:
            role.permissions = sorted(set(role.permission_list) - ORDER_PERMISSIONS)
            role.offered_permissions = sorted(set(role.offered_permissions) - ORDER_PERMISSIONS)
    db.session.flush()
    db.session.expire_all()
    db.session.commit()


_customer_seq = count(1)


def mobile() -> str:
    """A mobile number no other customer of the run has."""
    return f"137{next(_customer_seq):08d}"


def make_customer(actor: Any, **fields: Any) -> Customer:
    """A customer created by `actor` through the services (uncommitted)."""
    data = {"name": f"Customer {next(_customer_seq)}", "mobile": mobile()}
    data.update(fields)
    return customer_services.create_customer(data, actor=actor)
