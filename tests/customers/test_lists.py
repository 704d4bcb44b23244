"""The customer list: filters, sorts, keyset pages, capped counts, export scope."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from werkzeug.datastructures import MultiDict

from crm.core.clock import utcnow
from crm.core.errors import ValidationFailed
from crm.customers import exports
from crm.customers import queries
from crm.customers import services
from crm.customers.services import follow_ups
from tests.factories import Org
from tests.factories import make_customer


def ids(actor, **args) -> list[int]:
    f = queries.parse_filters(MultiDict(args))
    return [c.id for c in queries.list_customers(actor, f, None, 500).items]


def test_filters_on_fields(org: Org) -> None:
    a = make_customer(org.a_rep1, name="Alpha Logistics", level="a", province="浙江", city="杭州", industry="物流",
                      tags="vip, 冷链", source_platform="tmall", intention="high")
    b = make_customer(org.a_rep1, name="Beta Foods", level="b", province="江苏", city="苏州", chat_id="beta_wx")
    services.set_locked(b, True, actor=org.a_rep1)
    assert ids(org.a_rep1, q="alpha") == [a.id]
    assert ids(org.a_rep1, q=f"{a.mobile[:3]} {a.mobile[3:7]} {a.mobile[7:]}") == [a.id]
    assert sorted(ids(org.a_rep1, q=a.mobile[:5])) == sorted([a.id, b.id])  # a prefix finds both
    assert ids(org.a_rep1, q="BETA_WX") == [b.id]
    assert ids(org.a_rep1, level="a") == [a.id]
    assert ids(org.a_rep1, province="江苏") == [b.id]
    assert ids(org.a_rep1, city="杭州", industry="物流") == [a.id]
    assert ids(org.a_rep1, tag="冷链") == [a.id]
    assert ids(org.a_rep1, locked="yes") == [b.id]
    assert ids(org.a_rep1, source_platform="tmall", intention="high") == [a.id]
    assert sorted(ids(org.a_manager, owner=str(org.a_rep1.id))) == sorted([a.id, b.id])
    assert ids(org.a_rep2) == []  # self scope
    assert ids(org.b_manager) == []  # another store


def test_no_follow_up_for_n_days_and_ranges(org: Org) -> None:
    with time_machine.travel("2026-10-01 02:00:00+00:00", tick=False):
        old = make_customer(org.a_rep1)
        fresh = make_customer(org.a_rep1)
    with time_machine.travel("2026-11-15 02:00:00+00:00", tick=False):
        follow_ups.record_follow_up(fresh, {"kind": "phone", "content": "ok"}, actor=org.a_rep1)
    with time_machine.travel("2026-11-20 02:00:00+00:00", tick=False):
        assert ids(org.a_rep1, no_follow_days="30") == [old.id]
        assert ids(org.a_rep1, follow_from="2026-11-15", follow_to="2026-11-15") == [fresh.id]
        assert sorted(ids(org.a_rep1, created_from="2026-10-01", created_to="2026-10-01")) == sorted([old.id, fresh.id])
        assert ids(org.a_rep1, created_from="2026-10-02") == []


@pytest.mark.parametrize("args", [{"no_follow_days": "-3"}, {"created_from": "yesterday"}, {"sort": "mobile"},
                                  {"owner": "x"}, {"locked": "maybe"}, {"source_platform": "ebay"}])
def test_bad_filters_name_the_field(org: Org, args: dict) -> None:
    with pytest.raises(ValidationFailed) as exc:
        queries.parse_filters(MultiDict(args))
    assert set(exc.value.errors) == set(args)


def test_keyset_pages_in_every_sort(org: Org) -> None:
    made = []
    for i in range(7):
        with time_machine.travel(utcnow() + timedelta(minutes=i)):
            made.append(make_customer(org.a_rep1, name=f"N{i % 3}"))
    for sort in queries.SORTS:
        for direction in ("asc", "desc"):
            f = queries.parse_filters(MultiDict({"sort": sort, "dir": direction}))
            seen, cursor = [], None
            while True:
                page = queries.list_customers(org.a_rep1, f, cursor, 3)
                seen += [c.id for c in page.items]
                if not page.has_next:
                    break
                cursor = page.next_cursor
            assert sorted(seen) == sorted(c.id for c in made) and len(seen) == 7, (sort, direction)


def test_count_is_capped(org: Org) -> None:
    for _ in range(5):
        make_customer(org.a_rep1)
    f = queries.CustomerFilters()
    assert queries.capped_count(org.a_rep1, f, cap=3) == (3, True)
    assert queries.capped_count(org.a_rep1, f, cap=10) == (5, False)


def test_export_stays_within_scope(org: Org) -> None:
    mine = make_customer(org.a_rep1, name="Mine Co")
    make_customer(org.a_rep2, name="Theirs Co")
    make_customer(org.b_rep, name="Other Store Co")
    body = exports.export(queries.iter_customers(org.a_rep1, queries.CustomerFilters()), "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert [r[1] for r in rows[1:]] == ["Mine Co"] and rows[1][0] == str(mine.id)
    manager_rows = exports.export(queries.iter_customers(org.a_manager, queries.CustomerFilters()), "csv")
    assert b"Theirs Co" in manager_rows and b"Other Store Co" not in manager_rows
    xlsx = exports.export(queries.iter_customers(org.a_manager, queries.CustomerFilters()), "xlsx")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx)).worksheets[0]
    assert {row[1] for row in ws.iter_rows(min_row=2, values_only=True)} == {"Mine Co", "Theirs Co"}
