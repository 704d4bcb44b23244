"""State changes of the org tree and of users. Functions take the actor explicitly, flush, never commit.

Permission checks (`org.manage`, `user.manage`) and visibility are the callers' first step through
`crm.auth`; these functions enforce the invariants of the tree itself."""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select

from crm.core import ownership
from crm.core import signals
from crm.core.audit import record_event
from crm.core.errors import Conflict
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.validation import check_email
from crm.core.validation import check_mobile
from crm.core.validation import check_text
from crm.extensions import db
from crm.org.models import ALLOWED_PARENTS
from crm.org.models import Gender
from crm.org.models import OrgUnit
from crm.org.models import Platform
from crm.org.models import UnitKind
from crm.org.models import User


# Org units ---------------------------------------------------------------------------------------------
def _place(unit: OrgUnit, parent: OrgUnit | None) -> None:
    """Set path, depth and the cached store/subsidiary ids of `unit` from its parent (unit.id must exist)."""
    unit.parent_id = parent.id if parent else None
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    unit.depth = (parent.depth + 1) if parent else 0
    if unit.kind == UnitKind.STORE:
        unit.store_id = unit.id
    else:
        unit.store_id = parent.store_id if parent else None
    if unit.kind == UnitKind.SUBSIDIARY:
        unit.subsidiary_id = unit.id
    else:
        unit.subsidiary_id = parent.subsidiary_id if parent else None


def _check_unit_fields(data: dict[str, Any], kind: UnitKind, errors: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": check_text(data.get("name"), errors, "name", max_length=120)}
    code = (data.get("code") or "").strip() or None
    if code and len(code) > 40:
        errors["code"] = str(_l("Use at most %(n)d characters.", n=40))
    out["code"] = code
    if kind == UnitKind.STORE:
        platform = data.get("platform") or ""
        try:
            out["platform"] = Platform(platform)
        except ValueError:
            errors["platform"] = str(_l("Choose the store's platform."))
        out["shop_name"] = check_text(data.get("shop_name"), errors, "shop_name", max_length=200)
        for key in ("quote_letterhead", "quote_terms"):
            if key in data:  # forms and the API that do not send them leave them as they are
                out[key] = check_text(data.get(key), errors, key, max_length=2000, required=False) or None
        if "quote_seal" in data:
            if isinstance(data["quote_seal"], bool):
                out["quote_seal"] = data["quote_seal"]
            else:
                errors["quote_seal"] = str(_l("Choose yes or no."))
    else:
        out["platform"] = None
        out["shop_name"] = None
        for key in QUOTE_SETTINGS:
            if data.get(key) not in (None, ""):
                errors[key] = str(_l("Only a store prints quotes: leave this empty for other units."))
    return out


# What a store prints on its quote PDFs, edited with the store (its page and the org-unit API).
QUOTE_SETTINGS = ("quote_letterhead", "quote_terms", "quote_seal")


def _check_code_free(code: str | None, errors: dict[str, str], exclude_id: int | None = None) -> None:
    if not code:
        return
    stmt = select(OrgUnit.id).where(func.lower(OrgUnit.code) == code.lower())
    if exclude_id:
        stmt = stmt.where(OrgUnit.id != exclude_id)
    if db.session.scalar(stmt):
        errors["code"] = str(_l("Another unit already uses this code."))


def create_unit(data: dict[str, Any], *, actor: User) -> OrgUnit:
    errors: dict[str, str] = {}
    try:
        kind = UnitKind(data.get("kind") or "")
    except ValueError:
        raise ValidationFailed({"kind": _l("Choose the kind of unit.")}) from None
    parent = db.session.get(OrgUnit, data.get("parent_id")) if data.get("parent_id") else None
    if kind == UnitKind.HQ:
        if db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.kind == UnitKind.HQ)):
            errors["kind"] = str(_l("There is already a headquarters; there can be only one."))
    elif parent is None:
        errors["parent_id"] = str(_l("Choose the parent unit."))
    elif parent.kind not in ALLOWED_PARENTS[kind]:
        errors["parent_id"] = str(
            _l("A unit of kind “%(kind)s” cannot sit under a unit of kind “%(parent)s”.", kind=kind.label, parent=parent.kind.label)
        )
    elif not parent.active:
        errors["parent_id"] = str(_l("The parent unit is deactivated."))
    fields = _check_unit_fields(data, kind, errors)
    _check_code_free(fields["code"], errors)
    if errors:
        raise ValidationFailed(errors)
    unit = OrgUnit(kind=kind, **fields)
    db.session.add(unit)
    db.session.flush()  # the id is part of the path
    _place(unit, parent)
    db.session.flush()
    return unit


def update_unit(unit: OrgUnit, data: dict[str, Any], *, actor: User) -> OrgUnit:
    """Rename, recode, change a store's platform or shop name, or set the department head."""
    errors: dict[str, str] = {}
    fields = _check_unit_fields(data, unit.kind, errors)
    _check_code_free(fields["code"], errors, exclude_id=unit.id)
    head_id = data.get("head_id") or None
    if head_id is not None:
        head = db.session.get(User, int(head_id))
        if head is None or not head.active:
            errors["head_id"] = str(_l("Choose an active user."))
        elif not (head.org_unit.path.startswith(unit.path)):
            errors["head_id"] = str(_l("The head must work in this unit or below it."))
    if errors:
        raise ValidationFailed(errors)
    for key, value in fields.items():
        setattr(unit, key, value)
    unit.head_id = int(head_id) if head_id else None
    db.session.flush()
    return unit


def move_unit(unit: OrgUnit, new_parent: OrgUnit, *, actor: User) -> OrgUnit:
    """Re-hang `unit` (and its subtree) under `new_parent`, rewriting paths and cached ids below it."""
    if unit.kind == UnitKind.HQ:
        raise ValidationFailed({"parent_id": _l("The headquarters cannot be moved.")})
    if new_parent.path.startswith(unit.path):
        raise ValidationFailed({"parent_id": _l("A unit cannot move under itself or one of its sub-units.")})
    if new_parent.kind not in ALLOWED_PARENTS[unit.kind]:
        raise ValidationFailed(
            {"parent_id": _l("A unit of kind “%(kind)s” cannot sit under a unit of kind “%(parent)s”.", kind=unit.kind.label, parent=new_parent.kind.label)}
        )
    if not new_parent.active:
        raise ValidationFailed({"parent_id": _l("The parent unit is deactivated.")})
    old_path = unit.path
    old_parent_id = unit.parent_id
    _place(unit, new_parent)
    db.session.flush()
    # Re-place every descendant top-down (the tree is small: hundreds of units).
    descendants = db.session.scalars(
        select(OrgUnit).where(OrgUnit.path.like(old_path + "%"), OrgUnit.id != unit.id).order_by(OrgUnit.depth)
    ).all()
    by_id = {unit.id: unit}
    for child in descendants:
        by_id[child.id] = child
    for child in descendants:
        _place(child, by_id[child.parent_id])  # type: ignore[index]
    db.session.flush()
    _sync_user_stores([unit.id, *[d.id for d in descendants]])
    record_event(
        db.session, unit, "moved", actor_id=actor.id,
        details={"parent_id_old": old_parent_id, "parent_id_new": new_parent.id},
    )
    return unit


def _sync_user_stores(unit_ids: list[int]) -> None:
    for user in db.session.scalars(select(User).where(User.org_unit_id.in_(unit_ids))):
        user.store_id = user.org_unit.store_id
    db.session.flush()


def set_unit_active(unit: OrgUnit, active: bool, *, actor: User) -> OrgUnit:
    if unit.kind == UnitKind.HQ and not active:
        raise DomainError(_l("The headquarters cannot be deactivated."))
    if not active:
        below = select(OrgUnit.id).where(OrgUnit.path.like(unit.path + "%"))
        active_units = db.session.scalar(
            select(func.count()).select_from(OrgUnit).where(OrgUnit.id.in_(below), OrgUnit.active, OrgUnit.id != unit.id)
        )
        if active_units:
            raise DomainError(_l("Deactivate or move its %(n)d active sub-units first.", n=active_units))
        active_users = db.session.scalar(
            select(func.count()).select_from(User).where(User.org_unit_id == unit.id, User.active)
        )
        if active_users:
            raise DomainError(_l("Move or disable its %(n)d active users first.", n=active_users))
    elif unit.parent is not None and not unit.parent.active:
        raise DomainError(_l("Reactivate the parent unit first."))
    unit.active = active
    db.session.flush()
    return unit


# Users --------------------------------------------------------------------------------------------------
def _check_user_fields(data: dict[str, Any], errors: dict[str, str], user: User | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": check_text(data.get("name"), errors, "name", max_length=80),
        "mobile": check_mobile(data.get("mobile"), errors),
        "email": check_email(data.get("email"), errors),
        "position": check_text(data.get("position"), errors, "position", max_length=80, required=False) or None,
    }
    try:
        out["gender"] = Gender(data.get("gender") or Gender.UNSPECIFIED)
    except ValueError:
        errors["gender"] = str(_l("Choose a valid value."))
    unit = db.session.get(OrgUnit, int(data["org_unit_id"])) if str(data.get("org_unit_id") or "").isdigit() else None
    if unit is None:
        errors["org_unit_id"] = str(_l("Choose the user's org unit."))
    elif not unit.active:
        errors["org_unit_id"] = str(_l("The unit is deactivated."))
    out["org_unit"] = unit
    sup_raw = data.get("supervisor_id")
    supervisor = None
    if sup_raw not in (None, "", 0, "0"):
        supervisor = db.session.get(User, int(sup_raw)) if str(sup_raw).isdigit() else None
        if supervisor is None or not supervisor.active:
            errors["supervisor_id"] = str(_l("Choose an active user as supervisor."))
        elif user is not None and _in_chain_below(supervisor, user):
            errors["supervisor_id"] = str(_l("This would make a supervisor cycle."))
        elif unit is not None and unit.store_id is not None and supervisor.store_id not in (None, unit.store_id):
            errors["supervisor_id"] = str(_l("The supervisor must work in the same store or above it."))
    out["supervisor"] = supervisor
    for key, column in (("mobile", User.mobile), ("email", User.email)):
        value = out.get(key)
        if value and key not in errors:
            stmt = select(User.id).where(column == value)
            if user is not None:
                stmt = stmt.where(User.id != user.id)
            if db.session.scalar(stmt):
                errors[key] = str(
                    _l("Another user already has this mobile number.")
                    if key == "mobile"
                    else _l("Another user already has this e-mail address.")
                )
    return out


def _in_chain_below(candidate: User, user: User) -> bool:
    """True when `candidate` is `user` or sits below `user` in the supervisor chain."""
    seen: set[int] = set()
    current: User | None = candidate
    while current is not None and current.id not in seen:
        if current.id == user.id:
            return True
        seen.add(current.id)
        current = current.supervisor
    return False


def create_user(data: dict[str, Any], *, password_hash: str, roles: list[Any], actor: User) -> User:
    errors: dict[str, str] = {}
    fields = _check_user_fields(data, errors, None)
    if errors:
        raise ValidationFailed(errors)
    unit: OrgUnit = fields.pop("org_unit")
    user = User(
        **fields,
        org_unit_id=unit.id,
        store_id=unit.store_id,
        password_hash=password_hash,
        security_stamp=secrets.token_hex(16),
    )
    user.roles = list(roles)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, data: dict[str, Any], *, roles: list[Any] | None, actor: User) -> User:
    errors: dict[str, str] = {}
    fields = _check_user_fields(data, errors, user)
    if errors:
        raise ValidationFailed(errors)
    unit: OrgUnit = fields.pop("org_unit")
    for key, value in fields.items():
        setattr(user, key, value)
    user.org_unit_id = unit.id
    user.org_unit = unit
    user.store_id = unit.store_id
    if roles is not None:
        before = sorted(r.key for r in user.roles)
        user.roles = list(roles)
        after = sorted(r.key for r in user.roles)
        if before != after:
            record_event(db.session, user, "roles_changed", actor_id=actor.id, details={"roles_old": before, "roles_new": after})
    db.session.flush()
    return user


def disable_user(user: User, *, transfer_to: User | None, actor: User) -> int:
    """Disable (never delete) a user; move their records to `transfer_to` when given. Returns rows moved."""
    if user.id == actor.id:
        raise DomainError(_l("You cannot disable your own account."))
    if not user.active:
        raise Conflict(_l("This user is already disabled."))
    if transfer_to is not None:
        if transfer_to.id == user.id or not transfer_to.active:
            raise ValidationFailed({"transfer_to_id": _l("Choose another, active user.")})
        if user.store_id is not None and transfer_to.store_id != user.store_id:
            raise ValidationFailed({"transfer_to_id": _l("Records can only move to a user of the same store.")})
    moved = ownership.transfer_owned(db.session, user.id, transfer_to.id) if transfer_to else 0
    user.active = False
    user.security_stamp = secrets.token_hex(16)  # ends every session of the user
    # Their direct reports now report to the disabled user's own supervisor.
    for report in db.session.scalars(select(User).where(User.supervisor_id == user.id)):
        report.supervisor_id = user.supervisor_id
    db.session.flush()
    record_event(
        db.session, user, "disabled", actor_id=actor.id,
        details={"transfer_to_id": transfer_to.id if transfer_to else None, "records_moved": moved},
    )
    signals.user_disabled.send(user, to_user=transfer_to, actor=actor)
    return moved


def enable_user(user: User, *, actor: User) -> User:
    if user.active:
        raise Conflict(_l("This user is already active."))
    if not user.org_unit.active:
        raise DomainError(_l("The user's unit is deactivated; move the user to an active unit first."))
    user.active = True
    db.session.flush()
    record_event(db.session, user, "enabled", actor_id=actor.id)
    return user
