"""What the sales context plugs into the engine and the approvals: the `sales.set_quote_status`
operator of processes/quote_approval.bpmn and quotes as an approvable type (chain `discount_audit`)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from crm.approvals.registry import Approvable
from crm.approvals.registry import Field
from crm.approvals.registry import register_approvable
from crm.approvals.services import rejection_comment
from crm.auth.scopes import get_visible
from crm.core.errors import NotFound
from crm.extensions import db
from crm.sales.orders import prices
from crm.sales.quotes import services as quote_services
from crm.sales.quotes.models import Quote
from crm.sales.quotes.models import QuoteStatus
from crm.workflow import registry
from crm.workflow.registry import OperatorContext
from crm.workflow.registry import ProcessContract

# The statuses `sales.set_quote_status` may write are the quote's (deployment refuses another one).
registry.register_contract(ProcessContract(process=quote_services.PROCESS_KEY,
                                           statuses=tuple(s.value for s in QuoteStatus), object_label=_l("a quote")))


@registry.operator("sales.set_quote_status")
def set_quote_status(ctx: OperatorContext, status: str) -> dict[str, Any]:
    if ctx.object_type != "quote" or ctx.object_id is None:
        raise ValueError("sales.set_quote_status needs an instance of a quote")
    comment = rejection_comment(ctx.data.get("approval")) if status == "rejected" else None
    quote = quote_services.set_quote_status(ctx.object_id, status, comment=comment)
    return {"status": quote.status.value}


def _load(quote_id: int, actor: Any) -> Quote | None:
    if actor is None:
        return db.session.get(Quote, quote_id)
    try:
        return get_visible(Quote, quote_id, actor)
    except NotFound:
        return None


def _pct(rate: Any) -> str:
    return "—" if rate is None else f"{rate * 100:.2f} %"


def _audited(rate: Any) -> Any:
    """Would this rate alone send the quote to the discount audit? Asked of the quote approval diagram's
    own condition (`min_rate < 0.90` as shipped); 90 % when the diagram is not deployed."""
    from decimal import Decimal

    from crm.workflow import deploy

    if rate is None:
        return False
    try:
        return deploy.evaluate_condition(deploy.flow_condition("quote_approval", "qa_gw_rate", "qa_pending"),
                                         {"min_rate": float(rate)})
    except Exception:  # noqa: BLE001 — no deployed diagram (a fresh database): the shipped rule
        return rate < Decimal("0.90")


def _summary(quote: Quote) -> dict[str, Any]:
    """The header (customer, totals) as label/value lines, the quote lines as one table: a line whose
    rate alone needs the discount audit is flagged (shown in red)."""
    history = prices.price_history(quote, n=3)
    lines: list[list[Any]] = [
        [_l("Customer"), quote.customer.name],
        [_l("Total"), f"¥{quote.total:,.2f} / ¥{quote.list_total:,.2f}"],
        [_l("Overall discount rate"), _pct(quote.discount_rate)],
    ]

    def paid(points: list[Any]) -> str:
        return ", ".join(f"¥{p.unit_price:,.2f} ({p.at:%Y-%m-%d})" for p in points) or "—"

    rows = [{"cells": [line.product.name, str(line.quantity), f"¥{line.unit_price:,.2f}", _pct(line.discount_rate),
                       paid(history["customer"].get(line.product_id, [])),
                       paid(history["store"].get(line.product_id, []))],
             "flag": bool(_audited(line.discount_rate))}
            for line in quote.lines]
    table = {"columns": [_l("Product"), _l("Quantity"), _l("Unit price"), _l("Discount rate"), _l("Customer paid"),
                         _l("Store paid")], "rows": rows, "numeric": [1, 2, 3]}
    return {"title": _l("Quote %(number)s v%(version)s", number=quote.number, version=quote.version),
            "lines": lines, "table": table, "url": f"/quotes/{quote.id}"}


register_approvable(Approvable(
    object_type="quote", label=_l("Quote"), load=_load,
    values=lambda q: {"amount": q.total, "discount_rate": q.discount_rate, "min_rate": q.min_line_rate},
    summary=_summary,
    fields=(Field("amount", _l("Amount"), "number"), Field("discount_rate", _l("Overall discount rate"), "number"),
            Field("min_rate", _l("Lowest line discount rate"), "number")),
))
