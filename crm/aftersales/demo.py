"""Demo after-sales for `flask crm seed-demo`: on the salesperson's latest completed order the customer
reports broken pallets and asks for a return and refund; the case is opened through the real
`after_sales` process and waits for the approvers (the demo `after_sales` chain), so a supervisor finds
it in the Approvals queue on the first day."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crm.aftersales.cases import services
from crm.extensions import db
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus


def seed(users: dict[str, Any]) -> None:
    rep = users["13800000103"]
    order = db.session.scalars(select(Order).where(Order.owner_id == rep.id, Order.status == OrderStatus.COMPLETED,
                                                   Order.paid_amount > 0).order_by(Order.id.desc())).first()
    if order is None or not order.lines:
        return
    line = order.lines[0]
    quantity = max(1, min(5, line.quantity // 20))
    amount = min((line.unit_price * quantity).quantize(Decimal("0.01")), order.paid_amount)
    services.open_case(order.id, {
        "type": "return_refund", "reason": f"收货时发现 {quantity} 个托盘四角开裂，客户要求退货退款",
        "amount": f"{amount:.2f}", "invoice_reissue": False,
        "lines": [{"order_line_id": line.id, "quantity": quantity, "note": "四角开裂"}]}, actor=rep)
