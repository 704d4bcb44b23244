"""/api/v1/work/tasks — work tasks: list the caller's (the inbox's views and filters, work tasks only;
`GET /api/v1/tasks` lists them with the process tasks), create (personal, or arranged for people of the
caller's scope with `work.task.arrange`), read, edit, complete in one step, subtasks, comments with
mentions, files. Tasks the caller may not see answer 404."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import get_timezone
from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.clock import utcnow
from crm.core.files import stored_path
from crm.core.web import stored_file_response
from crm.work.tasks import discussion
from crm.work.tasks import queries
from crm.work.tasks import services
from crm.work.tasks.models import WorkTask
from crm.work.tasks.schemas import SubtaskSchema
from crm.work.tasks.schemas import TaskInput
from crm.work.tasks.schemas import WorkTaskDetailSchema
from crm.work.tasks.schemas import WorkTaskSchema
from crm.workflow.tasks import queries as task_queries
from crm.workflow.tasks.queries import TaskFilters

blp = ApiBlueprint("Work tasks", __name__, url_prefix="/api/v1/work/tasks",
                   description="Arranged work and personal tasks: create, read, edit, complete; subtasks, comments, files.")

TaskBody = ma.Schema.from_dict({name: fields.Raw(metadata=field.metadata, allow_none=True)
                                for name, field in TaskInput().fields.items()},
                               name="WorkTaskBody")
# A new task needs its title (an edit sends only what changes).
TaskCreateBody = ma.Schema.from_dict({**TaskBody().fields, "title": fields.Raw(
    required=True, metadata=TaskInput().fields["title"].metadata)}, name="WorkTaskCreate")
WorkTaskPageSchema = page_schema(WorkTaskSchema, "WorkTaskPage")


class WorkTaskListArgs(PageArgsSchema):
    view = fields.Str(load_default="mine", validate=validate.OneOf([v for v in task_queries.VIEWS if v not in ("group", "actionable")]),
                      metadata={"description": "mine (owned or taken part in), overdue, today, all (in scope), "
                                               "completed (by the caller)."})
    due = fields.Str(validate=validate.OneOf(task_queries.DUE_WINDOWS))
    store_id = fields.Int(validate=validate.Range(1, 2**31 - 1))
    object_type = fields.Str(validate=validate.Length(max=50))
    object_id = fields.Int(validate=validate.Range(1, 2**31 - 1))
    q = fields.Str(validate=validate.Length(max=100))
    sort = fields.Str(load_default="newest", validate=validate.OneOf(task_queries.SORTS))


class WorkSubtaskBody(ma.Schema):
    title = fields.Raw(metadata={"type": "string", "maxLength": 200})


class SubtaskDoneBody(ma.Schema):
    done = fields.Bool(required=True)


class WorkCommentBody(ma.Schema):
    body = fields.Raw(metadata={"type": "string", "maxLength": 2000})
    mention_ids = fields.Raw(metadata={"type": "array", "items": {"type": "integer"}})


class WorkCommentSchema(ma.Schema):
    id = fields.Int()
    author_id = fields.Int(allow_none=True)
    body = fields.Str()
    mentioned = fields.List(fields.Int(), metadata={"description": "Who was told (people who may see the task "
                                                                   "and its related record)."})
    created_at = fields.DateTime()


class WorkUploadSchema(ma.Schema):
    file = Upload(required=True)


class WorkAttachmentSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str(attribute="original_name")
    size = fields.Int()
    content_type = fields.Str()


def _detail(task: WorkTask) -> dict[str, Any]:
    page = queries.task_page(task, current_user)
    # Raw values keyed as the schema reads them: the response schema dumps them once (dates stay dates).
    out: dict[str, Any] = {key: getattr(task, key, None) for key in
                           (field.attribute or name for name, field in WorkTaskSchema().fields.items())}
    out.update(recurrence=page.recurrence, participant_ids=page.participant_ids,
               tags=[{"id": i, "name": n} for i, n in page.tags],
               subtasks=[{"id": s.id, "title": s.title, "done": s.done} for s in page.subtasks],
               comments=[WorkCommentSchema().dump(c) for c in page.comments],
               attachments=[WorkAttachmentSchema().dump(a) for a in page.attachments])
    return out


@blp.route("")
class Tasks(MethodView):
    @blp.requires("api.use")
    @blp.arguments(WorkTaskListArgs, location="query")
    @blp.response(200, WorkTaskPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List the caller's work tasks"""
        filters = TaskFilters(view=args["view"], store_id=args.get("store_id"), due=args.get("due"),
                              object_type=args.get("object_type"), object_id=args.get("object_id"),
                              q=(args.get("q") or "").strip(), sort=args["sort"], kind="work")
        return queries.list_work(current_user, filters, args["cursor"], args["limit"], now=utcnow(), tz=get_timezone())

    @blp.requires("api.use")
    @blp.arguments(TaskCreateBody)
    @blp.response(201, WorkTaskSchema(many=True))
    def post(self, body: dict[str, Any]) -> Any:
        """Create a personal task, or arrange work for people of the caller's scope (one task each, or shared)"""
        return services.create_tasks(body, actor=current_user)


@blp.route("/<int:work_task_id>")
class TaskItem(MethodView):
    @blp.requires("api.use")
    @blp.errors(404)
    @blp.response(200, WorkTaskDetailSchema)
    def get(self, work_task_id: int) -> Any:
        """One work task with its participants, tags, subtasks, comments and files"""
        return _detail(services.get_task(work_task_id, current_user))

    @blp.requires("api.use")
    @blp.errors(403, 404, 409)
    @blp.arguments(TaskBody)
    @blp.response(200, WorkTaskDetailSchema)
    def patch(self, body: dict[str, Any], work_task_id: int) -> Any:
        """Edit a work task: only the fields sent change (send `null` to blank one)"""
        task = services.get_task(work_task_id, current_user)
        return _detail(services.update_task(task.id, {**services.as_input(task), **body}, actor=current_user))


@blp.route("/<int:work_task_id>/complete", methods=["POST"])
@blp.requires("api.use")
@blp.errors(403, 404, 409)
@blp.response(200, WorkTaskSchema)
def complete(work_task_id: int) -> Any:
    """Mark a work task done (its owner, a participant or its creator); a recurring one gets its next occurrence"""
    return services.complete(work_task_id, actor=current_user)


@blp.route("/<int:work_task_id>/subtasks", methods=["POST"])
@blp.requires("api.use")
@blp.errors(403, 404)
@blp.arguments(WorkSubtaskBody)
@blp.response(201, SubtaskSchema)
def add_subtask(body: dict[str, Any], work_task_id: int) -> Any:
    """Add a subtask"""
    return services.add_subtask(work_task_id, body, actor=current_user)


@blp.route("/<int:work_task_id>/subtasks/<int:subtask_id>", methods=["POST"])
@blp.requires("api.use")
@blp.errors(403, 404)
@blp.arguments(SubtaskDoneBody)
@blp.response(200, SubtaskSchema)
def set_subtask(body: dict[str, Any], work_task_id: int, subtask_id: int) -> Any:
    """Tick or untick a subtask"""
    return services.set_subtask(work_task_id, subtask_id, body["done"], actor=current_user)


@blp.route("/<int:work_task_id>/comments", methods=["POST"])
@blp.requires("api.use")
@blp.errors(404)
@blp.arguments(WorkCommentBody)
@blp.response(201, WorkCommentSchema)
def add_comment(body: dict[str, Any], work_task_id: int) -> Any:
    """Comment; `@Name` in the text and `mention_ids` tell those who may see the task and its related record"""
    comment, _told = discussion.add_comment(work_task_id, body, actor=current_user)
    return comment


@blp.route("/<int:work_task_id>/attachments", methods=["POST"])
@blp.requires("api.use")
@blp.errors(403, 404)
@blp.arguments(WorkUploadSchema, location="multipart")
@blp.response(201, WorkAttachmentSchema)
def upload(args: dict[str, Any], work_task_id: int) -> Any:
    """Attach a file"""
    upload = args["file"]
    return discussion.add_attachment(work_task_id, upload.filename, upload.stream, actor=current_user)


@blp.route("/<int:work_task_id>/attachments/<int:work_attachment_id>", methods=["GET"])
@blp.requires("api.use")
@blp.errors(404)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
def download(work_task_id: int, work_attachment_id: int) -> Any:
    """Download a file of a work task"""
    _task, row = discussion.get_attachment(work_task_id, work_attachment_id, current_user)
    return stored_file_response(stored_path(row.stored_name), row.content_type, row.original_name)
