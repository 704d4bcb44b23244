"""Enquiry statistics services and queries: entry and correction with history, import with an error
report, the four rates by hand (previous window, midnight in Shanghai), scopes, screenshots, reminders."""

from __future__ import annotations

import csv
import io
from datetime import date
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.core import tabular
from crm.core.audit import OperationLog
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.enquiries import export
from crm.enquiries import jobs
from crm.enquiries import queries
from crm.enquiries import services
from crm.enquiries.models import EnquiryDaily
from crm.enquiries.models import EnquiryReminder
from crm.enquiries.models import EnquiryScreenshot
from crm.extensions import db
from crm.notify.models import Notification
from tests.enquiries.conftest import NOW
from tests.enquiries.conftest import person
from tests.enquiries.conftest import picture
from tests.enquiries.conftest import platform

WINDOW = queries.Window(date(2026, 3, 2), date(2026, 3, 3))


def _rates(actor, **filters):
    rates, now, before = queries.rates(actor, queries.Filters(window=WINDOW, **filters))
    return {r.key: r for r in rates}, now, before


def _log(row):
    return list(db.session.scalars(select(OperationLog).where(OperationLog.object_type == "enquiry_daily",
                                                              OperationLog.object_id == row.id)
                                   .order_by(OperationLog.id)))


# Entry and correction ------------------------------------------------------------------------------------------
def test_a_week_is_entered_and_a_correction_keeps_the_old_value(org, clock):
    counts = services.save_platform_week(org.store_a.id, {"2026-03-02": ("10", "4"), "2026-03-03": ("", ""),
                                                          "2026-03-04": ("7", "7")}, actor=org.a_manager)
    assert counts == {"created": 2, "updated": 0, "unchanged": 0}
    db.session.commit()  # a later request corrects it
    counts = services.save_platform_week(org.store_a.id, {"2026-03-02": ("12", "4"), "2026-03-04": ("7", "7")},
                                         actor=org.a_manager)
    assert counts == {"created": 0, "updated": 1, "unchanged": 1}
    row = db.session.scalar(select(EnquiryDaily).where(EnquiryDaily.day == date(2026, 3, 2)))
    assert (row.enquiries, row.new_enquiries, row.entered_by_id) == (12, 4, org.a_manager.id)
    created, updated = _log(row)
    assert created.action == "created" and updated.action == "updated"
    assert updated.changes["enquiries"] == {"type": "int", "old": 10, "new": 12}
    assert updated.actor_id is None or updated.actor_id == org.a_manager.id
    row_, entries = queries.history(EnquiryDaily, row.id, org.a_manager)
    assert [e["entry"].action for e in entries] == ["updated", "created"]


def test_the_grid_refuses_bad_figures_all_or_nothing(org, clock):
    with pytest.raises(ValidationFailed) as exc:
        services.save_platform_week(org.store_a.id, {"2026-03-02": ("5", "6"), "2026-03-03": ("x", "1"),
                                                     "2026-03-01": ("3", ""), "2026-03-05": ("1", "1")},
                                    actor=org.a_manager)
    assert set(exc.value.errors) == {"new_enquiries-2026-03-02", "enquiries-2026-03-03", "new_enquiries-2026-03-01",
                                     "enquiries-2026-03-05"}
    assert db.session.scalar(select(EnquiryDaily)) is None


def test_platform_figures_only_for_own_stores_and_with_the_permission(org, clock):
    with pytest.raises(ValidationFailed) as exc:
        services.save_platform_week(org.store_b.id, {"2026-03-02": ("1", "1")}, actor=org.a_manager)
    assert set(exc.value.errors) == {"store_id"}
    with pytest.raises(PermissionDenied):
        services.save_platform_week(org.store_a.id, {"2026-03-02": ("1", "1")}, actor=org.a_rep1)
    # HQ and the subsidiary enter for any of their stores.
    services.save_platform_week(org.store_c.id, {"2026-03-02": ("1", "1")}, actor=org.hq_manager)
    with pytest.raises(ValidationFailed):
        services.save_platform_week(org.store_c.id, {"2026-03-02": ("1", "1")}, actor=org.east_manager)


def test_a_salesperson_enters_only_own_figures(org, clock):
    rows = services.save_own_rows([{"day": "2026-03-03", "wechat_adds": 4, "contacts": 6}], actor=org.a_rep1)
    assert (rows[0].user_id, rows[0].store_id, rows[0].contacts) == (org.a_rep1.id, org.store_a.id, 6)
    with pytest.raises(ValidationFailed) as exc:
        services.save_own_rows([{"day": "2026-03-03", "wechat_adds": 1, "contacts": 1, "user_id": org.a_rep2.id}],
                               actor=org.a_rep1)
    assert set(exc.value.errors) == {"rows.0.user_id"}
    counts = services.save_own_week({"2026-03-03": ("5", "6"), "2026-03-02": ("", "")}, actor=org.a_rep1)
    assert counts == {"created": 0, "updated": 1, "unchanged": 0}
    with pytest.raises(PermissionDenied):
        services.save_own_week({"2026-03-03": ("5", "6")}, actor=org.a_manager)


# Import ----------------------------------------------------------------------------------------------------
def _csv(rows):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return io.BytesIO(out.getvalue().encode("utf-8"))


def test_import_saves_good_rows_and_reports_the_refused_ones(org, clock):
    platform(org.store_a, "2026-03-01", 5, 1)
    db.session.commit()
    a, b = org.store_a, org.store_b
    job = services.import_platform("figures.csv", _csv([
        ["店铺", "日期", "询盘数", "新询盘"],
        [a.code, "2026-03-01", "6", "2"],           # corrects 1 March
        [a.name, "2026/3/2", "10", "4"],            # new
        [b.code, "2026-03-02", "9", "1"],           # another store's: refused
        [a.code, "2026-03-03", "abc", "1"],         # not a number
        [a.code, "2026-03-03", "3", "4"],           # more new than all
        [a.code, "2026-03-02", "10", "4"],          # the same store and day again
        [a.code, "2026-03-09", "1", "1"],           # the future
    ]), actor=org.a_manager)
    assert (job.created, job.updated, job.unchanged) == (1, 1, 0)
    assert {(e["row"], e["field"]) for e in job.errors} == {(4, "Store"), (5, "Enquiries"), (6, "New enquiries"),
                                                            (7, "Date"), (8, "Date")}
    report = list(csv.reader(io.StringIO(services.error_report(job).decode("utf-8-sig"))))
    assert report[0] == ["Row", "Field", "Value", "Problem"] and len(report) == 6
    assert queries.get_import(job.id, org.a_manager) is job
    with pytest.raises(NotFound):
        queries.get_import(job.id, org.b_manager)
    corrected = db.session.scalar(select(EnquiryDaily).where(EnquiryDaily.day == date(2026, 3, 1)))
    assert [e.action for e in _log(corrected)][-2:] == ["updated", "enquiry_imported"]


def test_import_reads_xlsx_and_refuses_a_file_without_the_columns(org, clock):
    body = tabular.write_table(["Store", "Date", "Enquiries", "New enquiries"],
                               [[org.store_a.code, "2026-03-02", 11, 5]], "xlsx")
    job = services.import_platform("figures.xlsx", io.BytesIO(body), actor=org.a_manager)
    assert (job.created, job.errors) == (1, [])
    with pytest.raises(ValidationFailed) as exc:
        services.import_platform("figures.csv", _csv([["Store", "Date"], ["x", "2026-03-02"]]), actor=org.a_manager)
    assert set(exc.value.errors) == {"file"}
    with pytest.raises(ValidationFailed):
        services.import_platform("figures.txt", io.BytesIO(b"a,b"), actor=org.a_manager)


# Rates -----------------------------------------------------------------------------------------------------
def test_the_four_rates_by_hand_with_the_previous_window(figures):
    org = figures
    rates, now, before = _rates(org.a_manager)
    assert now == {"enquiries": 30, "new_enquiries": 10, "wechat_adds": 5, "contacts": 6,
                   "new_customers_with_order": 1, "paid_orders": 1}
    assert before == {"enquiries": 20, "new_enquiries": 5, "wechat_adds": 1, "contacts": 2,
                      "new_customers_with_order": 1, "paid_orders": 1}
    assert (rates["phone_conversion"].current.percent, rates["phone_conversion"].previous.percent) == ("60.0%", "40.0%")
    assert (rates["wechat_conversion"].current.percent, rates["wechat_conversion"].previous.percent) == ("50.0%", "20.0%")
    assert (rates["conversion"].current.percent, rates["conversion"].previous.percent) == ("10.0%", "20.0%")
    assert (rates["payment_conversion"].current.percent, rates["payment_conversion"].previous.percent) == ("3.3%", "5.0%")
    assert rates["phone_conversion"].change == "+20.0 pp"
    assert WINDOW.previous() == queries.Window(date(2026, 2, 28), date(2026, 3, 1))


def test_hq_sees_every_store_and_filters_narrow(figures):
    org = figures
    _rates_, now, _before = _rates(org.hq_manager)
    assert (now["enquiries"], now["new_enquiries"], now["paid_orders"]) == (130, 60, 2)
    _rates_, now, _before = _rates(org.hq_manager, store_ids=[org.store_b.id])
    assert (now["enquiries"], now["wechat_adds"], now["new_customers_with_order"]) == (100, 40, 1)
    _rates_, now, _before = _rates(org.a_manager, user_id=org.a_rep2.id)
    assert (now["enquiries"], now["wechat_adds"], now["contacts"], now["paid_orders"]) == (30, 2, 1, 0)
    _rates_, now, _before = _rates(org.a_manager, department_id=org.a_sales_sub.id)
    assert (now["wechat_adds"], now["new_customers_with_order"]) == (0, 0)
    # Another store's salesperson or department matches nothing for store A's manager.
    _rates_, now, _before = _rates(org.a_manager, user_id=org.b_rep.id)
    assert now == dict.fromkeys(now, 0)


def test_a_salesperson_sees_only_own_figures_and_division_by_zero_is_a_dash(figures):
    org = figures
    rates, now, _before = _rates(org.a_rep1)
    assert (now["enquiries"], now["wechat_adds"], now["contacts"]) == (0, 3, 5)
    assert {r.current.percent for r in rates.values()} == {"—"}
    filters = queries.Filters(window=WINDOW)
    assert queries.platform_rows(org.a_rep1, filters) == []
    assert {r["user_id"] for r in queries.people_rows(org.a_rep1, filters)} == {org.a_rep1.id}
    assert {r["user_id"] for r in queries.people_rows(org.a_sup, filters)} == {org.a_rep1.id, org.a_rep2.id}
    assert {r["store_id"] for r in queries.platform_rows(org.b_manager, filters)} == {org.store_b.id}
    assert {r["user_id"] for r in queries.people_rows(org.b_manager, filters)} == {org.b_rep.id}


def test_windows_and_the_trend(figures):
    today = date(2026, 3, 4)
    assert queries.window_of("yesterday", today=today)[1] == queries.Window(date(2026, 3, 3), date(2026, 3, 3))
    assert queries.window_of("this_month", today=today)[1] == queries.Window(date(2026, 3, 1), today)
    assert queries.window_of("custom", "2026-03-05", "2026-03-01", today=today)[1].days == 5
    assert queries.window_of("nonsense", today=today) == ("last7", queries.Window(date(2026, 2, 26), today))
    org = figures
    filters = queries.Filters(window=WINDOW)
    chart = queries.trend(queries.platform_rows(org.a_manager, filters), queries.people_rows(org.a_manager, filters),
                          WINDOW)
    assert chart["days"] == ["2026-03-02", "2026-03-03"]
    assert chart["totals"]["enquiries"] == [10, 20] and chart["totals"]["contacts"] == [5, 1]
    assert [p["name"] for p in chart["platforms"]] == ["Store A"]


def test_exports_go_through_the_safe_writer(figures):
    org = figures
    body, name = export.platform_file(org.a_manager, queries.Filters(window=WINDOW), "csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Date", "Store", "Platform", "Enquiries", "New enquiries"]
    assert [r[:5] for r in rows[1:]] == [["2026-03-03", "Store A", "Tmall", "20", "6"],
                                         ["2026-03-02", "Store A", "Tmall", "10", "4"]]
    assert name.startswith("enquiries-platform-20260302-20260303")
    body, _name = export.people_file(org.a_manager, queries.Filters(window=WINDOW), "xlsx")
    assert body.startswith(b"PK")


# Screenshots ----------------------------------------------------------------------------------------------
def test_screenshots_are_images_and_the_team_sees_them(org, clock, uploads):
    shots = services.add_screenshots("2026-03-03", [picture(), picture("two.png")], actor=org.a_rep1)
    assert len(shots) == 2 and all(s.content_type == "image/png" for s in shots)
    with pytest.raises(ValidationFailed) as exc:
        services.add_screenshots("2026-03-03", [picture("notes.txt", b"hello")], actor=org.a_rep1)
    assert set(exc.value.errors) == {"screenshots"}
    with pytest.raises(ValidationFailed):  # a .png that is not a picture
        services.add_screenshots("2026-03-03", [picture("fake.png", b"GIF89a not a png")], actor=org.a_rep1)
    assert queries.get_screenshot(shots[0].id, org.a_sup) is shots[0]
    with pytest.raises(NotFound):
        queries.get_screenshot(shots[0].id, org.a_rep2)
    with pytest.raises(NotFound):
        queries.get_screenshot(shots[0].id, org.b_manager)
    rows = queries.people_rows(org.a_sup, queries.Filters(window=WINDOW))
    assert [(r["user_id"], r["screenshots"], r["wechat_adds"]) for r in rows] == [(org.a_rep1.id, 2, None)]
    with pytest.raises(PermissionDenied):
        services.remove_screenshot(shots[0].id, actor=org.a_sup)
    services.remove_screenshot(shots[0].id, actor=org.a_rep1)
    assert db.session.scalar(select(EnquiryScreenshot).where(EnquiryScreenshot.id == shots[0].id)) is None


# Reminders -------------------------------------------------------------------------------------------------
def _reminded():
    return sorted(n.user_id for n in db.session.scalars(select(Notification).where(
        Notification.kind == "enquiry_reminder")))


def test_reminders_go_at_the_configured_hour_once_a_day(org, app, monkeypatch):
    with time_machine.travel(NOW - timedelta(minutes=1), tick=False) as traveller:  # 09:59 in Shanghai
        person(org.a_rep1, "2026-03-03", 1, 1)
        assert jobs.remind() == 0
        traveller.move_to(NOW)  # 10:00
        sellers = sorted(u.id for u in (org.a_rep2, org.a_rep3, org.b_rep, org.c_rep))
        assert jobs.remind() == 4
        assert _reminded() == sellers
        traveller.move_to(NOW + timedelta(hours=3))
        assert jobs.remind() == 0  # once per person and day
        assert db.session.scalar(select(EnquiryReminder).where(EnquiryReminder.user_id == org.a_rep2.id)).day == \
            date(2026, 3, 3)
        traveller.move_to(NOW + timedelta(days=1))  # Thursday 10:00: Wednesday's figures are missing for everyone
        assert jobs.remind() == 5
        monkeypatch.setitem(app.config, "ENQUIRY_REMINDER_AT", "11:30")
        traveller.move_to(NOW + timedelta(days=2, hours=1))  # Friday 11:00: before the configured time
        assert jobs.remind() == 0
        traveller.move_to(NOW + timedelta(days=2, hours=1, minutes=30))
        assert jobs.remind() == 5
