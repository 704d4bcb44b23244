"""The receipts-and-payments ledger: every collection and refund in the reader's scope, filtered,
totalled, paged and exported; and what orders still owe."""
