"""/api/v1/approvals — the caller's approval queue (pending, decided by me), one request with its steps
and decisions, deciding (approve / reject with comment, one or many); /api/v1/approval-chains — chains
(`approval.configure`), a new version of a chain's steps, and the preview.

Requests and tasks the caller may not see answer 404. Two approvers deciding the same any-of step at once:
one wins, the other gets 409 with a clear message."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import fields
from marshmallow import validate
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.approvals import queries
from crm.approvals import services
from crm.approvals.models import ApprovalChain
from crm.approvals.schemas import StepsInput
from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_of
from crm.auth.rest import page_schema
from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.errors import NotFound
from crm.core.validation import load_input
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User

blp = ApiBlueprint("Approvals", __name__, url_prefix="/api/v1",
                   description="Approval queue, decisions, requests and the chains admins configure.")

MAX_ID = 2**31 - 1


def _id(**kwargs: Any) -> fields.Int:
    return fields.Int(validate=validate.Range(1, MAX_ID, error=_l("Choose a valid value.")), **kwargs)


class DecisionSchema(ma.Schema):
    id = fields.Int()
    step = fields.Int(attribute="step_index", allow_none=True)
    outcome = fields.Function(lambda d: d.outcome.value,
                              metadata={"description": "approved, rejected, auto_passed, skipped, reminded, escalated"})
    by = fields.Int(attribute="decided_by_id", allow_none=True)
    comment = fields.Str(allow_none=True)
    at = fields.DateTime(attribute="decided_at")


class RequestSchema(ma.Schema):
    id = fields.Int()
    chain_key = fields.Str()
    chain_version = fields.Int(allow_none=True)
    store_id = fields.Int()
    object_type = fields.Str(allow_none=True)
    object_id = fields.Int(allow_none=True)
    submitter_id = fields.Int(allow_none=True)
    status = fields.Function(lambda r: r.status.value)
    current_step = fields.Int(allow_none=True)
    summary = fields.Dict(attribute="shown", metadata={"description": "The object as the queue shows it, in the "
                                                                     "caller's language."})
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class RequestDetailSchema(RequestSchema):
    steps = fields.List(fields.Dict(), metadata={"description": "The snapshot: steps as resolved when it started."})
    decisions = fields.List(fields.Nested(DecisionSchema))


class PendingSchema(ma.Schema):
    task_id = fields.Int()
    title = fields.Str()
    request = fields.Nested(RequestSchema)


class DecidedSchema(ma.Schema):
    decision = fields.Nested(DecisionSchema)
    request = fields.Nested(RequestSchema)


class QueueArgsSchema(PageArgsSchema):
    q = fields.Str(validate=validate.Length(max=100), metadata={
        "description": "Free text: the object's title or kind, the requester's name, or (pending) the task's title "
                       "contains it, any case."})
    chain = fields.Str(validate=validate.Length(max=60))
    store_id = _id()
    object_type = fields.Str(validate=validate.Length(max=50))


class DecideSchema(ma.Schema):
    approved = fields.Bool(required=True)
    comment = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class BulkSchema(ma.Schema):
    task_ids = fields.List(_id(), required=True, validate=validate.Length(1, 200))
    comment = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class BulkResultSchema(ma.Schema):
    approved = fields.List(fields.Int())
    skipped = fields.List(fields.Int())


def _filters(args: dict[str, Any]) -> queries.QueueFilters:
    return queries.QueueFilters(chain_key=args.get("chain"), store_id=args.get("store_id"),
                                object_type=args.get("object_type"), q=(args.get("q") or "").strip() or None)


@blp.route("/approvals/pending")
@blp.requires("api.use")
@blp.arguments(QueueArgsSchema, location="query")
@blp.response(200, page_schema(PendingSchema, "PendingApprovalPage"))
def pending(args: dict[str, Any]) -> Any:
    """Approval tasks waiting for the caller, newest first"""
    page = queries.pending(current_user, _filters(args), cursor=args["cursor"], limit=args["limit"])
    return {"items": [{"task_id": t.id, "title": t.title, "request": r} for t, r in page.items],
            "next_cursor": page.next_cursor}


@blp.route("/approvals/decided")
@blp.requires("api.use")
@blp.arguments(QueueArgsSchema, location="query")
@blp.response(200, page_schema(DecidedSchema, "DecidedApprovalPage"))
def decided(args: dict[str, Any]) -> Any:
    """The caller's decisions, newest first"""
    page = queries.decided_by(current_user, _filters(args), cursor=args["cursor"], limit=args["limit"])
    return {"items": [{"decision": d, "request": r} for d, r in page.items], "next_cursor": page.next_cursor}


@blp.route("/approvals/requests/<int:request_id>")
@blp.requires("api.use")
@blp.errors(404)
@blp.response(200, RequestDetailSchema)
def request_detail(request_id: int) -> Any:
    """One approval request: its snapshot of steps and every decision"""
    return queries.request_for(request_id, current_user)


@blp.route("/approvals/tasks/<int:task_id>/decide", methods=["POST"])
@blp.requires("api.use")
@blp.errors(404, 409)
@blp.arguments(DecideSchema)
@blp.response(200, RequestDetailSchema)
def decide(body: dict[str, Any], task_id: int) -> Any:
    """Approve or reject (a rejection needs a comment); 409 when the step was decided meanwhile"""
    services.approval_task_for(task_id, current_user)
    return services.decide(task_id, approved=body["approved"], comment=body.get("comment"), actor=current_user)


@blp.route("/approvals/bulk-approve", methods=["POST"])
@blp.requires("api.use")
@blp.arguments(BulkSchema)
@blp.response(200, BulkResultSchema)
def bulk(body: dict[str, Any]) -> Any:
    """Approve several tasks; those already decided or not the caller's are skipped"""
    return services.bulk_approve(body["task_ids"], comment=body.get("comment"), actor=current_user)


# Chains ------------------------------------------------------------------------------------------------
class StepSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    title = fields.Str(required=True)
    rule = fields.Str(required=True, metadata={"description": ", ".join(services.rules.RULES)})
    mode = fields.Str(metadata={"description": ", ".join(services.rules.MODES)})


class ChainSchema(ma.Schema):
    id = fields.Int(dump_only=True)
    key = fields.Str(required=True)
    name = fields.Str()
    store_id = fields.Int(allow_none=True, metadata={"description": "Null: the company-wide chain."})
    active = fields.Bool(dump_only=True)
    current_version = fields.Int(dump_only=True)
    lock_version = fields.Int(dump_only=True)
    steps = fields.Method("_steps", deserialize="_load_steps")

    def _steps(self, chain: ApprovalChain) -> list[dict[str, Any]]:
        return approval_chains.current_steps(chain)

    def _load_steps(self, value: Any) -> Any:
        return value


class StepsUpdateSchema(ma.Schema):
    steps = fields.List(fields.Dict(), required=True)
    lock_version = fields.Int(load_default=None, metadata={"description": "The version you read (optimistic lock)."})
    comment = fields.Str(load_default=None, validate=validate.Length(max=500))


class ResolvedStepSchema(ma.Schema):
    index = fields.Int()
    title = fields.Str()
    rule = fields.Str()
    mode = fields.Str()
    applies = fields.Bool(metadata={"description": "False: its condition does not hold, the step is skipped."})
    auto = fields.Bool(metadata={"description": "True: nobody resolves and the step passes by itself."})
    reason = fields.Str(allow_none=True)
    approvers = fields.List(fields.Int())
    routed_to_admin = fields.Bool()


class PreviewArgsSchema(PageArgsSchema):
    submitter_id = _id(required=True)
    object_type = fields.Str(validate=validate.Length(max=50))
    object_id = _id()


def _visible_chain(chain_id: int) -> ApprovalChain:
    chain = db.session.get(ApprovalChain, chain_id)
    if chain is None:
        raise NotFound()
    if chain.store_id is not None:
        get_visible(OrgUnit, chain.store_id, current_user)
    return chain


@blp.route("/approval-chains")
class Chains(MethodView):
    @blp.requires("api.use", "approval.configure")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(ChainSchema, "ChainPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """Every chain: company-wide ones and those of stores in the caller's scope"""

        stores = set(db.session.scalars(visible(select(OrgUnit.id), current_user, OrgUnit)))
        return page_of([c for c in queries.chains() if c.store_id is None or c.store_id in stores], args)

    @blp.requires("api.use", "approval.configure")
    @blp.arguments(ChainSchema)
    @blp.response(201, ChainSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a chain (version 1 of its steps)"""
        steps = load_input(StepsInput(), {"steps": body.get("steps") or []})
        return approval_chains.create_chain({**body, "steps": steps}, actor=current_user)


@blp.route("/approval-chains/<int:chain_id>")
class ChainItem(MethodView):
    @blp.requires("api.use", "approval.configure")
    @blp.errors(404)
    @blp.response(200, ChainSchema)
    def get(self, chain_id: int) -> Any:
        """One chain with its current steps"""
        return _visible_chain(chain_id)

    @blp.requires("api.use", "approval.configure")
    @blp.errors(404, 409)
    @blp.arguments(StepsUpdateSchema)
    @blp.response(200, ChainSchema)
    def put(self, body: dict[str, Any], chain_id: int) -> Any:
        """Save new steps as the next version (running requests keep theirs)"""
        chain = _visible_chain(chain_id)
        steps = load_input(StepsInput(), {"steps": body["steps"]})
        return approval_chains.save_steps(chain.id, steps, actor=current_user, lock_version=body.get("lock_version"),
                                   comment=body.get("comment"))


@blp.route("/approval-chains/<int:chain_id>/preview")
@blp.requires("api.use", "approval.configure")
@blp.errors(404)
@blp.arguments(PreviewArgsSchema, location="query")
@blp.response(200, page_schema(ResolvedStepSchema, "ResolvedStepPage"))
def preview(args: dict[str, Any], chain_id: int) -> Any:
    """Who would approve an object of that submitter (steps as resolved)"""
    chain = _visible_chain(chain_id)
    submitter = get_visible(User, args["submitter_id"], current_user)
    return page_of(services.preview(chain, submitter=submitter, store_id=chain.store_id or submitter.store_id,
                                    object_type=args.get("object_type"), object_id=args.get("object_id"),
                                    actor=current_user), args)
