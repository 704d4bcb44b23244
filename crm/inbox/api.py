"""/api/v1/tasks — the caller's task inbox: list (mine, group, overdue, today, all in scope, completed by
me) with the inbox filters, one task with its form (JSON Schema + uiSchema) and current values, claim,
unclaim, complete, and the task's files (upload, download, remove).

Tasks the caller may not see (not their assignee, not a candidate, outside their data scope) answer 404
like missing ones. Completion validates `data` exactly like the page's form: values coerced to the
schema's types (money as text with 2 decimals), errors per field path (`lines.0.qty`) in the request's
language; a file field takes the id of an attachment of the task, uploaded first with
`POST /api/v1/tasks/<id>/attachments` (multipart, `file` and the form field it is for)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.clock import utcnow
from crm.core.errors import ValidationFailed
from crm.core.web import stored_file_response
from crm.inbox import merged
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus
from crm.workflow.tasks import files as task_files
from crm.workflow.tasks import forms
from crm.workflow.tasks import queries as task_queries
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.queries import TaskFilters
from crm.workflow.tasks.services import JsonSubmission

blp = ApiBlueprint(
    "Tasks", __name__, url_prefix="/api/v1/tasks",
    description="The task inbox: list, read with the form, claim, unclaim, complete; the task's files.",
)

MAX_ID = 2**31 - 1


def _id(**kwargs: Any) -> fields.Int:
    return fields.Int(validate=validate.Range(1, MAX_ID, error=_l("Choose a valid value.")), **kwargs)


class TaskSchema(ma.Schema):
    id = fields.Int()
    kind = fields.Str(attribute="inbox_kind", metadata={
        "description": "`process`: a step of a BPMN process (complete it with its form); `work`: a work task "
                       "(`/api/v1/work/tasks/{id}`, one-step completion)."})
    title = fields.Str(attribute="shown_title", metadata={
        "description": "In the request's language (Accept-Language) where the catalogue translates the diagram's "
                       "title, else as the diagram says it."})
    status = fields.Enum(TaskStatus, by_value=True)
    process_key = fields.Str()
    bpmn_id = fields.Str(metadata={"description": "The user task's id in the diagram."})
    instance_id = fields.Int()
    store_id = fields.Int(allow_none=True)
    object_type = fields.Str(allow_none=True)
    object_id = fields.Int(allow_none=True)
    assignee_id = fields.Int(allow_none=True)
    delegated_by_id = fields.Int(allow_none=True)
    priority = fields.Int(metadata={"description": "Process tasks: 0 normal, 1 high, 2 urgent. Work tasks: -1 none, "
                                                   "0 low, 1 medium, 2 high."})
    owner_id = fields.Int(metadata={"description": "Work tasks: their owner."})
    due_at = fields.DateTime(allow_none=True, metadata={
        "description": "Process tasks: set when the task opened from its element's `due` property (working time: "
                       "business hours, weekends and public holidays), or by a supervisor."})
    escalation_level = fields.Int(metadata={
        "description": "Process tasks: 0 not escalated, 1 overdue and told the assignee's supervisor, 2 told the "
                       "role of the element's `escalate_to` property."})
    follow_up_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    completed_by_id = fields.Int(allow_none=True)


# The task's own attributes in every answer that extends TaskSchema (read once: building a schema instance per
# request to list its fields cost more than the rest of the answer). Answers built as dicts use these keys.
TASK_FIELDS = tuple(f.attribute or name for name, f in TaskSchema().fields.items())


class NextTaskSchema(ma.Schema):
    id = fields.Int(metadata={"description": "Complete it with POST /api/v1/tasks/{id}/complete."})
    bpmn_id = fields.Str()
    title = fields.Str()
    process_key = fields.Str()
    assignee_id = fields.Int(allow_none=True)
    candidate_ids = fields.List(fields.Int())
    due_at = fields.DateTime(allow_none=True)


class CompletedTaskSchema(TaskSchema):
    next_tasks = fields.List(fields.Nested(NextTaskSchema), metadata={
        "description": "The open tasks after this step, of the same business object (or, without one, of the "
                       "same process instance) that the caller may see, oldest first: the next step, without "
                       "a second request. Empty when the process waits for something else or has ended."})


class TaskFormSchema(ma.Schema):
    schema = fields.Dict(metadata={"description": "The JSON Schema of the form."})
    uischema = fields.Dict(metadata={"description": "The uiSchema (RJSF conventions)."})


class TaskDetailSchema(TaskSchema):
    instructions = fields.Str(allow_none=True)
    candidate_ids = fields.List(fields.Int())
    form = fields.Nested(TaskFormSchema, allow_none=True, metadata={"description": "Null for a task without form."})
    data = fields.Dict(metadata={"description": "The form's current values: task data, then the draft."})
    attachments = fields.List(fields.Dict(), metadata={"description": "Files of the task: id, name, size, type."})


class TaskListArgsSchema(PageArgsSchema):
    view = fields.Str(load_default="actionable", validate=validate.OneOf(task_queries.VIEWS), metadata={
        "enum": list(task_queries.VIEWS),
        "description": "actionable (default: assigned to you or offered to you to claim), mine (assigned to you), "
                       "group (claimable), overdue, today, all (in scope), completed."})
    process = fields.Str(validate=validate.Length(max=100), metadata={"description": "A process key."})
    store_id = _id()
    due = fields.Str(validate=validate.OneOf(task_queries.DUE_WINDOWS))
    object_type = fields.Str(validate=validate.Length(max=50))
    object_id = _id()
    q = fields.Str(validate=validate.Length(max=100), metadata={"description": "Part of the title."})
    sort = fields.Str(load_default="newest", validate=validate.OneOf(task_queries.SORTS))
    kind = fields.Str(validate=validate.OneOf(task_queries.KINDS), metadata={
        "description": "Only process tasks or only work tasks; both when absent."})


class CompleteSchema(ma.Schema):
    data = fields.Raw(load_default=dict, metadata={"description": "The form's values (a JSON object)."})


TaskPageSchema = page_schema(TaskSchema, "TaskPage")


class UploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "The file (size and type limits as on the page)."})
    field = fields.Str(validate=validate.Length(max=200), metadata={
        "description": "The form's file field this file is for (its path, e.g. `voucher`): the field's "
                       "allowed types apply. Omit for a file attached to the task only."})


class AttachmentSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    size = fields.Int()
    content_type = fields.Str()
    field = fields.Str(allow_none=True)


def _attachment(a: Any) -> dict[str, Any]:
    return {"id": a.id, "name": a.original_name, "size": a.size, "content_type": a.content_type, "field": a.field}


def _detail(task: HumanTask) -> dict[str, Any]:
    data = tasks.task_data(task) if task.is_open else {}
    form = forms.load_form(task.form_schema, task.form_uischema, data) if task.is_open else None
    out: dict[str, Any] = {name: getattr(task, name, None) for name in TASK_FIELDS}
    out.update(
        instructions=task.shown_instructions,
        candidate_ids=tasks.candidate_ids(task),
        form={"schema": form.schema, "uischema": form.uischema} if form is not None else None,
        data=forms.initial_values(form, data, task.draft) if form is not None else {},
        attachments=[_attachment(a) for a in task_files.attachments(task)],
    )
    return out


@blp.route("")
class Tasks(MethodView):
    @blp.requires("api.use")
    @blp.arguments(TaskListArgsSchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List the caller's process and work tasks together (newest first unless sorted otherwise)"""
        filters = TaskFilters(view=args["view"], process=args.get("process"), store_id=args.get("store_id"),
                              due=args.get("due"), object_type=args.get("object_type"),
                              object_id=args.get("object_id"), q=(args.get("q") or "").strip(), sort=args["sort"],
                              kind=args.get("kind"))
        return merged.list_tasks(current_user, filters, args["cursor"], args["limit"], now=utcnow(),
                                       tz=get_timezone())


@blp.route("/<int:task_id>")
class TaskItem(MethodView):
    @blp.requires("api.use")
    @blp.errors(404, 409)
    @blp.response(200, TaskDetailSchema)
    def get(self, task_id: int) -> Any:
        """One task, with its form and the form's current values"""
        return _detail(tasks.get_task(task_id, current_user))


@blp.route("/<int:task_id>/claim", methods=["POST"])
@blp.requires("api.use")
@blp.idempotent
@blp.errors(404, 409)
@blp.response(200, TaskSchema)
def claim(task_id: int) -> Any:
    """Claim a task offered to the caller (the first claim wins; a later one answers 409)"""
    return tasks.claim(task_id, actor=current_user)


@blp.route("/<int:task_id>/unclaim", methods=["POST"])
@blp.requires("api.use")
@blp.errors(404, 409)
@blp.response(200, TaskSchema)
def unclaim(task_id: int) -> Any:
    """Give a claimed task back to its candidates (a delegate gives it back to its owner)"""
    return tasks.unclaim(task_id, actor=current_user)


@blp.route("/<int:task_id>/complete", methods=["POST"])
@blp.requires("api.use")
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(CompleteSchema)
@blp.response(200, CompletedTaskSchema)
def complete(body: dict[str, Any], task_id: int) -> Any:
    """Complete a task with its form's data; the process runs on to its next wait"""
    done = tasks.complete(task_id, JsonSubmission(body["data"]), actor=current_user._get_current_object())
    task, following, candidates = task_queries.after_completion(current_user, done.task)
    out: dict[str, Any] = {name: getattr(task, name, None) for name in TASK_FIELDS}
    out["next_tasks"] = [{"id": t.id, "bpmn_id": t.bpmn_id, "title": t.shown_title, "process_key": t.process_key,
                          "assignee_id": t.assignee_id, "candidate_ids": candidates[t.id], "due_at": t.due_at}
                         for t in following]
    return out


@blp.route("/<int:task_id>/attachments", methods=["POST"])
@blp.requires("api.use")
@blp.errors(404, 409)
@blp.arguments(UploadSchema, location="multipart")
@blp.response(201, AttachmentSchema)
def upload(args: dict[str, Any], task_id: int) -> Any:
    """Attach a file to an open task (its assignee); name its id in a file field when completing"""
    task = tasks.get_task(task_id, current_user)
    accept = None
    field = args.get("field") or None
    if field is not None:
        form = forms.load_form(task.form_schema, task.form_uischema, {}) if task.is_open else None
        target = form.find(field) if form is not None else None
        if target is None or target.widget != "file":
            raise ValidationFailed({"field": _l("The form of this task has no file field %(name)s.", name=field)})
        accept = target.accept
    upload = args["file"]
    return _attachment(task_files.add_attachment(task.id, upload.filename, upload.stream, actor=current_user,
                                                 field=field, accept=accept))


@blp.route("/<int:task_id>/attachments/<int:attachment_id>", methods=["GET"])
@blp.requires("api.use")
@blp.errors(404)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
def download(task_id: int, attachment_id: int) -> Any:
    """Download a file of a task the caller may see"""
    _task, attachment, path = task_files.get_attachment(task_id, attachment_id, current_user)
    return stored_file_response(path, attachment.content_type, attachment.original_name)


@blp.route("/<int:task_id>/attachments/<int:attachment_id>", methods=["DELETE"])
@blp.requires("api.use")
@blp.errors(404, 409)
@blp.response(204)
def remove(task_id: int, attachment_id: int) -> Any:
    """Remove a file from an open task (whoever uploaded it, or a process admin)"""
    task_files.delete_attachment(task_id, attachment_id, actor=current_user)
    return ""
