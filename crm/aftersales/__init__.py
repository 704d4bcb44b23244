"""After-sales (售后, DESIGN §7, issue 21): cases opened on a delivered or paid order — return and refund,
refund only, exchange, reissue — approved through the `approval` chain `after_sales` and carried out by
the warehouse, logistics and finance from their inboxes, as `processes/after_sales.bpmn` says.

- `cases/`: the case, its goods lines, the return and replacement shipments, the inspection with its
  photos, and what finance did (the refund record, the invoice re-issued).

After-sales sits above finance and sales: it reads and locks orders (`sales.orders.services.lock_order`),
asks finance to record its refund (`finance.payments.services.record_case_refund`, which knows the case
only as a reference string) and to re-issue the order's invoice (`finance.invoices.services.reissue_for_order`).
Neither knows after-sales: the order page shows its box through `register_order_section`, and the order's
after-sales marker is the plain counter `Order.after_sales_open` kept by this context."""
