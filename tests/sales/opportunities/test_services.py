"""Opportunities: pipelines per store with win rates, create with cross-store refusal, stage moves (saved,
logged, stale boards refused), won/lost, funnel and forecast, customer transfer and merge. The pages:
test_views.py; the API: test_api.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.core.audit import OperationLog
from crm.core.errors import Conflict
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.sales.opportunities import queries as opportunity_queries
from crm.sales.opportunities import services as svc
from crm.sales.opportunities.models import OpportunityStatus
from tests.sales.opportunities.conftest import STAGES
from tests.sales.opportunities.conftest import opp


def test_pipelines_are_per_store_with_ordered_stages_and_win_rates(org, pipes):
    a = pipes["a"]
    assert a.store_id == org.store_a.id and [s.name for s in a.stages] == ["Lead", "Sample sent", "Negotiation"]
    assert [s.win_rate for s in a.stages] == [Decimal("0.1"), Decimal("0.4"), Decimal("0.755")]
    with pytest.raises(ValidationFailed) as err:
        svc.save_pipeline(None, {"name": "", "stages": [{"name": "X", "win_rate": "120"}, {"name": "Y", "win_rate": "a"}]},
                          actor=org.a_manager)
    assert set(err.value.errors) == {"name", "stages.0.win_rate", "stages.1.win_rate"}
    with pytest.raises(PermissionDenied):
        svc.save_pipeline(None, {"name": "Mine", "stages": STAGES}, actor=org.a_rep1)
    with pytest.raises(NotFound):
        svc.save_pipeline(pipes["b"].id, {"name": "Hijack", "stages": STAGES}, actor=org.a_manager)
    # reorder and retire a stage: ids kept
    lead, sample, nego = a.stages
    svc.save_pipeline(a.id, {"name": "Wholesale", "stages": [
        {"id": nego.id, "name": "Negotiation", "win_rate": "80"}, {"id": lead.id, "name": "Lead", "win_rate": "5"}]},
        actor=org.a_manager)
    db.session.commit()
    assert [(s.name, s.active) for s in a.stages] == [("Negotiation", True), ("Lead", True), ("Sample sent", False)]


def test_create_refuses_cross_store_references(org, pipes, customers, products):
    with pytest.raises(ValidationFailed) as err:
        svc.create_opportunity({"customer_id": customers["a"].id, "pipeline_id": pipes["b"].id, "name": "X",
                                "amount": "1.001", "member_ids": [org.b_rep.id],
                                "products": [{"product_id": products["off"].id}]}, actor=org.a_rep1)
    assert set(err.value.errors) == {"pipeline_id", "amount", "member_ids", "products.0.product_id"}
    with pytest.raises(ValidationFailed) as err:
        svc.create_opportunity({"customer_id": customers["b"].id, "pipeline_id": pipes["a"].id, "name": "X"},
                               actor=org.a_rep1)
    assert "customer_id" in err.value.errors
    o = opp(org.a_rep1, customers["a"], pipes["a"], member_ids=[org.a_rep2.id],
            products=[{"product_id": products["p100"].id, "quantity": 300}], expected_close="2026-12-31")
    assert o.stage.name == "Lead" and o.store_id == org.store_a.id and o.owner_id == org.a_rep1.id
    assert [m.user_id for m in o.members] == [org.a_rep2.id] and o.products[0].quantity == 300
    # the team member sees it; the other store does not
    assert svc.get_opportunity(o.id, org.a_rep2).id == o.id
    with pytest.raises(NotFound):
        svc.get_opportunity(o.id, org.b_rep)


def test_moves_are_saved_logged_and_stale_boards_refused(org, pipes, customers):
    o = opp(org.a_rep1, customers["a"], pipes["a"])
    lead, sample, nego = pipes["a"].stages
    seen = o.lock_version
    svc.move_stage(o.id, sample.id, actor=org.a_rep1, lock_version=seen)
    db.session.commit()
    assert o.stage_id == sample.id
    log = db.session.scalars(db.select(OperationLog).where(OperationLog.object_type == "opportunity",
                                                           OperationLog.object_id == o.id,
                                                           OperationLog.action == "stage_moved")).one()
    assert log.note == "Lead → Sample sent" and log.actor_id == org.a_rep1.id
    with pytest.raises(Conflict):
        svc.move_stage(o.id, nego.id, actor=org.a_rep1, lock_version=seen)  # the other tab's stale board
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        svc.move_stage(o.id, pipes["b"].stages[0].id, actor=org.a_rep1)
    db.session.rollback()
    with pytest.raises(NotFound):
        svc.move_stage(o.id, nego.id, actor=org.b_rep)


def test_won_lost_with_reason_funnel_and_forecast(org, pipes, customers):
    lead, sample, nego = pipes["a"].stages
    o1 = opp(org.a_rep1, customers["a"], pipes["a"], name="One", amount="10000")
    o2 = opp(org.a_rep1, customers["a2"], pipes["a"], name="Two", amount="20000")
    o4 = opp(org.b_rep, customers["b"], pipes["b"], name="B one", amount="99999")
    svc.move_stage(o2.id, nego.id, actor=org.a_rep1)
    with pytest.raises(ValidationFailed) as err:
        svc.close_opportunity(o1.id, "lost", "", actor=org.a_rep1)
    assert "reason" in err.value.errors
    svc.close_opportunity(o1.id, "won", "signed", actor=org.a_rep1)
    db.session.commit()
    assert o1.status == OpportunityStatus.WON and o1.closed_at is not None
    with pytest.raises(InvalidTransition):
        svc.move_stage(o1.id, sample.id, actor=org.a_rep1)
    db.session.rollback()

    rows = {r.name: r for r in opportunity_queries.forecast(org.a_manager, by="owner")}
    assert rows["A Rep One"].weighted == Decimal("15100.00")  # 20000 × 75.5 %
    assert rows["A Rep One"].won_amount == Decimal("10000.00") and rows["A Rep One"].open_count == 1
    stores = {r.name: r for r in opportunity_queries.forecast(org.a_manager, by="store")}
    assert set(stores) == {"Store A"}
    columns = opportunity_queries.board(pipes["a"], org.a_manager)
    assert [len(c.cards) for c in columns] == [0, 0, 1] and columns[2].weighted == Decimal("15100.00")
    assert o4.store_id == org.store_b.id


def test_customer_transfer_and_merge_carry_opportunities_and_quotes(org, pipes, customers, products, quote_process):
    from crm.customers.services.merge import merge
    from crm.customers.services.owners import transfer
    from tests.sales.conftest import line
    from tests.sales.conftest import submitted

    o = opp(org.a_rep1, customers["a"], pipes["a"])
    transfer([customers["a"]], org.a_rep2.id, actor=org.a_manager)
    db.session.commit()
    db.session.refresh(o)
    assert o.owner_id == org.a_rep2.id
    from crm.sales.opportunities.queries import open_opportunity_customer_ids

    open_ids = set(db.session.scalars(open_opportunity_customer_ids(customers["a"].store_id)))
    assert customers["a"].id in open_ids and customers["a2"].id not in open_ids
    q = submitted(org.a_rep1, customers["a2"], line(products["p100"], "95.00"))
    o2 = opp(org.a_rep1, customers["a2"], pipes["a"], name="Merged deal")
    merge(customers["a2"], customers["a"], actor=org.a_manager)
    db.session.commit()
    for row in (q, o2, *q.lines):
        db.session.refresh(row)
    assert q.customer_id == o2.customer_id == q.lines[0].customer_id == customers["a"].id
