"""Reads about opportunities: pipelines of a store, the kanban board, funnel and forecast — all through
the actor's scope."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Any

from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import visible
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.opportunities.models import Opportunity
from crm.sales.opportunities.models import OpportunityStatus
from crm.sales.opportunities.models import Pipeline
from crm.sales.opportunities.models import PipelineStage

BOARD_LIMIT = 200  # cards per column


def pipelines(actor: User, *, store_id: int | None = None, active_only: bool = True) -> list[Pipeline]:
    """The pipelines of the actor's store (everyone of a store works with its pipelines), or for users
    above store level those of the stores in their scope."""
    if actor.store_id is not None:
        stmt = select(Pipeline).where(Pipeline.store_id == actor.store_id)
    else:
        stmt = visible(select(Pipeline), actor, Pipeline)
    if active_only:
        stmt = stmt.where(Pipeline.active)
    if store_id:
        stmt = stmt.where(Pipeline.store_id == store_id)
    return list(db.session.scalars(stmt.order_by(Pipeline.store_id, Pipeline.position, Pipeline.id)))


@dataclass
class Column:
    stage: PipelineStage
    cards: list[Opportunity] = field(default_factory=list)
    amount: Decimal = Decimal("0.00")
    weighted: Decimal = Decimal("0.00")


def board(pipeline: Pipeline, actor: User) -> list[Column]:
    columns = [Column(stage=s) for s in pipeline.stages if s.active]
    by_stage = {c.stage.id: c for c in columns}
    rank = func.row_number().over(partition_by=Opportunity.stage_id,
                                  order_by=(Opportunity.position, Opportunity.id)).label("rank")
    inner = visible(select(Opportunity.id.label("oid"), rank).where(
        Opportunity.pipeline_id == pipeline.id, Opportunity.status == OpportunityStatus.OPEN), actor, Opportunity).subquery()
    rows = db.session.scalars(select(Opportunity).join(inner, inner.c.oid == Opportunity.id)
                              .where(inner.c.rank <= BOARD_LIMIT).order_by(Opportunity.position, Opportunity.id))
    for opp in rows:
        column = by_stage.get(opp.stage_id)
        if column is not None:
            column.cards.append(opp)
            column.amount += opp.amount
            column.weighted += (opp.amount * column.stage.win_rate).quantize(Decimal("0.01"))
    return columns


@dataclass(frozen=True)
class ForecastRow:
    key: int
    name: str
    open_count: int
    open_amount: Decimal
    weighted: Decimal
    won_amount: Decimal


def forecast(actor: User, *, by: str = "owner", pipeline_id: int | None = None) -> list[ForecastRow]:
    """Per salesperson (`by="owner"`) or per store: open amount, forecast (Σ amount × win rate) and won."""
    group = Opportunity.owner_id if by == "owner" else Opportunity.store_id
    is_open = Opportunity.status == OpportunityStatus.OPEN

    stmt = visible(select(
        group.label("key"),
        func.sum(case((is_open, 1), else_=0)).label("open_count"),
        func.coalesce(func.sum(case((is_open, Opportunity.amount), else_=0)), 0).label("open_amount"),
        func.coalesce(func.sum(case((is_open, Opportunity.amount * PipelineStage.win_rate), else_=0)), 0).label("weighted"),
        func.coalesce(func.sum(case((Opportunity.status == OpportunityStatus.WON, Opportunity.amount), else_=0)), 0)
        .label("won"),
    ).join(PipelineStage, PipelineStage.id == Opportunity.stage_id), actor, Opportunity).group_by(group)
    if pipeline_id:
        stmt = stmt.where(Opportunity.pipeline_id == pipeline_id)
    rows = db.session.execute(stmt).all()
    model: Any = User if by == "owner" else OrgUnit
    names = {k: v for k, v in db.session.execute(
        select(model.id, model.name).where(model.id.in_([r.key for r in rows]))).all()} if rows else {}
    cents = Decimal("0.01")
    return sorted((ForecastRow(key=r.key, name=names.get(r.key, "?"), open_count=int(r.open_count or 0),
                               open_amount=Decimal(r.open_amount).quantize(cents),
                               weighted=Decimal(r.weighted).quantize(cents), won_amount=Decimal(r.won).quantize(cents))
                   for r in rows), key=lambda x: (-x.weighted, x.name))


def open_opportunity_customer_ids(store_id: int) -> Any:
    """SELECT of the store's customers that have an open opportunity: the high seas' "open opportunity"
    exemption (registered by create_app), so the recycle sweep leaves them with their owner."""
    return select(Opportunity.customer_id).where(Opportunity.store_id == store_id,
                                                 Opportunity.status == OpportunityStatus.OPEN).distinct()


def of_customer(actor: User, customer_id: int, limit: int = 20) -> list[Opportunity]:
    """The customer's opportunities the actor may see, open first, newest first (the customer page)."""
    stmt = visible(select(Opportunity).where(Opportunity.customer_id == customer_id), actor, Opportunity)
    return list(db.session.scalars(stmt.order_by(case((Opportunity.status == OpportunityStatus.OPEN, 0), else_=1),
                                                 Opportunity.id.desc()).limit(limit)))


def stage_names(opportunity: Opportunity, ids: set[int]) -> dict[int, str]:
    """Names of stages an opportunity's history mentions: stages of pipelines of its own store (a stage
    of another store is never shown, even by a forged log entry)."""
    if not ids:
        return {}
    return dict(db.session.execute(select(PipelineStage.id, PipelineStage.name).where(
        PipelineStage.id.in_(ids), PipelineStage.store_id == opportunity.store_id)).all())


def pipeline_names(opportunity: Opportunity, ids: set[int]) -> dict[int, str]:
    """Names of pipelines of the opportunity's own store that its history mentions."""
    if not ids:
        return {}
    return dict(db.session.execute(select(Pipeline.id, Pipeline.name).where(
        Pipeline.id.in_(ids), Pipeline.store_id == opportunity.store_id)).all())


def names(ids: set[int], actor: User) -> dict[int, str]:
    """Names of these opportunities, those in the actor's scope (a quote's history names its own)."""
    if not ids:
        return {}
    return dict(db.session.execute(visible(select(Opportunity.id, Opportunity.name).where(Opportunity.id.in_(ids)),
                                           actor, Opportunity)).all())
