"""Approval chains: created by an admin, their steps edited as new versions (a request keeps the version
it started with), and the chain a request of a kind follows in a store. Services flush, never commit."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow.exceptions import SCHEMA
from sqlalchemy import select

from crm.approvals import rules
from crm.approvals.models import ApprovalChain
from crm.approvals.models import ApprovalChainVersion
from crm.approvals.schemas import StepInput
from crm.approvals.schemas import StepsInput
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User

# The kinds of approval the product knows (an admin may create chains of other keys for their own processes).
KNOWN_KEYS = {
    "discount_audit": _l("Discount audit"),
    "high_seas_claim": _l("High-seas claim"),
    "after_sales": _l("After-sales"),
    "contract": _l("Contract"),
    "make_up": _l("Make-up payment"),
}


def _check_admin(actor: User) -> None:
    if not actor.can("approval.configure"):
        raise PermissionDenied()


def clean_steps(steps: Loaded | Any) -> list[dict[str, Any]]:
    """A chain's steps as loaded by StepsInput (a plain list is loaded here), with the checks that need the
    database; ValidationFailed names each bad field (e.g. `steps.2.level`)."""
    loaded = load_input(StepsInput(), steps if isinstance(steps, Loaded) else {"steps": steps})
    errors: dict[str, Any] = dict(loaded.errors)
    cleaned = loaded.values.get("steps") or []
    for i, step in enumerate(cleaned):
        rules.check_step(step, errors, prefix=f"steps.{i}.")
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def clean_step(raw: Loaded | Any) -> dict[str, Any]:
    """One step as loaded by StepInput (plain values are loaded here), with the checks that need the database."""
    loaded = load_input(StepInput(), raw)
    # A step that is not an object: the schema's own message, named as the step.
    errors: dict[str, Any] = {("step" if name == SCHEMA else name): m for name, m in loaded.errors.items()}
    rules.check_step(loaded.values, errors)
    if errors:
        raise ValidationFailed(errors)
    return loaded.values


def create_chain(data: dict[str, Any], *, actor: User) -> ApprovalChain:
    """A new chain with version 1 of its steps. `store_id` empty: the company-wide chain of the key."""
    _check_admin(actor)
    errors: dict[str, Any] = {}
    key = str(data.get("key") or "").strip()
    if not key or len(key) > 60 or not key.replace("_", "").isalnum() or not key.islower():
        errors["key"] = _l("Use lower-case letters, digits and underscores (e.g. discount_audit).")
    name = str(data.get("name") or "").strip() or str(KNOWN_KEYS.get(key, key))
    if len(name) > 120:
        errors["name"] = _l("At most 120 characters.")
    store_id = data.get("store_id") or None
    if store_id is not None:
        try:
            sid = int(store_id)
            store = db.session.get(OrgUnit, sid) if 0 < sid < 2**31 else None
        except (TypeError, ValueError):
            store = None
        from crm.auth.scopes import visible

        if (store is None or not store.is_store or db.session.scalar(
                visible(select(OrgUnit.id), actor, OrgUnit).where(OrgUnit.id == store.id)) is None):
            errors["store_id"] = _l("Choose a store, or none for the whole company.")
        else:
            store_id = store.id
    try:
        steps = clean_steps(data.get("steps") or [])
    except ValidationFailed as exc:
        errors.update(exc.errors)
        steps = []
    if not errors and db.session.scalar(select(ApprovalChain.id).where(
            ApprovalChain.key == key,
            ApprovalChain.store_id.is_(None) if store_id is None else ApprovalChain.store_id == store_id)):
        errors["key"] = _l("This chain already exists for that store; edit it instead.")
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    chain = ApprovalChain(key=key, store_id=store_id, name=name, active=True, current_version=1,
                          created_at=now, updated_at=now)
    chain.versions.append(ApprovalChainVersion(version=1, steps=steps, created_by_id=actor.id, created_at=now,
                                               comment="created"))
    db.session.add(chain)
    db.session.flush()
    return chain


def current_steps(chain: ApprovalChain) -> list[dict[str, Any]]:
    version = db.session.scalar(select(ApprovalChainVersion).where(
        ApprovalChainVersion.chain_id == chain.id, ApprovalChainVersion.version == chain.current_version))
    return list(version.steps) if version is not None else []


def save_steps(
    chain_id: int, raw_steps: Any, *, actor: User, lock_version: int | None = None, comment: str | None = None,
    name: str | None = None, active: bool | None = None,
) -> ApprovalChain:
    """A new version of the chain's steps (as loaded by StepsInput, or a plain list; running requests keep
    the version they snapshotted). With `lock_version`, an edit based on an older page is refused (someone
    else saved in between)."""
    _check_admin(actor)
    chain = db.session.get(ApprovalChain, chain_id, with_for_update=True)
    if chain is None:
        raise NotFound()
    if lock_version is not None and chain.lock_version != lock_version:
        raise Conflict(_l("Someone else changed this chain meanwhile. Reload it and redo your change."))
    steps = clean_steps(raw_steps)
    if name is not None:
        name = name.strip()
        if not name or len(name) > 120:
            raise ValidationFailed({"name": _l("Enter a name of at most 120 characters.")})
        chain.name = name
    if active is not None:
        chain.active = bool(active)
    if steps != current_steps(chain):
        chain.current_version += 1
        db.session.add(ApprovalChainVersion(chain_id=chain.id, version=chain.current_version, steps=steps,
                                            created_by_id=actor.id, created_at=utcnow(), comment=(comment or "")[:500] or None))
    chain.updated_at = utcnow()
    db.session.flush()
    return chain


def move_step(chain_id: int, index: int, delta: int, *, actor: User, lock_version: int | None = None) -> ApprovalChain:
    chain = db.session.get(ApprovalChain, chain_id)
    if chain is None:
        raise NotFound()
    steps = current_steps(chain)
    target = index + delta
    if not (0 <= index < len(steps)) or not (0 <= target < len(steps)):
        raise ValidationFailed({"step": _l("This step cannot move further.")})
    steps[index], steps[target] = steps[target], steps[index]
    return save_steps(chain_id, steps, actor=actor, lock_version=lock_version, comment="reordered")


def remove_step(chain_id: int, index: int, *, actor: User, lock_version: int | None = None) -> ApprovalChain:
    chain = db.session.get(ApprovalChain, chain_id)
    if chain is None:
        raise NotFound()
    steps = current_steps(chain)
    if not 0 <= index < len(steps):
        raise NotFound()
    del steps[index]
    return save_steps(chain_id, steps, actor=actor, lock_version=lock_version, comment="step removed")


def put_step(chain_id: int, index: int | None, raw: Loaded | dict[str, Any], *, actor: User,
             lock_version: int | None = None) -> ApprovalChain:
    """Add a step at the end (index None) or replace step `index`."""
    chain = db.session.get(ApprovalChain, chain_id)
    if chain is None:
        raise NotFound()
    steps = current_steps(chain)
    step = clean_step(raw)
    if index is None:
        steps.append(step)
    elif 0 <= index < len(steps):
        steps[index] = step
    else:
        raise NotFound()
    return save_steps(chain_id, steps, actor=actor, lock_version=lock_version,
                      comment="step added" if index is None else "step edited")


def chain_for(key: str, store_id: int | None) -> ApprovalChain | None:
    """The store's own active chain of that key, else the company-wide one."""
    if store_id is not None:
        own = db.session.scalar(select(ApprovalChain).where(
            ApprovalChain.key == key, ApprovalChain.store_id == store_id, ApprovalChain.active))
        if own is not None:
            return own
    return db.session.scalar(select(ApprovalChain).where(
        ApprovalChain.key == key, ApprovalChain.store_id.is_(None), ApprovalChain.active))
