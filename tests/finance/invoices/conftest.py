"""Invoice test support: an order of store A (¥950.00, signed, waiting for its money), requesting an
invoice through the service, and finance's and logistics' tasks of `invoice_request` completed the way the
inbox completes them (a file uploaded to the task first)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.finance.invoices import services
from crm.finance.invoices.models import OBJECT_TYPE
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus
from crm.workflow.tasks import files as task_files
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.services import JsonSubmission

PDF = b"%PDF-1.4\n% an e-invoice\n"


@pytest.fixture(autouse=True)
def _uploads(uploads: Any) -> Any:
    """Files (task attachments, invoice files) in the test's own folder."""
    return uploads


def request_invoice(target: Any, user: Any, amount: Any = "950.00", kind: str = "electronic", **fields: Any) -> Any:
    """An invoice of `target` (an order, or a quote with `quote=True`) requested by `user`, committed."""
    quote = fields.pop("quote", False)
    data = {"type": kind, "title": "宁波港物流有限公司", "amount": str(amount), "email": "fp@example.com",
            "mailing_address": "宁波市北仑区 1 号 张三 13800000000" if kind == "paper" else None, **fields}
    request = services.request_for_quote if quote else services.request_for_order
    invoice = request(target.id, data, actor=user)
    db.session.commit()
    return invoice


def invoice_task(invoice: Any, bpmn_id: str = "ir_issue") -> HumanTask:
    return db.session.scalars(select(HumanTask).where(
        HumanTask.object_type == OBJECT_TYPE, HumanTask.object_id == invoice.id, HumanTask.bpmn_id == bpmn_id,
        HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))).one()


def issue(invoice: Any, finance: Any, amount: Any = None, number: str = "24332000000012345678",
          issued_on: str = "2026-12-01", content: bytes = PDF, name: str = "发票.pdf") -> Any:
    """Finance issues the invoice from its inbox task: the file uploaded to the task, then the form."""
    task = invoice_task(invoice)
    attachment = task_files.add_attachment(task.id, name, io.BytesIO(content), actor=finance, field="invoice_file")
    tasks.complete(task.id, JsonSubmission({"issue": {
        "decision": "issue", "invoice_no": number, "issued_on": issued_on,
        "amount": str(amount if amount is not None else invoice.amount)}, "invoice_file": attachment.id}),
        actor=finance)
    db.session.commit()
    db.session.refresh(invoice)
    return invoice


def reject(invoice: Any, finance: Any, reason: str = "抬头与税号不符") -> Any:
    tasks.complete(invoice_task(invoice).id, JsonSubmission({"issue": {"decision": "reject", "reason": reason}}),
                   actor=finance)
    db.session.commit()
    db.session.refresh(invoice)
    return invoice


def mail(invoice: Any, user: Any, carrier: str = "顺丰速运", tracking_no: str = "SF1234567890") -> Any:
    tasks.complete(invoice_task(invoice, "ir_mail").id, JsonSubmission({"mailing": {
        "carrier": carrier, "tracking_no": tracking_no}}), actor=user)
    db.session.commit()
    db.session.refresh(invoice)
    return invoice
