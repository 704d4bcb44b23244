"""/api/v1/leads — leads: list (mine, the store's pool, all in scope), create, claim, convert; and the
stores' assignment rules (list, create, change, (de)activate, delete).

Same services and rules as the pages; leads outside the caller's scope answer 404; converting checks the
new customer for duplicates (422 on `mobile` / `chat_id`, naming only what the caller may see)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_of
from crm.auth.rest import page_schema
from crm.auth.scopes import get_visible
from crm.customers.leads import services as leads
from crm.customers.models import Lead
from crm.customers.models import LeadAssignmentRule
from crm.customers.schemas import CustomerSchema
from crm.customers.schemas import FollowUpWriteSchema
from crm.customers.schemas import LeadCreateSchema
from crm.customers.schemas import LeadFollowUpSchema
from crm.customers.schemas import LeadQuerySchema
from crm.customers.schemas import LeadRuleCreateSchema
from crm.customers.schemas import LeadRuleSchema
from crm.customers.schemas import LeadRuleWriteSchema
from crm.customers.schemas import LeadSchema

blp = ApiBlueprint("Leads", __name__, url_prefix="/api/v1/leads", description="Leads (线索) and the lead pool.")

LeadPageSchema = page_schema(LeadSchema, "LeadPage")


class LeadListArgsSchema(LeadQuerySchema, PageArgsSchema):
    pass


@blp.route("")
class Leads(MethodView):
    @blp.requires("customer.view")
    @blp.arguments(LeadListArgsSchema, location="query")
    @blp.response(200, LeadPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List leads: mine, the store's pool or all in scope, newest first"""
        return leads.list_leads(current_user, view=args["view"], status=args["status"], cursor=args["cursor"],
                                limit=args["limit"])

    @blp.requires("customer.create")
    @blp.arguments(LeadCreateSchema)
    @blp.response(201, LeadSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a lead, owned by the caller or in the pool"""
        if data.pop("to_pool", False):
            data["owner_id"] = "pool"
        return leads.create_lead(data, actor=current_user)


@blp.route("/<int:lead_id>")
@blp.requires("customer.view")
@blp.errors(404)
@blp.response(200, LeadSchema)
def get_lead(lead_id: int) -> Any:
    """One lead"""
    return get_visible(Lead, lead_id, current_user)


@blp.route("/<int:lead_id>/claim", methods=["POST"])
@blp.requires("customer.create")
@blp.errors(404)
@blp.response(200, LeadSchema)
def claim(lead_id: int) -> Any:
    """Take a pool lead"""
    lead = get_visible(Lead, lead_id, current_user)
    leads.transfer_leads([lead], current_user.id, actor=current_user)
    return lead


@blp.route("/<int:lead_id>/convert", methods=["POST"])
@blp.requires("customer.create")
@blp.errors(404)
@blp.response(201, CustomerSchema)
def convert(lead_id: int) -> Any:
    """Convert a lead into a customer with a primary contact"""
    return leads.convert(get_visible(Lead, lead_id, current_user), actor=current_user)


@blp.route("/<int:lead_id>/follow-ups", methods=["POST"])
@blp.requires("customer.edit")
@blp.errors(404)
@blp.arguments(FollowUpWriteSchema)
@blp.response(201, LeadFollowUpSchema)
def follow_up(data: dict[str, Any], lead_id: int) -> Any:
    """Record a follow-up on a lead (a new lead becomes contacted)"""
    return leads.record_follow_up(get_visible(Lead, lead_id, current_user), data, actor=current_user)


# Assignment rules ---------------------------------------------------------------------------------------------
RULE_FIELDS = ("name", "priority", "daily_capacity", "provinces", "platforms", "member_ids")


@blp.route("/rules")
class Rules(MethodView):
    @blp.requires("lead.manage")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(LeadRuleSchema, "LeadRulePage"))
    def get(self, args: dict[str, Any]) -> Any:
        """The assignment rules of the stores in scope, by store and priority"""
        return page_of(leads.list_rules(current_user), args)

    @blp.requires("lead.manage")
    @blp.arguments(LeadRuleCreateSchema)
    @blp.response(201, LeadRuleSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create an assignment rule in a store (the caller's own when `store_id` is omitted)"""
        rule = leads.save_rule(data.get("store_id"), data, actor=current_user)
        if data.get("active") is False:
            leads.set_rule_active(rule, False, actor=current_user)
        return rule


@blp.route("/rules/<int:rule_id>")
class RuleItem(MethodView):
    @blp.requires("lead.manage")
    @blp.errors(404)
    @blp.arguments(LeadRuleWriteSchema)
    @blp.response(200, LeadRuleSchema)
    def patch(self, data: dict[str, Any], rule_id: int) -> Any:
        """Change a rule (only the fields sent; `active: false` switches it off); its store stays"""
        rule = get_visible(LeadAssignmentRule, rule_id, current_user)
        sent = {k: data[k] for k in RULE_FIELDS if k in data}
        if sent:
            current = {"name": rule.name, "priority": rule.priority, "daily_capacity": rule.daily_capacity,
                       "provinces": list(rule.provinces or []), "platforms": list(rule.platforms or []),
                       "member_ids": list(rule.member_ids or [])}
            leads.save_rule(rule.store_id, {**current, **sent}, actor=current_user, rule=rule)
        if "active" in data:
            leads.set_rule_active(rule, data["active"], actor=current_user)
        return rule

    @blp.requires("lead.manage")
    @blp.errors(404)
    @blp.response(204)
    def delete(self, rule_id: int) -> Any:
        """Delete a rule; leads it already assigned keep their owners"""
        leads.delete_rule(get_visible(LeadAssignmentRule, rule_id, current_user), actor=current_user)
        return None
