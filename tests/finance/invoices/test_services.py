"""Invoices through `invoice_request.bpmn`: requested by a salesperson, issued with a file or rejected by
finance in the inbox, mailed when on paper, voided; what can still be invoiced; scope."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.files import stored_path
from crm.extensions import db
from crm.finance.invoices import services
from crm.finance.invoices.models import InvoiceStatus
from crm.notify.models import Notification
from crm.workflow import runtime
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import InstanceStatus
from tests.finance.invoices.conftest import PDF
from tests.finance.invoices.conftest import invoice_task
from tests.finance.invoices.conftest import issue
from tests.finance.invoices.conftest import mail
from tests.finance.invoices.conftest import reject
from tests.finance.invoices.conftest import request_invoice
from tests.sales.conftest import approved_quote
from tests.sales.conftest import order_from_quote


def _bells(user) -> list[str]:
    return list(db.session.scalars(select(Notification.kind).where(
        Notification.user_id == user.id, Notification.kind.startswith("invoice_")).order_by(Notification.id)))


def _candidates(task) -> set[int]:
    return set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))


def _left(order) -> Decimal:
    db.session.refresh(order)
    return services.invoiceable(services.target_of_order(order))


def test_a_paper_invoice_is_requested_issued_with_its_file_mailed_and_everyone_told(waiting, staff, org):
    order = waiting  # a_rep1's order; their supervisor asks for the invoice
    invoice = request_invoice(order, org.a_sup, "950.00", "paper", taxpayer_no="91 3302 00MA2ABCDEF1")
    assert invoice.status == InvoiceStatus.REQUESTED and invoice.order_id == order.id
    assert invoice.taxpayer_no == "91330200MA2ABCDEF1" and invoice.owner_id == org.a_rep1.id
    assert _left(order) == 0
    task = invoice_task(invoice)
    assert _candidates(task) == {staff["finance"].id, staff["finance2"].id}  # the store's finance
    assert "invoice_requested" in _bells(org.a_rep1)  # the salesperson learns someone asked for one

    issue(invoice, staff["finance"], amount="950.00")
    assert invoice.status == InvoiceStatus.ISSUED and invoice.invoice_no == "24332000000012345678"
    assert invoice.issued_on.isoformat() == "2026-12-01" and invoice.decided_by_id == staff["finance"].id
    assert invoice.file_original_name == "发票.pdf" and invoice.file_content_type == "application/pdf"
    assert stored_path(invoice.file_stored_name).read_bytes() == PDF  # its own copy, in finance's folder
    assert invoice.file_stored_name.startswith("finance/")

    mailing = invoice_task(invoice, "ir_mail")  # paper: finance or logistics mails it
    assert _candidates(mailing) == {staff["finance"].id, staff["finance2"].id, staff["logistics"].id}
    mail(invoice, staff["logistics"])
    assert invoice.status == InvoiceStatus.MAILED and (invoice.carrier, invoice.tracking_no) == ("顺丰速运", "SF1234567890")
    assert invoice.mailed_by_id == staff["logistics"].id
    [instance] = runtime.instances_of("invoice", invoice.id)
    assert instance.status == InstanceStatus.COMPLETED
    for person in (org.a_sup, org.a_rep1):  # the requester and the order's salesperson, at each step
        assert {"invoice_issued", "invoice_mailed"} <= set(_bells(person))
    assert "invoice_issued" not in _bells(staff["finance"])  # not whoever took the step


def test_an_electronic_invoice_is_done_once_issued(waiting, staff, org):
    invoice = issue(request_invoice(waiting, org.a_rep1, "300.00"), staff["finance"], amount="280.00")
    assert invoice.status == InvoiceStatus.ISSUED and invoice.amount == Decimal("280.00")  # finance's amount
    [instance] = runtime.instances_of("invoice", invoice.id)
    assert instance.status == InstanceStatus.COMPLETED
    assert _left(waiting) == Decimal("670.00")
    assert _bells(org.a_rep1) == ["invoice_issued"]  # they asked themselves: told once it is issued


def test_a_rejected_request_frees_its_amount_and_tells_why(waiting, staff, org):
    invoice = request_invoice(waiting, org.a_rep1)
    with pytest.raises(ValidationFailed) as refused:
        reject(invoice, staff["finance"], reason="")
    assert "issue.reason" in refused.value.errors
    db.session.rollback()
    reject(invoice, staff["finance"])
    assert invoice.status == InvoiceStatus.REJECTED and invoice.reject_reason == "抬头与税号不符"
    note = db.session.scalars(select(Notification).where(Notification.user_id == org.a_rep1.id,
                                                         Notification.kind == "invoice_rejected")).one()
    assert note.body == "抬头与税号不符" and note.url == f"/finance/invoices/{invoice.id}"
    assert _left(waiting) == Decimal("950.00")
    request_invoice(waiting, org.a_rep1)  # asked again, corrected


def test_issuing_needs_a_number_a_date_an_amount_and_the_file(waiting, staff, org):
    from crm.workflow.tasks import services as tasks
    from crm.workflow.tasks.services import JsonSubmission

    invoice = request_invoice(waiting, org.a_rep1, "500.00")
    with pytest.raises(ValidationFailed) as refused:
        tasks.complete(invoice_task(invoice).id, JsonSubmission({"issue": {"decision": "issue"}}), actor=staff["finance"])
    assert {"issue.invoice_no", "issue.issued_on", "issue.amount", "invoice_file"} <= set(refused.value.errors)
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        issue(invoice, staff["finance"], amount="951.00", issued_on="2999-01-01")
    assert refused.value.errors["issue.amount"] == ["At most ¥950.00 can still be invoiced."]
    assert "issue.issued_on" in refused.value.errors
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        issue(invoice, staff["finance"], content=b"MZ\x90\x00", name="fp.exe")
    db.session.rollback()
    issue(request_invoice(waiting, org.a_rep1, "100.00"), staff["finance"], number="N-1")
    with pytest.raises(ValidationFailed) as refused:
        issue(invoice, staff["finance"], number="N-1")  # a number is used once per store
    assert "issue.invoice_no" in refused.value.errors
    db.session.rollback()
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.REQUESTED and invoice.file_stored_name is None


def test_over_invoicing_is_refused_with_what_is_left(waiting, org, staff):
    with pytest.raises(ValidationFailed) as refused:
        request_invoice(waiting, org.a_rep1, "950.01")
    assert refused.value.errors["amount"] == ["At most ¥950.00 can still be invoiced."]
    db.session.rollback()
    first = request_invoice(waiting, org.a_rep1, "600.00")
    with pytest.raises(ValidationFailed) as refused:
        request_invoice(waiting, org.a_rep1, "400.00")
    assert refused.value.errors["amount"] == ["At most ¥350.00 can still be invoiced."]
    db.session.rollback()
    issue(first, staff["finance"])
    request_invoice(waiting, org.a_rep1, "350.00")
    with pytest.raises(ValidationFailed) as refused:
        request_invoice(waiting, org.a_rep1, "0.01")
    assert refused.value.errors["amount"] == ["At most ¥0.00 can still be invoiced."]
    db.session.rollback()


def test_voiding_frees_the_amount_to_be_invoiced_again(waiting, staff, org):
    invoice = issue(request_invoice(waiting, org.a_rep1), staff["finance"])
    with pytest.raises(PermissionDenied):
        services.void_invoice(invoice.id, {"reason": "开错了"}, actor=org.a_rep1)
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        services.void_invoice(invoice.id, {"reason": " "}, actor=staff["finance"])
    assert "reason" in refused.value.errors
    db.session.rollback()
    services.void_invoice(invoice.id, {"reason": "开错了税号，红冲"}, actor=staff["finance2"])
    db.session.commit()
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.VOIDED and invoice.void_reason == "开错了税号，红冲"
    assert invoice.voided_by_id == staff["finance2"].id and "invoice_voided" in _bells(org.a_rep1)
    with pytest.raises(InvalidTransition):
        services.void_invoice(invoice.id, {"reason": "again"}, actor=staff["finance"])
    db.session.rollback()
    again = issue(request_invoice(waiting, org.a_rep1), staff["finance"], number=invoice.invoice_no)  # number reusable
    assert again.status == InvoiceStatus.ISSUED and _left(waiting) == 0


def test_voiding_a_paper_invoice_waiting_for_its_mailing_ends_the_mailing_task(waiting, staff, org):
    invoice = issue(request_invoice(waiting, org.a_rep1, kind="paper"), staff["finance"])
    task = invoice_task(invoice, "ir_mail")
    services.void_invoice(invoice.id, {"reason": "客户不要纸质的了"}, actor=staff["finance"])
    db.session.commit()
    db.session.refresh(task)
    assert task.status.value == "cancelled"
    [instance] = runtime.instances_of("invoice", invoice.id)
    assert instance.status == InstanceStatus.COMPLETED


def test_a_requested_invoice_cannot_be_voided(waiting, staff, org):
    invoice = request_invoice(waiting, org.a_rep1)
    with pytest.raises(InvalidTransition):
        services.void_invoice(invoice.id, {"reason": "x"}, actor=staff["finance"])
    db.session.rollback()


def test_a_quote_is_invoiced_until_it_becomes_an_order_which_counts_its_invoices(org, products, customers, staff):
    quote = approved_quote(org, products, customers)  # ¥950.00, no order yet
    early = request_invoice(quote, org.a_rep1, "200.00", quote=True)
    assert early.quote_id == quote.id and early.order_id is None
    assert services.invoiceable(services.target_of_quote(quote)) == Decimal("750.00")
    issue(early, staff["finance"])
    order = order_from_quote(org, quote)
    assert _left(order) == Decimal("750.00")  # the quote's invoice counts for its order
    later = request_invoice(quote, org.a_rep1, "700.00", quote=True)  # asked on the quote: the order's
    assert later.order_id == order.id and later.quote_id == quote.id
    with pytest.raises(ValidationFailed) as refused:
        request_invoice(order, org.a_rep1, "50.01")
    assert refused.value.errors["amount"] == ["At most ¥50.00 can still be invoiced."]
    db.session.rollback()


def test_only_approved_quotes_and_live_orders_are_invoiced(org, products, customers, staff, waiting):
    from tests.sales.conftest import line
    from tests.sales.conftest import quote as draft_quote

    draft = draft_quote(org.a_rep1, customers["a"], line(products["p100"], "95.00", 2))
    with pytest.raises(InvalidTransition):
        request_invoice(draft, org.a_rep1, "10.00", quote=True)
    db.session.rollback()
    from crm.sales.orders import services as order_services

    order_services.cancel_order(waiting.id, {"reason": "不要了"}, actor=org.a_rep1)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        request_invoice(waiting, org.a_rep1, "10.00")
    db.session.rollback()


def test_input_errors_name_every_field_and_write_nothing(waiting, org):
    from crm.finance.invoices.models import Invoice

    with pytest.raises(ValidationFailed) as refused:
        services.request_for_order(waiting.id, {"type": "vat_special", "title": "", "amount": "12.345",
                                                "email": "not-an-address", "taxpayer_no": "123"}, actor=org.a_rep1)
    assert set(refused.value.errors) == {"title", "amount", "email", "taxpayer_no"}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        services.request_for_order(waiting.id, {"type": "paper", "title": "x", "amount": "1"}, actor=org.a_rep1)
    assert set(refused.value.errors) == {"mailing_address"}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        services.request_for_order(waiting.id, {"type": "vat_special", "title": "x", "amount": "1",
                                                "mailing_address": "x"}, actor=org.a_rep1)
    assert set(refused.value.errors) == {"taxpayer_no"}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        services.request_for_order(waiting.id, {}, actor=org.a_rep1)
    assert set(refused.value.errors) == {"type", "title", "amount"}
    db.session.rollback()
    assert db.session.scalar(select(Invoice.id).limit(1)) is None


def test_another_store_cannot_request_or_see(waiting, staff, org, roles):
    from tests.factories import UserFactory

    with pytest.raises(NotFound):
        request_invoice(waiting, org.b_rep)
    db.session.rollback()
    invoice = request_invoice(waiting, org.a_rep1)
    b_finance = UserFactory(name="B Finance", unit=org.units["store_b"], roles=[roles["finance"]])
    for user in (org.b_rep, org.b_manager, org.a_rep2, b_finance):
        with pytest.raises(NotFound):
            services.get_invoice(invoice.id, user)
    assert b_finance.id not in _candidates(invoice_task(invoice))
    with pytest.raises(PermissionDenied):
        request_invoice(waiting, staff["warehouse"])  # no finance.invoice.request
    db.session.rollback()
