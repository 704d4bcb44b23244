"""Lead test support: assignment rules made through the services."""

from __future__ import annotations

from crm.customers.leads import services as leads
from crm.customers.models import LeadAssignmentRule
from tests.factories import Org


def two_rules(org: Org) -> tuple[LeadAssignmentRule, LeadAssignmentRule]:
    first = leads.save_rule(org.store_a.id, {"name": "First", "priority": "1", "member_ids": [str(org.a_rep1.id)]},
                            actor=org.a_manager)
    second = leads.save_rule(org.store_a.id, {"name": "Second", "priority": "2", "member_ids": [str(org.a_rep2.id)]},
                             actor=org.a_manager)
    return first, second
