"""Every figure of DESIGN §10 on a hand-built data set, the answers worked out by hand below, for each
scope level: HQ, a subsidiary manager, a store manager, a salesperson; a custom window and a window that
ends at midnight in Asia/Shanghai.

The window W is 1–7 Nov 2026, the previous one P 25–31 Oct. Store A (reps a_rep1, a_rep2):
  c1 a_rep1 created 20 Oct: orders 28 Oct 100.00 (P) and 3 Nov 200.00 (W, paid 3 Nov, completed 4 Nov, rating 5,
     follow-up 6 Nov: a return visit within 7 days)                    -> a W buyer with an earlier order
  c2 a_rep1 created 2 Nov: orders 7 Nov 23:30 300.00 (in W) and 8 Nov 00:30 80.00 (local 8 Nov: not in W,
     though it is 7 Nov in UTC)                                          -> new, converted in W
  c3 a_rep2 created 4 Nov: order 5 Nov 500.00 cancelled                 -> new, not converted; no order
  c4 a_rep2 created 26 Oct: order 6 Nov 400.00, approved return, completed 6 Nov, rating 3, no visit
  c5 a_rep1 created 1 Oct: moved to the high seas 5 Nov                 -> churned
Store B: cb b_rep created 3 Nov, order 4 Nov 1000.00. Store C: cc c_rep created 3 Nov, order 3 Nov 50.00.
Store A's new enquiries 1–7 Nov: 10 (enquiries 40); none in P.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.dashboard.kanban import queries
from crm.enquiries.queries import Filters
from crm.enquiries.queries import Window

W = Window(date(2026, 11, 1), date(2026, 11, 7))
ZERO = Decimal("0.00")


def _values(actor, filters=None):
    k = queries.kanban(actor, filters or Filters(window=W))
    return {f.key: (f.value, f.previous) for f in k.figures}


def r(n: int, d: int) -> Decimal:
    return queries.ratio(n, d)  # type: ignore[return-value]


def test_store_manager_sees_their_store(org, world):
    v = _values(org.a_manager)
    assert v["amount"] == (Decimal("900.00"), Decimal("100.00"))
    assert v["orders"] == (3, 1)
    assert v["aov"] == (Decimal("300.00"), Decimal("100.00"))
    assert v["buyers"] == (3, 1)
    assert v["repurchase_rate"] == (r(1, 3), r(0, 1))
    assert v["new_customers"] == (2, 1)
    assert v["entry_rate"] == (r(2, 10), None)  # no enquiries in P: undefined
    assert v["conversion_rate"] == (r(1, 2), r(0, 1))
    assert v["positive_rate"] == (r(1, 2), None)
    assert v["revisit_rate"] == (r(1, 2), None)
    assert v["return_rate"] == (r(1, 3), r(0, 1))
    assert v["churn_rate"] == (r(1, 3), r(0, 2))
    k = queries.kanban(org.a_manager, Filters(window=W))
    assert (k.now["enquiries"], k.now["new_enquiries"], k.now["paid_orders"]) == (40, 10, 1)  # the funnel's ends


def test_salesperson_sees_only_their_own(org, world):
    v = _values(org.a_rep1)
    assert v["amount"] == (Decimal("500.00"), Decimal("100.00"))
    assert v["orders"] == (2, 1)
    assert v["repurchase_rate"] == (r(1, 2), r(0, 1))
    assert v["new_customers"] == (1, 0)
    assert v["conversion_rate"] == (r(1, 1), None)
    assert v["entry_rate"] == (None, None)  # the platform's enquiries are the store's, not theirs
    assert v["positive_rate"] == (r(1, 1), None)
    assert v["return_rate"] == (r(0, 2), r(0, 1))
    assert v["churn_rate"] == (r(1, 2), r(0, 2))
    # Asking for a colleague's figures gives nothing, not the colleague's.
    assert _values(org.a_rep1, Filters(window=W, user_id=org.a_rep2.id))["orders"] == (0, 0)


def test_subsidiary_manager_and_hq(org, world):
    east = _values(org.east_manager)
    assert east["amount"] == (Decimal("1900.00"), Decimal("100.00"))
    assert east["orders"] == (4, 1)
    assert east["conversion_rate"] == (r(2, 3), r(0, 1))  # c2 and cb of c2, c3, cb
    hq = _values(org.hq_manager)
    assert hq["amount"] == (Decimal("1950.00"), Decimal("100.00"))
    assert hq["buyers"] == (5, 1)
    assert hq["repurchase_rate"] == (r(1, 5), r(0, 1))
    assert _values(org.hq_manager, Filters(window=W, store_ids=[org.store_b.id]))["amount"] == (Decimal("1000.00"), ZERO)
    assert _values(org.c_manager)["amount"] == (Decimal("50.00"), ZERO)
    dept = _values(org.hq_manager, Filters(window=W, department_id=org.a_sales.id))
    assert dept["orders"] == (3, 1)
    person = _values(org.hq_manager, Filters(window=W, user_id=org.a_rep2.id))
    assert person["amount"] == (Decimal("400.00"), ZERO)



def test_custom_windows_across_midnight(org, world):
    day8 = _values(org.a_manager, Filters(window=Window(date(2026, 11, 8), date(2026, 11, 8))))
    # 8 Nov 00:30 in Shanghai is 7 Nov 16:30 UTC: the order is of 8 Nov, its previous window 7 Nov has c2's 23:30 one.
    assert day8["amount"] == (Decimal("80.00"), Decimal("300.00"))
    assert day8["repurchase_rate"] == (r(1, 1), r(0, 1))
    month = _values(org.a_manager, Filters(window=Window(date(2026, 10, 1), date(2026, 11, 30))))
    assert month["orders"] == (5, 0)
    assert month["repurchase_rate"] == (r(2, 3), None)  # c1 and c2 bought twice; c4 once
    assert month["churn_rate"] == (None, None)  # nobody was owned on 1 Oct (c5 came that day)


@pytest.mark.parametrize("who", ["hq_manager", "east_manager", "a_manager", "a_rep1"])
def test_every_drill_down_lists_as_many_rows_as_its_figure_counts(org, world, who):
    from crm.dashboard.kanban import drill

    actor = getattr(org, who)
    k = queries.kanban(actor, Filters(window=W))
    for key, (kind, count) in drill.FIGURES.items():
        d = drill.drill(actor, Filters(window=W), key)
        assert d is not None and d.kind == kind and d.count() == k.now[count], key
        assert len(d.page(limit=200).items) == k.now[count]
        assert k.now[count] or who == "a_rep1"  # the data set gives every list rows (the salesperson: most)
