"""The task page (details, form, comments, attachments, instance history) and the task actions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required

from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.web import safe_next
from crm.core.web import stored_file_response
from crm.extensions import db
from crm.inbox.views.common import FIELD_LABELS
from crm.inbox.views.common import bp
from crm.inbox.views.common import event_label
from crm.inbox.views.common import tz
from crm.workflow import runtime
from crm.workflow.models import PRIORITY_LABELS
from crm.workflow.models import HumanTask
from crm.workflow.runtime import StepFailed
from crm.workflow.tasks import files as task_files
from crm.workflow.tasks import forms
from crm.workflow.tasks import queries as task_queries
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.forms import FormUnavailable
from crm.workflow.tasks.forms import Posted

Errors = dict[str, list[str]]


# The page -----------------------------------------------------------------------------------------------------
def _history(task: HumanTask) -> tuple[list[Any], dict[int, str]]:
    events = runtime.history(task.instance_id)
    ids: set[int] = set()
    for e in events:
        ids.add(e.actor_id or 0)
        for key in ("to", "previous", "owner"):
            value = (e.details or {}).get(key)
            if isinstance(value, int):
                ids.add(value)
    return events, task_queries.user_names(ids)


def _render(
    task: HumanTask,
    *,
    status: int = 200,
    form_raw: dict[str, Any] | None = None,
    form_errors: Errors | None = None,
    errors: Errors | None = None,
    alert: str | None = None,
) -> Any:
    actor = current_user
    data = tasks.task_data(task) if task.is_open else {}
    form = None
    form_problem = None
    try:
        form = forms.load_form(task.form_schema, task.form_uischema, data) if task.is_open else None
    except FormUnavailable as exc:
        form_problem = str(exc.message)
    values: dict[str, Any] = {}
    rows: dict[str, int] = {}
    if form is not None:
        shown = form_raw if form_raw is not None else forms.initial_values(form, data, task.draft)
        values, rows = forms.display_values(form, shown)
    candidate_ids = tasks.candidate_ids(task)
    events, event_names = _history(task)
    comments = tasks.comments(task)
    attachments = task_files.attachments(task)
    manager = task.is_open and tasks.can_manage(task, actor)
    own = task.assignee_id == actor.id
    names = task_queries.user_names({*candidate_ids, task.assignee_id or 0, task.delegated_by_id or 0,
                                     task.completed_by_id or 0, *(c.author_id or 0 for c in comments),
                                     *(a.uploaded_by_id or 0 for a in attachments)})
    may_hand_over = task.is_open and (manager or (own and task.assignee_id is not None))
    return render_template(
        "inbox/task.html",
        task=task,
        instance=task.instance,
        store_name=task_queries.store_names({task.store_id}).get(task.store_id) if task.store_id else None,
        process_name=task_queries.process_names().get(task.process_key, task.process_key),
        names=names,
        candidate_ids=candidate_ids,
        events=events,
        event_names=event_names,
        event_label=event_label,
        field_labels=FIELD_LABELS,
        priority_labels=PRIORITY_LABELS,
        comments=comments,
        attachments=attachments,
        attachment_by_id={a.id: a for a in attachments},
        form=form,
        form_problem=form_problem,
        values=values,
        rows=rows,
        form_errors=form_errors or {},
        errors=errors or {},
        alert=alert,
        can_complete=tasks.can_complete(task, actor),
        can_claim=task.is_open and task.assignee_id is None and actor.id in candidate_ids,
        can_release=task.is_open and task.assignee_id is not None and (own or manager),
        is_delegate=own and task.delegated_by_id is not None,
        can_manage=manager,
        can_follow_up=task.is_open and (own or manager),
        assignable=tasks.assignable_users(task, actor) if may_hand_over else [],
        may_hand_over=may_hand_over,
        now=datetime.now(tz()),
    ), status


@bp.route("/<int:task_id>")
@login_required
def task_detail(task_id: int) -> Any:
    return _render(tasks.get_task(task_id, current_user))


def _back(task: HumanTask) -> Any:
    return redirect(safe_next(request.form.get("next"), url_for("inbox.task_detail", task_id=task.id)), code=303)


def _refused(task_id: int, exc: DomainError) -> Any:
    """A refused action: hidden tasks stay 404; otherwise the task page with the message."""
    if exc.status == 404:
        raise exc
    db.session.rollback()
    task = tasks.get_task(task_id, current_user)
    if isinstance(exc, ValidationFailed):
        return _render(task, status=422, errors=exc.errors, alert=str(exc.message))
    return _render(task, status=exc.status, alert=str(exc.message))


# Claim, release, hand over ------------------------------------------------------------------------------------
@bp.route("/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int) -> Any:
    try:
        task = tasks.claim(task_id, actor=current_user)
    except DomainError as exc:
        return _refused(task_id, exc)
    flash(_("You claimed the task %(title)s.", title=task.shown_title), "success")
    return _back(task)


@bp.route("/<int:task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id: int) -> Any:
    try:
        task = tasks.unclaim(task_id, actor=current_user)
    except DomainError as exc:
        return _refused(task_id, exc)
    flash(_("The task %(title)s was released.", title=task.shown_title), "success")
    return _back(task)


@bp.route("/<int:task_id>/reassign", methods=["POST"])
@login_required
def reassign(task_id: int) -> Any:
    try:
        task = tasks.reassign(task_id, request.form.get("user_id"), actor=current_user)
    except DomainError as exc:
        return _refused(task_id, exc)
    flash(_("The task was reassigned."), "success")
    return _back(task)


@bp.route("/<int:task_id>/delegate", methods=["POST"])
@login_required
def delegate(task_id: int) -> Any:
    try:
        task = tasks.delegate(task_id, request.form.get("user_id"), actor=current_user)
    except DomainError as exc:
        return _refused(task_id, exc)
    flash(_("The task was delegated."), "success")
    return _back(task)


def _datetime_field(name: str, errors: Errors) -> Any:
    if name not in request.form:
        return tasks.KEEP
    text = (request.form.get(name) or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?", text):
        errors[name] = [str(_l("Enter a date and time."))]
        return tasks.KEEP
    try:
        parsed = datetime.fromisoformat(text if "T" in text else text + "T18:00")
    except ValueError:
        errors[name] = [str(_l("Enter a date and time."))]
        return tasks.KEEP
    zone = tz()
    return zone.localize(parsed) if hasattr(zone, "localize") else parsed.replace(tzinfo=zone)


@bp.route("/<int:task_id>/dates", methods=["POST"])
@login_required
def dates(task_id: int) -> Any:
    errors: Errors = {}
    due_at = _datetime_field("due_at", errors)
    follow_up_at = _datetime_field("follow_up_at", errors)
    priority: Any = tasks.KEEP
    if "priority" in request.form:
        raw = request.form.get("priority") or ""
        priority = int(raw) if raw in ("0", "1", "2") else raw
    try:
        if errors:
            raise ValidationFailed(errors)
        task = tasks.set_dates(task_id, actor=current_user, due_at=due_at, follow_up_at=follow_up_at, priority=priority)
    except DomainError as exc:
        return _refused(task_id, exc)
    flash(_("Saved."), "success")
    return _back(task)


# Comments and attachments ---------------------------------------------------------------------------------
@bp.route("/<int:task_id>/comments", methods=["POST"])
@login_required
def comment(task_id: int) -> Any:
    try:
        saved = tasks.add_comment(task_id, request.form.get("body"), actor=current_user)
    except DomainError as exc:
        return _refused(task_id, exc)
    flash(_("Your comment was added."), "success")
    return redirect(url_for("inbox.task_detail", task_id=saved.task_id, _anchor="comments"), code=303)


@bp.route("/<int:task_id>/comments/<int:comment_id>/delete", methods=["POST"])
@login_required
def delete_comment(task_id: int, comment_id: int) -> Any:
    try:
        tasks.delete_comment(task_id, comment_id, actor=current_user)
    except DomainError as exc:
        return _refused(task_id, exc)
    flash(_("The comment was deleted."), "success")
    return redirect(url_for("inbox.task_detail", task_id=task_id, _anchor="comments"), code=303)


@bp.route("/<int:task_id>/attachments", methods=["POST"])
@login_required
def upload(task_id: int) -> Any:
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            tasks.get_task(task_id, current_user)  # a hidden task stays hidden
            raise ValidationFailed({"file": _l("Choose a file.")})
        saved = task_files.add_attachment(task_id, upload.filename, upload.stream, actor=current_user)
    except DomainError as exc:
        return _refused(task_id, exc)
    flash(_("The file %(name)s was attached.", name=saved.original_name), "success")
    return redirect(url_for("inbox.task_detail", task_id=task_id, _anchor="attachments"), code=303)


@bp.route("/<int:task_id>/attachments/<int:attachment_id>")
@login_required
def download(task_id: int, attachment_id: int) -> Any:
    _task, attachment, path = task_files.get_attachment(task_id, attachment_id, current_user)
    return stored_file_response(path, attachment.content_type, attachment.original_name)


@bp.route("/<int:task_id>/attachments/<int:attachment_id>/delete", methods=["POST"])
@login_required
def delete_attachment(task_id: int, attachment_id: int) -> Any:
    try:
        task_files.delete_attachment(task_id, attachment_id, actor=current_user)
    except DomainError as exc:
        return _refused(task_id, exc)
    flash(_("The file was removed."), "success")
    return redirect(url_for("inbox.task_detail", task_id=task_id, _anchor="attachments"), code=303)


# The form ---------------------------------------------------------------------------------------------------
@bp.route("/<int:task_id>/form", methods=["POST"])
@login_required
def submit(task_id: int) -> Any:
    """Complete the task with the form's data, or keep it as a draft (`_action=draft`)."""
    task = tasks.task_for_completion(task_id, current_user)  # read once, under the completion's lock
    data = tasks.task_data(task, for_completion=True) if task.is_open else {}
    if not task.is_open:
        return _render(task, status=409, alert=_("This task was already completed or cancelled."))
    try:
        form = forms.load_form(task.form_schema, task.form_uischema, data)
    except FormUnavailable as exc:
        return _render(task, status=409, alert=str(exc.message))
    posted = Posted(request.form, request.files)
    actor = current_user._get_current_object()

    def store(field: Any, path: str, upload: Any) -> int:
        return task_files.add_attachment(task.id, upload.filename, upload.stream, actor=actor, field=path,
                                         accept=field.accept, error_field=path).id

    if request.form.get("_action") == "draft":
        return _save_draft(task, form, posted, data, store)
    raw: dict[str, Any] | None = None
    try:
        if form is None:
            values, raw, errors = {}, None, {}
        else:
            values, raw, errors = forms.parse_form(form, posted, data, task.draft, store)
        if errors:
            db.session.rollback()  # nothing of this attempt is kept (uploads included)
            task = tasks.get_task(task_id, current_user)
            return _render(task, status=422, form_raw=raw, form_errors=errors)
        title = task.shown_title
        runtime.complete_task(task.id, values, actor_id=actor.id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        if isinstance(exc, StepFailed):
            g.commit_on_error = True  # keep the error recorded on the instance
        else:
            db.session.rollback()
        task = tasks.get_task(task_id, current_user)
        return _render(task, status=exc.status, form_raw=raw, alert=str(exc.message))
    flash(_("Task completed: %(title)s.", title=title), "success")
    return redirect(url_for("inbox.mine"), code=303)


def _save_draft(task: HumanTask, form: Any, posted: Posted, data: dict[str, Any], store: Any) -> Any:
    actor = current_user._get_current_object()
    try:
        if task.assignee_id is None and tasks.is_candidate(task, actor):
            tasks.claim(task.id, actor=actor)  # starting to work on a group task takes it
        values, errors = forms.draft_values(form, posted, data, task.draft, store) if form is not None else ({}, {})
        if errors:
            db.session.rollback()
            task = tasks.get_task(task.id, actor)
            return _render(task, status=422, form_raw=values, form_errors=errors)
        tasks.save_draft(task.id, values, actor=actor)
    except DomainError as exc:
        return _refused(task.id, exc)
    flash(_("Draft saved. You can finish the task later."), "success")
    return redirect(url_for("inbox.task_detail", task_id=task.id), code=303)
