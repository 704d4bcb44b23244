"""Marshmallow schemas of the enquiry statistics API (input and output shapes)."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

WINDOW_KEYS = ["today", "yesterday", "last7", "last30", "this_month", "custom"]


class StatisticsFiltersQuerySchema(ma.Schema):
    """The filters the enquiry statistics and the data kanban share (each adds its own `window`)."""

    date_from = fields.Date(load_default=None, metadata={"description": "First day of a custom window (YYYY-MM-DD)"})
    date_to = fields.Date(load_default=None, metadata={"description": "Last day of a custom window (YYYY-MM-DD)"})
    store_id = fields.List(fields.Int(), load_default=list, metadata={
        "description": "Stores (repeat the argument for several); stores outside your scope match nothing"})
    department_id = fields.Int(load_default=None, metadata={"description": "A department (with its sub-departments)"})
    user_id = fields.Int(load_default=None, metadata={"description": "A salesperson"})


class EnquiryFiltersQuerySchema(StatisticsFiltersQuerySchema):
    window = fields.Str(load_default=None, validate=validate.OneOf(WINDOW_KEYS, error=_l("Choose a value from the list.")),
                        metadata={"description": "today, yesterday, last7 (default), last30, this_month or custom "
                                                 "(with date_from / date_to); days of Asia/Shanghai"})


class PlatformFiguresSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    day = fields.Date()
    enquiries = fields.Int()
    new_enquiries = fields.Int()
    entered_by_id = fields.Int(allow_none=True)
    updated_at = fields.DateTime()


class PersonFiguresSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    user_id = fields.Int()
    day = fields.Date()
    wechat_adds = fields.Int()
    contacts = fields.Int()
    screenshots = fields.Int(metadata={"description": "How many WeChat screenshots were uploaded for the day"})
    updated_at = fields.DateTime()


class PlatformRowSchema(ma.Schema):
    store_id = fields.Int(required=True)
    day = fields.Str(required=True, metadata={"description": "YYYY-MM-DD, today or earlier"})
    enquiries = fields.Int(required=True)
    new_enquiries = fields.Int(required=True, metadata={"description": "At most `enquiries`"})


class PlatformWriteSchema(ma.Schema):
    rows = fields.List(fields.Nested(PlatformRowSchema), required=True, validate=validate.Length(
        min=1, max=400, error=_l("Send from %(min)d to %(max)d rows.", min=1, max=400)), metadata={
        "description": "A day already entered for the store is corrected (the history keeps the old values)"})


class PersonRowSchema(ma.Schema):
    day = fields.Str(required=True, metadata={"description": "YYYY-MM-DD, today or earlier"})
    wechat_adds = fields.Int(required=True)
    contacts = fields.Int(required=True)
    user_id = fields.Int(load_default=None, metadata={"description": "Yours, if sent: nobody enters another's figures"})


class PersonWriteSchema(ma.Schema):
    rows = fields.List(fields.Nested(PersonRowSchema), required=True, validate=validate.Length(
        min=1, max=400, error=_l("Send from %(min)d to %(max)d rows.", min=1, max=400)))


class EnquiryWindowSchema(ma.Schema):
    first = fields.Date()
    last = fields.Date()


class EnquiryRatioSchema(ma.Schema):
    numerator = fields.Int()
    denominator = fields.Int()
    value = fields.Decimal(as_string=True, places=4, allow_none=True,
                           metadata={"description": "numerator ÷ denominator; null when the denominator is 0"})


class EnquiryRateSchema(ma.Schema):
    key = fields.Str(metadata={"description": "phone_conversion, wechat_conversion, conversion, payment_conversion"})
    label = fields.Str()
    definition = fields.Str()
    current = fields.Nested(EnquiryRatioSchema)
    previous = fields.Nested(EnquiryRatioSchema)


class EnquiryTotalsSchema(ma.Schema):
    enquiries = fields.Int()
    new_enquiries = fields.Int()
    wechat_adds = fields.Int()
    contacts = fields.Int()
    new_customers_with_order = fields.Int()
    paid_orders = fields.Int()


class EnquiryStatisticsSchema(ma.Schema):
    window = fields.Nested(EnquiryWindowSchema)
    previous_window = fields.Nested(EnquiryWindowSchema)
    rates = fields.List(fields.Nested(EnquiryRateSchema))
    totals = fields.Nested(EnquiryTotalsSchema)
    previous_totals = fields.Nested(EnquiryTotalsSchema)


class EnquiryImportErrorSchema(ma.Schema):
    row = fields.Int()
    field = fields.Str()
    value = fields.Str()
    message = fields.Str()


class EnquiryImportResultSchema(ma.Schema):
    id = fields.Int()
    file_name = fields.Str()
    created = fields.Int()
    updated = fields.Int(metadata={"description": "Days already entered that the file corrected"})
    unchanged = fields.Int()
    errors = fields.List(fields.Nested(EnquiryImportErrorSchema), metadata={"description": "The refused rows"})
    created_at = fields.DateTime()


class EnquiryScreenshotSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    user_id = fields.Int()
    day = fields.Date()
    original_name = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    uploaded_at = fields.DateTime()
