"""Org unit pages: the tree, create, detail with history, edit, move with a preview, (de)activate."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.decorators import permission_required
from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.web import forget_refused_write
from crm.extensions import db
from crm.org import queries
from crm.org import services
from crm.org.models import ALLOWED_PARENTS
from crm.org.models import PLATFORM_LABELS
from crm.org.models import UNIT_KIND_LABELS
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User
from crm.org.views.common import UNIT_FIELD_LABELS
from crm.org.views.common import Errors
from crm.org.views.common import bp
from crm.org.views.common import form_values
from crm.org.views.common import merge_errors
from crm.org.views.common import pick_visible
from crm.org.views.common import readable_timeline

PARENT_MESSAGE = _l("Choose a parent unit from the list.")


def _kind(raw: Any) -> UnitKind | None:
    try:
        return UnitKind(raw or "")
    except ValueError:
        return None


def _kind_choices() -> list[tuple[str, str]]:
    """Kinds the actor can create: those with an allowed, visible, active parent (HQ only while none exists)."""
    parents = {u.kind for u in queries.visible_units(current_user, visible=visible, active_only=True)}
    kinds = [k for k in UnitKind if ALLOWED_PARENTS[k] & parents]
    if not db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.kind == UnitKind.HQ)):
        kinds.insert(0, UnitKind.HQ)
    return [(k.value, str(UNIT_KIND_LABELS[k])) for k in kinds]


def _platform_choices() -> list[tuple[str, str]]:
    return [(p.value, str(label)) for p, label in PLATFORM_LABELS.items()]


def _render_new(form: dict[str, Any], errors: Errors, status: int = 200) -> Any:
    kind = _kind(form.get("kind"))
    return render_template(
        "org/unit_new.html",
        form=form,
        errors=errors,
        kind=kind,
        kind_choices=_kind_choices(),
        parent_choices=queries.parent_choices(current_user, kind, visible=visible) if kind != UnitKind.HQ else [],
        platform_choices=_platform_choices(),
    ), status


def _unit_data(form: dict[str, Any]) -> dict[str, Any]:
    return {key: form.get(key) for key in ("kind", "name", "code", "platform", "shop_name")}


# The tree -------------------------------------------------------------------------------------------------
@bp.route("/units")
@permission_required("org.view")
def units() -> Any:
    return render_template("org/units.html", rows=queries.unit_tree(current_user, visible=visible))


@bp.route("/units/new", methods=["GET", "POST"])
@permission_required("org.manage")
def unit_new() -> Any:
    if request.method == "GET":
        # The query string pre-fills the form ("add a sub-unit here"; htmx re-renders it when the kind changes).
        form = {key: request.args.get(key, "") for key in ("kind", "parent_id", "name", "code", "platform", "shop_name")}
        if not form["kind"] and len(choices := _kind_choices()) == 1:
            form["kind"] = choices[0][0]
        return _render_new(form, {})
    form = form_values()
    errors: Errors = {}
    data = _unit_data(form)
    if form.get("parent_id"):
        parent = pick_visible(OrgUnit, form["parent_id"], current_user, errors, "parent_id", PARENT_MESSAGE)
        data["parent_id"] = parent.id if parent else None
    try:
        unit = services.create_unit(data, actor=current_user)
    except ValidationFailed as exc:
        errors = merge_errors(exc.errors, errors)
    if errors:
        forget_refused_write()  # keep nothing of this attempt
        return _render_new(form, errors, 422)
    flash(_("The unit %(name)s was created.", name=unit.name), "success")
    return redirect(url_for("org.unit_detail", unit_id=unit.id))


# One unit -------------------------------------------------------------------------------------------------
@bp.route("/units/<int:unit_id>")
@permission_required("org.view")
def unit_detail(unit_id: int) -> Any:
    unit = get_visible(OrgUnit, unit_id, current_user)
    linkable = {
        uid
        for uid in {unit.parent_id, unit.store_id, unit.subsidiary_id}
        if queries.is_visible(OrgUnit, uid, current_user, visible=visible)
    }
    related = {u.id: u for u in db.session.scalars(
        select(OrgUnit).where(OrgUnit.id.in_([i for i in (unit.parent_id, unit.store_id, unit.subsidiary_id) if i]))
    )}
    head = db.session.get(User, unit.head_id) if unit.head_id else None
    return render_template(
        "org/unit_detail.html",
        unit=unit,
        related=related,
        linkable=linkable,
        head=head,
        head_linkable=head is not None and queries.is_visible(User, head.id, current_user, visible=visible),
        children=queries.sub_units(unit, current_user, visible=visible),
        counts=queries.unit_user_counts(unit, current_user, visible=visible),
        timeline_entries=readable_timeline("org_unit", unit.id, current_user) if current_user.can("audit.view") else None,
        field_labels=UNIT_FIELD_LABELS,
    )


def _render_edit(unit: OrgUnit, form: dict[str, Any], errors: Errors, status: int = 200) -> Any:
    head_choices = queries.user_choices(current_user, visible=visible, under=unit)
    if unit.head_id and unit.head_id not in {uid for uid, _label in head_choices}:
        head = db.session.get(User, unit.head_id)
        if head is not None:
            head_choices.insert(0, (head.id, head.name))
    return render_template(
        "org/unit_edit.html",
        unit=unit,
        form=form,
        errors=errors,
        head_choices=head_choices,
        platform_choices=_platform_choices(),
    ), status


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@permission_required("org.manage")
def unit_edit(unit_id: int) -> Any:
    unit = get_visible(OrgUnit, unit_id, current_user)
    if request.method == "GET":
        form = {
            "name": unit.name,
            "code": unit.code or "",
            "platform": unit.platform.value if unit.platform else "",
            "shop_name": unit.shop_name or "",
            "quote_letterhead": unit.quote_letterhead or "",
            "quote_terms": unit.quote_terms or "",
            "quote_seal": unit.quote_seal,
            "head_id": unit.head_id or "",
        }
        return _render_edit(unit, form, {})
    form = form_values()
    errors: Errors = {}
    data = {key: form.get(key) for key in ("name", "code", "platform", "shop_name")}
    if unit.is_store:
        data |= {key: form.get(key, "") for key in ("quote_letterhead", "quote_terms")}
        data["quote_seal"] = form["quote_seal"] = form.get("quote_seal") == "on"
    data["head_id"] = None
    if form.get("head_id"):
        head = pick_visible(
            User, form["head_id"], current_user, errors, "head_id", _l("Choose the head from the list."),
            allow=unit.head_id,
        )
        data["head_id"] = head.id if head else None
    try:
        services.update_unit(unit, data, actor=current_user)
    except ValidationFailed as exc:
        errors = merge_errors(exc.errors, errors)
    if errors:
        forget_refused_write()  # keep nothing of this attempt; the page shows the unit as saved
        return _render_edit(unit, form, errors, 422)
    flash(_("The changes to %(name)s were saved.", name=unit.name), "success")
    return redirect(url_for("org.unit_detail", unit_id=unit.id))


@bp.route("/units/<int:unit_id>/move", methods=["GET", "POST"])
@permission_required("org.manage")
def unit_move(unit_id: int) -> Any:
    unit = get_visible(OrgUnit, unit_id, current_user)
    source = request.form if request.method == "POST" else request.args
    raw_parent = source.get("parent_id", "")
    errors: Errors = {}
    new_parent = None
    if raw_parent:
        new_parent = pick_visible(OrgUnit, raw_parent, current_user, errors, "parent_id", PARENT_MESSAGE)
    elif request.method == "POST":
        errors["parent_id"] = [str(_l("Choose the new parent unit."))]
    if new_parent is not None and new_parent.id == unit.parent_id:
        errors["parent_id"] = [str(_l("The unit already sits there; choose another parent unit."))]
        new_parent = None
    if request.method == "POST" and new_parent is not None and not errors:
        try:
            services.move_unit(unit, new_parent, actor=current_user)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(_("%(name)s was moved under %(parent)s.", name=unit.name, parent=new_parent.name), "success")
            return redirect(url_for("org.unit_detail", unit_id=unit.id))
    current_parent = db.session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
    preview = None
    if new_parent is not None and "parent_id" not in errors:
        preview = queries.move_preview(unit, new_parent, current_user, visible=visible)
    choices = [
        (uid, label)
        for uid, label in queries.parent_choices(current_user, unit.kind, visible=visible, moving=unit)
        if uid != unit.parent_id
    ]
    status = 422 if request.method == "POST" else 200
    return render_template(
        "org/unit_move.html",
        unit=unit,
        current_parent=current_parent,
        new_parent=new_parent,
        parent_id=raw_parent,
        choices=choices,
        preview=preview,
        errors=errors,
    ), status


def _set_active(unit_id: int, active: bool) -> Any:
    unit = get_visible(OrgUnit, unit_id, current_user)
    try:
        services.set_unit_active(unit, active, actor=current_user)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        flash(str(exc.message), "danger")
    else:
        if active:
            flash(_("%(name)s is active again.", name=unit.name), "success")
        else:
            flash(_("%(name)s was deactivated.", name=unit.name), "success")
    return redirect(url_for("org.unit_detail", unit_id=unit.id))


@bp.route("/units/<int:unit_id>/deactivate", methods=["POST"])
@permission_required("org.manage")
def unit_deactivate(unit_id: int) -> Any:
    return _set_active(unit_id, False)


@bp.route("/units/<int:unit_id>/activate", methods=["POST"])
@permission_required("org.manage")
def unit_activate(unit_id: int) -> Any:
    return _set_active(unit_id, True)

