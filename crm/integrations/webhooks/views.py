"""Webhook pages: the endpoints of the admin's scope with the form that registers one (its secret shown
once), an endpoint's page (edit, rotate the secret, send a test, delete, the delivery log) and a delivery's
page (the body as sent, every attempt, resend). URL variables: `endpoint_id`, `delivery_id`."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.core.audit import timeline
from crm.core.errors import DomainError
from crm.core.web import attempt
from crm.core.web import flash_refusal
from crm.extensions import db
from crm.integrations.blueprint import bp
from crm.integrations.webhooks import queries
from crm.integrations.webhooks import services
from crm.integrations.webhooks.models import EVENT_LABELS
from crm.integrations.webhooks.models import STATUS_BADGES
from crm.integrations.webhooks.models import STATUS_LABELS
from crm.integrations.webhooks.models import WebhookEndpoint
from crm.integrations.webhooks.services import PERMISSION


def _form() -> dict[str, Any]:
    return {"name": request.form.get("name", ""), "url": request.form.get("url", ""),
            "events": request.form.getlist("events"), "store_id": request.form.get("store_id", ""),
            "active": request.form.get("active") == "on"}


def _globals() -> dict[str, Any]:
    return {"event_labels": EVENT_LABELS, "status_labels": STATUS_LABELS, "status_badges": STATUS_BADGES,
            "events": list(EVENT_LABELS.items()), "stores": queries.store_choices(current_user)}


def _list(form: dict[str, Any], errors: dict[str, Any], status: int = 200) -> Any:
    page = queries.endpoint_page(current_user, cursor=request.args.get("cursor") or None)
    return render_template("integrations/webhooks.html", page=page, form=form, errors=errors,
                           counts=queries.counts([e.id for e in page.items]), units=queries.unit_names(page.items),
                           **_globals()), status


@bp.get("/webhooks")
@permission_required(PERMISSION)
def webhooks() -> Any:
    return _list({"events": [], "active": True}, {})


@bp.post("/webhooks")
@permission_required(PERMISSION)
def create_webhook() -> Any:
    form = _form()

    def created() -> Any:
        endpoint, secret = services.create_endpoint(dict(form, active=True), actor=current_user)
        flash(_("The endpoint was registered."), "success")
        return _detail(endpoint, secret=secret)

    return attempt(created, lambda exc: _list(form, getattr(exc, "errors", {}), 422))


def _detail(endpoint: WebhookEndpoint, *, secret: str | None = None, form: dict[str, Any] | None = None,
            errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    page = queries.delivery_page(endpoint, status=request.args.get("status") or None,
                                 cursor=request.args.get("cursor") or None)
    return render_template(
        "integrations/webhook_detail.html", endpoint=endpoint, secret=secret, page=page,
        form=form or services.current_values(endpoint), errors=errors or {},
        units=queries.unit_names([endpoint]), entries=timeline(db.session, "webhook_endpoint", endpoint.id),
        **_globals()), status


@bp.get("/webhooks/<int:endpoint_id>")
@permission_required(PERMISSION)
def webhook_detail(endpoint_id: int) -> Any:
    return _detail(services.get_endpoint(endpoint_id, current_user))


@bp.post("/webhooks/<int:endpoint_id>")
@permission_required(PERMISSION)
def update_webhook(endpoint_id: int) -> Any:
    form = _form()

    def saved() -> Any:
        services.update_endpoint(endpoint_id, form, actor=current_user)
        flash(_("Saved."), "success")
        return redirect(url_for("integrations.webhook_detail", endpoint_id=endpoint_id))

    return attempt(saved, lambda exc: _detail(services.get_endpoint(endpoint_id, current_user), form=form,
                                              errors=getattr(exc, "errors", {}), status=422))


@bp.post("/webhooks/<int:endpoint_id>/rotate")
@permission_required(PERMISSION)
def rotate_webhook_secret(endpoint_id: int) -> Any:
    endpoint, secret = services.rotate_secret(endpoint_id, actor=current_user)
    flash(_("A new secret signs the deliveries from now on."), "success")
    return _detail(endpoint, secret=secret)


@bp.post("/webhooks/<int:endpoint_id>/test")
@permission_required(PERMISSION)
def test_webhook(endpoint_id: int) -> Any:
    services.send_test(endpoint_id, actor=current_user)
    flash(_("A test delivery (ping) is on its way."), "success")
    return redirect(url_for("integrations.webhook_detail", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/delete")
@permission_required(PERMISSION)
def delete_webhook(endpoint_id: int) -> Any:
    services.delete_endpoint(endpoint_id, actor=current_user)
    flash(_("The endpoint was deleted."), "success")
    return redirect(url_for("integrations.webhooks"))


@bp.get("/webhooks/deliveries/<int:delivery_id>")
@permission_required(PERMISSION)
def delivery_detail(delivery_id: int) -> Any:
    delivery = services.get_delivery(delivery_id, current_user)
    endpoint = services.get_endpoint(delivery.endpoint_id, current_user)
    return render_template("integrations/delivery_detail.html", delivery=delivery, endpoint=endpoint,
                           attempts=queries.attempts(delivery), **_globals())


@bp.post("/webhooks/deliveries/<int:delivery_id>/resend")
@permission_required(PERMISSION)
def resend_delivery(delivery_id: int) -> Any:
    try:
        services.resend(delivery_id, actor=current_user)
        flash(_("The delivery is queued again."), "success")
    except DomainError as exc:
        flash_refusal(exc)
    return redirect(url_for("integrations.delivery_detail", delivery_id=delivery_id))
