"""Work task pages: new task (personal, or arranged by a manager), the task page (subtasks, comments,
files, done in one click), edit, and the store tags.

URL variables are `work_task_id`, `subtask_id`, `work_attachment_id` and `tag_id` (the isolation crawler
finds routes by these names)."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required
from markupsafe import Markup

from crm.auth.decorators import permission_required
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.files import stored_path
from crm.core.objects import object_label
from crm.core.web import flash_refusal
from crm.core.web import forget_refused_write
from crm.core.web import form_data
from crm.core.web import safe_next
from crm.core.web import stored_file_response
from crm.work.blueprint import bp
from crm.work.tasks import discussion
from crm.work.tasks import queries
from crm.work.tasks import services
from crm.work.tasks.models import PRIORITY_LABELS
from crm.work.tasks.models import PRIORITY_NAMES
from crm.work.tasks.models import RECURRENCE_LABELS
from crm.work.tasks.models import RELATED_TYPES
from crm.work.tasks.models import STATUS_LABELS
from crm.work.tasks.models import WorkTask

LIST_FIELDS = ("assignee_ids", "participant_ids", "tag_ids", "mention_ids")


def _form() -> dict[str, Any]:
    data = form_data()
    for name in LIST_FIELDS:
        if name in request.form:
            data[name] = request.form.getlist(name)
    return data


def _choices(task: WorkTask | None) -> dict[str, Any]:
    store_id = task.store_id if task is not None else current_user.store_id
    unit_id = task.unit_id if task is not None else current_user.org_unit_id
    return {
        "priorities": [(name, PRIORITY_LABELS[value]) for name, value in PRIORITY_NAMES.items()],
        "recurrences": [(r.value, label) for r, label in RECURRENCE_LABELS.items()],
        "related_types": [(t, object_label(t)) for t in RELATED_TYPES],
        "people": queries.arrangeable_people(current_user) if task is None else [],
        "colleagues": queries.colleagues(store_id, unit_id),
        "tags": queries.tag_choices(store_id),
    }


def _render_form(task: WorkTask | None, form: dict[str, Any], errors: dict[str, list[str]] | None = None,
                 status: int = 200) -> Any:
    return render_template("work/tasks/form.html", task=task, form=form, errors=errors or {},
                           **_choices(task)), status


@bp.route("/tasks/new", methods=["GET", "POST"])
@login_required
def task_new() -> Any:
    if request.method == "GET":
        form = {"priority": "none", "object_type": request.args.get("object_type", ""),
                "object_id": request.args.get("object_id", "")}
        return _render_form(None, form)
    form = _form()
    try:
        made = services.create_tasks(form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_form(None, form, exc.errors, 422)
    flash(_("The task was saved.") if len(made) == 1 else _("%(n)d tasks were saved.", n=len(made)), "success")
    return redirect(url_for("work.task_detail", work_task_id=made[0].id), code=303)


@bp.route("/tasks/<int:work_task_id>")
@login_required
def task_detail(work_task_id: int) -> Any:
    task = services.get_task(work_task_id, current_user)
    return render_template("work/tasks/detail.html", page=queries.task_page(task, current_user),
                           status_labels=STATUS_LABELS, recurrence_labels=RECURRENCE_LABELS)


@bp.route("/tasks/<int:work_task_id>/edit", methods=["GET", "POST"])
@login_required
def task_edit(work_task_id: int) -> Any:
    task = services.get_task(work_task_id, current_user)
    if request.method == "GET":
        form = {"title": task.title, "description": task.description or "", "priority": task.priority_name,
                "due_on": task.due_on.isoformat() if task.due_on else "",
                "due_time": task.due_time.strftime("%H:%M") if task.due_time else "",
                "remind_minutes": task.remind_minutes or "", "object_type": task.object_type or "",
                "object_id": task.object_id or "", "participant_ids": services.participant_ids(task),
                "tag_ids": queries.tag_ids_of(task)}
        return _render_form(task, form)
    form = _form()
    try:
        services.update_task(task.id, form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_form(services.get_task(work_task_id, current_user), form, exc.errors, 422)
    except DomainError as exc:
        flash_refusal(exc)
        return redirect(url_for("work.task_detail", work_task_id=work_task_id), code=303)
    flash(_("The task was saved."), "success")
    return redirect(url_for("work.task_detail", work_task_id=task.id), code=303)


def _action(work_task_id: int, step: Any, success: str, anchor: str | None = None) -> Any:
    try:
        step()
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(success, "success")
    default = url_for("work.task_detail", work_task_id=work_task_id, _anchor=anchor)
    return redirect(safe_next(request.form.get("next"), default), code=303)


@bp.route("/tasks/<int:work_task_id>/complete", methods=["POST"])
@login_required
def task_complete(work_task_id: int) -> Any:
    return _action(work_task_id, lambda: services.complete(work_task_id, actor=current_user), _("The task is done."))


@bp.route("/tasks/<int:work_task_id>/reopen", methods=["POST"])
@login_required
def task_reopen(work_task_id: int) -> Any:
    return _action(work_task_id, lambda: services.reopen(work_task_id, actor=current_user), _("The task is open again."))


@bp.route("/tasks/<int:work_task_id>/cancel", methods=["POST"])
@login_required
def task_cancel(work_task_id: int) -> Any:
    return _action(work_task_id, lambda: services.cancel(work_task_id, actor=current_user), _("The task was cancelled."))


@bp.route("/tasks/<int:work_task_id>/subtasks", methods=["POST"])
@login_required
def subtask_add(work_task_id: int) -> Any:
    return _action(work_task_id, lambda: services.add_subtask(work_task_id, form_data(), actor=current_user),
                   _("The subtask was added."), "subtasks")


@bp.route("/tasks/<int:work_task_id>/subtasks/<int:subtask_id>", methods=["POST"])
@login_required
def subtask_set(work_task_id: int, subtask_id: int) -> Any:
    done = request.form.get("done") == "1"
    return _action(work_task_id, lambda: services.set_subtask(work_task_id, subtask_id, done, actor=current_user),
                   _("The subtask was updated."), "subtasks")


@bp.route("/tasks/<int:work_task_id>/comments", methods=["POST"])
@login_required
def comment_add(work_task_id: int) -> Any:
    def step() -> None:
        _comment, told = discussion.add_comment(work_task_id, _form(), actor=current_user)
        if told:
            names = queries.user_names(set(told))
            flash(_("Told: %(names)s", names=", ".join(names[u] for u in told)), "info")

    return _action(work_task_id, step, _("The comment was added."), "comments")


@bp.route("/tasks/<int:work_task_id>/attachments", methods=["POST"])
@login_required
def attachment_add(work_task_id: int) -> Any:
    upload = request.files.get("file")
    return _action(work_task_id, lambda: discussion.add_attachment(
        work_task_id, upload.filename if upload else None, upload.stream if upload else _Empty(),  # type: ignore[arg-type]
        actor=current_user), _("The file was attached."), "attachments")


class _Empty:
    def read(self, _n: int = -1) -> bytes:
        return b""


@bp.route("/tasks/<int:work_task_id>/attachments/<int:work_attachment_id>")
@login_required
def attachment_download(work_task_id: int, work_attachment_id: int) -> Any:
    _task, row = discussion.get_attachment(work_task_id, work_attachment_id, current_user)
    return stored_file_response(stored_path(row.stored_name), row.content_type, row.original_name)


@bp.route("/tasks/<int:work_task_id>/attachments/<int:work_attachment_id>/delete", methods=["POST"])
@login_required
def attachment_delete(work_task_id: int, work_attachment_id: int) -> Any:
    return _action(work_task_id, lambda: discussion.delete_attachment(work_task_id, work_attachment_id,
                                                                    actor=current_user),
                   _("The file was removed."), "attachments")


# Tags -------------------------------------------------------------------------------------------------------
@bp.route("/tags", methods=["GET", "POST"])
@permission_required("work.tag.manage")
def tags() -> Any:
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            services.create_tag(form_data(), actor=current_user)
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors, status = exc.errors, 422
        except DomainError as exc:
            flash_refusal(exc)
            return redirect(url_for("work.tags"), code=303)
        else:
            flash(_("The tag was added."), "success")
            return redirect(url_for("work.tags"), code=303)
    return render_template("work/tasks/tags.html", tags=queries.tags_of_scope(current_user), errors=errors,
                           form=form_data() if request.method == "POST" else {}), status


@bp.route("/tags/<int:tag_id>/delete", methods=["POST"])
@permission_required("work.tag.manage")
def tag_delete(tag_id: int) -> Any:
    try:
        services.delete_tag(tag_id, actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(_("The tag was deleted."), "success")
    return redirect(url_for("work.tags"), code=303)


# Sections of other pages -------------------------------------------------------------------------------------
def related_section(object_type: str, object_id: int) -> Markup:
    """The open tasks about a record (the customer and order pages), with a link to add one."""
    items = queries.open_tasks_of(object_type, object_id, current_user)
    return Markup(render_template("work/tasks/_related.html", items=items, object_type=object_type,
                                  object_id=object_id, names=queries.user_names({t.owner_id for t in items})))
