"""The task page (details, form, comments, attachments, instance history) and the task actions."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime
from typing import Any

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required

from crm.approvals import queries as approval_queries
from crm.approvals import services as approval_services
from crm.approvals.models import ApprovalRequest
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.web import attempt
from crm.core.web import forget_refused_write
from crm.core.web import safe_next
from crm.core.web import stored_file_response
from crm.inbox.views.common import FIELD_LABELS
from crm.inbox.views.common import bp
from crm.inbox.views.common import event_label
from crm.inbox.views.common import tz
from crm.workflow.models import PRIORITY_LABELS
from crm.workflow.models import HumanTask
from crm.workflow.tasks import files as task_files
from crm.workflow.tasks import forms
from crm.workflow.tasks import queries as task_queries
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.forms import FormUnavailable
from crm.workflow.tasks.forms import Posted
from crm.workflow.tasks.services import Completion
from crm.workflow.tasks.services import FormRefused
from crm.workflow.tasks.services import FormSubmission

Errors = dict[str, list[str]]


# The page -----------------------------------------------------------------------------------------------------
def _render(
    task: HumanTask,
    *,
    status: int = 200,
    form_raw: dict[str, Any] | None = None,
    form_errors: Errors | None = None,
    errors: Errors | None = None,
    alert: str | None = None,
    comment: str | None = None,
) -> Any:
    page = task_queries.task_page(task, current_user)
    # An approval (the diagram says `kind` approval) gets the approvals' decision form, not its JSON form.
    approval = approval_queries.decision_for_task(task) if page.kind == "approval" and task.is_open else None
    values: dict[str, Any] = {}
    rows: dict[str, int] = {}
    if page.form is not None:
        shown = form_raw if form_raw is not None else forms.initial_values(page.form, page.data, task.draft)
        values, rows = forms.display_values(page.form, shown)
    shown = {f.name: getattr(page, f.name) for f in fields(page)}  # the read model, as the template names it
    return render_template(
        "inbox/task.html",
        **shown,
        instance=task.instance,
        event_names=page.names,
        event_label=event_label,
        field_labels=FIELD_LABELS,
        priority_labels=PRIORITY_LABELS,
        attachment_by_id={a.id: a for a in page.attachments},
        values=values,
        rows=rows,
        form_errors=form_errors or {},
        errors=errors or {},
        alert=alert,
        approval=approval,
        comment=comment,
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
    forget_refused_write(exc)
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
    """Complete the task with the form's data, or keep it as a draft (`_action=draft`). An approval's
    decision form (`_approval`) decides it as the approval queue does."""
    posted = Posted(request.form, request.files)
    actor = current_user._get_current_object()
    if request.form.get("_approval"):
        return _decide(task_id, actor)
    if request.form.get("_action") == "draft":
        task = tasks.task_for_completion(task_id, actor)  # read once, under the completion's lock
        if not task.is_open:
            return _render(task, status=409, alert=_("This task was already completed or cancelled."))
        data = tasks.task_data(task, for_completion=True)
        try:
            form = forms.load_form(task.form_schema, task.form_uischema, data)
        except FormUnavailable as exc:
            return _render(task, status=409, alert=str(exc.message))
        return _save_draft(task, form, posted, data, _file_store(task.id, actor))

    def refused(exc: DomainError) -> Any:
        task = tasks.get_task(task_id, actor)
        raw = getattr(exc, "raw", None)
        if isinstance(exc, FormRefused):
            return _render(task, status=422, form_raw=raw, form_errors=exc.errors)
        return _render(task, status=exc.status, form_raw=raw, alert=str(exc.message))

    done = attempt(lambda: tasks.complete(task_id, FormSubmission(posted, _file_store(task_id, actor)), actor=actor),
                   refused)
    if not isinstance(done, Completion):
        return done
    flash(_("Task completed: %(title)s.", title=done.title), "success")
    return redirect(url_for("inbox.mine"), code=303)


def _decide(task_id: int, actor: Any) -> Any:
    """Approve or reject from the task page: the approvals' own decision (who, when, the comment; a
    comment required to reject; the submitter refused), nothing chosen by default."""
    choice = request.form.get("decision")
    comment = request.form.get("comment")

    def decide() -> ApprovalRequest:
        if choice not in ("approve", "reject"):
            tasks.get_task(task_id, actor)  # a hidden task stays hidden
            raise ValidationFailed({"decision": _l("Choose approve or reject.")})
        return approval_services.decide(task_id, approved=choice == "approve", comment=comment, actor=actor)

    def refused(exc: DomainError) -> Any:
        task = tasks.get_task(task_id, actor)
        if isinstance(exc, ValidationFailed):
            return _render(task, status=422, errors=exc.errors, comment=comment)
        return _render(task, status=exc.status, alert=str(exc.message), comment=comment)

    done = attempt(decide, refused)
    if not isinstance(done, ApprovalRequest):
        return done
    flash(_("Approved.") if choice == "approve" else _("Rejected."), "success")
    return redirect(url_for("inbox.mine"), code=303)


def _file_store(task_id: int, actor: Any) -> Any:
    """How the form's uploads are kept: as attachments of the task, named by the field."""

    def store(field: Any, path: str, upload: Any) -> int:
        return task_files.add_attachment(task_id, upload.filename, upload.stream, actor=actor, field=path,
                                         accept=field.accept, error_field=path).id

    return store


def _save_draft(task: HumanTask, form: Any, posted: Posted, data: dict[str, Any], store: Any) -> Any:
    actor = current_user._get_current_object()
    try:
        if task.assignee_id is None and tasks.is_candidate(task, actor):
            tasks.claim(task.id, actor=actor)  # starting to work on a group task takes it
        values, errors = forms.draft_values(form, posted, data, task.draft, store) if form is not None else ({}, {})
        if errors:
            forget_refused_write()  # nothing of this attempt is kept (uploads included)
            task = tasks.get_task(task.id, actor)
            return _render(task, status=422, form_raw=values, form_errors=errors)
        tasks.save_draft(task.id, values, actor=actor)
    except DomainError as exc:
        return _refused(task.id, exc)
    flash(_("Draft saved. You can finish the task later."), "success")
    return redirect(url_for("inbox.task_detail", task_id=task.id), code=303)
