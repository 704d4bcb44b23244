"""/api/v1/customers — customers, their contacts, follow-ups and team; imports (upload a file, job status).

Same services, rules and messages as the pages: customers outside the caller's scope answer 404; a
duplicate mobile number or WeChat ID answers 422 on that field, naming only what the caller may see; a
stale `lock_version` answers 409."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest.fields import Upload
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_of
from crm.auth.rest import page_schema
from crm.auth.scopes import get_visible
from crm.core.errors import ValidationFailed
from crm.customers import imports
from crm.customers import queries
from crm.customers import services
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import ImportJob
from crm.customers.schemas import CUSTOMER_CREATE_EXAMPLE
from crm.customers.schemas import CUSTOMER_EXAMPLE
from crm.customers.schemas import CUSTOMER_PAGE_EXAMPLE
from crm.customers.schemas import ContactSchema
from crm.customers.schemas import ContactWriteSchema
from crm.customers.schemas import CustomerCreateSchema
from crm.customers.schemas import CustomerQuerySchema
from crm.customers.schemas import CustomerSchema
from crm.customers.schemas import CustomerUpdateSchema
from crm.customers.schemas import FollowUpSchema
from crm.customers.schemas import FollowUpWriteSchema
from crm.customers.schemas import ImportJobSchema
from crm.customers.schemas import LockSchema
from crm.customers.schemas import TeamMemberSchema
from crm.customers.schemas import TransferSchema
from crm.customers.services import follow_ups
from crm.extensions import db

blp = ApiBlueprint("Customers", __name__, url_prefix="/api/v1/customers",
                   description="Customers, contacts, follow-ups, team members; imports (upload and status).")

CustomerPageSchema = page_schema(CustomerSchema, "CustomerPage")


class CustomerListArgsSchema(CustomerQuerySchema, PageArgsSchema):
    pass


def _load(customer_id: int) -> Customer:
    return get_visible(Customer, customer_id, current_user)


@blp.route("")
class Customers(MethodView):
    @blp.requires("customer.view")
    @blp.arguments(CustomerListArgsSchema, location="query")
    @blp.response(200, CustomerPageSchema, example=CUSTOMER_PAGE_EXAMPLE)
    def get(self, args: dict[str, Any]) -> Any:
        """List the customers the caller may see, with filters and keyset pages"""
        limit, cursor = args.pop("limit"), args.pop("cursor")
        filters = queries.parse_filters(MultiDict({k: str(v) for k, v in args.items()}))
        return queries.list_customers(current_user, filters, cursor, limit)

    @blp.requires("customer.create")
    @blp.idempotent
    @blp.arguments(CustomerCreateSchema, example=CUSTOMER_CREATE_EXAMPLE)
    @blp.response(201, CustomerSchema, example=CUSTOMER_EXAMPLE)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a customer (checked for duplicates by mobile number and WeChat ID within the store)"""
        if "owner_id" in data and data["owner_id"] is None:
            data["owner_id"] = "pool"
        return services.create_customer(data, actor=current_user)


@blp.route("/<int:customer_id>")
class CustomerItem(MethodView):
    @blp.requires("customer.view")
    @blp.errors(404)
    @blp.response(200, CustomerSchema)
    def get(self, customer_id: int) -> Any:
        """One customer"""
        return _load(customer_id)

    @blp.requires("customer.edit")
    @blp.errors(404, 409)
    @blp.arguments(CustomerUpdateSchema)
    @blp.response(200, CustomerSchema)
    def patch(self, data: dict[str, Any], customer_id: int) -> Any:
        """Change a customer's profile (only the fields sent)"""
        customer = _load(customer_id)
        version = data.pop("lock_version", None)
        return services.update_customer(customer, data, actor=current_user, lock_version=version, partial=True)


@blp.route("/<int:customer_id>/transfer", methods=["POST"])
@blp.requires("customer.transfer")
@blp.errors(404)
@blp.arguments(TransferSchema)
@blp.response(200, CustomerSchema)
def transfer(data: dict[str, Any], customer_id: int) -> Any:
    """Give a customer to another person of its store"""
    customer = _load(customer_id)
    services.transfer([customer], data["to_user_id"], actor=current_user, with_contacts=data["with_contacts"],
                      keep_old_owner=data["keep_old_owner"], reason=data["reason"])
    return customer


@blp.route("/<int:customer_id>/lock", methods=["POST"])
@blp.requires("customer.lock")
@blp.errors(404, 409)
@blp.arguments(LockSchema)
@blp.response(200, CustomerSchema)
def lock(data: dict[str, Any], customer_id: int) -> Any:
    """Lock (exempt from high-seas recycling) or unlock a customer"""
    return services.set_locked(_load(customer_id), data["locked"], actor=current_user,
                               lock_version=data.get("lock_version"))


@blp.route("/<int:customer_id>/team", methods=["POST"])
@blp.requires("customer.edit")
@blp.errors(404)
@blp.arguments(TeamMemberSchema)
@blp.response(200, CustomerSchema)
def team_add(data: dict[str, Any], customer_id: int) -> Any:
    """Add a team member (read or write, optional expiry) or change one"""
    customer = _load(customer_id)
    services.add_team_member(customer, data["user_id"], data["access"], data.get("expires_at"), actor=current_user)
    return customer


@blp.route("/<int:customer_id>/contacts")
class Contacts(MethodView):
    @blp.requires("customer.view")
    @blp.errors(404)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(ContactSchema, "ContactPage"))
    def get(self, args: dict[str, Any], customer_id: int) -> Any:
        """The contacts of a customer"""
        customer = _load(customer_id)
        return page_of(db.session.scalars(select(Contact).where(Contact.customer_id == customer.id)
                                          .order_by(Contact.id)), args)

    @blp.requires("customer.edit")
    @blp.errors(404)
    @blp.arguments(ContactWriteSchema)
    @blp.response(201, ContactSchema)
    def post(self, data: dict[str, Any], customer_id: int) -> Any:
        """Add a contact"""
        return services.add_contact(_load(customer_id), data, actor=current_user)


@blp.route("/<int:customer_id>/contacts/<int:contact_id>")
class ContactItem(MethodView):
    @blp.requires("customer.edit")
    @blp.errors(404)
    @blp.arguments(ContactWriteSchema)
    @blp.response(200, ContactSchema)
    def put(self, data: dict[str, Any], customer_id: int, contact_id: int) -> Any:
        """Replace a contact's details"""
        customer = _load(customer_id)
        return services.update_contact(customer, services.get_contact(customer, contact_id), data, actor=current_user)

    @blp.requires("customer.edit")
    @blp.errors(404)
    @blp.response(204)
    def delete(self, customer_id: int, contact_id: int) -> Any:
        """Remove a contact"""
        customer = _load(customer_id)
        services.delete_contact(customer, services.get_contact(customer, contact_id), actor=current_user)
        return None


@blp.route("/<int:customer_id>/follow-ups")
class FollowUps(MethodView):
    @blp.requires("customer.view")
    @blp.errors(404)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(FollowUpSchema, "FollowUpPage"))
    def get(self, args: dict[str, Any], customer_id: int) -> Any:
        """The follow-ups of a customer, newest first (the latest 200)"""
        return page_of(follow_ups.follow_ups(_load(customer_id)), args)

    @blp.requires("customer.edit")
    @blp.errors(404)
    @blp.arguments(FollowUpWriteSchema)
    @blp.response(201, FollowUpSchema)
    def post(self, data: dict[str, Any], customer_id: int) -> Any:
        """Record a follow-up (sends the workflow message follow_up_recorded)"""
        return follow_ups.record_follow_up(_load(customer_id), data, actor=current_user)


class DueArgsSchema(PageArgsSchema):
    bucket = ma.fields.Str(load_default="today", validate=ma.validate.OneOf(["overdue", "today", "upcoming"]))


@blp.route("/follow-ups/due")
@blp.requires("customer.view")
@blp.arguments(DueArgsSchema, location="query")
@blp.response(200, page_schema(FollowUpSchema, "DueFollowUpPage"))
def follow_ups_due(args: dict[str, Any]) -> Any:
    """The caller's next contacts: overdue, today or upcoming (Asia/Shanghai days), the first 200"""
    return page_of(queries.to_follow_up(current_user, args["bucket"]), args)


@blp.route("/imports/<int:job_id>")
@blp.requires("customer.import")
@blp.errors(404)
@blp.response(200, ImportJobSchema)
def import_status(job_id: int) -> Any:
    """The progress and result of an import job: counts, refused rows and skipped (duplicate) rows"""
    job = get_visible(ImportJob, job_id, current_user)
    job.skipped_rows_seen = imports.skipped_rows(job, current_user)  # as the caller may know them
    return job


class ImportUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={
        "description": "A .csv (UTF-8 or GBK) or .xlsx file of at most 50 MB whose first row holds the column titles."})
    mapping = ma.fields.Str(metadata={
        "description": "JSON object: import field -> column, as its 0-based index or its title, e.g. "
                       '`{"name": 0, "mobile": "手机号"}`. Fields: name, company, mobile, chat_id, email, province, '
                       "city, address, source_platform, source_store, level, industry, tags, product_preferences, "
                       "intention, remarks, owner_mobile. Omitted: the columns are matched by their titles, as the "
                       "page proposes. name and mobile or chat_id are required."})
    on_duplicate = ma.fields.Str(load_default="skip", metadata={
        "description": "Rows matching an existing customer (mobile number or WeChat ID in the store): `skip` or "
                       "`update`; for `target=leads`: `skip` or `create`."})
    default_owner_id = ma.fields.Str(load_default="pool", metadata={
        "description": "Owner of the rows without an owner column value: a user id of the store, or `pool` (the "
                       "high seas)."})
    store_id = ma.fields.Str(metadata={"description": "The store to import into (callers above store level)."})
    target = ma.fields.Str(load_default="customers", metadata={"description": "`customers` or `leads`."})


def _mapping(raw: str | None, job: ImportJob) -> dict[str, Any]:
    """The caller's mapping with column titles turned into indexes; errors as the page names them."""
    if raw is None or not raw.strip():
        return dict(job.mapping or {})
    try:
        given = json.loads(raw)
    except ValueError:
        given = None
    if not isinstance(given, dict):
        raise ValidationFailed({"mapping": _l("Send a JSON object of import fields and columns.")})
    columns = [str(c).strip().lower() for c in imports.header(imports.file_path(job), job.file_format)]
    mapping: dict[str, Any] = {}
    for field, column in given.items():
        if field not in imports.FIELDS:
            raise ValidationFailed({f"mapping.{field}": _l("Unknown import field.")})
        if isinstance(column, bool) or not isinstance(column, (int, str)):
            raise ValidationFailed({f"mapping.{field}": _l("Choose a column from the list.")})
        if isinstance(column, str) and not column.strip().isdigit():
            if column.strip().lower() not in columns:
                raise ValidationFailed({f"mapping.{field}": _l("Choose a column from the list.")})
            column = columns.index(column.strip().lower())
        mapping[field] = column
    return mapping


@blp.route("/imports", methods=["POST"])
@blp.requires("customer.import")
@blp.arguments(ImportUploadSchema, location="multipart")
@blp.response(201, ImportJobSchema)
def import_upload(args: dict[str, Any]) -> Any:
    """Upload a file and start importing it (customers or leads): the same checks as the import page; the
    background job imports it in chunks, follow it with GET /imports/{job_id}"""
    upload = args["file"]
    try:
        job = imports.upload(upload.filename, upload.stream, actor=current_user, store_id=args.get("store_id"),
                             target=args["target"])
        return imports.confirm(job, _mapping(args.get("mapping"), job), args["on_duplicate"],
                               args["default_owner_id"], actor=current_user)
    except ValidationFailed as exc:  # the page's field names (map_name) as this request's (mapping.name)
        raise ValidationFailed({_api_field(k): v for k, v in exc.errors.items()}) from None


def _api_field(name: str) -> str:
    return f"mapping.{name[4:]}" if name.startswith("map_") else name
