"""Quotes: lines and rates in Decimal, the discount audit decided by the diagram, rejection and revision,
expiry, price history that never crosses stores."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.sales.orders import prices
from crm.sales.quotes import queries as quote_queries
from crm.sales.quotes import services as quote_services
from crm.sales.quotes.models import QuoteStatus
from crm.workflow import runtime
from tests.approvals.conftest import decide
from tests.approvals.conftest import open_tasks
from tests.sales.conftest import line
from tests.sales.conftest import quote
from tests.sales.conftest import sold
from tests.sales.conftest import submitted

pytestmark = pytest.mark.usefixtures("quote_process")


def instance_of(q):
    return runtime.instances_of("quote", q.id)[-1]


def test_lines_copy_the_list_price_and_compute_rates_and_totals_in_decimal(org, products, customers):
    q = quote(org.a_rep1, customers["a"], line(products["p100"], "90", 3), line(products["p200"], "199.99", 2))
    first, second = q.lines
    assert first.list_price == Decimal("100.00") and isinstance(first.unit_price, Decimal)
    assert first.amount == Decimal("270.00") and second.amount == Decimal("399.98")
    assert q.total == Decimal("669.98") and q.list_total == Decimal("700.00")
    assert first.discount_rate == Decimal("0.9") and second.discount_rate == Decimal("0.99995")
    assert q.discount_rate == Decimal("0.957114")  # 669.98 / 700 rounded down
    assert first.margin == Decimal("0.3333") and second.margin is None  # no cost price on p200
    assert q.store_id == customers["a"].store_id and q.status == QuoteStatus.DRAFT
    assert q.number.startswith("Q") and q.version == 1


def test_exactly_90_percent_is_approved_at_once(org, products, customers):
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "90.00"))
    assert q.status == QuoteStatus.APPROVED
    assert not open_tasks(instance_of(q))
    assert all(ln.priced_at is not None for ln in q.lines)


def test_89_99_percent_goes_to_the_discount_audit(org, products, customers):
    q = submitted(org.a_rep1, customers["a"], line(products["p999"], "8999.00"))  # 89.99 %
    assert q.status == QuoteStatus.PENDING_APPROVAL
    assert set(open_tasks(instance_of(q))) == {org.a_sup.id}
    decide(instance_of(q), org.a_sup, approved=True)
    db.session.refresh(q)
    assert q.status == QuoteStatus.APPROVED


def test_a_rate_a_hair_under_90_percent_is_not_rounded_up(org, products, customers):
    q = submitted(org.a_rep1, customers["a"], line(products["p999"], "8999.99"))  # 89.9999 %
    assert q.status == QuoteStatus.PENDING_APPROVAL


def test_one_low_line_among_good_ones_needs_the_audit(org, products, customers):
    # overall 95.5 % but one line at 85 %: per line counts
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "85.00"), line(products["p999"], "9600.00"))
    assert q.discount_rate > Decimal("0.9") and q.min_line_rate == Decimal("0.85")
    assert q.status == QuoteStatus.PENDING_APPROVAL


def test_the_overall_rate_counts_even_when_every_line_is_at_90(org, products, customers):
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "90.00", 2), line(products["p200"], "180.00"))
    assert q.status == QuoteStatus.APPROVED
    data = quote_services.process_data(q)
    assert data["min_rate"] == 0.9 and data["overall_rate"] == 0.9


def test_rejection_with_a_comment_revision_as_a_new_version_and_resubmission(org, products, customers):
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "80.00", 10))
    decide(instance_of(q), org.a_sup, approved=False, comment="最多九折 — at most 10 % off")
    db.session.refresh(q)
    assert q.status == QuoteStatus.REJECTED and q.decision_comment == "最多九折 — at most 10 % off"
    assert all(ln.priced_at is None for ln in q.lines)  # a rejected price is no transaction price

    with pytest.raises(InvalidTransition):
        quote_services.submit_quote(q.id, actor=org.a_rep1)
    v2 = quote_services.revise_quote(q.id, actor=org.a_rep1)
    db.session.commit()
    assert (v2.number, v2.version, v2.previous_id, v2.status) == (q.number, 2, q.id, QuoteStatus.DRAFT)
    assert [(ln.product_id, ln.quantity, ln.unit_price) for ln in v2.lines] == [(products["p100"].id, 10, Decimal("80.00"))]
    with pytest.raises(Exception):  # noqa: B017 — the Conflict of a second revision
        quote_services.revise_quote(q.id, actor=org.a_rep1)
    db.session.rollback()

    quote_services.update_quote(v2.id, {"lines": [line(products["p100"], "90.00", 10)],
                                        "valid_until": v2.valid_until.isoformat()}, actor=org.a_rep1)
    quote_services.submit_quote(v2.id, actor=org.a_rep1)
    db.session.commit()
    db.session.refresh(v2)
    db.session.refresh(q)
    assert v2.status == QuoteStatus.APPROVED and q.status == QuoteStatus.REJECTED
    assert [x.version for x in quote_queries.versions(v2)] == [1, 2]


def test_expiry_by_validity_date_with_the_time_machine(org, products, customers):
    approved = submitted(org.a_rep1, customers["a"], line(products["p100"], "95.00"))
    draft = quote(org.a_rep1, customers["a"], line(products["p100"], "95.00"),
                  valid_until=(utcnow().date() + timedelta(days=3)).isoformat())
    pending = submitted(org.a_rep1, customers["a"], line(products["p100"], "50.00"))
    assert quote_services.expire_quotes() == 0
    with time_machine.travel(utcnow() + timedelta(days=4)):
        assert quote_services.expire_quotes() == 1
        db.session.commit()
        assert draft.status == QuoteStatus.EXPIRED and approved.status == QuoteStatus.APPROVED
    with time_machine.travel(utcnow() + timedelta(days=31)):
        assert quote_services.expire_quotes() == 1
        db.session.commit()
        db.session.refresh(approved)
        db.session.refresh(pending)
        assert approved.status == QuoteStatus.EXPIRED
        assert pending.status == QuoteStatus.PENDING_APPROVAL  # its approval is still running
        with pytest.raises(InvalidTransition):
            quote_services.convert_quote(approved.id, actor=org.a_rep1)
        v2 = quote_services.revise_quote(approved.id, actor=org.a_rep1)
        assert v2.valid_until >= utcnow().date() + timedelta(days=30)


def test_price_history_shows_the_customers_and_the_stores_signed_prices_never_another_stores(org, products, customers):
    from crm.sales.orders import services as order_services

    p = products["p100"]
    sold(org.a_rep1, customers["a"], line(p, "95.00"))
    sold(org.a_rep1, customers["a2"], line(p, "92.00"))
    submitted(org.a_rep1, customers["a"], line(p, "97.00"))  # approved, never ordered: an offer, no transaction
    cancelled = sold(org.a_rep1, customers["a"], line(p, "93.00"))
    order_services.cancel_order(cancelled.id, {"reason": "changed plans"}, actor=org.a_rep1)
    submitted(org.b_rep, customers["b"], line(p, "70.00"))  # store B, at 70 %: needs an audit
    sold(org.b_rep, customers["b"], line(p, "91.00"))
    rejected = submitted(org.a_rep1, customers["a"], line(p, "50.00"))
    decide(instance_of(rejected), org.a_sup, approved=False)

    current = quote(org.a_rep1, customers["a"], line(p, "94.00"))
    history = prices.price_history(current)
    assert [h.unit_price for h in history["customer"][p.id]] == [Decimal("95.00")]
    assert [h.unit_price for h in history["store"][p.id]] == [Decimal("92.00"), Decimal("95.00")]
    every = [h.unit_price for kind in history.values() for rows in kind.values() for h in rows]
    assert not {Decimal("91.00"), Decimal("70.00"), Decimal("50.00"), Decimal("97.00"), Decimal("93.00")} & set(every)
    assert history["customer"][p.id][0].order_number.startswith("SO")

    b_current = quote(org.b_rep, customers["b"], line(p, "99.00"))
    assert [h.unit_price for h in prices.price_history(b_current)["store"][p.id]] == [Decimal("91.00")]


def test_the_history_keeps_the_last_n_with_dates(org, products, customers):
    p = products["p100"]
    start = utcnow()
    for i in range(7):
        with time_machine.travel(start + timedelta(days=i)):
            sold(org.a_rep1, customers["a"], line(p, f"9{i}.00"))
    current = quote(org.a_rep1, customers["a"], line(p, "99.00"))
    rows = prices.price_history(current, n=5)["store"][p.id]
    assert [r.unit_price for r in rows] == [Decimal(f"9{i}.00") for i in (6, 5, 4, 3, 2)]
    assert rows[0].at.date() == (start + timedelta(days=6)).date()


def test_cross_store_customers_are_refused_and_every_field_error_comes_at_once(org, products, customers):
    with pytest.raises(ValidationFailed) as err:
        quote_services.create_quote({"customer_id": customers["b"].id, "valid_until": "2020-01-01",
                                     "lines": [line(products["off"], "1.00"), {"product_id": "x", "quantity": "0",
                                                                                "unit_price": "1.005"},
                                               line(products["p100"], "-1")]}, actor=org.a_rep1)
    errors = err.value.errors
    assert set(errors) == {"customer_id", "valid_until", "lines.0.product_id", "lines.1.product_id",
                           "lines.1.quantity", "lines.1.unit_price", "lines.2.unit_price"}
    with pytest.raises(ValidationFailed) as err:
        quote_services.create_quote({"customer_id": customers["a"].id, "lines": []}, actor=org.a_rep1)
    assert "lines" in err.value.errors


def test_another_store_cannot_read_or_submit_the_quote(org, products, customers):
    q = quote(org.a_rep1, customers["a"], line(products["p100"], "95.00"))
    for user in (org.b_rep, org.b_manager, org.a_rep2):
        with pytest.raises(NotFound):
            quote_services.submit_quote(q.id, actor=user)
    assert quote_services.get_quote(q.id, org.a_manager).id == q.id


def test_the_pdf_renders_chinese_product_names_as_extractable_text(org, products, customers, app):
    import io

    from pypdf import PdfReader

    from crm.sales.quotes.pdf import render_quote

    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "90.00", 12), line(products["p200"], "190.00"))
    with app.test_request_context():
        data = render_quote(q)
    assert data.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    for expected in ("九脚塑料托盘 1210", "川字托盘 1311", "宁波港物流", q.number, "Store A", "¥1,270.00",
                     q.valid_until.isoformat()):
        assert expected in text, (expected, text)


def test_the_pdf_header_is_in_the_readers_language(org, products, customers, app):
    """Chinese labels with the full-width colon (the tour read "Date:" in a Chinese PDF)."""
    import io

    from flask_babel import force_locale
    from pypdf import PdfReader

    from crm.sales.quotes.pdf import render_quote

    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "90.00", 12))
    with app.test_request_context(), force_locale("zh"):
        data = render_quote(q)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert f"日期：{q.created_at:%Y-%m-%d}" in text and "客户：宁波港物流" in text, text
    assert "Date" not in text and "Customer" not in text
