"""Settlement test support: three prepay orders of store A waiting for their money (¥950.00 each), an
order of store B, HQ finance, and a helper recording a batch with one voucher."""

from __future__ import annotations

import io
from typing import Any

import pytest

from crm.extensions import db
from crm.finance.demo import VOUCHER
from crm.finance.settlements import services
from crm.sales.orders import services as order_services
from crm.workflow import runtime
from tests.factories import UserFactory
from tests.finance.conftest import signed_order
from tests.sales.conftest import line
from tests.sales.conftest import open_task
from tests.sales.conftest import submitted


@pytest.fixture
def orders(org: Any, products: Any, customers: Any, staff: Any) -> list[Any]:
    return [signed_order(org, products, customers) for _ in range(3)]


@pytest.fixture
def b_order(org: Any, products: Any, customers: Any) -> Any:
    """A prepay order of store B waiting for its money."""
    quote = submitted(org.b_rep, customers["b"], line(products["p100"], "95.00", 10))
    order = order_services.create_from_quote(quote.id, {"payment_mode": "prepay", "terminal": "pc",
                                                        "ship_address": "宁波市北仑区 1 号"}, actor=org.b_rep)
    db.session.commit()
    runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=org.b_rep.id)
    db.session.commit()
    db.session.refresh(order)
    return order


@pytest.fixture
def hq_finance(org: Any) -> Any:
    """Finance at HQ: the finance role, placed above every store."""
    user = UserFactory(name="HQ Finance", unit=org.hq, roles=[org.roles["finance"]])
    db.session.commit()
    return user


def batch(orders: list[Any], amounts: list[str], **fields: Any) -> dict[str, Any]:
    total = sum((float(a) for a in amounts), 0.0)
    return {"payer": "Tmall", "reference": "TM-2026-12-01", "amount": f"{total:.2f}",
            "lines": [{"order_id": o.id, "amount": a} for o, a in zip(orders, amounts, strict=True)], **fields}


def record(actor: Any, data: dict[str, Any], vouchers: int = 1) -> Any:
    uploads = [(f"batch{i}.png", io.BytesIO(VOUCHER)) for i in range(vouchers)]
    settlement = services.record_settlement(data, uploads, actor=actor)
    db.session.commit()
    return settlement
