"""/api/v1/notifications — the caller's notifications (unread count, list, mark read) and
/api/v1/announcements — those addressed to the caller (list, mark read), publishing one, and whom a
publisher may address, by name. Answers name the author, the unit, the role and the chosen people."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.validation import load_input
from crm.notify import queries
from crm.notify import services
from crm.notify.models import AudienceKind
from crm.notify.schemas import AnnouncementInput

blp = ApiBlueprint("Notifications", __name__, url_prefix="/api/v1",
                   description="The caller's notifications and announcements; publishing announcements.")


class NotificationSchema(ma.Schema):
    id = fields.Int()
    kind = fields.Str()
    title = fields.Str(attribute="shown_title", metadata={"description": "In the caller's language."})
    body = fields.Str(attribute="shown_body", allow_none=True, metadata={"description": "In the caller's language."})
    url = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationArgsSchema(PageArgsSchema):
    unread = fields.Bool(load_default=False)


class CountSchema(ma.Schema):
    unread = fields.Int()


class AnnouncementSchema(ma.Schema):
    id = fields.Int(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(1, 200))
    body = fields.Str(required=True, validate=validate.Length(1, 20000))
    audience = fields.Enum(AudienceKind, by_value=True, required=True)
    unit_id = fields.Int(allow_none=True, validate=validate.Range(1, 2**31 - 1, error=_l("Choose a valid value.")))
    role_key = fields.Str(allow_none=True, validate=validate.Length(max=60))
    user_ids = fields.List(fields.Int(validate=validate.Range(1, 2**31 - 1)), load_only=True)
    pinned = fields.Bool(load_default=False)
    publish_at = fields.AwareDateTime(load_default=None, allow_none=True)
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)
    read = fields.Bool(dump_only=True)
    author = fields.Dict(dump_only=True, allow_none=True, metadata={"description": "Who published it: `{id, name}`."})
    unit = fields.Dict(dump_only=True, allow_none=True,
                       metadata={"description": "The org unit addressed (or where the role's holders sit): "
                                                "`{id, name, kind}`."})
    role = fields.Dict(dump_only=True, allow_none=True, metadata={"description": "The role addressed: `{key, name}`."})
    recipients = fields.List(fields.Dict(), dump_only=True, allow_none=True,
                             metadata={"description": "The chosen people, `{id, name}` (shown to the publisher)."})


class AudienceArgsSchema(ma.Schema):
    q = fields.Str(load_default="", validate=validate.Length(max=100),
                   metadata={"description": "Part of a name: people, org units and roles whose name contains it."})


class AudienceSchema(ma.Schema):
    people = fields.List(fields.Dict(), metadata={"description": "`{id, name, unit}`: active people of your scope."})
    units = fields.List(fields.Dict(), metadata={"description": "`{id, name, kind, depth}`: subsidiaries, stores "
                                                                "and departments of your scope."})
    roles = fields.List(fields.Dict(), metadata={"description": "`{key, name}`."})


@blp.route("/notifications")
@blp.requires("api.use")
@blp.arguments(NotificationArgsSchema, location="query")
@blp.response(200, page_schema(NotificationSchema, "NotificationPage"))
def notifications(args: dict[str, Any]) -> Any:
    """The caller's notifications, newest first"""
    return queries.notifications(current_user, unread_only=args["unread"], cursor=args["cursor"], limit=args["limit"])


@blp.route("/notifications/unread-count")
@blp.requires("api.use")
@blp.response(200, CountSchema)
def unread_count() -> Any:
    """How many notifications the caller has not read"""
    return {"unread": queries.unread_count(current_user)}


@blp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@blp.requires("api.use")
@blp.errors(404)
@blp.response(200, NotificationSchema)
def read(notification_id: int) -> Any:
    """Mark one notification read"""
    return services.mark_read(notification_id, actor=current_user)


@blp.route("/notifications/read-all", methods=["POST"])
@blp.requires("api.use")
@blp.response(200, CountSchema)
def read_all() -> Any:
    """Mark every notification read"""
    services.mark_all_read(actor=current_user)
    return {"unread": 0}


@blp.route("/announcements")
@blp.requires("api.use")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_schema(AnnouncementSchema, "AnnouncementPage"))
def announcements(args: dict[str, Any]) -> Any:
    """Current announcements addressed to the caller, newest first, with `read`"""
    page = queries.announcements(current_user, cursor=args["cursor"], limit=args["limit"])
    items = []
    for a, was_read in page.items:
        a.read = bool(was_read)
        items.append(a)
    queries.describe_announcements(items, current_user)
    return {"items": items, "next_cursor": page.next_cursor}


@blp.route("/announcements/audience")
@blp.requires("api.use", "announcement.publish")
@blp.arguments(AudienceArgsSchema, location="query")
@blp.response(200, AudienceSchema)
def audience(args: dict[str, Any]) -> Any:
    """Whom the caller may address, by name: people, org units and roles (at most 50 of each), to pick from"""
    return queries.audience_choices(current_user, args["q"].strip(), limit=50)


@blp.route("/announcements/publish", methods=["POST"])
@blp.requires("api.use", "announcement.publish")
@blp.arguments(AnnouncementSchema)
@blp.response(201, AnnouncementSchema)
def publish(body: dict[str, Any]) -> Any:
    """Publish an announcement to everyone (HQ), an org unit, a role or chosen users within the caller's scope"""
    body["audience"] = body["audience"].value
    made = services.publish_announcement(load_input(AnnouncementInput(), body), actor=current_user)
    queries.describe_announcements([made], current_user)
    return made


@blp.route("/announcements/<int:announcement_id>/read", methods=["POST"])
@blp.requires("api.use")
@blp.errors(404)
@blp.response(204)
def announcement_read(announcement_id: int) -> Any:
    """Mark an announcement read (a read receipt)"""
    services.mark_announcement_read(announcement_id, actor=current_user)
    return None
