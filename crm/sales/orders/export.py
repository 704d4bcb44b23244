"""The export of signed orders (pages and API): one row per order, for statistics in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import lazy_gettext as _l

from crm.core import tabular
from crm.org.models import User
from crm.sales.orders import queries as order_queries
from crm.sales.orders.models import ORDER_STATUS_LABELS
from crm.sales.orders.models import PAYMENT_MODE_LABELS
from crm.sales.orders.models import TERMINAL_LABELS
from crm.sales.orders.queries import OrderFilters

TITLES = [_l("Number"), _l("Signed"), _l("Store"), _l("Salesperson"), _l("Customer"), _l("Status"),
          _l("Payment mode"), _l("Terminal"), _l("Total"), _l("List total"), _l("Paid"), _l("Lines"),
          _l("Quantity"), _l("Rating"), _l("Completed")]


def _rows(orders: list[Any]) -> Iterator[list[Any]]:
    owners, stores = order_queries.names(orders)
    for o in orders:
        yield [o.number, o.signed_at, stores.get(o.store_id, ""), owners.get(o.owner_id, ""), o.customer.name,
               str(ORDER_STATUS_LABELS[o.status]), str(PAYMENT_MODE_LABELS[o.payment_mode]),
               str(TERMINAL_LABELS[o.terminal]), o.total, o.list_total, o.paid_amount, len(o.lines),
               sum(ln.quantity for ln in o.lines), o.rating, o.completed_at]


def signed_orders_file(actor: User, filters: OrderFilters, fmt: str) -> tuple[bytes, str, str]:
    """(body, mimetype, file name) of the signed orders in the actor's scope."""
    orders = list(order_queries.signed_orders(actor, filters))
    body = tabular.write_table([str(t) for t in TITLES], _rows(orders), fmt, sheet="orders")
    return body, tabular.MIMETYPES[fmt], f"signed-orders.{fmt}"
