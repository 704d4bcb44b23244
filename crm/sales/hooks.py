"""The sales context's registrations with the customers context (imported by `create_app`):
opportunities follow a transferred customer to the new owner; opportunities and quotes follow a merged
customer; orders follow a merged customer (a transfer leaves them with the salesperson who sold)."""

from __future__ import annotations

from crm.customers.services.merge import register_merge_handler
from crm.customers.services.owners import register_transfer_handler
from crm.sales.opportunities import services as opportunity_services
from crm.sales.orders import services as order_services

register_transfer_handler("sales.opportunities", opportunity_services.on_customer_transferred)
register_merge_handler("sales.opportunities_and_quotes", opportunity_services.on_customers_merged)
register_merge_handler("sales.orders", order_services.on_customers_merged)
