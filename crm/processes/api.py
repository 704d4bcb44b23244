"""/api/v1/process-definitions and /api/v1/process-instances — process admin over the API: deployed
processes and their versions, deploying a diagram (the same validation pipeline as the editor), instances
with their history, and the repair actions (suspend, resume, retry, terminate).

Definitions need `process.deploy` or `process.admin` (deploying needs `process.deploy`); instances are
listed within the caller's data scope like on the pages, and only process admins get task data and may
repair. A rejected diagram answers 422 with every problem (file -> messages naming element and line)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_of
from crm.auth.rest import page_schema
from crm.core.errors import NotFound
from crm.extensions import db
from crm.processes.schemas import DryRunInputSchema
from crm.processes.schemas import DryRunSchema
from crm.workflow.admin import analytics as stats
from crm.workflow.admin import definitions
from crm.workflow.admin import dryrun
from crm.workflow.admin import impact
from crm.workflow.admin import instances as admin
from crm.workflow.admin.instances import InstanceFilters
from crm.workflow.models import InstanceStatus

blp = ApiBlueprint(
    "Processes", __name__, url_prefix="/api/v1",
    description="Process definitions and versions, deployment, instances and their repair.",
)
MAX_ID = 2**31 - 1


class DefinitionSchema(ma.Schema):
    key = fields.Str()
    version = fields.Int()
    name = fields.Str(allow_none=True)
    source = fields.Str(metadata={"description": '"file:processes/<key>.bpmn", "editor", or "rollback:v<n>" (the '
                                                 'content of version n made current again).'})
    comment = fields.Str(allow_none=True)
    deployed_by_id = fields.Int(allow_none=True)
    deployed_at = fields.DateTime()
    sha256 = fields.Str()


class ProcessSummarySchema(ma.Schema):
    key = fields.Str()
    name = fields.Str()
    current_version = fields.Int()
    versions = fields.Int()
    live_instances = fields.Int(metadata={"description": "Running, failed or suspended instances."})


class VersionSchema(DefinitionSchema):
    live_instances = fields.Int()
    all_instances = fields.Int()
    is_current = fields.Bool()


class DeploySchema(ma.Schema):
    xml = fields.Str(required=True, metadata={"description": "The BPMN document."})
    comment = fields.Str(required=True, validate=validate.Length(max=1000))
    key = fields.Str(load_default=None, validate=validate.Regexp(definitions.KEY_RE, error=_l("Choose a valid value.")),
                     metadata={"description": "The process being changed; the diagram must keep its id. Omit for a "
                                              "new process."})


class RollbackSchema(ma.Schema):
    comment = fields.Str(required=True, validate=validate.Length(max=1000),
                         metadata={"description": "Why this version becomes current again (kept with the new version)."})


class DeployResultSchema(ma.Schema):
    unchanged = fields.Bool()
    definition = fields.Nested(DefinitionSchema, allow_none=True)


class PreviewSchema(ma.Schema):
    xml = fields.Str(required=True, metadata={"description": "The BPMN document."})
    key = DeploySchema().fields["key"]


class DraftInputSchema(ma.Schema):
    xml = fields.Str(required=True, metadata={"description": "The BPMN document (it may have problems)."})
    comment = fields.Str(load_default=None, validate=validate.Length(max=1000))
    lock_version = fields.Int(load_default=None, metadata={
        "description": "The draft's lock_version you read; a save over a newer one answers 409."})


class ChangeSchema(ma.Schema):
    element_id = fields.Str()
    kind = fields.Str()
    name = fields.Str(allow_none=True)
    changes = fields.List(fields.Str())


class DiffSchema(ma.Schema):
    added = fields.List(fields.Nested(ChangeSchema))
    removed = fields.List(fields.Nested(ChangeSchema))
    changed = fields.List(fields.Nested(ChangeSchema))


class DeployProblemSchema(ma.Schema):
    element_id = fields.Str(allow_none=True)
    line = fields.Int(allow_none=True)
    message = fields.Str()
    text = fields.Str()


class LiveSchema(ma.Schema):
    version = fields.Int()
    instances = fields.Int()


class BlockedSchema(ma.Schema):
    instance_id = fields.Int()
    version = fields.Int()
    reasons = fields.List(fields.Str())


class ImpactSchema(ma.Schema):
    key = fields.Str(allow_none=True)
    deployable = fields.Bool(metadata={"description": "It would deploy: no problems, and not the current content."})
    unchanged = fields.Bool()
    problems = fields.List(fields.Nested(DeployProblemSchema))
    current_version = fields.Int(allow_none=True)
    next_version = fields.Int(allow_none=True)
    diff = fields.Nested(DiffSchema, allow_none=True)
    live = fields.List(fields.Nested(LiveSchema), metadata={"description": "Live instances per version (your scope)."})
    checked = fields.Int(metadata={"description": "Live instances on older versions whose move was checked."})
    movable = fields.Int()
    more = fields.Bool(metadata={"description": "More instances than were checked."})
    blocked = fields.List(fields.Nested(BlockedSchema))


class DraftSchema(ma.Schema):
    key = fields.Str()
    xml = fields.Str(attribute="bpmn_xml")
    comment = fields.Str(allow_none=True)
    problems = fields.List(fields.Str(), metadata={"description": "What the deployment would refuse; empty when it "
                                                                  "would deploy."})
    based_on_version = fields.Int(allow_none=True)
    saved_by_id = fields.Int(allow_none=True)
    saved_at = fields.DateTime()
    lock_version = fields.Int()


class InstanceSchema(ma.Schema):
    id = fields.Int()
    process_key = fields.Str()
    version = fields.Method("_version")
    status = fields.Enum(InstanceStatus, by_value=True)
    business_status = fields.Str(allow_none=True)
    store_id = fields.Int(allow_none=True)
    object_type = fields.Str(allow_none=True)
    object_id = fields.Int(allow_none=True)
    started_by_id = fields.Int(allow_none=True)
    started_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    next_timer_at = fields.DateTime(allow_none=True)
    last_error = fields.Str(allow_none=True)

    def _version(self, obj: Any) -> int:
        return int(obj["version"]) if isinstance(obj, dict) else int(obj.definition.version)


class EventSchema(ma.Schema):
    id = fields.Int()
    kind = fields.Str()
    occurred_at = fields.DateTime()
    actor_id = fields.Int(allow_none=True)
    bpmn_id = fields.Str(allow_none=True)
    details = fields.Dict()


class InstanceDetailSchema(InstanceSchema):
    completed_elements = fields.List(fields.Str())
    active_elements = fields.List(fields.Str())
    failed_elements = fields.List(fields.Str())
    history = fields.List(fields.Nested(EventSchema))
    data = fields.Dict(allow_none=True, metadata={"description": "Process data; process admins only (null otherwise)."})


class InstanceListArgsSchema(PageArgsSchema):
    process = fields.Str(validate=validate.Length(max=100))
    status = fields.Str(validate=validate.OneOf([s.value for s in InstanceStatus]))
    store_id = fields.Int(validate=validate.Range(1, MAX_ID))
    started_by_id = fields.Int(validate=validate.Range(1, MAX_ID))
    started_from = fields.Date()
    started_to = fields.Date()
    has_error = fields.Bool(load_default=False)


class TerminateSchema(ma.Schema):
    reason = fields.Str(required=True, validate=validate.Length(max=1000))


InstancePageSchema = page_schema(InstanceSchema, "ProcessInstancePage")


@blp.route("/process-definitions")
class Definitions(MethodView):
    @blp.requires("process.deploy", "process.admin", any_of=True)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(ProcessSummarySchema, "ProcessSummaryPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """Every deployed process with its current version and live instance count"""
        return page_of([{"key": p.key, "name": p.name, "current_version": p.current.version, "versions": p.versions,
                         "live_instances": p.live} for p in definitions.overview()], args)

    @blp.requires("process.deploy")
    @blp.errors(422)
    @blp.arguments(DeploySchema)
    @blp.response(200, DeployResultSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Deploy a diagram as the next version of its process (validated first; a rejected one changes nothing)"""
        result = definitions.save_from_editor(body["xml"], key=body.get("key"), comment=body["comment"],
                                              actor_id=current_user.id)
        return {"unchanged": not result.created, "definition": result.created[0] if result.created else None}


@blp.route("/process-definitions/preview", methods=["POST"])
@blp.requires("process.deploy")
@blp.arguments(PreviewSchema)
@blp.response(200, ImpactSchema)
def preview(body: dict[str, Any]) -> Any:
    """What deploying a diagram would do, without deploying it: the verdict, the diff with the current
    version, live instances per version and how many of those on older versions could be moved"""
    return impact.summary(impact.impact(body["xml"], key=body.get("key"), actor=current_user))


@blp.route("/process-definitions/dry-run", methods=["POST"])
@blp.requires("process.deploy")
@blp.errors(422)
@blp.arguments(DryRunInputSchema)
@blp.response(200, DryRunSchema)
def dry_run(body: dict[str, Any]) -> Any:
    """Run a diagram in memory on sample data, beside the current version: operators simulated, user tasks
    completed with generated form data, every reachable gateway branch tried; nothing is written"""
    return dryrun.summary(dryrun.dry_run(body["xml"], key=body.get("key"), actor=current_user, samples=body.get("samples")))


@blp.route("/process-definitions/<key>/draft")
class Draft(MethodView):
    @blp.requires("process.deploy")
    @blp.errors(404)
    @blp.response(200, DraftSchema)
    def get(self, key: str) -> Any:
        """The process's draft (saved, validated, not current)"""
        draft = impact.get_draft(key)
        if draft is None:
            raise NotFound()
        return draft

    @blp.requires("process.deploy")
    @blp.errors(404, 409, 422)
    @blp.arguments(DraftInputSchema)
    @blp.response(200, DraftSchema)
    def put(self, body: dict[str, Any], key: str) -> Any:
        """Save the process's draft (a new process's too: the key is the diagram's process id); deploy it
        later with POST /process-definitions (which then discards it when the content is the same)"""
        if not definitions.KEY_RE.fullmatch(key):
            raise NotFound()
        return impact.save_draft(body["xml"], key=key, comment=body.get("comment"), actor=current_user,
                                 lock_version=body.get("lock_version"))

    @blp.requires("process.deploy")
    @blp.errors(404)
    @blp.response(204)
    def delete(self, key: str) -> None:
        """Discard the process's draft"""
        impact.discard_draft(key, actor=current_user)


@blp.route("/process-definitions/<key>/versions")
@blp.requires("process.deploy", "process.admin", any_of=True)
@blp.errors(404)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_schema(VersionSchema, "VersionPage"))
def versions(args: dict[str, Any], key: str) -> Any:
    """The versions of one process, newest first, with their instance counts"""
    out = []
    for row in definitions.versions(key):
        item = {name: getattr(row.definition, name) for name in DefinitionSchema().fields}
        item.update(live_instances=row.live, all_instances=row.total, is_current=row.is_current)
        out.append(item)
    return page_of(out, args)


@blp.route("/process-definitions/<key>/versions/<int:version>/rollback", methods=["POST"])
@blp.requires("process.deploy")
@blp.errors(404, 409)
@blp.arguments(RollbackSchema)
@blp.response(200, DefinitionSchema)
def rollback(body: dict[str, Any], key: str, version: int) -> Any:
    """Make an earlier version current again: a new version with its content (running instances stay on theirs)"""
    return definitions.rollback(key, version, comment=body["comment"], actor=current_user)


class ElementFiguresSchema(ma.Schema):
    id = fields.Str(metadata={"description": "The element's id in the diagram."})
    name = fields.Str(metadata={"description": "Its name in the caller's language (the id when it has none)."})
    kind = fields.Str(metadata={"description": "The BPMN element type: userTask, exclusiveGateway, "
                                               "intermediateCatchEvent, …"})
    in_diagram = fields.Bool(metadata={"description": "False for an element of another version that migrated "
                                                      "instances passed."})
    passed = fields.Int(metadata={"description": "Instances started in the period that completed the element."})
    passes = fields.Int(metadata={"description": "Completions (an element in a loop is passed more than once)."})
    median_seconds = fields.Float(attribute="median", allow_none=True,
                                  metadata={"description": "Time spent per pass (waits, user tasks, call "
                                                           "activities; null for elements that take no time)."})
    p90_seconds = fields.Float(attribute="p90", allow_none=True)
    max_seconds = fields.Float(attribute="max", allow_none=True)
    waiting = fields.Int(metadata={"description": "Live instances of the version waiting there now, whatever their "
                                                  "start date."})
    oldest_wait_seconds = fields.Float(attribute="oldest_wait", allow_none=True)
    median_wait_seconds = fields.Float(attribute="median_wait", allow_none=True)


class FlowFiguresSchema(ma.Schema):
    id = fields.Str(metadata={"description": "The sequence flow's id."})
    name = fields.Str(allow_none=True)
    source = fields.Str(metadata={"description": "The gateway."})
    target = fields.Str()
    taken = fields.Int(metadata={"description": "Times instances started in the period took this path."})


class AnalyticsSchema(ma.Schema):
    key = fields.Function(lambda a: a.definition.key)
    version = fields.Function(lambda a: a.definition.version)
    date_from = fields.Date()
    date_to = fields.Date()
    instances = fields.Int(metadata={"description": "Instances of the version started in the period, in scope."})
    computed_at = fields.DateTime()
    elements = fields.List(fields.Nested(ElementFiguresSchema))
    flows = fields.List(fields.Nested(FlowFiguresSchema), metadata={"description": "The paths out of each "
                                                                                   "splitting gateway."})


@blp.route("/process-definitions/<key>/analytics")
@blp.requires("process.deploy", "process.admin", any_of=True)
@blp.errors(404, 422)
@blp.arguments(stats.AnalyticsArgs, location="query")
@blp.response(200, AnalyticsSchema)
def analytics(args: dict[str, Any], key: str) -> Any:
    """Per element of a version's diagram: time spent (median, p90, max), instances passed, waiting now; paths taken"""
    return stats.compute(key, current_user, version=args.get("version"), date_from=args.get("date_from"),
                         date_to=args.get("date_to"), tz=get_timezone())


@blp.route("/process-instances")
@blp.requires("api.use")
@blp.arguments(InstanceListArgsSchema, location="query")
@blp.response(200, InstancePageSchema)
def instance_list(args: dict[str, Any]) -> Any:
    """Process instances in the caller's scope, newest first"""
    filters = InstanceFilters(
        process=args.get("process"), status=InstanceStatus(args["status"]) if args.get("status") else None,
        store_id=args.get("store_id"), started_by_id=args.get("started_by_id"),
        started_from=args.get("started_from"), started_to=args.get("started_to"), has_error=args["has_error"],
    )
    return admin.list_instances(current_user, filters, args["cursor"], args["limit"], tz=get_timezone())


def _detail(instance_id: int) -> dict[str, Any]:
    instance = admin.get_instance(instance_id, current_user)
    is_admin = admin.may_see_data(current_user)
    states = admin.element_states(instance)
    out: dict[str, Any] = {name: getattr(instance, name) for name in InstanceSchema().fields if name != "version"}
    out.update(version=instance.definition.version, completed_elements=states.completed, active_elements=states.active,
               failed_elements=states.failed, history=admin.history(instance, with_data=is_admin),
               data=states.data if is_admin else None)
    return out


@blp.route("/process-instances/<int:instance_id>")
@blp.requires("api.use")
@blp.errors(404)
@blp.response(200, InstanceDetailSchema)
def instance_detail(instance_id: int) -> Any:
    """One instance: element states for the diagram, its history (data only for process admins)"""
    return _detail(instance_id)


def _action(instance_id: int, name: str, body: dict[str, Any] | None = None) -> Any:
    if name == "suspend":
        admin.suspend(instance_id, actor=current_user)
    elif name == "resume":
        admin.resume(instance_id, actor=current_user)
    elif name == "retry":
        admin.retry(instance_id, actor=current_user)
    elif name == "terminate":
        admin.terminate(instance_id, (body or {}).get("reason"), actor=current_user)
    else:  # pragma: no cover — routes name only the four above
        raise NotFound()
    db.session.flush()
    return _detail(instance_id)


@blp.route("/process-instances/<int:instance_id>/suspend", methods=["POST"])
@blp.requires("api.use", "process.admin")
@blp.errors(404, 409)
@blp.response(200, InstanceDetailSchema)
def suspend(instance_id: int) -> Any:
    """Suspend a running or failed instance (its tasks cannot be completed, its timers wait)"""
    return _action(instance_id, "suspend")


@blp.route("/process-instances/<int:instance_id>/resume", methods=["POST"])
@blp.requires("api.use", "process.admin")
@blp.errors(404, 409)
@blp.response(200, InstanceDetailSchema)
def resume(instance_id: int) -> Any:
    """Resume a suspended instance"""
    return _action(instance_id, "resume")


@blp.route("/process-instances/<int:instance_id>/retry", methods=["POST"])
@blp.requires("api.use", "process.admin")
@blp.errors(404, 409)
@blp.response(200, InstanceDetailSchema)
def retry(instance_id: int) -> Any:
    """Run a failed instance again from its last saved state (409 with the new error if it fails again)"""
    return _action(instance_id, "retry")


@blp.route("/process-instances/<int:instance_id>/terminate", methods=["POST"])
@blp.requires("api.use", "process.admin")
@blp.errors(404, 409)
@blp.arguments(TerminateSchema)
@blp.response(200, InstanceDetailSchema)
def terminate(body: dict[str, Any], instance_id: int) -> Any:
    """End an instance for good, with the reason; its open tasks are cancelled"""
    return _action(instance_id, "terminate", body)


class MigrationPlanSchema(ma.Schema):
    instance_id = fields.Int()
    from_version = fields.Int()
    to_version = fields.Int()
    safe = fields.Bool(metadata={"description": "False: refused, see `reasons`."})
    reasons = fields.List(fields.Str())
    waiting_before = fields.List(fields.Str())
    waiting_after = fields.List(fields.Str())
    added_will_run = fields.List(fields.Str())
    added_skipped = fields.List(fields.Str(), metadata={"description": "New tasks before where the instance is."})
    removed_completed = fields.List(fields.Str())
    removed_not_reached = fields.List(fields.Str())
    changed = fields.List(fields.Str())
    renamed = fields.Dict(keys=fields.Str(), values=fields.Str())
    token = fields.Str(metadata={"description": "Send it back to apply exactly this plan."})


class MigrateSchema(ma.Schema):
    token = fields.Str(required=True, validate=validate.Length(min=1, max=64),
                       metadata={"description": "The `token` of the preview the caller reviewed."})


@blp.route("/process-instances/<int:instance_id>/migration")
class Migration(MethodView):
    @blp.requires("api.use", "process.admin")
    @blp.errors(404)
    @blp.response(200, MigrationPlanSchema)
    def get(self, instance_id: int) -> Any:
        """Preview moving the instance to the current version of its process"""
        plan = admin.migration_preview(instance_id, actor=current_user)
        return {**plan.summary(), "safe": plan.safe, "token": plan.token}

    @blp.requires("api.use", "process.admin")
    @blp.errors(404, 409)
    @blp.arguments(MigrateSchema)
    @blp.response(200, InstanceDetailSchema)
    def post(self, body: dict[str, Any], instance_id: int) -> Any:
        """Move the instance as previewed (409 when it or the process changed since the preview, or refused)"""
        admin.migrate(instance_id, body["token"], actor=current_user)
        db.session.flush()
        return _detail(instance_id)
