"""Reads of the enquiry statistics: the window and filters, the daily tables per platform and per
salesperson, the trend series, the four rates of DESIGN §10 with the previous window, exports, the API's
keyset lists, screenshots and a row's history. Every read goes through `visible()`: a store manager sees
their store, a supervisor their team's own figures, a salesperson only their own, HQ everything."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.audit import ids_in
from crm.core.audit import name_of
from crm.core.audit import readable
from crm.core.audit import timeline
from crm.core.clock import utcnow
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.customers.models import Customer
from crm.enquiries.models import EnquiryDaily
from crm.enquiries.models import EnquiryImport
from crm.enquiries.models import EnquirySalespersonDaily
from crm.enquiries.models import EnquiryScreenshot
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus

LOCAL = ZoneInfo("Asia/Shanghai")  # figures are days of the company's calendar
MAX_WINDOW_DAYS = 366
MAX_TABLE_ROWS = 5000  # rows on a page; exports have no cap
WINDOWS: dict[str, Any] = {
    "today": _l("Today"),
    "yesterday": _l("Yesterday"),
    "last7": _l("Last 7 days"),
    "last30": _l("Last 30 days"),
    "this_month": _l("This month"),
    "custom": _l("Custom"),
}


def local_today() -> date:
    return utcnow().astimezone(LOCAL).date()


def local_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local days first..last (Asia/Shanghai midnights)."""
    start = datetime.combine(first, time.min, tzinfo=LOCAL)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=LOCAL)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def visible_stores(actor: User) -> list[OrgUnit]:
    """The stores whose platform figures the actor may see (a store in their location scopes)."""
    stmt = select(OrgUnit).where(OrgUnit.kind == UnitKind.STORE, OrgUnit.active.is_(True)) \
        .order_by(OrgUnit.name, OrgUnit.id)
    return list(db.session.scalars(visible(stmt, actor, OrgUnit)))


# The window -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """Local days first..last (both included)."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Window:
        """The window of the same length just before this one."""
        return Window(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]


def _date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw or "").strip()[:10])
    except ValueError:
        return None


def window_of(key: str | None, first: Any = None, last: Any = None, *, today: date | None = None
              ) -> tuple[str, Window]:
    """(key, window) of a preset (today, yesterday, last7, last30, this_month) or a custom range; an
    unknown key or unreadable range falls back to the last 7 days; a range is at most a year long."""
    today = today or local_today()
    key = key if key in WINDOWS else ("custom" if first or last else "last7")
    if key == "today":
        return key, Window(today, today)
    if key == "yesterday":
        return key, Window(today - timedelta(days=1), today - timedelta(days=1))
    if key == "last30":
        return key, Window(today - timedelta(days=29), today)
    if key == "this_month":
        return key, Window(today.replace(day=1), today)
    if key == "custom":
        a, b = _date(first), _date(last)
        if a is not None or b is not None:
            a, b = a or b, b or a
            assert a is not None and b is not None
            a, b = min(a, b), max(a, b)
            if (b - a).days >= MAX_WINDOW_DAYS:
                a = b - timedelta(days=MAX_WINDOW_DAYS - 1)
            return key, Window(a, b)
    return "last7", Window(today - timedelta(days=6), today)


@dataclass
class Filters:
    window: Window
    store_ids: list[int] = field(default_factory=list)  # empty: every store in scope
    department_id: int | None = None
    user_id: int | None = None


# Filter choices (all within the actor's scope) --------------------------------------------------------------
def store_choices(actor: User) -> list[OrgUnit]:
    return visible_stores(actor)


def department_choices(actor: User) -> list[OrgUnit]:
    stmt = select(OrgUnit).where(OrgUnit.kind == UnitKind.DEPARTMENT, OrgUnit.active.is_(True)) \
        .order_by(OrgUnit.path, OrgUnit.id).limit(1000)
    return list(db.session.scalars(visible(stmt, actor, OrgUnit)))


def unit_choices(actor: User) -> tuple[list[OrgUnit], list[OrgUnit]]:
    """(store_choices, department_choices) read in one statement (the filter partial shows both)."""
    stmt = select(OrgUnit).where(OrgUnit.kind.in_([UnitKind.STORE, UnitKind.DEPARTMENT]), OrgUnit.active.is_(True))
    units = list(db.session.scalars(visible(stmt, actor, OrgUnit)))
    stores = sorted((u for u in units if u.kind == UnitKind.STORE), key=lambda u: (u.name, u.id))
    departments = sorted((u for u in units if u.kind == UnitKind.DEPARTMENT), key=lambda u: (u.path, u.id))
    return stores, departments[:1000]


def people_choices(actor: User) -> list[User]:
    stmt = select(User).where(User.active.is_(True), User.store_id.is_not(None)).order_by(User.name, User.id).limit(1000)
    return list(db.session.scalars(visible(stmt, actor, User)))


# Filters as clauses --------------------------------------------------------------------------------------
def _department(actor: User, department_id: int) -> OrgUnit | None:
    stmt = select(OrgUnit).where(OrgUnit.id == department_id, OrgUnit.kind == UnitKind.DEPARTMENT)
    return db.session.scalar(visible(stmt, actor, OrgUnit))


def _person(actor: User, user_id: int) -> User | None:
    return db.session.scalar(visible(select(User).where(User.id == user_id), actor, User))


def _people_clause(actor: User, column: Any, filters: Filters) -> ColumnElement[bool] | None:
    """The salesperson and department filters on a column holding a user id (None: no filter). A
    department or person outside the actor's scope matches nothing."""
    parts: list[ColumnElement[bool]] = []
    if filters.user_id:
        parts.append(column == filters.user_id if _person(actor, filters.user_id) is not None else false())
    if filters.department_id:
        dept = _department(actor, filters.department_id)
        if dept is None:
            parts.append(false())
        else:
            units = select(OrgUnit.id).where(OrgUnit.path.like(f"{dept.path}%"))
            parts.append(column.in_(select(User.id).where(User.org_unit_id.in_(units))))
    return and_(*parts) if parts else None


def _store_clause(actor: User, column: Any, filters: Filters) -> ColumnElement[bool] | None:
    """The store filter; a salesperson or department filter also narrows store figures to their store."""
    parts: list[ColumnElement[bool]] = []
    if filters.store_ids:
        parts.append(column.in_(filters.store_ids))
    if filters.user_id:
        person = _person(actor, filters.user_id)
        parts.append(column == person.store_id if person is not None and person.store_id else false())
    if filters.department_id:
        dept = _department(actor, filters.department_id)
        parts.append(column == dept.store_id if dept is not None and dept.store_id else false())
    return and_(*parts) if parts else None


def _where(stmt: Select[Any], *clauses: ColumnElement[bool] | None) -> Select[Any]:
    for clause in clauses:
        if clause is not None:
            stmt = stmt.where(clause)
    return stmt


def _platform_stmt(actor: User, filters: Filters, window: Window, *columns: Any) -> Select[Any]:
    stmt = select(*columns).where(EnquiryDaily.day >= window.first, EnquiryDaily.day <= window.last)
    return _where(visible(stmt, actor, EnquiryDaily), _store_clause(actor, EnquiryDaily.store_id, filters))


def _people_stmt(actor: User, filters: Filters, window: Window, model: Any, *columns: Any) -> Select[Any]:
    stmt = select(*columns).where(model.day >= window.first, model.day <= window.last)
    return _where(visible(stmt, actor, model), _store_clause_people(model, filters),
                  _people_clause(actor, model.user_id, filters))


def _store_clause_people(model: Any, filters: Filters) -> ColumnElement[bool] | None:
    return model.store_id.in_(filters.store_ids) if filters.store_ids else None


# Daily tables -----------------------------------------------------------------------------------------------
def platform_rows(actor: User, filters: Filters, *, limit: int | None = MAX_TABLE_ROWS) -> list[dict[str, Any]]:
    """Per day and store, newest day first: enquiries, new enquiries, who entered them, the row id."""
    entered = User.__table__.alias("entered")
    stmt = _platform_stmt(actor, filters, filters.window, EnquiryDaily, OrgUnit.name, OrgUnit.platform,
                          entered.c.name) \
        .join(OrgUnit, OrgUnit.id == EnquiryDaily.store_id) \
        .outerjoin(entered, entered.c.id == EnquiryDaily.entered_by_id) \
        .order_by(EnquiryDaily.day.desc(), OrgUnit.name, EnquiryDaily.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [{"id": row.id, "day": row.day, "store_id": row.store_id, "store": store, "platform": platform,
             "enquiries": row.enquiries, "new_enquiries": row.new_enquiries, "entered_by": who,
             "updated_at": row.updated_at} for row, store, platform, who in db.session.execute(stmt)]


def people_rows(actor: User, filters: Filters, *, limit: int | None = MAX_TABLE_ROWS) -> list[dict[str, Any]]:
    """Per day, salesperson and store, newest day first: WeChat adds, contacts and the number of
    screenshots (a day with screenshots but no figures shows them with blank figures)."""
    stmt = _people_stmt(actor, filters, filters.window, EnquirySalespersonDaily, EnquirySalespersonDaily) \
        .order_by(EnquirySalespersonDaily.day.desc(), EnquirySalespersonDaily.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    figures = list(db.session.scalars(stmt))
    shots_stmt = _people_stmt(actor, filters, filters.window, EnquiryScreenshot, EnquiryScreenshot.user_id,
                              EnquiryScreenshot.store_id, EnquiryScreenshot.day, func.count(EnquiryScreenshot.id)) \
        .group_by(EnquiryScreenshot.user_id, EnquiryScreenshot.store_id, EnquiryScreenshot.day)
    shots = {(u, s, d): n for u, s, d, n in db.session.execute(shots_stmt)}
    rows: dict[tuple[int, int, date], dict[str, Any]] = {}
    for f in figures:
        rows[(f.user_id, f.store_id, f.day)] = {"id": f.id, "day": f.day, "user_id": f.user_id, "store_id": f.store_id,
                                                "wechat_adds": f.wechat_adds, "contacts": f.contacts,
                                                "updated_at": f.updated_at}
    for (u, s, d) in shots:
        rows.setdefault((u, s, d), {"id": None, "day": d, "user_id": u, "store_id": s, "wechat_adds": None,
                                    "contacts": None, "updated_at": None})
    names = user_names({k[0] for k in rows}), unit_names({k[1] for k in rows})
    out = []
    for key, row in rows.items():
        row["screenshots"] = shots.get(key, 0)
        row["salesperson"] = names[0].get(key[0], f"#{key[0]}")
        row["store"] = names[1].get(key[1], f"#{key[1]}")
        out.append(row)
    out.sort(key=lambda r: (-r["day"].toordinal(), r["salesperson"], r["store_id"]))
    return out[:limit] if limit is not None else out


def user_names(ids: set[int]) -> dict[int, str]:
    return {i: n for i, n in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))} if ids else {}


def unit_names(ids: set[int]) -> dict[int, str]:
    return {i: n for i, n in db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids)))} \
        if ids else {}


# Trend ------------------------------------------------------------------------------------------------------
def trend(platform: list[dict[str, Any]], people: list[dict[str, Any]], window: Window) -> dict[str, Any]:
    """The chart's series, from the daily tables: per day the totals, and per platform (store) and per
    salesperson their own line."""
    days = window.dates()
    index = {d: i for i, d in enumerate(days)}

    def zeros() -> list[int]:
        return [0] * len(days)

    totals = {"enquiries": zeros(), "new_enquiries": zeros(), "wechat_adds": zeros(), "contacts": zeros()}
    stores: dict[str, dict[str, list[int]]] = {}
    persons: dict[str, dict[str, list[int]]] = {}
    for r in platform:
        i = index.get(r["day"])
        if i is None:
            continue
        s = stores.setdefault(r["store"], {"enquiries": zeros(), "new_enquiries": zeros()})
        for key in ("enquiries", "new_enquiries"):
            s[key][i] += r[key]
            totals[key][i] += r[key]
    for r in people:
        i = index.get(r["day"])
        if i is None:
            continue
        p = persons.setdefault(r["salesperson"], {"wechat_adds": zeros(), "contacts": zeros()})
        for key in ("wechat_adds", "contacts"):
            p[key][i] += r[key] or 0
            totals[key][i] += r[key] or 0
    return {"days": [d.isoformat() for d in days], "totals": totals,
            "platforms": [{"name": k, **v} for k, v in sorted(stores.items())],
            "people": [{"name": k, **v} for k, v in sorted(persons.items())]}


# Rates ------------------------------------------------------------------------------------------------------
RATES: list[tuple[str, Any, Any]] = [
    ("phone_conversion", _l("Phone private-domain conversion"),
     _l("Contacts ÷ new enquiries of the window.")),
    ("wechat_conversion", _l("WeChat private-domain conversion"),
     _l("WeChat adds ÷ new enquiries of the window.")),
    ("conversion", _l("Conversion"),
     _l("New customers with an order ÷ new enquiries: customers created in the window (in the chosen stores, "
        "of the chosen salespeople) that have a signed order, not cancelled, signed by the end of the window.")),
    ("payment_conversion", _l("Enquiry payment conversion"),
     _l("Paid orders ÷ enquiries: orders paid in the window ÷ all enquiries of the window.")),
]


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> Decimal | None:
        """numerator ÷ denominator; None when the denominator is 0 (shown as "—")."""
        if not self.denominator:
            return None
        return Decimal(self.numerator) / Decimal(self.denominator)

    @property
    def percent(self) -> str:
        value = self.value
        return "—" if value is None else f"{value * 100:.1f}%"


@dataclass(frozen=True)
class Rate:
    key: str
    label: Any
    definition: Any
    current: Ratio
    previous: Ratio

    @property
    def change(self) -> str:
        """The change in percentage points against the previous window ("—" when either is undefined)."""
        a, b = self.current.value, self.previous.value
        if a is None or b is None:
            return "—"
        return f"{(a - b) * 100:+.1f} pp"


def totals(actor: User, filters: Filters, window: Window) -> dict[str, int]:
    """The window's sums behind the rates."""
    enquiries, new = db.session.execute(_platform_stmt(
        actor, filters, window, func.coalesce(func.sum(EnquiryDaily.enquiries), 0),
        func.coalesce(func.sum(EnquiryDaily.new_enquiries), 0))).one()
    wechat, contacts = db.session.execute(_people_stmt(
        actor, filters, window, EnquirySalespersonDaily,
        func.coalesce(func.sum(EnquirySalespersonDaily.wechat_adds), 0),
        func.coalesce(func.sum(EnquirySalespersonDaily.contacts), 0))).one()
    start, end = local_bounds(window.first, window.last)
    signed = exists().where(Order.customer_id == Customer.id, Order.signed_at.is_not(None), Order.signed_at < end,
                            Order.status != OrderStatus.CANCELLED)
    customers = select(func.count(Customer.id)).where(Customer.created_at >= start, Customer.created_at < end, signed)
    customers = _where(visible(customers, actor, Customer),
                       Customer.store_id.in_(filters.store_ids) if filters.store_ids else None,
                       _people_clause(actor, Customer.owner_id, filters))
    paid = select(func.count(Order.id)).where(Order.paid_at >= start, Order.paid_at < end)
    paid = _where(visible(paid, actor, Order), Order.store_id.in_(filters.store_ids) if filters.store_ids else None,
                  _people_clause(actor, Order.owner_id, filters))
    return {"enquiries": int(enquiries), "new_enquiries": int(new), "wechat_adds": int(wechat),
            "contacts": int(contacts), "new_customers_with_order": int(db.session.scalar(customers) or 0),
            "paid_orders": int(db.session.scalar(paid) or 0)}


def _ratios(t: dict[str, int]) -> dict[str, Ratio]:
    return {"phone_conversion": Ratio(t["contacts"], t["new_enquiries"]),
            "wechat_conversion": Ratio(t["wechat_adds"], t["new_enquiries"]),
            "conversion": Ratio(t["new_customers_with_order"], t["new_enquiries"]),
            "payment_conversion": Ratio(t["paid_orders"], t["enquiries"])}


def rates(actor: User, filters: Filters) -> tuple[list[Rate], dict[str, int], dict[str, int]]:
    """The four rates of the window and of the previous window of the same length, and both windows' sums."""
    now, before = totals(actor, filters, filters.window), totals(actor, filters, filters.window.previous())
    a, b = _ratios(now), _ratios(before)
    return [Rate(key, label, definition, a[key], b[key]) for key, label, definition in RATES], now, before


# The API's keyset lists ---------------------------------------------------------------------------------------
def platform_page(actor: User, filters: Filters, *, cursor: str | None = None, limit: int = 50) -> Page[Any]:
    stmt = _platform_stmt(actor, filters, filters.window, EnquiryDaily)
    return keyset_page(db.session, stmt, [SortKey(EnquiryDaily.day, True), SortKey(EnquiryDaily.id, True)],
                       cursor=cursor, limit=limit)


def people_page(actor: User, filters: Filters, *, cursor: str | None = None, limit: int = 50) -> Page[Any]:
    stmt = _people_stmt(actor, filters, filters.window, EnquirySalespersonDaily, EnquirySalespersonDaily)
    page = keyset_page(db.session, stmt, [SortKey(EnquirySalespersonDaily.day, True),
                                          SortKey(EnquirySalespersonDaily.id, True)], cursor=cursor, limit=limit)
    keys = {(r.user_id, r.store_id, r.day) for r in page.items}
    counts: dict[tuple[int, int, date], int] = {}
    if keys:
        shots = visible(select(EnquiryScreenshot.user_id, EnquiryScreenshot.store_id, EnquiryScreenshot.day,
                               func.count(EnquiryScreenshot.id))
                        .where(EnquiryScreenshot.user_id.in_({k[0] for k in keys}),
                               EnquiryScreenshot.day.in_({k[2] for k in keys}))
                        .group_by(EnquiryScreenshot.user_id, EnquiryScreenshot.store_id, EnquiryScreenshot.day),
                        actor, EnquiryScreenshot)
        counts = {(u, s, d): n for u, s, d, n in db.session.execute(shots)}
    page.extra = {"screenshots": counts}
    return page


# The parsing of the page's and the API's filter arguments ---------------------------------------------------
def _ints(raw: Any) -> list[int]:
    values = raw if isinstance(raw, list | tuple) else [raw]
    out = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if 0 < number < 2**31:
            out.append(number)
    return out


def filters_of(args: Any, actor: User) -> tuple[str, Filters]:
    """(window key, Filters) from request arguments (`window`, `date_from`, `date_to`, `store_id` (several),
    `department_id`, `user_id`). Stores outside the actor's scope are dropped."""
    getlist = getattr(args, "getlist", None)
    key, window = window_of(args.get("window"), args.get("date_from"), args.get("date_to"))
    raw_stores = getlist("store_id") if getlist else args.get("store_id")
    wanted = _ints(raw_stores) if raw_stores not in (None, "") else []
    allowed = {s.id for s in store_choices(actor)}
    stores = [s for s in wanted if s in allowed]
    if wanted and not stores:
        stores = [0]  # asked for stores none of which are in scope: nothing, rather than everything
    department = (_ints(args.get("department_id")) or [None])[0]
    user = (_ints(args.get("user_id")) or [None])[0]
    return key, Filters(window=window, store_ids=stores, department_id=department, user_id=user)


# Screenshots, imports and history ----------------------------------------------------------------------------
def screenshots(actor: User, user_id: int | None, day: date | None, *, limit: int = 200) -> list[EnquiryScreenshot]:
    stmt = select(EnquiryScreenshot).order_by(EnquiryScreenshot.day.desc(), EnquiryScreenshot.id)
    if user_id:
        stmt = stmt.where(EnquiryScreenshot.user_id == user_id)
    if day is not None:
        stmt = stmt.where(EnquiryScreenshot.day == day)
    return list(db.session.scalars(visible(stmt.limit(limit), actor, EnquiryScreenshot)))


def get_screenshot(screenshot_id: Any, actor: User) -> EnquiryScreenshot:
    return get_visible(EnquiryScreenshot, screenshot_id, actor)


def get_import(import_id: Any, actor: User) -> EnquiryImport:
    return get_visible(EnquiryImport, import_id, actor)


def own_week(actor: User, days: list[date]) -> tuple[dict[date, EnquirySalespersonDaily], dict[date, int]]:
    """The actor's own figures and screenshot counts of these days (their current store)."""
    rows = db.session.scalars(select(EnquirySalespersonDaily).where(
        EnquirySalespersonDaily.user_id == actor.id, EnquirySalespersonDaily.store_id == actor.store_id,
        EnquirySalespersonDaily.day.in_(days)))
    counts = db.session.execute(select(EnquiryScreenshot.day, func.count(EnquiryScreenshot.id)).where(
        EnquiryScreenshot.user_id == actor.id, EnquiryScreenshot.day.in_(days)).group_by(EnquiryScreenshot.day))
    return {r.day: r for r in rows}, {d: n for d, n in counts}


def store_week(actor: User, store_id: int, days: list[date]) -> dict[date, EnquiryDaily]:
    stmt = select(EnquiryDaily).where(EnquiryDaily.store_id == store_id, EnquiryDaily.day.in_(days))
    return {r.day: r for r in db.session.scalars(visible(stmt, actor, EnquiryDaily))}


HISTORY_FIELDS = {"enquiries": _l("Enquiries"), "new_enquiries": _l("New enquiries"), "wechat_adds": _l("WeChat adds"),
                  "contacts": _l("Contacts"), "entered_by_id": _l("Entered by"), "store_id": _l("Store"),
                  "user_id": _l("Salesperson"), "day": _l("Date")}


def history(model: type, row_id: Any, actor: User) -> tuple[Any, list[dict[str, Any]]]:
    """A figures row (404 outside the actor's scope) and its operation log, newest first, ids shown as names."""
    row = get_visible(model, row_id, actor)
    entries = timeline(db.session, model.__tablename__, row.id)  # type: ignore[attr-defined]
    users = user_names(ids_in(entries, {"entered_by_id", "user_id"}))
    stores = unit_names(ids_in(entries, {"store_id"}))
    return row, readable(entries, {"entered_by_id": name_of(users), "user_id": name_of(users),
                                   "store_id": name_of(stores)})
