"""The finance centre (DESIGN §7, §9): money in and out of orders.

- `payments/`: collections (money in, each verified against its vouchers by `collection_verification`)
  and refunds (money out), one table, which is the ledger;
- `plans/`: receivable plans (an order's instalments, the verified collections allocated to them, the
  reminders before and after their due dates);
- `makeups/`: make-up payments (补款): extra amounts a signed order owes, approved through `make_up.bpmn`
  (chain `make_up`), kept on the order as `make_up_amount` so what it owes is total + make-ups;
- `ledger/`: the receipts-and-payments list, its export and the receivables ageing;
- `invoices/`: invoices requested on quotes and orders, issued, mailed or rejected through
  `invoice_request`, voided by finance.

Finance sits above sales: it reads and locks orders, and sends the order pipeline its `order_paid`
message when the verified collections reach what the order owes. Sales knows nothing of finance; the
order page shows finance's sections through `crm.sales.orders.queries.register_order_section`, the quote
page its invoices through `crm.sales.quotes.queries.register_quote_section`."""
