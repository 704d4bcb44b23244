"""Notification pages (blueprint `notify`): the bell's list with mark read, preferences, announcements
(list, publish, mark read, read receipts). URL variables: `notification_id`, `announcement_id`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required

from crm.auth.decorators import permission_required
from crm.core.errors import ValidationFailed
from crm.core.validation import load_input
from crm.core.web import forget_refused_write
from crm.core.web import safe_next
from crm.extensions import db
from crm.notify import queries
from crm.notify import services
from crm.notify.models import AUDIENCE_LABELS
from crm.notify.models import NotificationPreference
from crm.notify.schemas import AnnouncementInput

bp = Blueprint("notify", "crm.notify", template_folder="templates", url_prefix="/notifications")




@bp.app_context_processor
def announcement_helpers() -> dict[str, Any]:
    """`home_announcements()` for the home page (`{% include "notify/_announcements.html" %}`)."""

    def home_announcements() -> list[Any]:
        if not current_user or not current_user.is_authenticated:
            return []
        return queries.home_announcements(current_user)

    return {"home_announcements": home_announcements}


@bp.get("/")
@login_required
def index() -> Any:
    page = queries.notifications(current_user, unread_only=request.args.get("unread") == "1",
                                 cursor=request.args.get("cursor") or None)
    return render_template("notify/index.html", page=page, unread=request.args.get("unread") == "1")


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int) -> Any:
    n = services.mark_read(notification_id, actor=current_user)
    if request.form.get("open") and n.url and n.url.startswith("/"):
        return redirect(safe_next(n.url, url_for("notify.index")))
    return redirect(url_for("notify.index"))


@bp.post("/read-all")
@login_required
def read_all() -> Any:
    services.mark_all_read(actor=current_user)
    return redirect(url_for("notify.index"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> Any:
    if request.method == "POST":
        for kind in services.KINDS:
            services.set_preference(kind, actor=current_user, in_app=request.form.get(f"{kind}-in_app") == "on",
                                    email=request.form.get(f"{kind}-email") == "on")
        flash(_l("Saved."), "success")
        return redirect(url_for("notify.preferences"))
    from sqlalchemy import select

    prefs = {p.kind: p for p in db.session.scalars(select(NotificationPreference)
                                                    .where(NotificationPreference.user_id == current_user.id))}
    return render_template("notify/preferences.html", kinds=services.KINDS, prefs=prefs)


def _choices() -> dict[str, Any]:
    """The units and people (within the publisher's scope) and the roles the publish form offers, by name."""
    if not current_user.can("announcement.publish"):
        return {"units": [], "roles": [], "people": []}
    from crm.org.models import UNIT_KIND_LABELS

    offered = queries.audience_choices(current_user)
    return {"units": [(u["id"], f"{'— ' * u['depth']}{u['name']} ({UNIT_KIND_LABELS[u['kind']]})")
                      for u in offered["units"]],
            "roles": [(r["key"], r["name"]) for r in offered["roles"]],
            "people": [(p["id"], f"{p['name']} · {p['unit']}") for p in offered["people"]]}


@bp.get("/announcements")
@login_required
def announcements() -> Any:
    page = queries.announcements(current_user, cursor=request.args.get("cursor") or None)
    mine = queries.published_by(current_user) if current_user.can("announcement.publish") else []
    queries.describe_announcements([a for a, _n in mine], current_user)
    return render_template("notify/announcements.html", page=page, mine=mine, audiences=AUDIENCE_LABELS,
                           errors={}, form={}, **_choices())


def _when(raw: str | None, field: str) -> datetime | None:
    if not raw:
        return None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed({field: _l("Enter a date and time.")}) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=get_timezone())
    return local


@bp.post("/announcements")
@login_required
@permission_required("announcement.publish")
def publish() -> Any:
    form: dict[str, Any] = request.form.to_dict()
    form["user_ids"] = request.form.getlist("user_ids")  # the people picker: several chosen
    try:
        data: dict[str, Any] = dict(form, pinned=form.get("pinned") == "on")
        data["publish_at"] = _when(form.get("publish_at"), "publish_at")
        data["expires_at"] = _when(form.get("expires_at"), "expires_at")
        services.publish_announcement(load_input(AnnouncementInput(), data), actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        page = queries.announcements(current_user)
        mine = queries.published_by(current_user)
        queries.describe_announcements([a for a, _n in mine], current_user)
        return render_template("notify/announcements.html", page=page, mine=mine,
                               audiences=AUDIENCE_LABELS, errors=exc.errors, form=form, **_choices()), 422
    flash(_l("Published."), "success")
    return redirect(url_for("notify.announcements"))


@bp.post("/announcements/<int:announcement_id>/read")
@login_required
def announcement_read(announcement_id: int) -> Any:
    services.mark_announcement_read(announcement_id, actor=current_user)
    return redirect(safe_next(request.form.get("next"), url_for("notify.announcements")))


@bp.get("/announcements/<int:announcement_id>/receipts")
@login_required
def receipts(announcement_id: int) -> Any:
    rows = queries.read_receipts(announcement_id, current_user)
    return render_template("notify/receipts.html", rows=rows)
