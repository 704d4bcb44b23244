"""Data scopes: the ONE place where row visibility is decided.

Every list and every lookup of scoped data goes through `visible(stmt, actor, Model)` (or `get_visible`,
which answers `NotFound` for rows outside the scope, so existence never leaks).

How a scope becomes a WHERE clause
----------------------------------
A model declares `__visibility__ = Visibility(...)`: which column holds its *location* (an org unit id;
the store for business rows), which holds its *owner* (a user id, or none), and which its store.

- self / self_and_subordinates / department / department_tree filter on the owner: the actor, the actor
  and everyone below them in the supervisor chain, users of the actor's unit, users of the unit's subtree.
- store / subsidiary / all filter on the location: the subtree of the actor's store, subsidiary, or
  their *bound*.
- The bound is the highest unit a user may ever see: their store if they sit in a store, else their
  subsidiary, else HQ. Every clause is cut to the bound, so nothing a store user holds reaches another
  store, whatever the role says.
- A user with several roles sees the union of their scopes; a user with no role sees nothing.
- HQ and subsidiary users can narrow every view to chosen stores (the store switcher): `set_store_filter`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from typing import TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from crm.auth.permissions import DataScope
from crm.core.errors import NotFound
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User

M = TypeVar("M")
LOCATION_SCOPES = frozenset({DataScope.STORE, DataScope.SUBSIDIARY, DataScope.ALL})


@dataclass(frozen=True)
class Visibility:
    """How a model is placed in the org tree.

    location: column holding an org unit id (for business rows: the store id).
    owner: column holding the owning user's id, or None for rows nobody owns (org units).
    store: column holding the store id, used by the store switcher.
    location_is_store: the location column only ever holds store ids (lets IN lists stay short).
    extra: optional callable(actor) -> clause OR-ed in, for per-record sharing (team members).
    """

    location: str
    owner: str | None
    store: str = "store_id"
    location_is_store: bool = False
    extra: Callable[[Any], ColumnElement[bool]] | None = None
    # The same rule as `extra`, checked on a loaded row: lets get_visible answer without building the
    # actor's scope (all org units, the supervisor chain) when the row involves them directly.
    involves: Callable[[Any, Any], bool] | None = None


def visibility_of(model: type) -> Visibility:
    spec = getattr(model, "__visibility__", None)
    if spec is None:
        raise TypeError(f"{model.__name__} declares no __visibility__; it cannot be queried through visible()")
    return spec  # type: ignore[no-any-return]


# Org units and users are placed in the tree like everything else.
OrgUnit.__visibility__ = Visibility(location="id", owner=None)  # type: ignore[attr-defined]
User.__visibility__ = Visibility(location="org_unit_id", owner="id")  # type: ignore[attr-defined]


class ScopeContext:
    """What one actor may see, computed once per actor object (i.e. once per request)."""

    def __init__(self, session: Session, actor: User) -> None:
        self.actor = actor
        # What a context's visibility rule reads about the actor (a customer's team memberships), kept for
        # the request like the rest of the scope; the rule owns its key and its forgetting.
        self.memo: dict[str, Any] = {}
        self.unit: OrgUnit = actor.org_unit
        self.scopes: set[DataScope] = (
            {DataScope.ALL} if actor.is_super_admin else {DataScope(role.data_scope) for role in actor.roles}
        )
        if not actor.active:
            self.scopes = set()
        units = session.execute(select(OrgUnit.id, OrgUnit.kind, OrgUnit.path)).all()
        self._units = [(uid, UnitKind(kind), path) for uid, kind, path in units]
        self._paths = {uid: path for uid, _, path in self._units}
        if self.unit.store_id is not None:
            self.bound_id: int = self.unit.store_id
        elif self.unit.subsidiary_id is not None:
            self.bound_id = self.unit.subsidiary_id
        else:
            self.bound_id = self._root_id()
        self.store_filter: list[int] | None = None

    def _root_id(self) -> int:
        return int(self.unit.ancestor_ids[0]) if self.unit.ancestor_ids else self.unit.id

    def subtree(self, unit_id: int, *, stores_only: bool = False) -> list[int]:
        prefix = self._paths[unit_id]
        return [
            uid
            for uid, kind, path in self._units
            if path.startswith(prefix) and (not stores_only or kind == UnitKind.STORE)
        ]

    def is_root(self, unit_id: int) -> bool:
        return self._paths[unit_id].count("/") == 2

    def _deeper(self, a: int, b: int) -> int:
        """Of two units on one branch, the deeper; if they are on different branches, `b` (the bound)."""
        pa, pb = self._paths[a], self._paths[b]
        if pa.startswith(pb):
            return a
        return b

    def _anchor(self, scope: DataScope) -> int:
        if scope == DataScope.STORE:
            anchor = self.unit.store_id or self.unit.id
        elif scope == DataScope.SUBSIDIARY:
            anchor = self.unit.subsidiary_id or self.unit.id
        else:
            anchor = self.bound_id
        return self._deeper(anchor, self.bound_id)

    def _in_subtree(self, column: Any, unit_id: int, spec: Visibility) -> ColumnElement[bool]:
        if self.is_root(unit_id):
            return true()
        ids = self.subtree(unit_id, stores_only=spec.location_is_store)
        if not ids:
            return false()
        return column == ids[0] if len(ids) == 1 else column.in_(ids)

    def clause(self, model: type, spec: Visibility) -> ColumnElement[bool]:
        location = getattr(model, spec.location)
        owner = getattr(model, spec.owner) if spec.owner else None
        parts: list[ColumnElement[bool]] = []
        for scope in sorted(self.scopes):
            if scope in LOCATION_SCOPES:
                parts.append(self._in_subtree(location, self._anchor(scope), spec))
                continue
            if owner is None:  # unowned rows: the owner scopes reduce to the actor's own unit (or subtree)
                if scope == DataScope.DEPARTMENT_TREE:
                    parts.append(self._in_subtree(location, self.unit.id, spec))
                else:
                    parts.append(location == self.unit.id)
                continue
            parts.append(and_(owner.in_(self._owners(scope)), self._in_subtree(location, self.bound_id, spec)))
        if spec.extra is not None and self.scopes:
            parts.append(spec.extra(self.actor))
        clause: ColumnElement[bool] = or_(*parts) if parts else false()
        if self.store_filter is not None:
            store_col = getattr(model, spec.store)
            clause = and_(clause, store_col.in_(self.store_filter))
        return clause

    def _owners(self, scope: DataScope) -> Any:
        actor_id = self.actor.id
        if scope == DataScope.SELF:
            return [actor_id]
        if scope == DataScope.SELF_AND_SUBORDINATES:
            # One CTE object per actor: a statement that unions two visible() reads (the one inbox) names it once.
            chain = self.__dict__.get("_subordinates")
            if chain is None:
                chain = select(User.id).where(User.id == actor_id).cte("subordinates", recursive=True)
                below = aliased(User)
                chain = chain.union(select(below.id).where(below.supervisor_id == chain.c.id))
                self.__dict__["_subordinates"] = chain
            return select(chain.c.id)
        if scope == DataScope.DEPARTMENT:
            return select(User.id).where(User.org_unit_id == self.unit.id)
        # department_tree
        return select(User.id).where(User.org_unit_id.in_(self.subtree(self.unit.id)))

    # Store switcher ----------------------------------------------------------------------------------
    def selectable_stores(self) -> list[int]:
        """Stores this actor can narrow to: the stores under the widest unit any of their scopes reaches."""
        anchors = [self._anchor(s) if s in LOCATION_SCOPES else self.bound_id for s in self.scopes]
        if not anchors:
            return []
        widest = min(anchors, key=lambda uid: self._paths[uid].count("/"))
        return self.subtree(widest, stores_only=True)


def scope_context(actor: User) -> ScopeContext:
    # The web edge may hand in Flask-Login's `current_user` proxy: keep the user itself, or the cached
    # context would later resolve the proxy to whoever is signed in then (or to nobody).
    unwrap = getattr(actor, "_get_current_object", None)
    if unwrap is not None:
        actor = unwrap()
    ctx = actor.__dict__.get("_scope_context")
    if ctx is None:
        ctx = ScopeContext(db.session, actor)
        actor.__dict__["_scope_context"] = ctx
        requested = actor.__dict__.get("_requested_store_filter")
        if requested:
            set_store_filter(actor, requested)
    return ctx  # type: ignore[no-any-return]


def request_store_filter(actor: User, store_ids: Iterable[int] | None) -> None:
    """Remember the store switcher's choice; it applies when the actor's scope is first needed, so a
    request that queries nothing scoped never computes the scope."""
    actor.__dict__["_requested_store_filter"] = list(store_ids) if store_ids else None
    actor.__dict__.pop("_scope_context", None)


def set_store_filter(actor: User, store_ids: Iterable[int] | None) -> list[int] | None:
    """Narrow every query of this actor to `store_ids` (ignoring stores they may not see). None clears."""
    ctx = scope_context(actor)
    if store_ids is None:
        ctx.store_filter = None
        return None
    allowed = set(ctx.selectable_stores())
    chosen = [sid for sid in store_ids if sid in allowed]
    ctx.store_filter = chosen or None
    return ctx.store_filter


def visible(stmt: Select[Any], actor: User, model: type) -> Select[Any]:
    """`stmt` restricted to the rows of `model` that `actor` may see."""
    return stmt.where(scope_context(actor).clause(model, visibility_of(model)))


def get_visible(model: type[M], object_id: Any, actor: User) -> M:
    """The row, or NotFound when it is missing *or* outside the actor's scope (never 403: no leak)."""
    try:
        key = int(object_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < key < 2**31:
        raise NotFound()
    spec = visibility_of(model)
    if spec.involves is not None and actor.active:
        row = db.session.get(model, key)
        if row is None:
            raise NotFound()
        if spec.involves(row, actor):
            return row
    pk = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    obj = db.session.scalar(visible(select(model).where(pk == key), actor, model))
    if obj is None:
        raise NotFound()
    return obj
