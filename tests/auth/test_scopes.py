"""The data-scope matrix: every scope x every place in the tree, against users and org units of several
stores, compared with expectations computed here independently of crm.auth.scopes.

The reference model below walks the org tree through `parent_id` links and the supervisor chain through
`supervisor_id` in plain Python (no materialised paths, no SQL), following the rules of DESIGN §5 and
the docstring of crm.auth.scopes:

- self / self_and_subordinates / department / department_tree select rows by their owner (a user is
  owned by themself); org units have no owner, so those scopes reduce to the actor's own unit
  (department_tree: its subtree);
- store / subsidiary / all select rows by location: the subtree of the actor's store / subsidiary /
  bound. A user placed above that level (an HQ user holding "store") falls back to their own unit;
- everything is cut to the bound: the actor's store, else subsidiary, else HQ;
- several roles: union; no role or disabled: nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.auth.models import Role
from crm.auth.permissions import DataScope
from crm.auth.scopes import get_visible
from crm.auth.scopes import scope_context
from crm.auth.scopes import set_store_filter
from crm.auth.scopes import visible
from crm.auth.services import save_role
from crm.core.errors import NotFound
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User
from tests.factories import Org
from tests.factories import UserFactory


# Reference model ----------------------------------------------------------------------------------------
class Tree:
    """The current org tree and users, loaded once, navigated by parent / supervisor links only."""

    def __init__(self) -> None:
        db.session.flush()
        self.units = {u.id: u for u in db.session.scalars(select(OrgUnit))}
        self.users = {u.id: u for u in db.session.scalars(select(User))}

    def chain(self, unit_id: int) -> list[OrgUnit]:
        """The unit and its ancestors, nearest first."""
        out = []
        current: int | None = unit_id
        while current is not None:
            unit = self.units[current]
            out.append(unit)
            current = unit.parent_id
        return out

    def subtree(self, unit_id: int) -> set[int]:
        return {uid for uid in self.units if any(u.id == unit_id for u in self.chain(uid))}

    def nearest(self, unit_id: int, kind: UnitKind) -> int | None:
        return next((u.id for u in self.chain(unit_id) if u.kind == kind), None)

    def bound(self, actor: User) -> int:
        unit = actor.org_unit_id
        return self.nearest(unit, UnitKind.STORE) or self.nearest(unit, UnitKind.SUBSIDIARY) or self.chain(unit)[-1].id

    def reports(self, actor: User) -> set[int]:
        """The actor and everyone below them in the supervisor chain."""
        found = {actor.id}
        grew = True
        while grew:
            below = {u.id for u in self.users.values() if u.supervisor_id in found}
            grew = not below <= found
            found |= below
        return found

    def location_anchor(self, actor: User, scope: DataScope) -> int:
        unit = actor.org_unit_id
        if scope == DataScope.STORE:
            return self.nearest(unit, UnitKind.STORE) or unit
        if scope == DataScope.SUBSIDIARY:
            return self.nearest(unit, UnitKind.SUBSIDIARY) or unit
        return self.chain(unit)[-1].id  # all: the whole tree (then cut to the bound)

    def users_in(self, unit_ids: set[int]) -> set[int]:
        return {u.id for u in self.users.values() if u.org_unit_id in unit_ids}

    def expected_users(self, actor: User, scopes: set[DataScope]) -> set[int]:
        if not actor.active:
            return set()
        seen: set[int] = set()
        for scope in scopes:
            if scope == DataScope.SELF:
                seen |= {actor.id}
            elif scope == DataScope.SELF_AND_SUBORDINATES:
                seen |= self.reports(actor)
            elif scope == DataScope.DEPARTMENT:
                seen |= self.users_in({actor.org_unit_id})
            elif scope == DataScope.DEPARTMENT_TREE:
                seen |= self.users_in(self.subtree(actor.org_unit_id))
            else:
                seen |= self.users_in(self.subtree(self.location_anchor(actor, scope)))
        return seen & self.users_in(self.subtree(self.bound(actor)))

    def expected_units(self, actor: User, scopes: set[DataScope]) -> set[int]:
        if not actor.active:
            return set()
        seen: set[int] = set()
        for scope in scopes:
            if scope in (DataScope.SELF, DataScope.SELF_AND_SUBORDINATES, DataScope.DEPARTMENT):
                seen |= {actor.org_unit_id}
            elif scope == DataScope.DEPARTMENT_TREE:
                seen |= self.subtree(actor.org_unit_id)
            else:
                seen |= self.subtree(self.location_anchor(actor, scope))
        return seen & self.subtree(self.bound(actor))


def visible_users(actor: User) -> set[int]:
    return set(db.session.scalars(visible(select(User.id).select_from(User), actor, User)))


def visible_user_objects(actor: User) -> set[int]:
    return {u.id for u in db.session.scalars(visible(select(User), actor, User))}


def visible_units(actor: User) -> set[int]:
    return {u.id for u in db.session.scalars(visible(select(OrgUnit), actor, OrgUnit))}


def names(tree: Tree, user_ids: set[int]) -> set[str]:
    return {tree.users[i].name for i in user_ids}


def role_with(scope: DataScope, org: Org, key: str | None = None) -> Role:
    existing = db.session.scalar(select(Role).where(Role.key == (key or f"t_{scope.value}")))
    if existing is not None:
        return existing
    return save_role(
        None,
        {"key": key or f"t_{scope.value}", "name": f"Test {scope.value}", "data_scope": scope.value, "permissions": []},
        actor=org.hq_admin,
    )


# The matrix ---------------------------------------------------------------------------------------------
# placement -> (actor's unit, the actor's supervisor, [(unit of a report, index of its supervisor: None = actor)])
# Every actor gets a direct report and a report of that report, so self_and_subordinates is never trivial.
PLACEMENTS: dict[str, tuple[str, str | None, list[tuple[str, int | None]]]] = {
    "hq": ("hq", None, [("b_sales", None), ("b_sales", 0)]),  # HQ may supervise anyone, in any store
    "hq_department": ("hq_dept", "hq_manager", [("hq_dept", None), ("c_sales", 0)]),
    "subsidiary": ("east", "hq_manager", [("store_a", None), ("a_sales", 0)]),
    "store": ("store_a", "east_manager", [("a_sales", None), ("a_sales_sub", 0)]),
    "department": ("a_sales", "a_sup", [("a_sales_sub", None), ("a_sales", 0)]),
    "sub_department": ("a_sales_sub", "a_rep1", [("a_sales_sub", None), ("a_sales_sub", 0)]),
    "store_b_department": ("b_sales", "b_sup", [("b_sales", None), ("b_sales", 0)]),
}


def place_actor(org: Org, placement: str, roles: list[Role], **kwargs: Any) -> User:
    unit_key, supervisor_key, reports = PLACEMENTS[placement]
    actor = UserFactory(
        name=f"Actor {placement}", unit=org.units[unit_key], roles=roles,
        supervisor=org.users[supervisor_key] if supervisor_key else None, **kwargs,
    )
    created: list[User] = []
    for i, (unit_key_r, boss) in enumerate(reports):
        created.append(UserFactory(
            name=f"Report {i} of {placement}", unit=org.units[unit_key_r],
            supervisor=actor if boss is None else created[boss],
        ))
    db.session.flush()
    return actor


@pytest.mark.parametrize("placement", list(PLACEMENTS))
def test_scope_matrix(org: Org, placement: str, subtests: Any) -> None:
    """One actor per scope at this placement (each with their own reports), all checked against one tree."""
    actors = {scope: place_actor(org, placement, [role_with(scope, org)]) for scope in DataScope}
    tree = Tree()
    for scope, actor in actors.items():
        with subtests.test(scope=scope.value):
            expected_users = tree.expected_users(actor, {scope})
            expected_units = tree.expected_units(actor, {scope})
            assert actor.id in expected_users  # every scope includes the actor's own place
            assert names(tree, visible_users(actor)) == names(tree, expected_users)
            assert visible_user_objects(actor) == expected_users
            assert visible_units(actor) == expected_units
            # Whatever the scope, nothing outside the bound is ever visible.
            bound_units = tree.subtree(tree.bound(actor))
            assert all(tree.users[i].org_unit_id in bound_units for i in visible_users(actor))
            assert visible_units(actor) <= bound_units


# Hand-written expectations: the reference model above must agree with these, so a shared misreading of
# the rules by both the model and the implementation cannot pass unnoticed.
def test_reference_examples(org: Org) -> None:
    store_names = {
        "A": {"A Manager", "A Supervisor", "A Rep One", "A Rep Two", "A Rep Three", "A Admin"},
        "B": {"B Manager", "B Supervisor", "B Rep"},
        "C": {"C Manager", "C Rep"},
    }
    everyone = set().union(*store_names.values()) | {"HQ Admin", "HQ Manager", "HQ Clerk", "East Manager"}

    def seen_by(unit: str, scope: DataScope) -> tuple[set[str], set[int]]:
        """(names of other users, unit ids) seen by a new user at `unit` holding `scope`; undone afterwards."""
        savepoint = db.session.begin_nested()
        try:
            actor = UserFactory(name="Example actor", unit=org.units[unit], roles=[role_with(scope, org, key="ex")])
            got = {n for n in names(Tree(), visible_users(actor)) if n != "Example actor"}
            return got, visible_units(actor)
        finally:
            savepoint.rollback()

    u = org.units
    assert seen_by("store_a", DataScope.ALL)[0] == store_names["A"]
    assert seen_by("store_a", DataScope.SUBSIDIARY)[0] == store_names["A"]
    assert seen_by("store_a", DataScope.STORE)[1] == {u["store_a"].id, u["a_sales"].id, u["a_sales_sub"].id}
    assert seen_by("east", DataScope.ALL)[0] == store_names["A"] | store_names["B"] | {"East Manager"}
    assert seen_by("east", DataScope.ALL)[1] == {
        u["east"].id, u["store_a"].id, u["a_sales"].id, u["a_sales_sub"].id, u["store_b"].id, u["b_sales"].id,
    }
    assert seen_by("hq", DataScope.ALL)[0] == everyone
    assert seen_by("hq", DataScope.ALL)[1] == {unit.id for unit in u.values()}
    assert seen_by("a_sales", DataScope.DEPARTMENT)[0] == {"A Supervisor", "A Rep One", "A Rep Two"}
    assert seen_by("a_sales", DataScope.DEPARTMENT)[1] == {u["a_sales"].id}
    assert seen_by("a_sales", DataScope.DEPARTMENT_TREE)[0] == {"A Supervisor", "A Rep One", "A Rep Two", "A Rep Three"}
    assert seen_by("a_sales", DataScope.DEPARTMENT_TREE)[1] == {u["a_sales"].id, u["a_sales_sub"].id}
    assert seen_by("a_sales", DataScope.SELF)[0] == set()
    # A store user's reports and a subsidiary user's reports through the chain of the fixture tree.
    a_sup_role = role_with(DataScope.SELF_AND_SUBORDINATES, org, key="ex_sup")
    org.a_sup.roles = [a_sup_role]
    org.east_manager.roles = [a_sup_role]
    db.session.flush()
    tree = Tree()
    assert names(tree, visible_users(org.a_sup)) == {"A Supervisor", "A Rep One", "A Rep Two", "A Rep Three"}
    assert names(tree, visible_users(org.east_manager)) == (
        store_names["A"] - {"A Admin"} | store_names["B"] | {"East Manager"}
    )
    # An HQ user holding "store" has no store: they see their own unit's subtree (here: HQ Finance only).
    assert seen_by("hq_dept", DataScope.STORE)[0] == {"HQ Clerk"}


def test_union_of_two_roles(org: Org) -> None:
    own = role_with(DataScope.SELF, org)
    dept = role_with(DataScope.DEPARTMENT, org)
    store_b_wide = role_with(DataScope.STORE, org)
    actor = UserFactory(name="Two roles", unit=org.a_sales_sub, roles=[own, dept], supervisor=org.a_rep1)
    tree = Tree()
    assert names(tree, visible_users(actor)) == {"Two roles", "A Rep Three"}
    assert visible_users(actor) == tree.expected_users(actor, {DataScope.SELF, DataScope.DEPARTMENT})

    # Adding a wider role widens; the narrower one does not narrow it back.
    other = UserFactory(name="Two roles wide", unit=org.a_sales_sub, roles=[own, store_b_wide])
    tree = Tree()
    assert visible_users(other) == tree.users_in(tree.subtree(org.store_a.id))
    assert visible_users(other) == tree.expected_users(other, {DataScope.SELF, DataScope.STORE})


def test_no_role_sees_nothing(org: Org) -> None:
    for unit in ("hq", "east", "store_a", "a_sales"):
        actor = UserFactory(name=f"No role {unit}", unit=org.units[unit], roles=[])
        assert visible_users(actor) == set()
        assert visible_units(actor) == set()
        assert scope_context(actor).selectable_stores() == []


def test_disabled_user_sees_nothing(org: Org) -> None:
    super_admin = UserFactory(name="Disabled super", unit=org.hq, roles=[org.roles["super_admin"]])
    manager = UserFactory(name="Disabled manager", unit=org.store_a, roles=[org.roles["store_manager"]])
    for actor in (super_admin, manager):
        actor.active = False
        db.session.flush()
        assert visible_users(actor) == set()
        assert visible_units(actor) == set()
        with pytest.raises(NotFound):
            get_visible(User, actor.id, actor)


def test_super_admin_sees_everything(org: Org) -> None:
    tree = Tree()
    assert visible_users(org.hq_admin) == set(tree.users)
    assert visible_units(org.hq_admin) == set(tree.units)


# The bound ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scope", [DataScope.ALL, DataScope.SUBSIDIARY, DataScope.STORE])
def test_store_user_with_wide_scope_sees_only_their_store(org: Org, scope: DataScope) -> None:
    actor = UserFactory(name="Wide store user", unit=org.a_sales, roles=[role_with(scope, org)])
    tree = Tree()
    store_a = tree.subtree(org.store_a.id)
    assert visible_units(actor) == store_a
    assert visible_users(actor) == tree.users_in(store_a)
    assert not visible_users(actor) & tree.users_in(tree.subtree(org.store_b.id) | tree.subtree(org.store_c.id))


def test_subsidiary_user_with_all_sees_only_their_subsidiary(org: Org) -> None:
    actor = UserFactory(name="East all", unit=org.east, roles=[role_with(DataScope.ALL, org)])
    tree = Tree()
    east = tree.subtree(org.east.id)
    assert visible_units(actor) == east
    assert visible_users(actor) == tree.users_in(east)
    assert org.c_rep.id not in visible_users(actor)
    assert org.hq_manager.id not in visible_users(actor)


def test_owner_scopes_are_cut_to_the_bound_even_with_a_foreign_report(org: Org) -> None:
    """A supervisor link across stores (written behind the services' back) must not open store B."""
    role = role_with(DataScope.SELF_AND_SUBORDINATES, org)
    org.a_sup.roles = [role]
    org.b_rep.supervisor_id = org.a_sup.id  # services refuse this; the scope must hold anyway
    db.session.flush()
    seen = visible_users(org.a_sup)
    assert org.b_rep.id not in seen
    assert {org.a_rep1.id, org.a_rep2.id, org.a_rep3.id} <= seen


# Store switcher -----------------------------------------------------------------------------------------
def test_store_switcher_narrows_an_hq_user(org: Org) -> None:
    actor = org.hq_manager
    ctx = scope_context(actor)
    assert set(ctx.selectable_stores()) == {org.store_a.id, org.store_b.id, org.store_c.id}
    assert set_store_filter(actor, [org.store_b.id]) == [org.store_b.id]
    tree = Tree()
    assert visible_units(actor) == tree.subtree(org.store_b.id)
    assert visible_users(actor) == tree.users_in(tree.subtree(org.store_b.id))
    set_store_filter(actor, [org.store_a.id, org.store_c.id])
    assert visible_users(actor) == tree.users_in(tree.subtree(org.store_a.id) | tree.subtree(org.store_c.id))
    assert set_store_filter(actor, None) is None
    assert visible_users(actor) == set(tree.users)


def test_store_switcher_ignores_stores_outside_scope(org: Org) -> None:
    actor = UserFactory(name="East all", unit=org.east, roles=[role_with(DataScope.ALL, org)])
    assert set(scope_context(actor).selectable_stores()) == {org.store_a.id, org.store_b.id}
    # store C is in the other subsidiary: dropped, store A stays.
    assert set_store_filter(actor, [org.store_a.id, org.store_c.id, 987654]) == [org.store_a.id]
    tree = Tree()
    assert visible_users(actor) == tree.users_in(tree.subtree(org.store_a.id))
    # Only foreign stores: nothing chosen, so no narrowing — and certainly no widening.
    assert set_store_filter(actor, [org.store_c.id]) is None
    assert visible_users(actor) == tree.users_in(tree.subtree(org.east.id))
    assert org.c_rep.id not in visible_users(actor)


def test_store_switcher_cannot_widen_a_store_user(org: Org) -> None:
    actor = org.a_manager
    assert scope_context(actor).selectable_stores() == [org.store_a.id]
    set_store_filter(actor, [org.store_b.id, org.store_c.id])
    tree = Tree()
    assert visible_users(actor) == tree.users_in(tree.subtree(org.store_a.id))


def test_store_switcher_applies_to_lookups(org: Org) -> None:
    set_store_filter(org.hq_manager, [org.store_a.id])
    assert get_visible(User, org.a_rep1.id, org.hq_manager) is org.a_rep1
    with pytest.raises(NotFound):
        get_visible(User, org.b_rep.id, org.hq_manager)
    with pytest.raises(NotFound):
        get_visible(OrgUnit, org.store_b.id, org.hq_manager)


# get_visible --------------------------------------------------------------------------------------------
def test_get_visible_returns_rows_in_scope(org: Org) -> None:
    assert get_visible(User, org.a_rep1.id, org.a_manager) is org.a_rep1
    assert get_visible(User, str(org.a_rep1.id), org.a_manager) is org.a_rep1
    assert get_visible(OrgUnit, org.a_sales.id, org.a_manager) is org.a_sales


def test_get_visible_not_found(org: Org, subtests: Any) -> None:
    cases: list[tuple[type, Any]] = [
        (User, org.b_rep.id), (OrgUnit, org.store_b.id), (User, str(org.c_rep.id)),  # out of scope
        (User, 999_999), (OrgUnit, 999_999), (User, 2**31 - 1),  # missing
        (User, 2**31), (User, 10**30), (User, -1), (User, 0),  # out of range
        (User, "abc"), (User, ""), (User, None), (User, "1.5"), (User, "1e3"), (User, "0x10"),  # not an integer
        (User, [1]), (User, {"id": 1}),
    ]
    for model, raw in cases:
        with subtests.test(model=model.__name__, raw=repr(raw)), pytest.raises(NotFound):
            get_visible(model, raw, org.a_manager)


def test_get_visible_out_of_scope_and_missing_are_indistinguishable(org: Org) -> None:
    with pytest.raises(NotFound) as out_of_scope:
        get_visible(User, org.b_rep.id, org.a_rep1)
    with pytest.raises(NotFound) as missing:
        get_visible(User, 999_999, org.a_rep1)
    assert str(out_of_scope.value) == str(missing.value)
    assert out_of_scope.value.status == missing.value.status == 404
