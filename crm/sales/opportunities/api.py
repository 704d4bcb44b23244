"""/api/v1/pipelines and /api/v1/opportunities — the board of a pipeline, create, stage moves (logged,
stale versions refused with 409), won/lost. Scope as on the pages: another store's opportunity is 404."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_of
from crm.auth.rest import page_schema
from crm.core.errors import NotFound
from crm.sales.opportunities import queries as opportunity_queries
from crm.sales.opportunities import services as opportunity_services
from crm.sales.opportunities.schemas import CloseSchema
from crm.sales.opportunities.schemas import MoveSchema
from crm.sales.opportunities.schemas import OpportunityQuerySchema
from crm.sales.opportunities.schemas import OpportunitySchema
from crm.sales.opportunities.schemas import OpportunityWriteSchema
from crm.sales.opportunities.schemas import PipelineSchema


class OpportunityListArgsSchema(OpportunityQuerySchema, PageArgsSchema):
    pass


blp = ApiBlueprint("Opportunities", __name__, url_prefix="/api/v1",
                   description="Pipelines, opportunities and their stage moves.")


@blp.route("/pipelines", methods=["GET"])
@blp.requires("api.use", "opportunity.view")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_schema(PipelineSchema, "PipelinePage"))
def pipelines(args: dict[str, Any]) -> Any:
    """The pipelines you work with, with their stages and win rates"""
    return page_of(opportunity_queries.pipelines(current_user), args)


@blp.route("/opportunities")
class Opportunities(MethodView):
    @blp.requires("api.use", "opportunity.view")
    @blp.arguments(OpportunityListArgsSchema, location="query")
    @blp.response(200, page_schema(OpportunitySchema, "OpportunityPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """The open opportunities of a pipeline in your scope, by stage (the board)"""
        pipeline = next((p for p in opportunity_queries.pipelines(current_user) if p.id == args["pipeline_id"]), None)
        if pipeline is None:
            raise NotFound()
        return page_of([card for column in opportunity_queries.board(pipeline, current_user) for card in column.cards],
                       args)

    @blp.requires("api.use", "opportunity.edit")
    @blp.arguments(OpportunityWriteSchema)
    @blp.response(201, OpportunitySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create an opportunity for a customer in your scope"""
        return opportunity_services.create_opportunity(data, actor=current_user)


@blp.route("/opportunities/<int:opportunity_id>", methods=["GET"])
@blp.requires("api.use", "opportunity.view")
@blp.errors(404)
@blp.response(200, OpportunitySchema)
def opportunity(opportunity_id: int) -> Any:
    """An opportunity"""
    return opportunity_services.get_opportunity(opportunity_id, current_user)


@blp.route("/opportunities/<int:opportunity_id>/move", methods=["POST"])
@blp.requires("api.use", "opportunity.edit")
@blp.arguments(MoveSchema)
@blp.errors(404, 409)
@blp.response(200, OpportunitySchema)
def move(data: dict[str, Any], opportunity_id: int) -> Any:
    """Move to another stage of its pipeline (logged)"""
    return opportunity_services.move_stage(opportunity_id, data["stage_id"], actor=current_user,
                                           lock_version=data.get("lock_version"))


@blp.route("/opportunities/<int:opportunity_id>/close", methods=["POST"])
@blp.requires("api.use", "opportunity.edit")
@blp.arguments(CloseSchema)
@blp.errors(404, 409)
@blp.response(200, OpportunitySchema)
def close(data: dict[str, Any], opportunity_id: int) -> Any:
    """Close as won or lost (a reason is required when lost)"""
    return opportunity_services.close_opportunity(opportunity_id, data["outcome"], data.get("reason"),
                                                  actor=current_user)
