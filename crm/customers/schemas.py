"""marshmallow schemas of customers, contacts and follow-ups for the REST API.

Input schemas check types only; the rules (required name, mobile numbers, dedup, choices) live in
`crm.customers.services`, which answers with per-field messages in the user's language."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.core.validation import MOBILE_PATTERN
from crm.core.validation import REQUIRED_TEXT_PATTERN
from crm.customers.models import CustomerLevel
from crm.customers.models import FollowUpKind
from crm.customers.models import ImportStatus
from crm.customers.models import Intention
from crm.customers.models import TeamAccess
from crm.org.models import Platform

MAX_ID = 2**31 - 1


def _id(**kwargs: object) -> fields.Int:
    return fields.Int(validate=validate.Range(1, MAX_ID, error=_l("Choose a valid value.")), **kwargs)  # type: ignore[arg-type]


def _text(n: int, **kwargs: Any) -> fields.Str:
    """Text of at most `n` characters as the service counts them (trimmed): the document says `n`; the
    schema only stops what is far beyond it, so that the service answers with its own message."""
    metadata = {"maxLength": n, **kwargs.pop("metadata", {})}
    return fields.Str(validate=validate.Length(max=n * 2), metadata=metadata, **kwargs)


# What the services accept (crm.customers.services.profile), stricter where they also normalise: an
# 11-digit mainland mobile ("+86 138 0013 8000" is accepted too), a WeChat ID of 2–64 letters, digits, _ and -.
MOBILE = {"pattern": MOBILE_PATTERN, "example": "13800138000"}
CHAT_ID = {"pattern": r"^[a-z0-9_-]{2,64}$", "example": "ningbo_port"}


# Output ---------------------------------------------------------------------------------------------------
class CustomerSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int(allow_none=True, metadata={"description": "NULL: the customer is in the high seas."})
    name = fields.Str()
    company = fields.Str(allow_none=True)
    mobile = fields.Str(allow_none=True)
    mobile_norm = fields.Str(allow_none=True, metadata={"description": "11 digits, the dedup key."})
    chat_id = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    province = fields.Str(allow_none=True)
    city = fields.Str(allow_none=True)
    address = fields.Str(allow_none=True)
    source_platform = fields.Str(allow_none=True)
    source_store = fields.Str(allow_none=True)
    level = fields.Enum(CustomerLevel, by_value=True, allow_none=True)
    industry = fields.Str(allow_none=True)
    tags = fields.List(fields.Str())
    product_preferences = fields.Str(allow_none=True)
    intention = fields.Enum(Intention, by_value=True, allow_none=True)
    remarks = fields.Str(allow_none=True)
    locked = fields.Bool()
    won = fields.Bool()
    last_follow_up_at = fields.DateTime(allow_none=True)
    next_follow_up_at = fields.DateTime(allow_none=True)
    last_deal_at = fields.DateTime(allow_none=True)
    owned_since = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    lock_version = fields.Int(metadata={"description": "Send it back with changes: a stale one answers 409."})


class ContactSchema(ma.Schema):
    id = fields.Int()
    customer_id = fields.Int()
    name = fields.Str()
    position = fields.Str(allow_none=True)
    mobile = fields.Str(allow_none=True)
    chat_id = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    is_primary = fields.Bool()
    remarks = fields.Str(allow_none=True)


class FollowUpSchema(ma.Schema):
    id = fields.Int()
    customer_id = fields.Int()
    author_id = fields.Int(allow_none=True)
    kind = fields.Enum(FollowUpKind, by_value=True)
    content = fields.Str()
    occurred_at = fields.DateTime()
    next_contact_at = fields.DateTime(allow_none=True)


class ImportErrorSchema(ma.Schema):
    row = fields.Int(metadata={"description": "The row number in the file (1 is the header)."})
    field = fields.Str()
    value = fields.Str()
    message = fields.Str()


class SkippedRowSchema(ma.Schema):
    row = fields.Int(metadata={"description": "The row number in the file (1 is the header)."})
    reason = fields.Str()
    existing_id = fields.Int(allow_none=True, metadata={
        "description": "The existing customer the row matched, when you may see it."})
    existing = fields.Str(allow_none=True, metadata={
        "description": "What you may know of that customer (\"owned by 王芳\", \"in the high seas\")."})
    same_as_row = fields.Int(allow_none=True, metadata={"description": "An earlier row of the file it repeats."})


class ImportJobSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    file_name = fields.Str()
    status = fields.Enum(ImportStatus, by_value=True)
    total_rows = fields.Int()
    processed_rows = fields.Int()
    progress = fields.Int(metadata={"description": "Per cent."})
    created = fields.Int()
    updated = fields.Int()
    skipped = fields.Int()
    failed = fields.Int()
    skip_reasons = fields.Dict(keys=fields.Str(), values=fields.Int())
    errors = fields.List(fields.Nested(ImportErrorSchema), metadata={"description": "Refused rows (one per field)."})
    skipped_rows = fields.List(fields.Nested(SkippedRowSchema), attribute="skipped_rows_seen", metadata={
        "description": "Each skipped row (a duplicate) with its reason and the record it matched."})


# Input ----------------------------------------------------------------------------------------------------
class CustomerWriteSchema(ma.Schema):
    name = _text(120)
    company = _text(200, allow_none=True)
    mobile = _text(32, allow_none=True, metadata=MOBILE)
    chat_id = _text(64, allow_none=True, metadata=CHAT_ID)
    email = _text(254, allow_none=True, metadata={"format": "email"})
    province = _text(40, allow_none=True)
    city = _text(40, allow_none=True)
    address = _text(300, allow_none=True)
    source_platform = _text(32, allow_none=True, metadata={"enum": [*(p.value for p in Platform), None]})
    source_store = _text(120, allow_none=True)
    level = fields.Str(allow_none=True, metadata={"enum": [m.value for m in CustomerLevel]})
    industry = _text(80, allow_none=True)
    tags = fields.List(fields.Str(validate=validate.Length(max=100), metadata={"maxLength": 20}),
                       validate=validate.Length(max=50), metadata={"maxItems": 10})
    product_preferences = _text(500, allow_none=True)
    intention = fields.Str(allow_none=True, metadata={"enum": [m.value for m in Intention]})
    remarks = _text(5000, allow_none=True)


class CustomerCreateSchema(CustomerWriteSchema):
    name = _text(120, required=True, metadata={"minLength": 1, "pattern": REQUIRED_TEXT_PATTERN})
    store_id = _id(metadata={"description": "Required above store level; a store user's customers go to their store."})
    owner_id = _id(allow_none=True, metadata={"description": "Default: the caller (in their store). null: high seas."})


class CustomerUpdateSchema(CustomerWriteSchema):
    lock_version = fields.Int(metadata={"description": "The version you read; 409 when someone saved meanwhile."})


class CustomerQuerySchema(ma.Schema):
    q = fields.Str(validate=validate.Length(max=100))
    owner = fields.Str(metadata={"description": "me, pool, or a user id."})
    store_id = _id()
    level = fields.Str()
    intention = fields.Str()
    source_platform = fields.Str()
    industry = fields.Str()
    province = fields.Str()
    city = fields.Str()
    tag = fields.Str()
    locked = fields.Str(metadata={"enum": ["yes", "no"]})
    won = fields.Str(metadata={"enum": ["yes", "no"]})
    created_from = fields.Str(metadata={"description": "YYYY-MM-DD", "format": "date"})
    created_to = fields.Str(metadata={"format": "date"})
    follow_from = fields.Str(metadata={"format": "date"})
    follow_to = fields.Str(metadata={"format": "date"})
    no_follow_days = fields.Str(metadata={"description": "Customers with no follow-up for this many days."})
    sort = fields.Str(metadata={"enum": ["created", "activity", "name", "updated"]})
    dir = fields.Str(metadata={"enum": ["asc", "desc"]})


class TransferSchema(ma.Schema):
    to_user_id = _id(required=True)
    with_contacts = fields.Bool(load_default=True)
    keep_old_owner = fields.Bool(load_default=False)
    reason = _text(500, load_default="")


class LockSchema(ma.Schema):
    locked = fields.Bool(required=True)
    lock_version = fields.Int()


class ContactWriteSchema(ma.Schema):
    name = _text(80, required=True)
    position = _text(80, allow_none=True)
    mobile = _text(32, allow_none=True, metadata=MOBILE)
    chat_id = _text(64, allow_none=True, metadata=CHAT_ID)
    email = _text(254, allow_none=True, metadata={"format": "email"})
    is_primary = fields.Bool(load_default=False)
    remarks = _text(500, allow_none=True)


class FollowUpWriteSchema(ma.Schema):
    kind = fields.Str(required=True, metadata={"enum": [m.value for m in FollowUpKind]})
    content = _text(5000, required=True)
    next_contact_at = fields.Str(allow_none=True, metadata={"description": "ISO 8601, in the future."})


class TeamMemberSchema(ma.Schema):
    user_id = _id(required=True)
    access = fields.Str(load_default="read", metadata={"enum": [m.value for m in TeamAccess]})
    expires_at = fields.Str(allow_none=True)


class LeadSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int(allow_none=True, metadata={"description": "NULL: in the store's lead pool."})
    name = fields.Str()
    company = fields.Str(allow_none=True)
    mobile = fields.Str(allow_none=True)
    chat_id = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    province = fields.Str(allow_none=True)
    city = fields.Str(allow_none=True)
    source_platform = fields.Str(allow_none=True)
    source = fields.Str()
    message = fields.Str(allow_none=True)
    status = fields.Str(attribute="status.value")
    converted_customer_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()


class LeadCreateSchema(ma.Schema):
    name = _text(120, required=True)
    company = _text(200, allow_none=True)
    mobile = _text(32, allow_none=True, metadata=MOBILE)
    chat_id = _text(64, allow_none=True, metadata=CHAT_ID)
    email = _text(254, allow_none=True, metadata={"format": "email"})
    province = _text(40, allow_none=True)
    city = _text(40, allow_none=True)
    source_platform = _text(32, allow_none=True, metadata={"enum": [*(p.value for p in Platform), None]})
    message = _text(2000, allow_none=True)
    store_id = _id()
    to_pool = fields.Bool(load_default=False, metadata={"description": "Into the lead pool (assignment rules apply)."})


class LeadQuerySchema(ma.Schema):
    view = fields.Str(load_default="mine", validate=validate.OneOf(["mine", "pool", "all"]))
    status = fields.Str(load_default="", metadata={"description": "new, contacted, converted or invalid; empty: any."})


class LeadRuleSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    name = fields.Str()
    priority = fields.Int(metadata={"description": "Rules are tried lowest first."})
    provinces = fields.List(fields.Str(), metadata={"description": "Empty: any province."})
    platforms = fields.List(fields.Str(), metadata={"description": "Source platforms; empty: any."})
    member_ids = fields.List(fields.Int(), metadata={"description": "The people who take turns."})
    daily_capacity = fields.Int(metadata={"description": "Leads per member and day (Asia/Shanghai)."})
    active = fields.Bool(metadata={"description": "Inactive rules are skipped."})


class LeadRuleWriteSchema(ma.Schema):
    """The fields of a rule; PATCH changes only the fields sent (the store never changes)."""

    name = _text(80)
    priority = fields.Int(metadata={"description": "0–10000, lowest tried first (default 100)."})
    daily_capacity = fields.Int(metadata={"description": "1–10000 leads per member and day (default 50)."})
    provinces = fields.List(_text(40), validate=validate.Length(max=200),
                            metadata={"description": "Province names; empty: any."})
    platforms = fields.List(fields.Str(validate=validate.Length(max=64)), validate=validate.Length(max=50),
                            metadata={"description": "Platform values; empty: any."})
    member_ids = fields.List(fields.Int(), validate=validate.Length(max=500),
                             metadata={"description": "Active people of the rule's store."})
    active = fields.Bool()


class LeadRuleCreateSchema(LeadRuleWriteSchema):
    store_id = fields.Int(metadata={"description": "The caller's own store when omitted."})


class LeadFollowUpSchema(ma.Schema):
    id = fields.Int()
    lead_id = fields.Int()
    author_id = fields.Int(allow_none=True)
    kind = fields.Enum(FollowUpKind, by_value=True)
    content = fields.Str()
    occurred_at = fields.DateTime()
    next_contact_at = fields.DateTime(allow_none=True)


# Examples in the OpenAPI document (tests/test_api_examples.py checks them against the schemas) ------------
CUSTOMER_CREATE_EXAMPLE = {"name": "宁波港物流", "company": "宁波港物流有限公司", "mobile": "13800138000",
                           "province": "浙江", "city": "宁波", "source_platform": "tmall", "level": "a",
                           "intention": "high", "tags": ["托盘", "大客户"]}
CUSTOMER_EXAMPLE = {
    "id": 7, "store_id": 5, "owner_id": 12, "name": "宁波港物流", "company": "宁波港物流有限公司",
    "mobile": "13800138000", "mobile_norm": "13800138000", "chat_id": None, "email": None, "province": "浙江",
    "city": "宁波", "address": None, "source_platform": "tmall", "source_store": None, "level": "a", "industry": None,
    "tags": ["托盘", "大客户"], "product_preferences": None, "intention": "high", "remarks": None, "locked": False,
    "won": False, "last_follow_up_at": None, "next_follow_up_at": None, "last_deal_at": None,
    "owned_since": "2026-12-07T02:15:00+00:00", "created_at": "2026-12-07T02:15:00+00:00",
    "updated_at": "2026-12-07T02:15:00+00:00", "lock_version": 1,
}
CUSTOMER_PAGE_EXAMPLE = {"items": [CUSTOMER_EXAMPLE], "next_cursor": "eyJpZCI6IDd9"}
