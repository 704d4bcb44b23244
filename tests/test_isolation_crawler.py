"""Store isolation, tested by crawling every route of the app (DESIGN §11).

The routes are read from `app.url_map`, so routes added later are crawled without editing this file.
Every URL variable is classified by its name through ONE table, `VARIABLES`; a rule with a variable the
table does not know fails the crawl, naming the rule, until someone classifies it.

The actor is a user of store A holding a role with every permission and the data scope "all": the bound
of DESIGN §5 limits them to store A, so every object outside store A must answer 404 (never 403, never
200), whatever the method, and nothing may change. Lists must not show anything of stores B and C, even
when asked for it by query arguments. Roles are company-wide configuration rather than store data; they
are guarded by function permissions: without them, 403 or 404.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from itertools import product
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.routing import Rule

from crm.auth.models import ApiToken
from crm.auth.models import Role
from crm.auth.models import user_role
from crm.auth.permissions import DataScope
from crm.auth.permissions import all_permissions
from crm.auth.services import create_token
from crm.auth.services import save_role
from crm.core import saved_views
from crm.core.audit import OperationLog
from crm.core.saved_views import SavedView
from crm.customers import services as customer_services
from crm.customers.leads import services as customer_leads
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import CustomerTeamMember
from crm.customers.models import FollowUp
from crm.customers.models import ImportJob
from crm.customers.models import Lead
from crm.customers.models import LeadAssignmentRule
from crm.customers.services import follow_ups as customer_follow_ups
from crm.enquiries.models import EnquiryDaily
from crm.enquiries.models import EnquiryImport
from crm.enquiries.models import EnquirySalespersonDaily
from crm.enquiries.models import EnquiryScreenshot
from crm.extensions import db
from crm.highseas.models import ClaimStatus
from crm.highseas.models import HighSeasClaim
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.catalog import services as sales_services
from crm.sales.catalog.models import ProductImage
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import ProcessInstance
from crm.workflow.models import SavedTaskFilter
from crm.workflow.models import TaskAttachment
from crm.workflow.models import TaskComment
from crm.workflow.tasks import filters as task_filters
from crm.workflow.tasks import services as task_services
from tests.conftest import RequestIsolatedClient
from tests.conftest import csrf
from tests.conftest import deploy_inbox_process
from tests.conftest import start_review
from tests.factories import Org
from tests.factories import UserFactory


# The classification table ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outside:
    """An id of store data; the crawler asks for objects outside store A (`targets` name them in World)."""

    targets: tuple[str, ...]


@dataclass(frozen=True)
class Global:
    """Company-wide configuration. Without the named permissions a store user gets 403 or 404."""

    targets: tuple[str, ...]
    withheld_for_reads: tuple[str, ...]
    withheld_for_writes: tuple[str, ...]


@dataclass(frozen=True)
class Static:
    """Not an object (a language, a file name): filled with `value`, nothing to isolate."""

    value: str


VARIABLES: dict[str, Outside | Global | Static] = {
    "unit_id": Outside(("unit:store_b", "unit:b_sales", "unit:store_c", "unit:east")),
    "user_id": Outside(("user:b_rep", "user:b_manager", "user:c_rep", "user:east_manager")),
    "token_id": Outside(("token:b_rep",)),
    "task_id": Outside(("task:b", "task:c")),
    "attachment_id": Outside(("attachment:b",)),
    "comment_id": Outside(("comment:b",)),
    "filter_id": Outside(("filter:b_rep",)),
    "instance_id": Outside(("instance:b", "instance:c")),
    "customer_id": Outside(("customer:b", "customer:c")),
    "contact_id": Outside(("contact:b",)),
    "follow_up_id": Outside(("follow_up:b",)),
    "view_id": Outside(("customer_view:b_rep", "case_view:b_rep")),
    "job_id": Outside(("import_job:b",)),
    "lead_id": Outside(("lead:b", "lead:c")),
    "rule_id": Outside(("lead_rule:b",)),  # lead assignment rules (crm/customers/leads.py)
    "quote_id": Outside(("quote:b", "quote:c")),
    "opportunity_id": Outside(("opportunity:b",)),
    "order_id": Outside(("order:b",)),
    "pipeline_id": Outside(("pipeline:b",)),
    "store_id": Outside(("unit:store_b", "unit:store_c")),
    "claim_id": Outside(("hs_claim:b",)),
    "payment_id": Outside(("payment:b",)),  # the finance ledger's collections and refunds
    "voucher_id": Outside(("voucher:b", "voucher:settlement_b")),
    "settlement_id": Outside(("settlement:b",)),  # platform settlement batches (crm/finance/settlements)
    "invoice_id": Outside(("invoice:b",)),  # invoices requested on orders and quotes (crm/finance/invoices)
    "make_up_id": Outside(("make_up:b",)),  # make-up payments of orders (crm/finance/makeups)
    "case_id": Outside(("after_sales:b",)),  # after-sales cases of orders (crm/aftersales/cases)
    "photo_id": Outside(("after_sales_photo:b",)),  # their inspection photos
    # Enquiry statistics (crm/enquiries): platform rows, salesperson rows, screenshots, imports.
    "enquiry_id": Outside(("enquiry_daily:b", "enquiry_daily:c")),
    "figure_id": Outside(("enquiry_figure:b",)),
    "screenshot_id": Outside(("enquiry_screenshot:b",)),
    "import_id": Outside(("enquiry_import:b",)),
    # Work tasks (crm/work/tasks): a task of store B, its subtask and file; store B's task tag.
    "work_task_id": Outside(("work_task:b",)),
    "subtask_id": Outside(("work_subtask:b",)),
    "work_attachment_id": Outside(("work_attachment:b",)),
    "tag_id": Outside(("work_tag:b",)),
    "work_report_id": Outside(("work_report:b",)),  # work reports (crm/work/reports): b_rep's, with a comment
    "token": Static("no-such-form-token"),  # the public lead form: a token, not an id (tests/customers/leads/test_views.py)
    # Reading roles is also granted by user.view (to choose roles for a user: crm/api/roles.py).
    "role_id": Global(("role:salesperson", "role:custom"), withheld_for_reads=("role.manage", "user.view"),
                      withheld_for_writes=("role.manage",)),
    # The product catalogue is company master data: everyone reads it, changing it needs product.manage.
    "product_id": Global(("product:pallet",), withheld_for_reads=(), withheld_for_writes=("product.manage",)),
    "category_id": Global(("category:pallets",), withheld_for_reads=(), withheld_for_writes=("product.manage",)),
    "image_id": Global(("image:pallet",), withheld_for_reads=(), withheld_for_writes=("product.manage",)),
    "request_id": Outside(("approval_request:b",)),
    "notification_id": Outside(("notification:b_rep",)),
    "announcement_id": Outside(("announcement:b",)),
    "endpoint_id": Outside(("webhook_endpoint:b",)),  # webhook endpoints (crm/integrations/webhooks)
    "delivery_id": Outside(("webhook_delivery:b",)),  # and their deliveries
    # Approval chains are company configuration, guarded by approval.configure.
    "chain_id": Global(("chain:company",), withheld_for_reads=("approval.configure",),
                       withheld_for_writes=("approval.configure",)),
    "index": Static("0"),
    "filename": Static("crm.css"),
    # Process definitions are company-wide configuration guarded by process.deploy / process.admin.
    "key": Static("wf_inbox"),
    "version": Static("1"),
    "lang": Static("en"),
}

# Endpoints not crawled at all, each with the reason.
SKIPPED_ENDPOINTS: dict[str, str] = {
    "static": "static files, no data",
    "api-docs.openapi_json": "the OpenAPI document describes the API, holds no data",
    "api-docs.openapi_swagger_ui": "the Swagger UI page, no data",
    "api-docs.openapi_redoc": "the ReDoc page, no data",
    "api-docs.openapi_rapidoc": "the RapiDoc page, no data",
}

# Endpoints anyone may use without signing in.
PUBLIC_ENDPOINTS = {"auth.login", "auth.set_language", "static", "lead_forms.web_form", "favicon"}  # favicon: a redirect to a static file

# Query arguments a list may filter by; each is tried with an id outside store A.
LIST_FILTERS: dict[str, str] = {
    "unit_id": "unit:b_sales", "org_unit_id": "unit:b_sales", "store_id": "unit:store_b", "parent_id": "unit:store_b",
    "unit": "unit:store_b", "store": "unit:store_b", "user_id": "user:b_rep", "supervisor_id": "user:b_rep",
    "owner_id": "user:b_rep", "owner": "user:b_rep",
}
SECRET = "ZZ-Secret"
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
MISSING_ID = 2**31 - 1


# The world ------------------------------------------------------------------------------------------------
@dataclass
class World:
    org: Org
    objects: dict[str, Any]
    crawler: User  # store A, every permission, scope all
    plain: User  # store A, every permission except role.manage and user.view
    tokens: dict[str, str]  # user key -> bearer token
    secrets: list[str]  # strings of stores B and C that store A must never see
    outside_user_ids: set[int]
    outside_unit_ids: set[int]

    def id_of(self, target: str) -> int:
        return int(self.objects[target].id)


@pytest.fixture
def world(org: Org) -> World:
    everything = save_role(None, {"key": "crawler_all", "name": "Crawler", "data_scope": DataScope.ALL.value,
                                  "permissions": all_permissions()}, actor=org.hq_admin)
    limited = save_role(None, {"key": "crawler_plain", "name": "Crawler plain", "data_scope": DataScope.ALL.value,
                               "permissions": [p for p in all_permissions()
                                               if p not in ("role.manage", "user.view", "product.manage",
                                                            "approval.configure")]},
                        actor=org.hq_admin)
    custom = save_role(None, {"key": "custom", "name": "Custom", "data_scope": "store", "permissions": ["org.view"]},
                       actor=org.hq_admin)
    crawler = UserFactory(name="Crawler A", unit=org.store_a, roles=[everything])
    plain = UserFactory(name="Crawler A plain", unit=org.store_a, roles=[limited])

    # Everything of stores B and C gets a name that must never appear on store A's pages.
    outside_units = [u for u in org.units.values() if u.store_id in (org.store_b.id, org.store_c.id)]
    outside_users = [u for u in org.users.values() if u.store_id in (org.store_b.id, org.store_c.id)]
    secrets: list[str] = []
    for unit in outside_units:
        unit.name = f"{SECRET}-Unit-{unit.id}"
        unit.code = f"ZZSEC-{unit.id}"
        if unit.shop_name:
            unit.shop_name = f"{SECRET}-Shop-{unit.id}"
        secrets += [unit.name, unit.code] + ([unit.shop_name] if unit.shop_name else [])
    for user in outside_users:
        user.name = f"{SECRET}-User-{user.id}"
        user.position = f"{SECRET}-Position-{user.id}"
        secrets += [user.name, user.mobile, user.email, user.position]
    # Tasks of stores B and C (titles, comments and files carry the secret), and B's saved filter.
    deploy_inbox_process()
    task_b = start_review(org.store_b, order_no=f"{SECRET}-Order-B", candidates=[org.b_rep])
    task_c = start_review(org.store_c, order_no=f"{SECRET}-Order-C")
    comment_b = task_services.add_comment(task_b.id, f"{SECRET}-Comment", actor=org.b_sup)
    attachment_b = TaskAttachment(task_id=task_b.id, instance_id=task_b.instance_id, original_name=f"{SECRET}-File.pdf",
                                  stored_name="crawler/none.pdf", size=1, content_type="application/pdf",
                                  uploaded_by_id=org.b_sup.id)
    db.session.add(attachment_b)
    filter_b = task_filters.save_filter(f"{SECRET}-Filter", "view=mine", actor=org.b_rep)
    secrets += [task_b.title, task_c.title, comment_b.body, attachment_b.original_name, filter_b.name]
    # Approvals, notifications and announcements of store B.
    from crm.approvals import chains as approval_chains
    from crm.approvals.models import ApprovalRequest
    from crm.notify import services as notify_services

    request_b = ApprovalRequest(store_id=org.store_b.id, chain_key="expense", submitter_id=org.b_rep.id,
                                object_type="test_expense", object_id=1,
                                summary={"title": f"{SECRET}-Approval-B", "lines": []}, snapshot={"steps": []})
    db.session.add(request_b)
    [notification_b] = notify_services.notify([org.b_rep.id], "approval_decided", f"{SECRET}-Notification-B")
    announcement_b = notify_services.publish_announcement(
        {"title": f"{SECRET}-Announcement-B", "body": "b", "audience": "unit", "unit_id": org.store_b.id},
        actor=org.b_manager)
    chain = approval_chains.create_chain({"key": "crawl_chain", "steps": [
        {"title": "Team", "rule": "supervisor", "mode": "single"}]}, actor=org.hq_admin)
    secrets += [f"{SECRET}-Approval-B", notification_b.title, announcement_b.title]
    # Customers of stores B and C, with a contact, a follow-up, a team member, a saved view, an import job.
    customer_b = customer_services.create_customer({"name": f"{SECRET}-Customer-B", "mobile": "13512345671",
                                                    "chat_id": "zz_secret_b"}, actor=org.b_rep)
    customer_c = customer_services.create_customer({"name": f"{SECRET}-Customer-C", "mobile": "13512345672"},
                                                   actor=org.c_rep)
    contact_b = customer_services.add_contact(customer_b, {"name": f"{SECRET}-Contact"}, actor=org.b_rep)
    follow_up_b = customer_follow_ups.record_follow_up(customer_b, {"kind": "phone", "content": f"{SECRET}-FollowUp"},
                                                       actor=org.b_rep)
    follow_up_b.attachments = [{"name": f"{SECRET}-Att.txt", "stored": "crawler/none.txt", "size": 1,
                                "type": "text/plain"}]
    customer_services.add_team_member(customer_b, org.b_sup.id, "read", None, actor=org.b_rep)
    view_b = saved_views.save_view("customers", f"{SECRET}-View", "q=x", [], actor=org.b_rep)
    lead_b = customer_leads.create_lead({"name": f"{SECRET}-Lead-B", "mobile": "13512345673", "owner_id": "pool"},
                                        actor=org.b_manager)
    lead_c = customer_leads.create_lead({"name": f"{SECRET}-Lead-C", "mobile": "13512345674"}, actor=org.c_rep)
    lead_rule_b = customer_leads.save_rule(org.store_b.id, {"name": f"{SECRET}-Rule-B", "provinces": f"{SECRET}-Province",
                                                            "member_ids": [str(org.b_rep.id)]}, actor=org.b_manager)
    secrets += [lead_b.name, lead_c.name, "13512345673", "13512345674", lead_rule_b.name, f"{SECRET}-Province"]
    job_b = ImportJob(store_id=org.store_b.id, created_by_id=org.b_manager.id, file_name=f"{SECRET}-Import.csv",
                      stored_name="crawler/none.csv", file_format="csv")
    db.session.add(job_b)
    db.session.flush()
    secrets += [customer_b.name, customer_c.name, customer_b.mobile, customer_c.mobile, "zz_secret_b",
                contact_b.name, follow_up_b.content, view_b.name, job_b.file_name, f"{SECRET}-Att.txt"]
    b_token, b_plain = create_token(org.b_rep, "B's token")
    _row, crawler_plain = create_token(crawler, "crawler")
    _row, limited_plain = create_token(plain, "crawler plain")
    secrets += [b_plain, b_token.prefix]
    objects: dict[str, Any] = {f"unit:{k}": v for k, v in org.units.items()}
    objects |= {f"user:{k}": v for k, v in org.users.items()}
    objects |= {f"role:{k}": v for k, v in org.roles.items()}
    objects |= {"role:custom": custom, "token:b_rep": b_token}
    category = sales_services.create_category({"name": "Pallets"}, actor=org.hq_admin)
    pallet = sales_services.create_product(
        {"sku": "PL-1210", "name": "Nine-leg pallet", "list_price": "88", "category_id": category.id},
        actor=org.hq_admin)
    picture = ProductImage(product_id=pallet.id, original_name="pallet.png", stored_name="crawler/none.png",
                           content_type="image/png", size=1)
    db.session.add(picture)
    objects |= {"category:pallets": category, "product:pallet": pallet, "image:pallet": picture}
    # Quotes of stores B and C (the note carries the secret).
    from crm.sales.quotes import services as quote_services

    quote_b = quote_services.create_quote({"customer_id": customer_b.id, "note": f"{SECRET}-Quote-B", "lines": [
        {"product_id": pallet.id, "quantity": 3, "unit_price": "77.77"}]}, actor=org.b_rep)
    quote_c = quote_services.create_quote({"customer_id": customer_c.id, "note": f"{SECRET}-Quote-C", "lines": [
        {"product_id": pallet.id, "quantity": 1, "unit_price": "66.66"}]}, actor=org.c_rep)
    secrets += [f"{SECRET}-Quote-B", f"{SECRET}-Quote-C", quote_b.number, quote_c.number]
    objects |= {"quote:b": quote_b, "quote:c": quote_c}
    from crm.sales.opportunities import services as opportunity_services

    pipeline_b = opportunity_services.save_pipeline(None, {"name": f"{SECRET}-Pipeline-B", "stages": [
        {"name": f"{SECRET}-Stage-B", "win_rate": "30"}]}, actor=org.b_manager)
    opportunity_b = opportunity_services.create_opportunity({"customer_id": customer_b.id, "pipeline_id": pipeline_b.id,
                                                             "name": f"{SECRET}-Opportunity-B", "amount": "12345"},
                                                            actor=org.b_rep)
    secrets += [pipeline_b.name, f"{SECRET}-Stage-B", opportunity_b.name]
    objects |= {"pipeline:b": pipeline_b, "opportunity:b": opportunity_b}
    from crm.sales.orders.models import Order

    order_b = Order(store_id=org.store_b.id, owner_id=org.b_rep.id, customer_id=customer_b.id, number="SO-SECRET-B",
                    payment_mode="prepay", terminal="pc", ship_name="B", ship_phone="1", ship_address="B",
                    note=f"{SECRET}-Order-B", signed_at=datetime.now(UTC),  # signed: the export would show it
                    total=Decimal("1000.00"))  # and still owing: the receivables would
    db.session.add(order_b)
    db.session.flush()
    # Its receivable plan (the plan's page and API take the order's id).
    from crm.finance.plans.models import Instalment
    from crm.finance.plans.models import ReceivablePlan

    plan_b = ReceivablePlan(store_id=org.store_b.id, order_id=order_b.id, owner_id=org.b_rep.id, note=f"{SECRET}-Plan-B")
    plan_b.instalments.append(Instalment(order_id=order_b.id, store_id=org.store_b.id, number=1, amount=Decimal("1000.00"),
                                         due_on=datetime.now(UTC).date(), remind_days=3,
                                         remind_on=datetime.now(UTC).date()))
    db.session.add(plan_b)
    db.session.flush()
    secrets.append(f"{SECRET}-Plan-B")
    secrets += [f"{SECRET}-Order-B", order_b.number]
    objects |= {"order:b": order_b}
    # Work tasks of store B: arranged for b_rep about B's customer, with a subtask, a comment, a file and a tag.
    from crm.work.tasks import discussion as work_discussion
    from crm.work.tasks import services as work_services
    from crm.work.tasks.models import WorkTag
    from crm.work.tasks.models import WorkTaskAttachment

    tag_b = WorkTag(store_id=org.store_b.id, name=f"{SECRET}-Tag")
    db.session.add(tag_b)
    db.session.flush()
    [work_b] = work_services.create_tasks({"title": f"{SECRET}-Work-B", "assignee_ids": [org.b_rep.id],
                                           "object_type": "customer", "object_id": customer_b.id,
                                           "tag_ids": [tag_b.id]}, actor=org.b_manager)
    subtask_b = work_services.add_subtask(work_b.id, {"title": f"{SECRET}-Subtask"}, actor=org.b_rep)
    work_discussion.add_comment(work_b.id, {"body": f"{SECRET}-Work-Comment"}, actor=org.b_rep)
    work_file_b = WorkTaskAttachment(task_id=work_b.id, original_name=f"{SECRET}-Work-File.pdf",
                                     stored_name="crawler/work-none.pdf", size=1, content_type="application/pdf",
                                     uploaded_by_id=org.b_rep.id)
    db.session.add(work_file_b)
    db.session.flush()
    secrets += [f"{SECRET}-Work-B", f"{SECRET}-Subtask", f"{SECRET}-Work-Comment", f"{SECRET}-Work-File.pdf",
                f"{SECRET}-Tag"]
    objects |= {"work_task:b": work_b, "work_subtask:b": subtask_b, "work_attachment:b": work_file_b,
                "work_tag:b": tag_b}
    # A daily report of store B's salesperson to their supervisor, with a comment.
    from crm.work.reports import services as report_services

    report_b = report_services.submit({"kind": "daily", "day": datetime.now(UTC).date().isoformat(),
                                       "done": f"{SECRET}-Report-B"}, actor=org.b_rep)
    report_services.add_comment(report_b.id, {"body": f"{SECRET}-Report-Comment"}, actor=org.b_sup)
    secrets += [f"{SECRET}-Report-B", f"{SECRET}-Report-Comment"]
    objects |= {"work_report:b": report_b}
    # Finance: a verified collection of store B's order, with its voucher, a line of a settlement batch
    # with the batch's voucher.
    from crm.finance.payments.models import Payment
    from crm.finance.payments.models import Voucher
    from crm.finance.settlements.models import Settlement

    settlement_b = Settlement(store_id=org.store_b.id, payer=f"{SECRET}-Platform-B", reference=f"{SECRET}-Batch-B",
                              method="platform_settlement", paid_on=datetime.now(UTC).date(), amount=Decimal("777.00"),
                              recorded_by_id=org.b_rep.id)
    settlement_b.vouchers.append(Voucher(original_name=f"{SECRET}-Statement-B.png", stored_name="finance/secret-sb.png",
                                         size=1, content_type="image/png"))
    db.session.add(settlement_b)
    db.session.flush()
    secrets += [settlement_b.payer, settlement_b.reference, f"{SECRET}-Statement-B.png"]
    objects |= {"settlement:b": settlement_b, "voucher:settlement_b": settlement_b.vouchers[0]}

    payment_b = Payment(store_id=org.store_b.id, order_id=order_b.id, customer_id=customer_b.id, owner_id=org.b_rep.id,
                        direction="in", kind="collection", status="verified", amount=Decimal("777.00"),
                        method="alipay", paid_on=datetime.now(UTC).date(), payer=f"{SECRET}-Payer-B",
                        reference=f"{SECRET}-Ref-B", recorded_by_id=org.b_rep.id, settlement_id=settlement_b.id)
    payment_b.vouchers.append(Voucher(original_name=f"{SECRET}-Voucher-B.png", stored_name="finance/secret-b.png",
                                      size=1, content_type="image/png"))
    db.session.add(payment_b)
    db.session.flush()
    secrets += [payment_b.payer, payment_b.reference, f"{SECRET}-Voucher-B.png"]
    objects |= {"payment:b": payment_b, "voucher:b": payment_b.vouchers[0]}
    # Finance: an issued invoice of store B's order, with its file.
    from crm.finance.invoices.models import Invoice

    invoice_b = Invoice(store_id=org.store_b.id, order_id=order_b.id, customer_id=customer_b.id, owner_id=org.b_rep.id,
                        requested_by_id=org.b_rep.id, type="paper", status="issued", title=f"{SECRET}-Invoice-B",
                        taxpayer_no="91SECRETB000000000", amount=Decimal("777.00"), invoice_no=f"{SECRET}-No-B",
                        mailing_address=f"{SECRET}-Address-B", file_stored_name="finance/secret-invoice-b.pdf",
                        file_original_name=f"{SECRET}-Invoice-B.pdf", file_content_type="application/pdf")
    db.session.add(invoice_b)
    db.session.flush()
    secrets += [invoice_b.title, invoice_b.invoice_no, invoice_b.mailing_address, invoice_b.file_original_name]
    objects |= {"invoice:b": invoice_b}
    # Finance: a make-up waiting for approval on store B's order.
    from crm.finance.makeups.models import MakeUp

    make_up_b = MakeUp(store_id=org.store_b.id, order_id=order_b.id, customer_id=customer_b.id, owner_id=org.b_rep.id,
                       requested_by_id=org.b_rep.id, amount=Decimal("66.00"), kind="freight", status="requested",
                       reason=f"{SECRET}-MakeUp-B")
    db.session.add(make_up_b)
    db.session.flush()
    secrets += [make_up_b.reason]
    objects |= {"make_up:b": make_up_b}
    # After-sales: a case of store B's order waiting for approval, with a photo.
    from crm.aftersales.cases.models import AfterSalesCase
    from crm.aftersales.cases.models import AfterSalesPhoto

    case_b = AfterSalesCase(store_id=org.store_b.id, order_id=order_b.id, customer_id=customer_b.id,
                            owner_id=org.b_rep.id, requested_by_id=org.b_rep.id, type="return_refund",
                            status="pending_approval", amount=Decimal("55.00"), reason=f"{SECRET}-AfterSales-B",
                            return_tracking_no=f"{SECRET}-Return-B",
                            photos=[AfterSalesPhoto(original_name=f"{SECRET}-Photo-B.png",
                                                    stored_name="aftersales/secret-photo-b.png", size=10,
                                                    content_type="image/png")])
    db.session.add(case_b)
    db.session.flush()
    secrets += [case_b.reason, case_b.return_tracking_no, case_b.photos[0].original_name]
    case_view_b = saved_views.save_view("aftersales_cases", f"{SECRET}-Case-View", "status=requested", [],
                                        actor=org.b_rep)
    secrets += [case_view_b.name]
    objects |= {"after_sales:b": case_b, "after_sales_photo:b": case_b.photos[0], "case_view:b_rep": case_view_b}
    objects |= {"task:b": task_b, "task:c": task_c, "attachment:b": attachment_b, "comment:b": comment_b,
                "filter:b_rep": filter_b, "approval_request:b": request_b, "notification:b_rep": notification_b,
                "announcement:b": announcement_b, "chain:company": chain,
                "instance:b": task_b.instance, "instance:c": task_c.instance}
    objects |= {"customer:b": customer_b, "customer:c": customer_c, "contact:b": contact_b, "follow_up:b": follow_up_b,
                "customer_view:b_rep": view_b, "import_job:b": job_b, "lead:b": lead_b, "lead:c": lead_c,
                "lead_rule:b": lead_rule_b}
    # The high seas: a pool customer of store B with a claim application.
    pool_b = customer_services.create_customer({"name": f"{SECRET}-Pool-B", "mobile": "13512345675",
                                                "owner_id": "pool"}, actor=org.b_manager)
    claim_b = HighSeasClaim(store_id=org.store_b.id, customer_id=pool_b.id, applicant_id=org.b_rep.id,
                            reason=f"{SECRET}-Claim", status=ClaimStatus.PENDING)
    db.session.add(claim_b)
    db.session.flush()
    secrets += [pool_b.name, claim_b.reason]
    objects |= {"hs_claim:b": claim_b}
    # Enquiry statistics of stores B and C: figures with numbers nobody else has, a screenshot, an import.
    today = datetime.now(UTC).date()
    enquiry_b = EnquiryDaily(store_id=org.store_b.id, day=today, enquiries=9753186, new_enquiries=8642097)
    enquiry_c = EnquiryDaily(store_id=org.store_c.id, day=today, enquiries=9753187, new_enquiries=8642098)
    figure_b = EnquirySalespersonDaily(store_id=org.store_b.id, user_id=org.b_rep.id, day=today, wechat_adds=7531864,
                                       contacts=6420975)
    shot_b = EnquiryScreenshot(store_id=org.store_b.id, user_id=org.b_rep.id, day=today,
                               original_name=f"{SECRET}-Shot.png", stored_name="crawler/none.png",
                               content_type="image/png", size=1)
    import_b = EnquiryImport(org_unit_id=org.store_b.id, created_by_id=org.b_manager.id,
                             file_name=f"{SECRET}-Enquiries.csv", errors=[{"row": 2, "field": "Store",
                                                                          "value": f"{SECRET}-Cell", "message": "x"}])
    db.session.add_all([enquiry_b, enquiry_c, figure_b, shot_b, import_b])
    db.session.flush()
    secrets += ["9753186", "8642097", "9753187", "7531864", "6420975", shot_b.original_name, import_b.file_name,
                f"{SECRET}-Cell"]
    objects |= {"enquiry_daily:b": enquiry_b, "enquiry_daily:c": enquiry_c, "enquiry_figure:b": figure_b,
                "enquiry_screenshot:b": shot_b, "enquiry_import:b": import_b}
    # Store B's webhook endpoint and one of its deliveries (crm/integrations/webhooks).
    from crm.integrations.webhooks import services as webhook_services

    hook_b, _secret = webhook_services.create_endpoint(
        {"name": f"{SECRET}-Hook-B", "url": "https://93.184.216.34/zz-secret-hook-b", "events": ["customer.created"],
         "store_id": org.store_b.id}, actor=org.hq_admin)
    webhook_services.publish("customer.created", {"customer_id": customer_b.id, "name": customer_b.name},
                             store_id=org.store_b.id)
    db.session.flush()
    from crm.integrations.webhooks.models import WebhookDelivery

    delivery_b = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == hook_b.id)).one()
    secrets += [hook_b.name, "zz-secret-hook-b", hook_b.secret[:10]]
    objects |= {"webhook_endpoint:b": hook_b, "webhook_delivery:b": delivery_b}
    db.session.commit()
    return World(
        org=org, objects=objects, crawler=crawler, plain=plain,
        tokens={"crawler": crawler_plain, "plain": limited_plain}, secrets=secrets,
        outside_user_ids={u.id for u in outside_users} | {org.east_manager.id, org.hq_manager.id},
        outside_unit_ids={u.id for u in outside_units} | {org.east.id},
    )


# Helpers --------------------------------------------------------------------------------------------------
def crawlable_rules(app: Flask) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED_ENDPOINTS), key=lambda r: r.rule)


def methods_of(rule: Rule) -> list[str]:
    return [m for m in METHODS if m in (rule.methods or set())]


def is_api(rule: Rule) -> bool:
    return rule.rule.startswith("/api/")


def snapshot() -> dict[str, Any]:
    """Every row the crawl could touch, read straight from the database."""
    db.session.expire_all()

    def rows(table: Any, drop: tuple[str, ...] = ()) -> dict[Any, dict[str, Any]]:
        out = {}
        for row in db.session.execute(select(table)).mappings():
            out[tuple(row[c.name] for c in table.primary_key)] = {k: v for k, v in row.items() if k not in drop}
        return out

    return {
        "org_unit": rows(OrgUnit.__table__),
        "user": rows(User.__table__),
        "role": rows(Role.__table__),
        "user_role": rows(user_role),
        "api_token": rows(ApiToken.__table__, drop=("last_used_at",)),
        "human_task": rows(HumanTask.__table__),
        "process_instance": rows(ProcessInstance.__table__),
        "human_task_candidate": rows(HumanTaskCandidate.__table__),
        "task_comment": rows(TaskComment.__table__),
        "task_attachment": rows(TaskAttachment.__table__),
        "saved_task_filter": rows(SavedTaskFilter.__table__),
        "customer": rows(Customer.__table__),
        "customer_contact": rows(Contact.__table__),
        "customer_follow_up": rows(FollowUp.__table__),
        "customer_team_member": rows(CustomerTeamMember.__table__),
        "saved_view": rows(SavedView.__table__),
        "customer_import_job": rows(ImportJob.__table__),
        "lead": rows(Lead.__table__),
        "lead_assignment_rule": rows(LeadAssignmentRule.__table__),
        "enquiry_daily": rows(EnquiryDaily.__table__),
        "enquiry_salesperson_daily": rows(EnquirySalespersonDaily.__table__),
        "enquiry_screenshot": rows(EnquiryScreenshot.__table__),
        "enquiry_import": rows(EnquiryImport.__table__),
        "operation_log": db.session.scalar(select(func.count()).select_from(OperationLog)),
    }


def outside_part(snap: dict[str, Any], world: World) -> dict[str, Any]:
    """The rows of a snapshot that belong to stores B and C (or above store A)."""
    users, units = world.outside_user_ids, world.outside_unit_ids
    return {
        "org_unit": {k: v for k, v in snap["org_unit"].items() if v["id"] in units or v["store_id"] in units},
        "user": {k: v for k, v in snap["user"].items() if v["id"] in users or v["org_unit_id"] in units},
        "user_role": {k: v for k, v in snap["user_role"].items() if v["user_id"] in users},
        "api_token": {k: v for k, v in snap["api_token"].items() if v["user_id"] in users},
        **{table: {k: v for k, v in snap[table].items() if v["store_id"] in units}
           for table in ("enquiry_daily", "enquiry_salesperson_daily", "enquiry_screenshot")},
        "enquiry_import": {k: v for k, v in snap["enquiry_import"].items() if v["org_unit_id"] in units},
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = []
    for table in before:
        if before[table] == after[table]:
            continue
        if not isinstance(before[table], dict):
            lines.append(f"{table}: {before[table]} -> {after[table]}")
            continue
        for key in sorted(set(before[table]) | set(after[table]), key=str):
            old, new = before[table].get(key), after[table].get(key)
            if old != new:
                changed = {c for c in set(old or {}) | set(new or {}) if (old or {}).get(c) != (new or {}).get(c)}
                lines.append(f"{table} {key}: {sorted(changed) if old and new else ('created' if new else 'deleted')}")
    return "; ".join(lines)


class Crawl:
    """Sends the requests, signed in as a store-A user (pages: session cookie + CSRF; API: bearer token)."""

    def __init__(self, app: Flask, world: World) -> None:
        app.test_client_class = RequestIsolatedClient  # a fresh `g` per request, as on a real server
        self.app = app
        self.world = world
        self.problems: list[str] = []
        self._pages: dict[str, tuple[FlaskClient, str]] = {}
        self._spec: dict[str, Any] | None = None

    def page_client(self, who: str) -> tuple[FlaskClient, str]:
        if who not in self._pages:
            client = self.app.test_client()
            user = self.world.crawler if who == "crawler" else self.world.plain
            with client.session_transaction() as sess:
                sess["_user_id"] = user.get_id()
                sess["_fresh"] = True
                # The store switcher may not widen the view: ask for store B as well.
                sess["store_filter"] = [self.world.org.store_a.id, self.world.org.store_b.id]
            self._pages[who] = (client, csrf(client, "/"))
        return self._pages[who]

    def forget(self, who: str) -> None:
        self._pages.pop(who, None)

    def request(self, rule: Rule, method: str, values: dict[str, Any], who: str = "crawler",
                query: dict[str, Any] | None = None, anonymous: bool = False) -> Any:
        url = build(rule, values)
        if is_api(rule):
            client = self.app.test_client()  # no cookies: the API authenticates by token only
            headers = {} if anonymous else {"Authorization": f"Bearer {self.world.tokens[who]}"}
            body = self.api_body(rule, method) if method in ("POST", "PATCH", "PUT") else None
            return client.open(url, method=method, headers=headers, query_string=query, json=body)
        if anonymous:
            return self.app.test_client().open(url, method=method, query_string=query)
        client, token = self.page_client(who)
        data = {"csrf_token": token} if method != "GET" else None
        return client.open(url, method=method, data=data, query_string=query)

    # A body that passes the request schema, so the API view really looks the object up.
    def api_body(self, rule: Rule, method: str) -> dict[str, Any]:
        if self._spec is None:
            self._spec = self.app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        operation = self._spec.get("paths", {}).get(path, {}).get(method.lower(), {})
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        return self.plausible(schema)

    def plausible(self, schema: dict[str, Any]) -> Any:
        if "$ref" in schema:
            schema = self._spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]  # type: ignore[index]
        if schema.get("type") == "array":
            return []
        body: dict[str, Any] = {}
        for name in schema.get("required", []):
            prop = schema.get("properties", {}).get(name, {})
            body[name] = self.plausible_value(name, prop)
        return body

    def plausible_value(self, name: str, prop: dict[str, Any]) -> Any:
        w, org = self.world, self.world.org
        by_name = {"parent_id": org.a_sales.id, "org_unit_id": org.a_sales.id, "unit_id": org.a_sales.id,
                   "supervisor_id": org.a_sup.id, "transfer_to_id": org.a_rep2.id, "head_id": org.a_sup.id,
                   "user_id": org.a_rep2.id, "mobile": "13600000001", "email": "crawler.probe@example.com",
                   "password": "Crawl#12345", "kind": "department"}
        if name in by_name:
            return by_name[name]
        if "enum" in prop:
            return prop["enum"][0]
        kind = prop.get("type")
        if kind == "integer":
            return w.crawler.id
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        return "Crawler probe"


def build(rule: Rule, values: dict[str, Any]) -> str:
    built = rule.build(values, append_unknown=False)
    assert built is not None, f"cannot build {rule.rule} from {values}"
    return built[1]


def body_of(resp: Any) -> str:
    text = resp.get_data(as_text=True)
    return re.sub(r'(csrf-token" content="|csrf_token" value="|"X-CSRFToken": ")[^"]+', r"\1TOKEN", text)


def leaks(resp: Any, world: World) -> list[str]:
    """Secrets of stores B and C found in a response (text, the sheets of an XLSX file, and ids of users /
    units in JSON)."""
    if resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(resp.get_data())) as book:
            text = "".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    else:
        text = resp.get_data(as_text=True)
    found = [s for s in world.secrets if s and s in text]
    if resp.mimetype and resp.mimetype.endswith("json"):
        found += [f"id {i}" for i in _json_ids(resp.get_json(silent=True), world)]
    return found


def _json_ids(node: Any, world: World) -> Iterator[int]:
    """Ids of stores B and C in a JSON document: in reference fields (user_id, org_unit_id ...; store A
    may of course name its own parent subsidiary and its people's supervisor there) and as the id of an
    object that is a user (has a mobile) or an org unit (has a kind)."""
    by_key = {key: world.outside_user_ids - {world.org.east_manager.id}
              for key in ("user_id", "supervisor_id", "owner_id", "head_id")}
    by_key |= {key: world.outside_unit_ids - {world.org.east.id}
               for key in ("org_unit_id", "unit_id", "store_id", "parent_id", "subsidiary_id")}
    if isinstance(node, dict):
        if "mobile" in node:
            by_key["id"] = world.outside_user_ids
        elif "kind" in node:
            by_key["id"] = world.outside_unit_ids
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from _json_ids(value, world)
            elif isinstance(value, int) and not isinstance(value, bool) and value in by_key.get(key, ()):
                yield value
    elif isinstance(node, list):
        for item in node:
            yield from _json_ids(item, world)


def unknown_variables(app: Flask) -> list[str]:
    return [
        f"{rule.rule} (endpoint {rule.endpoint}): URL variable '{name}' is not classified in "
        f"tests/test_isolation_crawler.py VARIABLES"
        for rule in crawlable_rules(app) for name in sorted(rule.arguments) if name not in VARIABLES
    ]


# The tests ------------------------------------------------------------------------------------------------
def test_every_url_variable_is_classified(app: Flask) -> None:
    assert unknown_variables(app) == []


def test_the_crawl_covers_the_known_routes(app: Flask) -> None:
    """A guard against a crawler that silently crawls nothing (e.g. after a blueprint rename)."""
    rules = crawlable_rules(app)
    endpoints = {r.endpoint for r in rules}
    assert {"auth.login", "auth.revoke_token", "dashboard.home"} <= endpoints
    assert not endpoints & set(SKIPPED_ENDPOINTS)
    kinds = {type(VARIABLES.get(name)) for r in rules for name in r.arguments}
    assert {Outside, Global} <= kinds
    assert any(is_api(r) for r in rules)


def test_objects_outside_store_a_answer_404_and_stay_unchanged(app: Flask, world: World) -> None:
    crawl = Crawl(app, world)
    crawled = 0
    for rule in crawlable_rules(app):
        kinds = {name: VARIABLES.get(name) for name in rule.arguments}
        outside = {n: k for n, k in kinds.items() if isinstance(k, Outside)}
        if not outside or None in kinds.values():
            continue  # unknown variables fail test_every_url_variable_is_classified
        fixed = {n: (k.value if isinstance(k, Static) else world.id_of(k.targets[0]))  # type: ignore[union-attr]
                 for n, k in kinds.items() if n not in outside}
        for method in methods_of(rule):
            for combo in product(*[k.targets for k in outside.values()]):
                values = dict(fixed, **{n: world.id_of(t) for n, t in zip(outside, combo, strict=True)})
                where = f"{method} {rule.rule} with {dict(zip(outside, combo, strict=True))}"
                before = snapshot()
                resp = crawl.request(rule, method, values)
                after = snapshot()
                crawled += 1
                if before != after:
                    crawl.problems.append(f"{where}: changed {diff(before, after)} (answered {resp.status_code})")
                if resp.status_code == 404:
                    continue
                # Refused before the lookup (a request body the schema rejects, say)? Then a missing id
                # must get the very same answer, or the answer tells that the object exists.
                missing = crawl.request(rule, method, dict(values, **{n: MISSING_ID for n in outside}))
                same = missing.status_code == resp.status_code and body_of(missing) == body_of(resp)
                if not (same and resp.status_code in (400, 405, 422)):
                    crawl.problems.append(f"{where}: answered {resp.status_code} (a missing id: {missing.status_code})")
                if resp.status_code >= 500:
                    crawl.problems.append(f"{where}: server error")
    assert crawled > 0
    assert crawl.problems == []


def test_global_objects_need_their_permission(app: Flask, world: World) -> None:
    crawl = Crawl(app, world)
    crawled = 0
    for rule in crawlable_rules(app):
        kinds = {name: VARIABLES.get(name) for name in rule.arguments}
        globals_ = {n: k for n, k in kinds.items() if isinstance(k, Global)}
        if not globals_ or any(isinstance(k, Outside) for k in kinds.values()) or None in kinds.values():
            continue  # rules that also name store data are crawled as such
        for method in methods_of(rule):
            for combo in product(*[k.targets for k in globals_.values()]):
                values = {n: world.id_of(t) for n, t in zip(globals_, combo, strict=True)}
                values |= {n: k.value for n, k in kinds.items() if isinstance(k, Static)}
                withheld = {p for k in globals_.values()
                            for p in (k.withheld_for_reads if method == "GET" else k.withheld_for_writes)}
                if not withheld:
                    continue  # readable by everyone (the catalogue)
                assert not any(world.plain.can(p) for p in withheld)
                before = snapshot()
                resp = crawl.request(rule, method, values, who="plain")
                crawled += 1
                where = f"{method} {rule.rule} with {values} by a store-A user without {sorted(withheld)}"
                if resp.status_code not in (403, 404):
                    crawl.problems.append(f"{where}: answered {resp.status_code}")
                if snapshot() != before:
                    crawl.problems.append(f"{where}: changed {diff(before, snapshot())}")
    assert crawled > 0
    assert crawl.problems == []


def test_lists_show_nothing_of_other_stores(app: Flask, world: World) -> None:
    crawl = Crawl(app, world)
    crawled = 0
    for rule in crawlable_rules(app):
        if rule.arguments or "GET" not in (rule.methods or set()):
            continue
        queries: list[dict[str, Any]] = [{}, {"q": SECRET}, {"search": SECRET}, {"name": SECRET}]
        queries += [{name: world.id_of(target)} for name, target in LIST_FILTERS.items()]
        for query in queries:
            resp = crawl.request(rule, "GET", {}, query=query)
            crawled += 1
            where = f"GET {rule.rule}?{'&'.join(f'{k}={v}' for k, v in query.items())}"
            if resp.status_code >= 500:
                crawl.problems.append(f"{where}: answered {resp.status_code}")
            found = leaks(resp, world)
            if found:
                crawl.problems.append(f"{where}: shows {found[:5]}")
    assert crawled > 0
    assert crawl.problems == []


def test_forms_cannot_reach_into_other_stores(app: Flask, world: World) -> None:
    """Every form and API write without an object in its URL, sent with ids of store B in every field a
    form may carry: nothing of store B (or C) may change, no new row may appear there."""
    crawl = Crawl(app, world)
    org = world.org
    outside_fields = {
        "parent_id": org.b_sales.id, "org_unit_id": org.b_sales.id, "unit_id": org.b_sales.id,
        "store_id": org.store_b.id, "supervisor_id": org.b_rep.id, "user_id": org.b_rep.id,
        "transfer_to_id": org.b_rep.id, "head_id": org.b_rep.id, "owner_id": org.b_rep.id,
    }
    fields = {
        "name": "Crawler probe", "kind": "department", "code": "CRAWL-1", "mobile": "13600000002",
        "email": "crawler.form@example.com", "position": "Probe", "gender": "unspecified",
        "platform": "tmall", "shop_name": "Crawler shop", "password": "Crawl#12345", "data_scope": "all",
        "key": "crawler_probe", "lang": "en", "next": "/",
    } | outside_fields
    crawled = 0
    for rule in crawlable_rules(app):
        if rule.arguments or rule.endpoint in ("auth.logout",):
            continue
        for method in (m for m in methods_of(rule) if m != "GET"):
            before = outside_part(snapshot(), world)
            if is_api(rule):
                client = app.test_client()
                resp = client.open(rule.rule, method=method, json=fields | {"store_ids": [org.store_b.id]},
                                   headers={"Authorization": f"Bearer {world.tokens['crawler']}"})
            else:
                client, token = crawl.page_client("crawler")
                resp = client.open(rule.rule, method=method, data=fields | {"csrf_token": token,
                                                                            "store_id": [org.store_b.id]})
                crawl.forget("crawler")  # a form may have ended or changed the session
            crawled += 1
            after = outside_part(snapshot(), world)
            where = f"{method} {rule.rule} with store B's ids in the fields"
            if after != before:
                crawl.problems.append(f"{where}: changed {diff(before, after)} (answered {resp.status_code})")
            if resp.status_code >= 500:
                crawl.problems.append(f"{where}: answered {resp.status_code}")
    assert crawled > 0
    assert crawl.problems == []


def test_anonymous_requests_are_turned_away(app: Flask, world: World) -> None:
    crawl = Crawl(app, world)
    for rule in crawlable_rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS or None in (VARIABLES.get(n) for n in rule.arguments):
            continue
        values = {}
        for name in rule.arguments:
            kind = VARIABLES[name]
            values[name] = kind.value if isinstance(kind, Static) else world.id_of(kind.targets[0])
        for method in methods_of(rule):
            resp = crawl.request(rule, method, values, anonymous=True)
            where = f"anonymous {method} {build(rule, values)}"
            if resp.status_code == 302:
                if not resp.headers["Location"].startswith("/login"):
                    crawl.problems.append(f"{where}: redirected to {resp.headers['Location']}")
            elif resp.status_code not in (400, 401):  # 400: a form without its CSRF token
                crawl.problems.append(f"{where}: answered {resp.status_code}")
            if resp.status_code == 200 or any(s in resp.get_data(as_text=True) for s in world.secrets):
                crawl.problems.append(f"{where}: shows data")
    assert crawl.problems == []


def test_the_crawler_would_notice_a_leak(app: Flask, world: World) -> None:
    """The detectors themselves: a page showing a secret, a JSON id of store B, a changed row."""

    class Fake:
        def __init__(self, text: str, mimetype: str = "text/html") -> None:
            self.text, self.mimetype = text, mimetype

        def get_data(self, as_text: bool = False) -> str:
            return self.text

        def get_json(self, silent: bool = False) -> Any:
            return json.loads(self.text)

    b_rep = world.org.b_rep
    assert leaks(Fake(f"<td>{b_rep.name}</td>"), world) == [b_rep.name]
    assert leaks(Fake(f"<td>{b_rep.mobile}</td>"), world) == [b_rep.mobile]
    as_json = Fake(json.dumps({"items": [{"id": b_rep.id, "mobile": "x", "name": "n"}]}), "application/json")
    assert leaks(as_json, world) == [f"id {b_rep.id}"]
    assert leaks(Fake(json.dumps({"org_unit_id": world.org.b_sales.id}), "application/json"), world)
    assert leaks(Fake("<p>Crawler A</p>"), world) == []
    before = snapshot()
    b_rep.position = "changed"
    db.session.flush()
    assert diff(before, snapshot()) == f"user ({b_rep.id},): ['position', 'updated_at']; operation_log: " + (
        f"{before['operation_log']} -> {before['operation_log'] + 1}"
    )
