"""/api/v1/enquiries — the enquiry statistics: the four rates with the previous window, the daily figures
per platform and per salesperson (keyset lists, writes, exports), the import of platform figures and the
WeChat screenshots. Same services, scopes and messages as the pages: stores and rows outside the caller's
scope match nothing or answer 404; refused values answer 422 naming `rows.<i>.<field>`."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.files import stored_path
from crm.core.tabular import MIMETYPES
from crm.core.web import stored_file_response
from crm.enquiries import export
from crm.enquiries import queries
from crm.enquiries import services
from crm.enquiries.schemas import EnquiryFiltersQuerySchema
from crm.enquiries.schemas import EnquiryImportResultSchema
from crm.enquiries.schemas import EnquiryScreenshotSchema
from crm.enquiries.schemas import EnquiryStatisticsSchema
from crm.enquiries.schemas import PersonFiguresSchema
from crm.enquiries.schemas import PersonWriteSchema
from crm.enquiries.schemas import PlatformFiguresSchema
from crm.enquiries.schemas import PlatformWriteSchema

blp = ApiBlueprint("Enquiry statistics", __name__, url_prefix="/api/v1/enquiries",
                   description="Enquiries per platform and per salesperson per day, the enquiry rates, imports, "
                               "WeChat screenshots.")

PlatformPageSchema = page_schema(PlatformFiguresSchema, "PlatformFiguresPage")
PersonPageSchema = page_schema(PersonFiguresSchema, "PersonFiguresPage")
FILE_RESPONSE = {"type": "string", "format": "binary"}


class EnquiryListArgsSchema(EnquiryFiltersQuerySchema, PageArgsSchema):
    pass


class EnquiryExportArgsSchema(EnquiryFiltersQuerySchema):
    format = fields.Str(load_default="csv", validate=validate.OneOf(["csv", "xlsx"], error=_l("Choose CSV or Excel.")),
                        metadata={"description": "csv (UTF-8 with BOM) or xlsx"})


class EnquiryImportUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={
        "description": "A .csv (UTF-8 or GBK) or .xlsx file of at most 5 MB; first row: the titles store (code, name "
                       "or shop name), date, enquiries, new enquiries (English or Chinese: 店铺, 日期, 询盘数, 新询盘)."})


class EnquiryScreenshotUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "A picture: png, jpg, gif or webp"})
    day = fields.Str(required=True, metadata={"description": "The day it belongs to (YYYY-MM-DD)"})


def _filters(args: dict[str, Any]) -> queries.Filters:
    raw = {"window": args.get("window"), "date_from": args.get("date_from"), "date_to": args.get("date_to"),
           "store_id": args.get("store_id") or [], "department_id": args.get("department_id"),
           "user_id": args.get("user_id")}
    return queries.filters_of(raw, current_user)[1]


@blp.route("/statistics", methods=["GET"])
@blp.requires("enquiry.view")
@blp.arguments(EnquiryFiltersQuerySchema, location="query")
@blp.response(200, EnquiryStatisticsSchema)
def statistics(args: dict[str, Any]) -> Any:
    """The four enquiry rates of the window and of the previous window of the same length, with their sums"""
    filters = _filters(args)
    rates, now, before = queries.rates(current_user, filters)
    previous = filters.window.previous()

    def ratio(r: queries.Ratio) -> dict[str, Any]:
        return {"numerator": r.numerator, "denominator": r.denominator, "value": r.value}

    return {"window": {"first": filters.window.first, "last": filters.window.last},
            "previous_window": {"first": previous.first, "last": previous.last},
            "rates": [{"key": r.key, "label": str(r.label), "definition": str(r.definition), "current": ratio(r.current),
                       "previous": ratio(r.previous)} for r in rates],
            "totals": now, "previous_totals": before}


@blp.route("/platform", methods=["GET"])
@blp.requires("enquiry.view")
@blp.arguments(EnquiryListArgsSchema, location="query")
@blp.response(200, PlatformPageSchema)
def platform_list(args: dict[str, Any]) -> Any:
    """The platforms' daily figures in your scope, newest day first"""
    page = queries.platform_page(current_user, _filters(args), cursor=args["cursor"], limit=args["limit"])
    return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/platform", methods=["POST"])
@blp.requires("enquiry.enter_platform")
@blp.arguments(PlatformWriteSchema)
@blp.response(200, PlatformFiguresSchema(many=True))
def platform_write(data: dict[str, Any]) -> Any:
    """Enter or correct platform figures (all rows or none); a correction keeps the old values in the history"""
    return services.save_platform_rows(data["rows"], actor=current_user)


@blp.route("/platform/export", methods=["GET"])
@blp.requires("enquiry.view")
@blp.arguments(EnquiryExportArgsSchema, location="query")
@blp.response(200, FILE_RESPONSE, content_type="application/octet-stream",
              description="The file (text/csv or XLSX), with a Content-Disposition file name")
def platform_export(args: dict[str, Any]) -> Any:
    """The daily table per platform (same filters as the statistics) as a CSV or XLSX file"""
    body, name = export.platform_file(current_user, _filters(args), args["format"])
    return Response(body, mimetype=MIMETYPES[args["format"]],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/platform/imports", methods=["POST"])
@blp.requires("enquiry.enter_platform")
@blp.arguments(EnquiryImportUploadSchema, location="multipart")
@blp.response(201, EnquiryImportResultSchema)
def platform_import(args: dict[str, Any]) -> Any:
    """Import platform figures from a file: good rows are saved, refused rows come back in `errors`"""
    upload = args["file"]
    return services.import_platform(upload.filename, upload.stream, actor=current_user)


@blp.route("/salespeople", methods=["GET"])
@blp.requires("enquiry.view")
@blp.arguments(EnquiryListArgsSchema, location="query")
@blp.response(200, PersonPageSchema)
def people_list(args: dict[str, Any]) -> Any:
    """Salespeople's daily figures in your scope (your own, your team's, your store's), newest day first"""
    page = queries.people_page(current_user, _filters(args), cursor=args["cursor"], limit=args["limit"])
    counts = page.extra["screenshots"]
    items = [{"id": r.id, "store_id": r.store_id, "user_id": r.user_id, "day": r.day, "wechat_adds": r.wechat_adds,
              "contacts": r.contacts, "screenshots": counts.get((r.user_id, r.store_id, r.day), 0),
              "updated_at": r.updated_at} for r in page.items]
    return {"items": items, "next_cursor": page.next_cursor}


@blp.route("/salespeople", methods=["POST"])
@blp.requires("enquiry.enter_own")
@blp.arguments(PersonWriteSchema)
@blp.response(200, PersonFiguresSchema(many=True))
def people_write(data: dict[str, Any]) -> Any:
    """Enter or correct your own daily figures (all rows or none); nobody enters another person's figures"""
    return services.save_own_rows(data["rows"], actor=current_user)


@blp.route("/salespeople/export", methods=["GET"])
@blp.requires("enquiry.view")
@blp.arguments(EnquiryExportArgsSchema, location="query")
@blp.response(200, FILE_RESPONSE, content_type="application/octet-stream",
              description="The file (text/csv or XLSX), with a Content-Disposition file name")
def people_export(args: dict[str, Any]) -> Any:
    """The daily table per salesperson (same filters as the statistics) as a CSV or XLSX file"""
    body, name = export.people_file(current_user, _filters(args), args["format"])
    return Response(body, mimetype=MIMETYPES[args["format"]],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/screenshots", methods=["POST"])
@blp.requires("enquiry.enter_own")
@blp.arguments(EnquiryScreenshotUploadSchema, location="multipart")
@blp.response(201, EnquiryScreenshotSchema)
def screenshot_upload(args: dict[str, Any]) -> Any:
    """Upload a WeChat screenshot of one of your days (images only; the day's count is the number of pictures)"""
    upload = args["file"]
    return services.add_screenshots(args["day"], [(upload.filename, upload.stream)], actor=current_user)[0]


@blp.route("/screenshots/<int:screenshot_id>", methods=["GET"])
@blp.requires("enquiry.view")
@blp.errors(404)
@blp.response(200, FILE_RESPONSE, content_type="application/octet-stream")
def screenshot(screenshot_id: int) -> Any:
    """Download a screenshot: your own, or your team's as their supervisor"""
    shot = queries.get_screenshot(screenshot_id, current_user)
    return stored_file_response(stored_path(shot.stored_name), shot.content_type, shot.original_name, inline=True)
