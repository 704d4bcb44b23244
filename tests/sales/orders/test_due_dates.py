"""The order pipeline's due dates (issue 24 item 6): the warehouse has one working day for the outbound,
counted over the weekend; when it is late the warehouse is told and, the task being nobody's yet, the
store's manager at once."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select

from crm.core.clock import LOCAL_ZONE
from crm.extensions import db
from crm.notify.models import Notification
from crm.workflow.tasks import reminders
from tests.sales.conftest import approved_quote
from tests.sales.conftest import open_task
from tests.sales.conftest import order_from_quote
from tests.sales.orders.conftest import _sign

pytestmark = pytest.mark.usefixtures("quote_process")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_ZONE)


def test_the_outbound_is_due_a_working_day_later_and_escalates_to_the_store_manager(org, products, customers, staff):
    with time_machine.travel(local(2026, 12, 4, 10, 0).astimezone(UTC), tick=False):  # a Friday
        order = order_from_quote(org, approved_quote(org, products, customers), "arrears")
        sign = open_task(order, "op_sign")
        assert sign.due_at == local(2026, 12, 8, 10, 0)  # P2D: Monday and Tuesday
        _sign(org, order)
        outbound = open_task(order, "op_outbound")
    assert outbound.due_at == local(2026, 12, 7, 10, 0) and outbound.assignee_id is None
    with time_machine.travel(local(2026, 12, 7, 10, 5).astimezone(UTC), tick=False):
        # The reminder (Friday 17:00) was missed: once late, the overdue notice says it instead.
        assert reminders.run() == {"reminded": 0, "escalated": 1}
        db.session.commit()
    told = {(kind, uid) for kind, uid in db.session.execute(select(Notification.kind, Notification.user_id)
                                                           .where(Notification.kind.like("task_%")))}
    warehouse = {staff["warehouse"].id, staff["warehouse2"].id}
    assert {uid for kind, uid in told if kind == "task_overdue"} == warehouse
    assert {uid for kind, uid in told if kind == "task_escalated"} == {org.a_manager.id}
    assert staff["b_warehouse"].id not in {uid for _kind, uid in told}
