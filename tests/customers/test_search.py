"""The customer list's search box: name/company contains, mobile number or its leading digits, WeChat ID;
and on PostgreSQL the query has the shape the pg_trgm indexes serve."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from crm.customers import queries
from crm.extensions import db
from tests.factories import Org
from tests.factories import make_customer


def ids(actor, q: str) -> list[int]:
    f = queries.parse_filters(MultiDict({"q": q}))
    return sorted(c.id for c in queries.list_customers(actor, f, None, 500).items)


def test_search_arms(org: Org) -> None:
    a = make_customer(org.a_rep1, name="宁波港联物流", company="Ningbo Port 100% Logistics", mobile="13912399999")
    b = make_customer(org.a_rep1, name="王芳", company="Fang_Trading", mobile="13912400000")
    c = make_customer(org.a_rep1, name="Zhao", mobile="13999999999", chat_id="zhao_wx")
    assert ids(org.a_rep1, "港联") == [a.id]  # two characters: contains, not only the start
    assert ids(org.a_rep1, "王芳") == [b.id]
    assert ids(org.a_rep1, "port 100%") == [a.id]  # case-insensitive, % is a literal
    assert ids(org.a_rep1, "100%") == [a.id]
    assert ids(org.a_rep1, "g_t") == [b.id]  # _ too ("Fang_Trading"), not any character ("Fang Trading")
    assert ids(org.a_rep1, "1391239") == [a.id]  # a digit prefix ending in 9: the range carries over
    assert ids(org.a_rep1, "139124") == [b.id]
    assert ids(org.a_rep1, "1391") == [a.id, b.id]
    assert ids(org.a_rep1, "13999") == [c.id]  # all nines after the shared prefix
    assert ids(org.a_rep1, "9999") == []  # the mobile number is searched from its start only
    assert ids(org.a_rep1, "139 9999 9999") == [c.id]  # the whole number, written with spaces
    assert ids(org.a_rep1, "ZHAO_WX") == [c.id]
    assert ids(org.a_rep2, "港联") == []  # scope still applies


def test_postgresql_uses_the_trigram_indexes(org: Org) -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("pg_trgm indexes exist on PostgreSQL only")
    make_customer(org.a_rep1, name="宁波港联物流")
    stmt = queries.filtered(org.hq_admin, queries.parse_filters(MultiDict({"q": "港联物"})))
    sql = str(stmt.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True}))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: make the planner show its options
    plan = "\n".join(db.session.execute(text("EXPLAIN " + sql)).scalars())
    assert "ix_customer_name_trgm" in plan and "ix_customer_company_trgm" in plan, plan
