"""Pipelines (configured by admins per store) and opportunities: create, edit, move between stages (saved
and logged), close won or lost with a reason. Services take the actor, validate everything before writing
(field errors at once), flush and never commit. Cross-store references are refused: the customer, the
pipeline, its stages, team members and the owner all belong to the opportunity's store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy import update

from crm.auth.scopes import get_visible
from crm.auth.scopes import scope_context
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import as_id
from crm.core.validation import check_money
from crm.core.validation import check_text
from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User
from crm.sales.catalog.models import Product
from crm.sales.opportunities.models import Opportunity
from crm.sales.opportunities.models import OpportunityMember
from crm.sales.opportunities.models import OpportunityProduct
from crm.sales.opportunities.models import OpportunityStatus
from crm.sales.opportunities.models import Pipeline
from crm.sales.opportunities.models import PipelineStage

MAX_STAGES = 20


# Pipelines --------------------------------------------------------------------------------------------------
def _win_rate(raw: Any, errors: dict[str, str], field: str) -> Decimal:
    """A win rate given in percent ("25", "25 %") stored as a fraction (0.2500)."""
    text = str(raw if raw is not None else "").replace("%", "").strip()
    try:
        value = Decimal(text)
        if not Decimal(0) <= value <= Decimal(100) or value != value.quantize(Decimal("0.01")):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[field] = str(_l("Enter a win rate between 0 and 100 (percent, at most 2 decimals)."))
        return Decimal(0)
    return (value / 100).quantize(Decimal("0.0001"))


def _store_for(actor: User, raw: Any, errors: dict[str, str]) -> int | None:
    if actor.store_id is not None:
        return actor.store_id
    key = as_id(raw)
    unit = db.session.get(OrgUnit, key) if key else None
    if unit is None or unit.kind != UnitKind.STORE or key not in scope_context(actor).selectable_stores():
        errors["store_id"] = str(_l("Choose the store of this pipeline."))
        return None
    return key


def _stages(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    rows = [r for r in (raw or []) if isinstance(r, dict) and (str(r.get("name") or "").strip() or r.get("id"))]
    if not rows:
        errors["stages"] = str(_l("Add at least one stage."))
        return []
    if len(rows) > MAX_STAGES:
        errors["stages"] = str(_l("A pipeline has at most %(n)d stages.", n=MAX_STAGES))
        return []
    out = []
    for i, row in enumerate(rows):
        name = check_text(row.get("name"), errors, f"stages.{i}.name", max_length=100)
        out.append({"id": as_id(row.get("id")) if row.get("id") else None, "name": name,
                    "win_rate": _win_rate(row.get("win_rate"), errors, f"stages.{i}.win_rate")})
    return out


def save_pipeline(pipeline_id: Any, data: dict[str, Any], *, actor: User) -> Pipeline:
    """Create (pipeline_id None) or edit a pipeline with its ordered stages. Stages keep their ids; a
    stage left out is deactivated (its opportunities stay where they are until moved)."""
    if not actor.can("pipeline.manage"):
        raise PermissionDenied(_l("You may not configure pipelines."))
    errors: dict[str, str] = {}
    pipeline = get_visible(Pipeline, as_id(pipeline_id), actor) if pipeline_id else None
    store_id = pipeline.store_id if pipeline else _store_for(actor, data.get("store_id"), errors)
    name = check_text(data.get("name"), errors, "name", max_length=100)
    stages = _stages(data.get("stages"), errors)
    if pipeline is not None:
        known = {s.id: s for s in pipeline.stages}
        for i, s in enumerate(stages):
            if s["id"] is not None and s["id"] not in known:
                errors[f"stages.{i}.name"] = str(_l("This stage belongs to another pipeline."))
    if errors:
        raise ValidationFailed(errors)
    assert store_id is not None
    if pipeline is None:
        pipeline = Pipeline(store_id=store_id, name=name)
        db.session.add(pipeline)
    pipeline.name = name
    kept = set()
    for position, s in enumerate(stages):
        stage = next((x for x in pipeline.stages if x.id == s["id"]), None) if s["id"] else None
        if stage is None:
            stage = PipelineStage(store_id=store_id, name=s["name"], win_rate=s["win_rate"])
            pipeline.stages.append(stage)
        stage.name, stage.win_rate, stage.position, stage.active = s["name"], s["win_rate"], position, True
        kept.add(id(stage))
    retired = [s for s in pipeline.stages if id(s) not in kept]
    for offset, stage in enumerate(retired):
        stage.active = False
        stage.position = len(stages) + offset
    db.session.flush()
    db.session.expire(pipeline, ["stages"])
    return pipeline


# Opportunities ----------------------------------------------------------------------------------------------
def _require_edit(actor: User) -> None:
    if not actor.can("opportunity.edit"):
        raise PermissionDenied(_l("You may not change opportunities."))


def get_opportunity(opportunity_id: Any, actor: User) -> Opportunity:
    return get_visible(Opportunity, as_id(opportunity_id), actor)


def _date(raw: Any, errors: dict[str, str], field: str) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[field] = str(_l("Enter a date such as 2026-12-31."))
        return None


def _stage_of(pipeline: Pipeline | None, raw: Any, errors: dict[str, str]) -> PipelineStage | None:
    if pipeline is None:
        return None
    active = [s for s in pipeline.stages if s.active]
    if raw in (None, ""):
        if not active:
            errors["stage_id"] = str(_l("This pipeline has no stages."))
        return active[0] if active else None
    stage = next((s for s in active if s.id == as_id(raw)), None)
    if stage is None:
        errors["stage_id"] = str(_l("Choose a stage of the pipeline."))
    return stage


def _fields(data: dict[str, Any], actor: User, errors: dict[str, str], *, store_id: int | None,
            opportunity: Opportunity | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data or opportunity is None:
        out["name"] = check_text(data.get("name"), errors, "name", max_length=200)
    if "amount" in data or opportunity is None:
        out["amount"] = check_money(data.get("amount"), errors, "amount", required=False) or Decimal("0.00")
    if "expected_close" in data:
        out["expected_close"] = _date(data.get("expected_close"), errors, "expected_close")
    if "products" in data:
        rows = []
        raw = data.get("products") or []
        ids = {as_id(r.get("product_id")) for r in raw if isinstance(r, dict)}
        products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids), Product.on_shelf))}
        for i, r in enumerate(x for x in raw if isinstance(x, dict)):
            if as_id(r.get("product_id")) not in products:
                errors[f"products.{i}.product_id"] = str(_l("Choose a product on the shelf."))
                continue
            try:
                qty = int(str(r.get("quantity", 1)).strip())
                if not 1 <= qty <= 1_000_000:
                    raise ValueError
            except ValueError:
                errors[f"products.{i}.quantity"] = str(_l("Enter a whole number between 1 and %(max)d.", max=1_000_000))
                continue
            rows.append((as_id(r.get("product_id")), qty))
        out["products"] = rows
    if "member_ids" in data:
        ids = sorted({as_id(x) for x in (data.get("member_ids") or []) if as_id(x)})
        users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
        if any(u is None or not u.active or u.store_id != store_id for u in (users.get(i) for i in ids)):
            errors["member_ids"] = str(_l("Choose active people of the opportunity's store."))
        out["member_ids"] = ids
    return out


def _apply(opp: Opportunity, values: dict[str, Any]) -> None:
    for key in ("name", "amount", "expected_close"):
        if key in values:
            setattr(opp, key, values[key])
    if "products" in values:
        opp.products.clear()
        db.session.flush()
        for product_id, qty in values["products"]:
            opp.products.append(OpportunityProduct(product_id=product_id, quantity=qty))
    if "member_ids" in values:
        opp.members.clear()
        db.session.flush()
        for user_id in values["member_ids"]:
            if user_id != opp.owner_id:
                opp.members.append(OpportunityMember(user_id=user_id))


def create_opportunity(data: dict[str, Any], *, actor: User) -> Opportunity:
    _require_edit(actor)
    errors: dict[str, str] = {}
    customer: Customer | None = None
    try:
        customer = get_visible(Customer, as_id(data.get("customer_id")), actor)
    except NotFound:
        errors["customer_id"] = str(_l("Choose one of your customers."))
    # Pipelines are the store's configuration: any pipeline of the (visible) customer's store will do.
    pipeline = db.session.get(Pipeline, as_id(data.get("pipeline_id")))
    if pipeline is None or customer is None or pipeline.store_id != customer.store_id or not pipeline.active:
        pipeline = None
        errors["pipeline_id"] = str(_l("Choose a pipeline of the customer's store."))
    stage = _stage_of(pipeline, data.get("stage_id"), errors)
    values = _fields({"products": [], "member_ids": [], **data}, actor, errors,
                     store_id=customer.store_id if customer else None)
    if errors:
        raise ValidationFailed(errors)
    assert customer is not None and pipeline is not None and stage is not None
    opp = Opportunity(store_id=customer.store_id, owner_id=actor.id if actor.store_id == customer.store_id
                      else (customer.owner_id or actor.id), customer_id=customer.id, pipeline_id=pipeline.id,
                      stage_id=stage.id, name=values["name"], amount=values["amount"], created_by_id=actor.id)
    db.session.add(opp)
    db.session.flush()
    _apply(opp, values)
    db.session.flush()
    return opp


def _check_version(opp: Opportunity, expected: Any) -> None:
    if expected not in (None, "") and str(expected) != str(opp.lock_version):
        raise Conflict(_l("Someone else changed this opportunity meanwhile. Reload it and try again."))


def update_opportunity(opportunity_id: Any, data: dict[str, Any], *, actor: User, lock_version: Any = None) -> Opportunity:
    _require_edit(actor)
    opp = get_opportunity(opportunity_id, actor)
    _check_version(opp, lock_version)
    if opp.status != OpportunityStatus.OPEN:
        raise InvalidTransition(_l("A closed opportunity cannot be changed."))
    errors: dict[str, str] = {}
    values = _fields(data, actor, errors, store_id=opp.store_id, opportunity=opp)
    if errors:
        raise ValidationFailed(errors)
    _apply(opp, values)
    db.session.flush()
    return opp


def move_stage(opportunity_id: Any, stage_id: Any, *, actor: User, lock_version: Any = None,
               position: Any = None) -> Opportunity:
    """Move to another stage of its pipeline (the kanban drag or the "move to stage" select); logged with
    both stage names. With `lock_version`, a stale board gets a Conflict."""
    _require_edit(actor)
    opp = get_opportunity(opportunity_id, actor)
    _check_version(opp, lock_version)
    if opp.status != OpportunityStatus.OPEN:
        raise InvalidTransition(_l("A closed opportunity cannot be moved."))
    stage = db.session.get(PipelineStage, as_id(stage_id))
    if stage is None or stage.pipeline_id != opp.pipeline_id or not stage.active:
        raise ValidationFailed({"stage_id": _l("Choose a stage of the pipeline.")})
    old = opp.stage
    if position not in (None, ""):
        try:
            opp.position = max(0, min(int(position), 1_000_000))
        except (TypeError, ValueError):
            raise ValidationFailed({"position": _l("Invalid position.")}) from None
    if stage.id == opp.stage_id:
        db.session.flush()
        return opp
    opp.stage_id = stage.id
    db.session.flush()
    record_event(db.session, opp, "stage_moved", actor_id=actor.id,
                 note=f"{old.name} → {stage.name}", details={"from": old.id, "to": stage.id})
    db.session.refresh(opp)
    return opp


def close_opportunity(opportunity_id: Any, outcome: str, reason: Any, *, actor: User) -> Opportunity:
    _require_edit(actor)
    opp = get_opportunity(opportunity_id, actor)
    errors: dict[str, str] = {}
    if outcome not in (OpportunityStatus.WON.value, OpportunityStatus.LOST.value):
        errors["outcome"] = str(_l("Choose won or lost."))
    text = check_text(reason, errors, "reason", max_length=500, required=outcome == OpportunityStatus.LOST.value)
    if errors:
        raise ValidationFailed(errors)
    if opp.status != OpportunityStatus.OPEN:
        raise InvalidTransition(_l("This opportunity is already closed."))
    opp.status = OpportunityStatus(outcome)
    opp.close_reason = text or None
    opp.closed_at = utcnow()
    db.session.flush()
    record_event(db.session, opp, "closed_" + outcome, actor_id=actor.id, note=text or None)
    return opp


def reopen_opportunity(opportunity_id: Any, *, actor: User) -> Opportunity:
    _require_edit(actor)
    opp = get_opportunity(opportunity_id, actor)
    if opp.status == OpportunityStatus.OPEN:
        raise InvalidTransition(_l("This opportunity is open."))
    opp.status, opp.close_reason, opp.closed_at = OpportunityStatus.OPEN, None, None
    db.session.flush()
    record_event(db.session, opp, "reopened", actor_id=actor.id)
    return opp


# Customer registries ----------------------------------------------------------------------------------------
def on_customer_transferred(customer: Customer, old_owner_id: Any, new_owner_id: int, actor: User) -> None:
    """The customer's open opportunities owned by the old owner go to the new owner."""
    if old_owner_id is None:
        return
    db.session.execute(update(Opportunity).where(
        Opportunity.customer_id == customer.id, Opportunity.owner_id == old_owner_id,
        Opportunity.status == OpportunityStatus.OPEN).values(owner_id=new_owner_id,
                                                             lock_version=Opportunity.lock_version + 1))


def on_customers_merged(source: Customer, target: Customer, actor: User) -> None:
    """Opportunities follow the merged customer."""
    db.session.execute(update(Opportunity).where(Opportunity.customer_id == source.id).values(customer_id=target.id))
