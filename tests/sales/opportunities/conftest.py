"""Opportunity test support: store A's pipeline with its stages, and opportunities made through the
services."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.sales.opportunities import services as svc

STAGES = [{"name": "Lead", "win_rate": "10"}, {"name": "Sample sent", "win_rate": "40"},
          {"name": "Negotiation", "win_rate": "75.5"}]


@pytest.fixture
def pipes(org):
    a = svc.save_pipeline(None, {"name": "Wholesale", "stages": STAGES}, actor=org.a_manager)
    b = svc.save_pipeline(None, {"name": "B pipeline", "stages": STAGES[:2]}, actor=org.b_manager)
    db.session.commit()
    return {"a": a, "b": b}


def opp(user, customer, pipeline, name="Deal", amount="10000", **extra):
    o = svc.create_opportunity({"customer_id": customer.id, "pipeline_id": pipeline.id, "name": name,
                                "amount": amount, **extra}, actor=user)
    db.session.commit()
    return o
