"""The customers blueprint and helpers its pages share."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from crm.auth.models import Role
from crm.auth.models import user_role
from crm.auth.scopes import get_visible
from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.audit import ids_in
from crm.core.audit import label_of
from crm.core.audit import name_of
from crm.core.audit import readable
from crm.core.audit import timeline
from crm.core.objects import register_action_label
from crm.customers.models import FOLLOW_UP_KIND_LABELS
from crm.customers.models import INTENTION_LABELS
from crm.customers.models import LEVEL_LABELS
from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import PLATFORM_LABELS
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User

bp = Blueprint("customers", "crm.customers", template_folder="templates", url_prefix="/customers")

Errors = dict[str, list[str]]

for _action, _label in {
    "transferred": _l("Transferred to a new owner"),
    "released_to_pool": _l("Released to the high seas"),
    "locked": _l("Locked"),
    "unlocked": _l("Unlocked"),
    "merged": _l("Merged with a duplicate"),
    "follow_up_recorded": _l("Follow-up recorded"),
    "imported": _l("Imported from a file"),
}.items():
    register_action_label(_action, _label)

FIELD_LABELS = {
    "name": _l("Name"), "company": _l("Company"), "mobile": _l("Mobile number"), "chat_id": _l("WeChat ID"),
    "email": _l("E-mail"), "province": _l("Province"), "city": _l("City"), "address": _l("Address"),
    "source_platform": _l("Source platform"), "source_store": _l("Source store"), "level": _l("Level"),
    "industry": _l("Industry"), "tags": _l("Tags"), "product_preferences": _l("Product preferences"),
    "intention": _l("Purchase intention"), "remarks": _l("Remarks"), "owner_id": _l("Owner"),
    "store_id": _l("Store"), "locked": _l("Locked"), "won": _l("Won"), "owned_since": _l("Owned since"),
    "owner_id_old": _l("Previous owner"), "owner_id_new": _l("New owner"), "kind": _l("Type"),
    "next_contact_at": _l("Next contact"), "created_by_id": _l("Created by"), "merged_customer_id": _l("Merged customer no."),
    "last_follow_up_at": _l("Last follow-up"), "next_follow_up_at": _l("Next follow-up"), "last_deal_at": _l("Last deal"),
}
_USER_REFS = frozenset({"owner_id", "owner_id_old", "owner_id_new", "created_by_id"})
_ENUMS: dict[str, dict[Any, Any]] = {"level": LEVEL_LABELS, "intention": INTENTION_LABELS,
                                     "source_platform": PLATFORM_LABELS, "kind": FOLLOW_UP_KIND_LABELS}


def form_values() -> dict[str, Any]:
    return {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}


def load(customer_id: int) -> Customer:
    return get_visible(Customer, customer_id, current_user)


def level_choices() -> list[tuple[str, str]]:
    return [(k.value, str(v)) for k, v in LEVEL_LABELS.items()]


def intention_choices() -> list[tuple[str, str]]:
    return [(k.value, str(v)) for k, v in INTENTION_LABELS.items()]


def platform_choices() -> list[tuple[str, str]]:
    return [(k.value, str(v)) for k, v in PLATFORM_LABELS.items()]


def kind_choices() -> list[tuple[str, str]]:
    return [(k.value, str(v)) for k, v in FOLLOW_UP_KIND_LABELS.items()]


def store_choices() -> list[tuple[int, str]]:
    ids = scope_context(current_user).selectable_stores()
    if not ids:
        return []
    rows = db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids), OrgUnit.kind == UnitKind.STORE,
                                                                     OrgUnit.active).order_by(OrgUnit.name))
    return [(i, n) for i, n in rows]


OWNER_PERMISSION = "customer.edit"  # who may own customers: the roles that work them (not finance, warehouse)


def owner_role_ids() -> list[int]:
    """The roles whose holders can own customers (they may edit them): the sales roles, as configured."""
    return [r.id for r in db.session.scalars(select(Role)) if OWNER_PERMISSION in (r.permissions or [])]


def people_choices(store_id: int | None = None, *, owners: bool = False) -> list[tuple[int, str]]:
    """Active people of the stores the actor sees (owners, team members, transfer targets). People are
    chosen from the store, not from the actor's user scope: a salesperson may add a colleague to a team.
    `owners`: only people who can own customers (owner filters, transfer targets), not finance or warehouse
    staff."""
    stores = [store_id] if store_id else scope_context(current_user).selectable_stores()
    if current_user.store_id and current_user.store_id not in stores and store_id is None:
        stores.append(current_user.store_id)
    if not stores:
        return []
    # Capped: an HQ view over every store would otherwise list thousands of people in each select.
    stmt = select(User.id, User.name, OrgUnit.name).join(OrgUnit, OrgUnit.id == User.store_id).where(
        User.active, User.store_id.in_(stores))
    if owners:
        stmt = stmt.where(User.id.in_(select(user_role.c.user_id).where(user_role.c.role_id.in_(owner_role_ids()))))
    rows = db.session.execute(stmt.order_by(OrgUnit.name, User.name).limit(500))
    multi = len(set(stores)) > 1
    return [(i, f"{n} · {s}" if multi else n) for i, n, s in rows]


def readable_timeline(customer: Customer) -> list[dict[str, Any]]:
    """The customer's operation log with owners by name (people of the customer's store) and enum values
    by their labels."""
    entries = timeline(db.session, "customer", customer.id)
    ids = ids_in(entries, _USER_REFS)
    names = dict(db.session.execute(select(User.id, User.name).where(
        User.id.in_(ids), User.store_id == customer.store_id)).all()) if ids else {}
    show: dict[str, Any] = {field: label_of(labels) for field, labels in _ENUMS.items()}
    show.update(dict.fromkeys(_USER_REFS, name_of(names)))
    return readable(entries, show)


def visible_customers(ids: list[Any]) -> list[Customer]:
    keys = [int(i) for i in ids if str(i).isdigit() and 0 < int(i) < 2**31][:500]
    if not keys:
        return []
    return list(db.session.scalars(visible(select(Customer).where(Customer.id.in_(keys)), current_user, Customer)))
