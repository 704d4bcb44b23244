"""Roles handed to a user come back in one stable order (the order of User.roles: by id)."""

from __future__ import annotations

from crm.auth.services import roles_by_ids
from crm.extensions import db
from tests.factories import Org


def test_roles_by_ids_are_in_id_order(org: Org) -> None:
    supervisor, salesperson = org.roles["supervisor"], org.roles["salesperson"]
    assert supervisor.id < salesperson.id
    # An update moves the row to the end of the table on PostgreSQL: without ORDER BY it would come last.
    supervisor.description = "Changed, so stored anew"
    db.session.flush()
    got = roles_by_ids([str(salesperson.id), str(supervisor.id)], actor=org.hq_admin)
    assert [r.key for r in got] == ["supervisor", "salesperson"]
