"""The org blueprint and the small helpers its pages share."""

from __future__ import annotations

from typing import Any
from typing import TypeVar

from flask import Blueprint
from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.audit import ids_in
from crm.core.audit import label_of
from crm.core.audit import name_of
from crm.core.audit import readable
from crm.core.audit import timeline
from crm.core.errors import NotFound
from crm.core.objects import register_action_label
from crm.extensions import db
from crm.org.models import GENDER_LABELS
from crm.org.models import PLATFORM_LABELS
from crm.org.models import UNIT_KIND_LABELS
from crm.org.models import OrgUnit
from crm.org.models import User

# import_name is the package (not this module) so that `templates/` resolves to crm/org/templates.
bp = Blueprint("org", "crm.org", template_folder="templates", url_prefix="/admin")

M = TypeVar("M")
Errors = dict[str, list[str]]

for _action, _label in {
    "moved": _l("Moved in the org tree"),
    "disabled": _l("Disabled"),
    "enabled": _l("Enabled again"),
    "roles_changed": _l("Roles changed"),
    "password_reset": _l("Password reset by an administrator"),
    "password_changed": _l("Password changed"),
}.items():
    register_action_label(_action, _label)


def form_values() -> dict[str, Any]:
    """The submitted form as a dict of single values, to re-render what the user typed."""
    return {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}


def parse_id(raw: Any) -> int | None:
    """A positive database id from form or query input; None for anything else."""
    text = str(raw or "").strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value < 2**31 else None


def pick_visible(
    model: type[M], raw: Any, actor: Any, errors: Errors, field: str, message: Any, *, allow: int | None = None
) -> M | None:
    """The row chosen in a select, if the actor may see it; otherwise a field error and None.

    `allow` names an id that is accepted even outside the actor's scope (the value the record already
    has, e.g. a store manager's supervisor at the subsidiary), so saving a form never drops it."""
    object_id = parse_id(raw)
    if object_id is None:
        errors[field] = [str(message)]
        return None
    if allow is not None and object_id == allow:
        return db.session.get(model, object_id)
    try:
        return get_visible(model, object_id, actor)
    except NotFound:
        errors[field] = [str(message)]
        return None


def merge_errors(service_errors: Errors, own: Errors) -> Errors:
    """Field errors of a service and of the view's own checks; the view's (more specific) win."""
    return {**service_errors, **own}


UNIT_FIELD_LABELS = {
    "kind": _l("Kind"),
    "name": _l("Name"),
    "code": _l("Code"),
    "parent_id": _l("Parent unit"),
    "depth": _l("Level"),
    "store_id": _l("Store"),
    "subsidiary_id": _l("Subsidiary"),
    "platform": _l("Platform"),
    "shop_name": _l("Shop name"),
    "head_id": _l("Head"),
    "active": _l("Active"),
    "parent_id_old": _l("Previous parent unit"),
    "parent_id_new": _l("New parent unit"),
}

USER_FIELD_LABELS = {
    "name": _l("Name"),
    "mobile": _l("Mobile number"),
    "email": _l("E-mail"),
    "gender": _l("Gender"),
    "position": _l("Position"),
    "org_unit_id": _l("Org unit"),
    "store_id": _l("Store"),
    "supervisor_id": _l("Supervisor"),
    "active": _l("Active"),
    "locale": _l("Language"),
    "password_changed_at": _l("Password changed"),
    "roles_old": _l("Roles before"),
    "roles_new": _l("Roles after"),
    "transfer_to_id": _l("Records transferred to"),
    "records_moved": _l("Records moved"),
}


# Fields of the operation log that hold ids of units or users, and enums shown by their labels.
_UNIT_REFS = frozenset({"parent_id", "store_id", "subsidiary_id", "org_unit_id", "parent_id_old", "parent_id_new"})
_USER_REFS = frozenset({"head_id", "supervisor_id", "transfer_to_id"})
_ENUM_LABELS: dict[str, dict[Any, Any]] = {"gender": GENDER_LABELS, "kind": UNIT_KIND_LABELS, "platform": PLATFORM_LABELS}


def readable_timeline(object_type: str, object_id: int, actor: Any) -> list[dict[str, Any]]:
    """`crm.core.audit.timeline` with unit and user ids replaced by names and enum values by labels.

    Only names of rows the actor may see are shown (others stay "#id"), so the history of a unit that
    came from another store does not reveal that store's units or people."""
    entries = timeline(db.session, object_type, object_id)
    show: dict[str, Any] = {field: label_of(labels) for field, labels in _ENUM_LABELS.items()}
    for fields, model in ((_UNIT_REFS, OrgUnit), (_USER_REFS, User)):
        ids = ids_in(entries, fields)
        stmt = visible(select(model.id, model.name).where(model.id.in_(ids)), actor, model)
        names = name_of(dict(db.session.execute(stmt).all()) if ids else {})
        show.update(dict.fromkeys(fields, names))
    return readable(entries, show)
