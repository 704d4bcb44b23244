"""Instances: the filtered list, the detail page (diagram with element states, open tasks, task data for
admins, history, errors) and the repair actions; the migration preview and its confirmation; the
unmatched messages."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required

from crm.auth.decorators import permission_required
from crm.core.audit import timeline
from crm.core.errors import DomainError
from crm.core.i18n import translate
from crm.core.objects import object_pages
from crm.core.web import forget_refused_write
from crm.extensions import db
from crm.processes.views.common import STATUS_BADGES
from crm.processes.views.common import bp
from crm.workflow import layout
from crm.workflow.admin import instances as admin
from crm.workflow.admin.instances import InstanceFilters
from crm.workflow.models import InstanceStatus
from crm.workflow.models import event_label
from crm.workflow.runtime import StepFailed
from crm.workflow.tasks import queries as task_queries
from crm.workflow.tasks import services as task_services

AUDIT_FIELDS = {"task": _l("Task"), "previous": _l("Previous assignee"), "to": _l("New assignee"),
                "from_version": _l("From version"), "to_version": _l("To version")}


@bp.route("/")
@login_required
def instances() -> Any:
    filters = InstanceFilters.from_args(request.args)
    page = admin.list_instances(current_user, filters, request.args.get("cursor") or None,
                                current_app.config["PAGE_SIZE"], tz=get_timezone())
    items = page.items
    return render_template(
        "processes/instances.html", page=page, filters=filters, statuses=list(InstanceStatus),
        status_badges=STATUS_BADGES, processes=task_queries.process_names(),
        store_choices=task_queries.store_choices(current_user), starter_choices=admin.starter_choices(current_user),
        names=task_queries.user_names({i.started_by_id for i in items if i.started_by_id}
                                      | ({filters.started_by_id} if filters.started_by_id else set())),
        stores=task_queries.store_names({i.store_id for i in items if i.store_id}),
        versions={i.definition_id: i.definition.version for i in items},
        subjects=object_pages((i.object_type, i.object_id) for i in items),
    )


def _detail(instance_id: int, *, status: int = 200, alert: str | None = None) -> Any:
    instance = admin.get_instance(instance_id, current_user)
    is_admin = admin.may_see_data(current_user)
    states = admin.element_states(instance)
    open_tasks = admin.open_tasks(instance)
    events = admin.history(instance, with_data=is_admin)
    people: set[int] = {instance.started_by_id or 0, *(t.assignee_id or 0 for t in open_tasks)}
    for e in events:
        people.add(e.actor_id or 0)
        for key in ("to", "previous"):
            value = (e.details or {}).get(key)
            if isinstance(value, int):
                people.add(value)
    assignable = {t.id: task_services.assignable_users(t, current_user) for t in open_tasks} if is_admin else {}
    current = task_queries.process_names()
    return render_template(
        "processes/instance.html", instance=instance, states=states, open_tasks=open_tasks, events=events,
        event_label=event_label, names=task_queries.user_names(people), is_admin=is_admin,
        store_name=task_queries.store_names({instance.store_id}).get(instance.store_id) if instance.store_id else None,
        process_name=current.get(instance.process_key, instance.process_key), status_badges=STATUS_BADGES,
        assignable=assignable, alert=alert, can_deploy=current_user.can("process.deploy"),
        timeline_entries=timeline(db.session, "process_instance", instance.id) if current_user.can("audit.view") else None,
        field_labels=AUDIT_FIELDS,
    ), status


@bp.route("/<int:instance_id>")
@login_required
def instance(instance_id: int) -> Any:
    return _detail(instance_id)


def _act(instance_id: int, action: Any, done: str) -> Any:
    try:
        action()
    except StepFailed:
        raise
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        forget_refused_write(exc)
        return _detail(instance_id, status=exc.status, alert=str(exc.message) + _flat(exc.errors))
    flash(done, "success")
    return redirect(url_for("processes.instance", instance_id=instance_id), code=303)


def _flat(errors: dict[str, list[str]]) -> str:
    messages = [m for ms in errors.values() for m in ms]
    return (" " + " ".join(messages)) if messages else ""


@bp.route("/<int:instance_id>/suspend", methods=["POST"])
@login_required
def suspend(instance_id: int) -> Any:
    return _act(instance_id, lambda: admin.suspend(instance_id, actor=current_user), _("The process was suspended."))


@bp.route("/<int:instance_id>/resume", methods=["POST"])
@login_required
def resume(instance_id: int) -> Any:
    return _act(instance_id, lambda: admin.resume(instance_id, actor=current_user), _("The process was resumed."))


@bp.route("/<int:instance_id>/terminate", methods=["POST"])
@login_required
def terminate(instance_id: int) -> Any:
    return _act(instance_id, lambda: admin.terminate(instance_id, request.form.get("reason"), actor=current_user),
                _("The process was terminated."))


@bp.route("/<int:instance_id>/retry", methods=["POST"])
@login_required
def retry(instance_id: int) -> Any:
    try:
        return _act(instance_id, lambda: admin.retry(instance_id, actor=current_user),
                    _("The process ran again without error."))
    except StepFailed as exc:
        # The new error is recorded on the instance (and kept): show it on the page.
        forget_refused_write(exc)
        return _detail(instance_id, status=409, alert=str(exc.message))


@bp.route("/<int:instance_id>/reassign", methods=["POST"])
@login_required
def reassign(instance_id: int) -> Any:
    return _act(instance_id, lambda: admin.reassign(instance_id, request.form.get("task_id"),
                                                    request.form.get("user_id"), actor=current_user),
                _("The task was reassigned."))


@bp.route("/<int:instance_id>/migrate", methods=["GET", "POST"])
@login_required
def migrate(instance_id: int) -> Any:
    instance = admin.get_instance(instance_id, current_user)
    errors: list[str] = []
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors.append(_("Tick the box to confirm that you reviewed what will change."))
        else:
            try:
                admin.migrate(instance_id, request.form.get("token"), actor=current_user)
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                forget_refused_write(exc)
                errors.append(str(exc.message) + _flat(exc.errors))
            else:
                flash(_("The process was moved to the current version."), "success")
                return redirect(url_for("processes.instance", instance_id=instance_id), code=303)
    plan = admin.migration_preview(instance_id, actor=current_user)
    return render_template("processes/migrate.html", instance=instance, plan=plan, errors=errors), (400 if errors else 200)


@bp.route("/unmatched-messages")
@permission_required("process.admin")
def unmatched() -> Any:
    page = admin.unmatched_messages(current_user, request.args.get("cursor") or None, current_app.config["PAGE_SIZE"])
    return render_template(
        "processes/unmatched.html", page=page,
        names=task_queries.user_names({m.sent_by_id for m in page.items if m.sent_by_id}),
        stores=task_queries.store_names({m.store_id for m in page.items if m.store_id}),
        subjects=object_pages((m.object_type, m.object_id) for m in page.items),
    )


@bp.route("/<int:instance_id>/diagram")
@login_required
def instance_xml(instance_id: int) -> Any:
    """The diagram of the version the instance runs on (for its viewer)."""
    from flask import Response

    instance = admin.get_instance(instance_id, current_user)
    names = admin.element_states(instance).names  # as its history names them: its data, the reader's language
    return Response(layout.labelled(layout.with_layout(instance.definition.bpmn_xml), names, translate),
                    mimetype="application/xml")
