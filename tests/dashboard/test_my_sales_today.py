"""A salesperson's home: my tasks, follow-ups overdue and due today, my quotes in the discount audit, this
month's orders and amount, my customers the recycle rules send back to the high seas soon. Only for
people who own customers; counts of their own work, never a colleague's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from crm.core.clock import utcnow
from crm.extensions import db
from crm.highseas import rules
from tests.factories import UserFactory
from tests.factories import make_customer
from tests.sales.conftest import line
from tests.sales.conftest import order_from_quote
from tests.sales.conftest import submitted

pytestmark = pytest.mark.usefixtures("quote_process")


def _data(page: str, element_id: str, attr: str = "count") -> int:
    return int(re.search(rf'id="{element_id}"[^>]*data-{attr}="(\d+)"', page).group(1))


def test_a_salesperson_sees_their_day(org, products, customers, login_as):
    with time_machine.travel("2026-12-10 10:00+08:00", tick=False):
        pool = rules.pool_for(org.store_a.id)
        pool.auto_recycle, pool.follow_up_days, pool.remind_days, pool.level_days = True, 30, 3, {}
        late = make_customer(org.a_rep1, name="Late follow-up")
        later = make_customer(org.a_rep1, name="Due tonight")
        colleague = make_customer(org.a_rep2, name="Not mine")
        late.next_follow_up_at = utcnow() - timedelta(days=1)
        later.next_follow_up_at = utcnow() + timedelta(hours=3)
        colleague.next_follow_up_at = utcnow() - timedelta(days=1)
        db.session.commit()
        submitted(org.a_rep1, customers["a"], line(products["p100"], "50.00"))  # under 90 %: in the audit
        order_from_quote(org, submitted(org.a_rep1, customers["a"], line(products["p100"], "95.00", 10)))
    with time_machine.travel("2027-01-07 10:00+08:00", tick=False):  # 28 days on: 2 days before the 30-day rule
        client = login_as(org.a_rep1)
        page = client.get("/").get_data(as_text=True)
        assert 'id="my-sales-today"' in page
        assert _data(page, "sales-follow-ups", "overdue") >= 2  # nothing was followed up in 28 days
        assert _data(page, "sales-quotes-pending") == 1
        assert _data(page, "sales-month") == 0  # the order was made last month
        assert _data(page, "sales-recycle") >= 2 and "Late follow-up" in page and "Not mine" not in page
        assert _data(page, "sales-tasks") >= 1  # the order's signature waits for the salesperson
    with time_machine.travel("2026-12-20 10:00+08:00", tick=False):
        page = login_as(org.a_rep1).get("/").get_data(as_text=True)
        assert _data(page, "sales-month") == 1 and "¥950.00" in page
        assert _data(page, "sales-follow-ups", "overdue") == 2 and _data(page, "sales-follow-ups", "today") == 0


def test_people_who_own_no_customers_see_no_sales_panel(org, login_as):
    clerk = UserFactory(name="Cashier", unit=org.store_a, roles=[org.roles["finance"]])
    db.session.commit()
    assert 'id="my-sales-today"' not in login_as(clerk).get("/").get_data(as_text=True)
