"""Invoices (issue 20, item 6): requested by a salesperson from an approved quote or an order, issued or
rejected by finance through `invoice_request.bpmn`, mailed when on paper, voided (red-letter) by finance."""
