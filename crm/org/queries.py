"""Reads of the org tree and of users, for the admin pages and the API.

Every read is restricted to what the actor may see. The restriction itself lives in `crm.auth.scopes`
(the one visibility helper), which this module may not import (auth sits on org, not the other way: see
the import-linter contracts), so callers hand it in: `visible=crm.auth.scopes.visible`. Objects looked up
by id go through `crm.auth.scopes.get_visible` in the caller."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from sqlalchemy import Select
from sqlalchemy import column
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy.orm import aliased
from sqlalchemy.orm import selectinload

from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org.models import ALLOWED_PARENTS
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User

# `crm.auth.scopes.visible`: (statement, actor, model) -> the statement restricted to the actor's scope.
Visible = Callable[[Select[Any], Any, type], Select[Any]]

# The user-role link table, named without importing crm.auth.models (see the module docstring).
_user_role = table("user_role", column("user_id"), column("role_id"))

INDENT = "\u2003"  # an em space per tree level in select labels


def _path_key(unit: OrgUnit) -> list[int]:
    # Sorting by the path's ids (not its text) gives a depth-first order on every database collation.
    return unit.ancestor_ids


# Org units ---------------------------------------------------------------------------------------------
@dataclass
class TreeRow:
    unit: OrgUnit
    indent: int
    users: int = 0  # active users placed directly in this unit
    users_total: int = 0  # active users in this unit and every visible unit below it
    children: int = 0  # visible sub-units


def visible_units(actor: Any, *, visible: Visible, active_only: bool = False) -> list[OrgUnit]:
    """The units the actor may see, depth first (each unit followed by its sub-units)."""
    stmt = visible(select(OrgUnit), actor, OrgUnit)
    if active_only:
        stmt = stmt.where(OrgUnit.active)
    return sorted(db.session.scalars(stmt), key=_path_key)


def _active_user_counts(unit_ids: list[int], actor: Any, visible: Visible) -> dict[int, int]:
    if not unit_ids:
        return {}
    stmt = visible(
        select(User.org_unit_id, func.count()).where(User.active, User.org_unit_id.in_(unit_ids)), actor, User
    ).group_by(User.org_unit_id)
    return {int(uid): int(n) for uid, n in db.session.execute(stmt)}


def unit_tree(actor: Any, *, visible: Visible) -> list[TreeRow]:
    """The visible org tree, depth first, indented relative to the highest visible unit."""
    units = visible_units(actor, visible=visible)
    if not units:
        return []
    counts = _active_user_counts([u.id for u in units], actor, visible)
    top = min(u.depth for u in units)
    rows = [TreeRow(unit=u, indent=u.depth - top, users=counts.get(u.id, 0)) for u in units]
    by_id = {r.unit.id: r for r in rows}
    for row in rows:
        row.users_total += row.users
        # add this unit's own users to every visible ancestor's total
        for ancestor_id in row.unit.ancestor_ids[:-1]:
            if ancestor_id in by_id:
                by_id[ancestor_id].users_total += row.users
        if row.unit.parent_id in by_id:
            by_id[row.unit.parent_id].children += 1  # type: ignore[index]
    return rows


def _labelled(units: Iterable[OrgUnit]) -> list[tuple[int, str]]:
    units = list(units)
    if not units:
        return []
    top = min(u.depth for u in units)
    return [(u.id, INDENT * (u.depth - top) + u.name) for u in units]


def unit_choices(actor: Any, *, visible: Visible, active_only: bool = True) -> list[tuple[int, str]]:
    """(id, indented name) of the visible units, for selects (a user's unit, list filters)."""
    return _labelled(visible_units(actor, visible=visible, active_only=active_only))


def parent_choices(
    actor: Any, kind: UnitKind | None, *, visible: Visible, moving: OrgUnit | None = None
) -> list[tuple[int, str]]:
    """Active visible units a unit of `kind` may hang under (any kind of parent when `kind` is None).
    When `moving` is given, its own subtree is left out (a unit cannot move under itself)."""
    allowed = ALLOWED_PARENTS[kind] if kind is not None else {k for ks in ALLOWED_PARENTS.values() for k in ks}
    units = [
        u
        for u in visible_units(actor, visible=visible, active_only=True)
        if u.kind in allowed and not (moving is not None and u.path.startswith(moving.path))
    ]
    return _labelled(units)


def sub_units(unit: OrgUnit, actor: Any, *, visible: Visible) -> list[OrgUnit]:
    stmt = visible(select(OrgUnit).where(OrgUnit.parent_id == unit.id), actor, OrgUnit).order_by(OrgUnit.id)
    return list(db.session.scalars(stmt))


def is_visible(model: type, object_id: int | None, actor: Any, *, visible: Visible) -> bool:
    """Whether the row exists and the actor may see it (to decide between a link and plain text)."""
    if object_id is None:
        return False
    pk = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    return db.session.scalar(visible(select(pk).where(pk == object_id), actor, model)) is not None


def unit_user_counts(unit: OrgUnit, actor: Any, *, visible: Visible) -> dict[str, int]:
    """Active users directly in `unit` and in its whole subtree (as far as the actor sees)."""
    below = select(OrgUnit.id).where(OrgUnit.path.like(unit.path + "%"))
    base = select(func.count()).select_from(User).where(User.active)
    direct = db.session.scalar(visible(base.where(User.org_unit_id == unit.id), actor, User)) or 0
    total = db.session.scalar(visible(base.where(User.org_unit_id.in_(below)), actor, User)) or 0
    return {"direct": int(direct), "total": int(total)}


@dataclass
class MovePreview:
    """What moving a unit under a new parent changes: the units that move with it, the stores among them
    (whose subsidiary may change), and the users whose store changes."""

    units: list[OrgUnit] = field(default_factory=list)
    stores: list[tuple[OrgUnit, OrgUnit | None, OrgUnit | None]] = field(default_factory=list)
    users: list[tuple[User, OrgUnit | None, OrgUnit | None]] = field(default_factory=list)
    users_total: int = 0


def move_preview(unit: OrgUnit, new_parent: OrgUnit, actor: Any, *, visible: Visible, limit: int = 50) -> MovePreview:
    """Simulate `crm.org.services.move_unit` without writing: the store and subsidiary every unit of the
    subtree would end up in, and which users change store."""
    subtree = sorted(
        db.session.scalars(select(OrgUnit).where(OrgUnit.path.like(unit.path + "%"))), key=lambda u: u.depth
    )
    new_store: dict[int, int | None] = {}
    new_subsidiary: dict[int, int | None] = {}
    for u in subtree:
        parent_store = new_parent.store_id if u.id == unit.id else new_store[u.parent_id]  # type: ignore[index]
        parent_sub = new_parent.subsidiary_id if u.id == unit.id else new_subsidiary[u.parent_id]  # type: ignore[index]
        new_store[u.id] = u.id if u.kind == UnitKind.STORE else parent_store
        new_subsidiary[u.id] = u.id if u.kind == UnitKind.SUBSIDIARY else parent_sub
    ids = {u.id for u in subtree} | {v for v in [*new_store.values(), *new_subsidiary.values()] if v}
    ids |= {u.store_id for u in subtree if u.store_id} | {u.subsidiary_id for u in subtree if u.subsidiary_id}
    names = {o.id: o for o in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))} if ids else {}

    preview = MovePreview(units=sorted(subtree, key=_path_key))
    for u in preview.units:
        if u.kind == UnitKind.STORE and u.subsidiary_id != new_subsidiary[u.id]:
            preview.stores.append((u, names.get(u.subsidiary_id or 0), names.get(new_subsidiary[u.id] or 0)))
    changing = [u.id for u in subtree if u.store_id != new_store[u.id]]
    if changing:
        stmt = visible(select(User).where(User.org_unit_id.in_(changing)), actor, User)
        preview.users_total = int(
            db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
        )
        for user in db.session.scalars(stmt.options(selectinload(User.org_unit)).order_by(User.name, User.id).limit(limit)):
            old = names.get(user.store_id or 0)
            preview.users.append((user, old, names.get(new_store[user.org_unit_id] or 0)))
    return preview


# Users --------------------------------------------------------------------------------------------------
@dataclass
class UserFilters:
    q: str = ""
    unit: OrgUnit | None = None  # that unit's subtree; the caller checked the actor may see it
    role_id: int | None = None
    active: str = "yes"  # yes | no | all

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.unit or self.role_id or self.active != "yes")


def _filtered_users(actor: Any, filters: UserFilters, visible: Visible) -> Select[Any]:
    stmt = select(User)
    q = filters.q.strip()
    if q:
        stmt = stmt.where(
            or_(
                User.name.icontains(q, autoescape=True),
                User.mobile.icontains(q, autoescape=True),
                User.email.icontains(q, autoescape=True),
            )
        )
    if filters.unit is not None:
        stmt = stmt.where(User.org_unit_id.in_(select(OrgUnit.id).where(OrgUnit.path.like(filters.unit.path + "%"))))
    if filters.role_id is not None:
        stmt = stmt.where(
            User.id.in_(select(_user_role.c.user_id).where(_user_role.c.role_id == filters.role_id))
        )
    if filters.active == "yes":
        stmt = stmt.where(User.active)
    elif filters.active == "no":
        stmt = stmt.where(User.active.is_(False))
    return visible(stmt, actor, User)


def list_users(
    actor: Any, filters: UserFilters, cursor: str | None = None, limit: int = 50, *, visible: Visible
) -> Page[User]:
    """One keyset page of the visible users matching `filters`, by name then id. Unit, store, supervisor
    and roles are loaded with the page (no query per row)."""
    stmt = _filtered_users(actor, filters, visible).options(
        selectinload(User.org_unit),
        selectinload(User.store),
        selectinload(User.roles),
    )
    return keyset_page(db.session, stmt, [SortKey(User.name), SortKey(User.id)], cursor=cursor, limit=limit)


def user_choices(
    actor: Any,
    *,
    visible: Visible,
    store_id: int | None = None,
    under: OrgUnit | None = None,
    exclude_ids: Iterable[int] = (),
) -> list[tuple[int, str]]:
    """(id, "name · unit") of the active users the actor may see, for selects: a supervisor, a
    department head (`under` = the unit), "transfer records to" (`store_id` = the user's store)."""
    unit = aliased(OrgUnit)
    stmt = select(User.id, User.name, unit.name).join(unit, unit.id == User.org_unit_id).where(User.active)
    if store_id is not None:
        stmt = stmt.where(User.store_id == store_id)
    if under is not None:
        stmt = stmt.where(unit.path.like(under.path + "%"))
    excluded = [i for i in exclude_ids if i]
    if excluded:
        stmt = stmt.where(User.id.not_in(excluded))
    stmt = visible(stmt, actor, User).order_by(User.name, User.id)
    return [(uid, f"{name} · {unit_name}") for uid, name, unit_name in db.session.execute(stmt)]


def subordinates(user: User, actor: Any, *, visible: Visible) -> list[User]:
    """The user's direct reports that the actor may see."""
    stmt = visible(select(User).where(User.supervisor_id == user.id), actor, User)
    stmt = stmt.options(selectinload(User.org_unit), selectinload(User.roles)).order_by(User.name, User.id)
    return list(db.session.scalars(stmt))
