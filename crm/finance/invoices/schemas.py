"""The input and output schemas of invoices. The request form (from a quote or an order page) and
`POST /api/v1/orders/{id}/invoices` / `POST /api/v1/quotes/{id}/invoices` load the same
`InvoiceRequestInputSchema`; the void form and `POST /api/v1/invoices/{id}/void` load `VoidInputSchema`.
Issuing, rejecting and mailing are task completions of `invoice_request` (their forms are in forms/)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.core.clock import local_today
from crm.core.validation import EveryField
from crm.core.validation import Parsed
from crm.core.validation import as_id
from crm.core.validation import check_email
from crm.core.validation import check_money
from crm.core.validation import check_text
from crm.core.validation import optional_text
from crm.core.validation import parse_day
from crm.core.validation import raising
from crm.finance.invoices.models import InvoiceStatus
from crm.finance.invoices.models import InvoiceType

TYPES = [t.value for t in InvoiceType]
STATUSES = [s.value for s in InvoiceStatus]
MONEY = {"type": "string", "example": "1280.50", "description": "RMB with at most 2 decimals (\"1,280.50\" is fine)."}
TEXT = {"type": "string"}
TAXPAYER_RE = re.compile(r"^[0-9A-Z]{15,20}$")


def _type(raw: Any) -> InvoiceType:
    try:
        return InvoiceType(raw)
    except ValueError:
        raise ma.ValidationError(str(_l("Choose the type of invoice."))) from None


def _taxpayer_no(raw: Any) -> str | None:
    """A taxpayer identification number (统一社会信用代码, 18 characters; older numbers 15 to 20): digits and
    capital letters, spaces dropped."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", str(raw or ""))).upper()
    if not text:
        return None
    if not TAXPAYER_RE.match(text):
        raise ma.ValidationError(str(_l("A taxpayer number has 15 to 20 digits and capital letters.")))
    return text


def _email(raw: Any) -> str | None:
    errors: dict[str, str] = {}
    value = check_email(raw, errors, "value")
    if errors:
        raise ma.ValidationError(errors["value"])
    return value


class InvoiceRequestInputSchema(EveryField):
    """What a salesperson types to ask for an invoice. Which of e-mail and mailing address is needed, and
    whether the taxpayer number is, depends on the type (`contact_errors`)."""

    type = Parsed(_type, required=True, metadata={"type": "string", "enum": TYPES})
    title = Parsed(raising(check_text, max_length=200),
                   metadata={**TEXT, "description": "The buyer's name as printed on the invoice (抬头)."})
    taxpayer_no = Parsed(_taxpayer_no,
                         metadata={**TEXT, "pattern": TAXPAYER_RE.pattern, "nullable": True,
                                   "description": "Required for a VAT special invoice."})
    amount = Parsed(raising(check_money, minimum=Decimal("0.01")), metadata={
        **MONEY, "description": "At most what can still be invoiced."})
    email = Parsed(_email, metadata={**TEXT, "format": "email", "maxLength": 254, "nullable": True,
                                     "description": "Required for an electronic invoice."})
    mailing_address = Parsed(optional_text(500),
                             metadata={**TEXT, "description": "Required for a paper invoice."})
    note = Parsed(optional_text(500), metadata=TEXT)


def contact_errors(values: dict[str, Any]) -> dict[str, Any]:
    """The checks between fields: a paper invoice is mailed (an address), an electronic one is e-mailed,
    the others need one of the two; a VAT special invoice names the buyer's taxpayer number."""
    kind = values.get("type")
    errors: dict[str, Any] = {}
    if kind is None:
        return errors
    if kind == InvoiceType.PAPER and not values.get("mailing_address"):
        errors["mailing_address"] = _l("A paper invoice is mailed: enter the mailing address.")
    elif kind == InvoiceType.ELECTRONIC and not values.get("email"):
        errors["email"] = _l("An electronic invoice is e-mailed: enter the e-mail address.")
    elif kind not in (InvoiceType.PAPER, InvoiceType.ELECTRONIC) and not (values.get("email") or values.get("mailing_address")):
        errors["email"] = _l("Enter an e-mail address or a mailing address.")
    if kind == InvoiceType.VAT_SPECIAL and not values.get("taxpayer_no"):
        errors["taxpayer_no"] = _l("A VAT special invoice needs the buyer's taxpayer number.")
    return errors


def _issued_on(raw: Any) -> date | None:
    day = parse_day(raw)
    if day is None:
        raise ma.ValidationError(str(_l("This field is required.")))
    if day > local_today():
        raise ma.ValidationError(str(_l("The invoice date cannot be in the future.")))
    return day


class IssueInputSchema(EveryField):
    """Finance issuing an invoice: the issue form's group `issue` of `invoice_request`, and its file (the id of
    what was uploaded to the task as `invoice_file`)."""

    invoice_no = Parsed(raising(check_text, max_length=50), metadata=TEXT)
    issued_on = Parsed(_issued_on, metadata={"type": "string", "format": "date"})
    amount = Parsed(raising(check_money, minimum=Decimal("0.01")), metadata=MONEY)
    file = Parsed(as_id, metadata={"type": "integer"})


class RejectInputSchema(EveryField):
    """Finance refusing a request (the issue form's `issue.reason`)."""

    reason = Parsed(raising(check_text, max_length=500), metadata=TEXT)


class MailingInputSchema(EveryField):
    """Finance or logistics mailing a paper invoice: the mailing form's group `mailing`."""

    carrier = Parsed(raising(check_text, max_length=100), metadata=TEXT)
    tracking_no = Parsed(raising(check_text, max_length=100), metadata=TEXT)


class VoidInputSchema(EveryField):
    """Finance voiding (red-lettering) an issued invoice."""

    reason = Parsed(raising(check_text, max_length=500), metadata=TEXT)


class InvoiceSchema(ma.Schema):
    id = fields.Int()
    type = fields.Enum(InvoiceType, by_value=True)
    status = fields.Enum(InvoiceStatus, by_value=True)
    title = fields.Str()
    taxpayer_no = fields.Str(allow_none=True)
    amount = fields.Decimal(as_string=True, places=2, metadata={"description": "Requested, then as issued."})
    email = fields.Str(allow_none=True)
    mailing_address = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)
    order_id = fields.Int(allow_none=True)
    quote_id = fields.Int(allow_none=True)
    customer_id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int(metadata={"description": "The order's (quote's) salesperson."})
    requested_by_id = fields.Int(allow_none=True)
    requested_at = fields.DateTime()
    invoice_no = fields.Str(allow_none=True)
    issued_on = fields.Date(allow_none=True)
    decided_by_id = fields.Int(allow_none=True, metadata={"description": "Who issued or rejected it."})
    decided_at = fields.DateTime(allow_none=True)
    reject_reason = fields.Str(allow_none=True)
    carrier = fields.Str(allow_none=True)
    tracking_no = fields.Str(allow_none=True)
    mailed_by_id = fields.Int(allow_none=True)
    mailed_at = fields.DateTime(allow_none=True)
    void_reason = fields.Str(allow_none=True)
    voided_by_id = fields.Int(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    file = fields.Method("_file", allow_none=True, metadata={"description": "The issued invoice's file: name, "
                                                             "content type and download URL (same token)."})

    def _file(self, obj: Any) -> dict[str, Any] | None:
        if not obj.file_stored_name:
            return None
        return {"name": obj.file_original_name, "content_type": obj.file_content_type,
                "url": f"/api/v1/invoices/{obj.id}/file"}


class InvoiceQuerySchema(ma.Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))
    type = fields.Str(load_default=None, validate=validate.OneOf(TYPES))
    store_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    owner_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1),
                          metadata={"description": "The salesperson."})
    order_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    quote_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    customer_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    date_from = fields.Date(load_default=None, metadata={"description": "Requested on or after (Asia/Shanghai)."})
    date_to = fields.Date(load_default=None, metadata={"description": "Requested on or before."})
    issued_from = fields.Date(load_default=None, metadata={"description": "Issued on or after."})
    issued_to = fields.Date(load_default=None, metadata={"description": "Issued on or before."})
    q = fields.Str(load_default=None, validate=validate.Length(max=100), metadata={
        "description": "An invoice number, a title, a taxpayer number, an order number or a customer's name."})
