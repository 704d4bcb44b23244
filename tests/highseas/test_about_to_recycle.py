"""The salesperson's home card "customers about to go back to the high seas", at fixed dates: it lists the
owner's customers whose follow-up rule runs out within the window (soonest first, with the days left),
never a won or locked one nor a colleague's; and the demo gives every salesperson one such customer."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from crm.core.clock import utcnow
from crm.extensions import db
from crm.highseas import demo
from crm.highseas import queries
from crm.highseas import rules
from tests.factories import make_customer


def _card(page: str) -> str:
    return page.split('id="sales-recycle"')[1].split("</li>\n")[0] if 'id="sales-recycle"' in page else ""


def test_the_home_card_lists_the_customers_the_follow_up_rule_sends_back_soon(org, login_as):
    with time_machine.travel("2026-12-01 09:00+08:00", tick=False):
        pool = rules.pool_for(org.store_a.id)
        pool.auto_recycle, pool.follow_up_days, pool.remind_days, pool.level_days = True, 30, 3, {}
        soon = make_customer(org.a_rep1, name="Due in five days")
        later = make_customer(org.a_rep1, name="Due in twenty days")
        won = make_customer(org.a_rep1, name="Won long ago")
        won.won = True
        colleague = make_customer(org.a_rep2, name="A colleague's")
        for customer in (soon, later, won, colleague):  # owned for months: the clock runs from the follow-ups
            customer.created_at = customer.owned_since = utcnow() - timedelta(days=90)
        soon.last_follow_up_at = utcnow() - timedelta(days=25)
        later.last_follow_up_at = utcnow() - timedelta(days=10)
        won.last_follow_up_at = colleague.last_follow_up_at = utcnow() - timedelta(days=29)
        db.session.commit()
        page = login_as(org.a_rep1).get("/").get_data(as_text=True)
        card = _card(page)
        assert 'data-count="1"' in card and "Due in five days" in card and "in 5 days" in card
        assert "twenty" not in card and "Won long ago" not in card and "colleague" not in page
    with time_machine.travel("2026-12-04 10:00+08:00", tick=False):  # a day and 23 hours left: "in 1 day"
        card = _card(login_as(org.a_rep1).get("/").get_data(as_text=True))
        assert "Due in five days" in card and "in 1 day" in card
    with time_machine.travel("2026-12-18 10:00+08:00", tick=False):  # the other one enters the window
        count, rows = queries.about_to_recycle(org.a_rep1)
        assert count == 2 and [name for _id, name, _days in rows] == ["Due in five days", "Due in twenty days"]
        assert rows[0][2] == 0 and rows[1][2] == 2  # overdue: tonight's sweep takes it


def test_the_demo_gives_each_salesperson_a_customer_due_in_two_days(org, login_as):
    with time_machine.travel("2026-12-07 20:00+08:00", tick=False):
        mine = make_customer(org.a_rep1, name="Old customer")
        won = make_customer(org.a_rep1, name="Won customer")
        won.won = True
        recent = make_customer(org.b_rep, name="Followed up yesterday")
        for customer in (mine, won, recent):
            customer.created_at = customer.owned_since = utcnow() - timedelta(days=90)
            customer.last_follow_up_at = utcnow() - timedelta(days=60)
        recent.last_follow_up_at = utcnow() - timedelta(days=1)
        db.session.commit()
        chosen = demo.due_soon(utcnow())
        db.session.commit()
        assert mine.id in chosen and won.id not in chosen and recent.id not in chosen
        assert rules.pool_for(org.store_b.id) is not None  # every store with owned customers has its pool
        page = login_as(org.a_rep1).get("/").get_data(as_text=True)
        card = _card(page)
        assert "Old customer" in card and re.search(r"in 2 days", card)
