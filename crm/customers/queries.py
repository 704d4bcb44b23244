"""Reads: the customer list (filters on every field, sorts, keyset pages, capped counts), the "to follow up"
list. Every read goes through `crm.auth.scopes.visible`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.auth.scopes import visible
from crm.core.clock import LOCAL_ZONE
from crm.core.clock import local_day_end
from crm.core.clock import local_day_start
from crm.core.clock import utcnow
from crm.core.db import where_equal
from crm.core.errors import ValidationFailed
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.core.validation import normalise_mobile
from crm.customers.models import Customer
from crm.customers.models import CustomerLevel
from crm.customers.models import FollowUp
from crm.customers.models import Intention
from crm.customers.services import normalise_chat_id
from crm.extensions import db
from crm.org.models import Platform
from crm.org.models import User

COUNT_CAP = 10_000

SORTS: dict[str, Any] = {
    "created": Customer.created_at,
    "activity": Customer.last_activity_at,
    "name": Customer.name,
    "updated": Customer.updated_at,
}
SORT_LABELS = {"created": _l("Created"), "activity": _l("Last activity"), "name": _l("Name"),
               "updated": _l("Last changed")}

# Column key -> label; the list shows the chosen ones (a saved view remembers them).
COLUMNS: dict[str, Any] = {
    "company": _l("Company"), "mobile": _l("Mobile number"), "chat_id": _l("WeChat ID"), "email": _l("E-mail"),
    "owner": _l("Owner"), "level": _l("Level"), "intention": _l("Purchase intention"), "industry": _l("Industry"),
    "region": _l("Province / city"), "source": _l("Source"), "tags": _l("Tags"),
    "last_follow_up_at": _l("Last follow-up"), "next_follow_up_at": _l("Next follow-up"),
    "created_at": _l("Created"), "store": _l("Store"),
}
DEFAULT_COLUMNS = ["company", "mobile", "owner", "level", "last_follow_up_at", "next_follow_up_at"]

# Columns other contexts add to the list (customers imports none of them; they register in
# `crm._connect_contexts`): key -> function(page rows) returning {customer id: cell text}, called once per
# page and only when the column is chosen, so it must answer for the whole page in a query or two.
ColumnValues = Callable[[list[Customer]], dict[int, str]]
EXTRA_COLUMNS: dict[str, ColumnValues] = {}


def register_list_column(key: str, label: Any, values: ColumnValues) -> None:
    COLUMNS[key] = label
    EXTRA_COLUMNS[key] = values


def unregister_list_column(key: str) -> None:
    COLUMNS.pop(key, None)
    EXTRA_COLUMNS.pop(key, None)


def extra_column_values(columns: list[str], customers: list[Customer]) -> dict[str, dict[int, str]]:
    """The registered columns among those chosen, for the page's rows."""
    return {key: EXTRA_COLUMNS[key](customers) if customers else {} for key in columns if key in EXTRA_COLUMNS}


@dataclass
class CustomerFilters:
    q: str = ""
    owner: str = ""  # "" all | "me" | "pool" | a user id
    store_id: int | None = None
    level: list[str] = field(default_factory=list)
    intention: list[str] = field(default_factory=list)
    source_platform: str = ""
    industry: str = ""
    province: str = ""
    city: str = ""
    tag: str = ""
    locked: str = ""  # "" | "yes" | "no"
    won: str = ""
    created_from: date | None = None
    created_to: date | None = None
    follow_from: date | None = None
    follow_to: date | None = None
    no_follow_days: int | None = None
    team: str = ""  # "" | "member" (customers I'm a team member of)
    sort: str = "created"
    desc: bool = True
    ids: list[int] = field(default_factory=list)

    @property
    def is_filtered(self) -> bool:
        return any([self.q, self.owner, self.store_id, self.level, self.intention, self.source_platform,
                    self.industry, self.province, self.city, self.tag, self.locked, self.won, self.created_from,
                    self.created_to, self.follow_from, self.follow_to, self.no_follow_days, self.team])


def _date(raw: Any, field_name: str, errors: dict[str, str]) -> date | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field_name] = str(_l("Enter a date such as 2026-11-30."))
        return None


def parse_filters(args: Any) -> CustomerFilters:
    """Filters from query arguments (a MultiDict or a dict); invalid values answer a field error."""
    errors: dict[str, str] = {}

    def get(key: str) -> str:
        return str(args.get(key) or "").strip()[:100]

    def getlist(key: str) -> list[str]:
        if hasattr(args, "getlist"):
            values = args.getlist(key)
        else:
            raw = args.get(key) or []
            values = raw if isinstance(raw, list) else [raw]
        return [str(v) for v in values if str(v).strip()]

    f = CustomerFilters(q=get("q"), owner=get("owner"), source_platform=get("source_platform"),
                        industry=get("industry"), province=get("province"), city=get("city"), tag=get("tag"),
                        locked=get("locked"), won=get("won"), team=get("team"))
    if f.owner not in ("", "me", "pool") and not (f.owner.isdigit() and 0 < int(f.owner) < 2**31):
        errors["owner"] = str(_l("Choose an owner from the list."))
    store = get("store_id")
    if store:
        if store.isdigit() and 0 < int(store) < 2**31:
            f.store_id = int(store)
        else:
            errors["store_id"] = str(_l("Choose a store from the list."))
    f.level = [v for v in getlist("level") if v in {m.value for m in CustomerLevel}]
    f.intention = [v for v in getlist("intention") if v in {m.value for m in Intention}]
    if f.source_platform and f.source_platform not in {p.value for p in Platform}:
        errors["source_platform"] = str(_l("Choose a value from the list."))
    for key in ("locked", "won"):
        if getattr(f, key) not in ("", "yes", "no"):
            errors[key] = str(_l("Choose a value from the list."))
    f.created_from = _date(args.get("created_from"), "created_from", errors)
    f.created_to = _date(args.get("created_to"), "created_to", errors)
    f.follow_from = _date(args.get("follow_from"), "follow_from", errors)
    f.follow_to = _date(args.get("follow_to"), "follow_to", errors)
    days = get("no_follow_days")
    if days:
        if days.isdigit() and 0 < int(days) <= 3650:
            f.no_follow_days = int(days)
        else:
            errors["no_follow_days"] = str(_l("Enter a number of days from 1 to 3650."))
    sort = get("sort") or "created"
    if sort not in SORTS:
        errors["sort"] = str(_l("Choose a value from the list."))
    else:
        f.sort = sort
    f.desc = get("dir") != "asc"
    if errors:
        raise ValidationFailed(errors)
    return f


def _search(q: str) -> ColumnElement[bool]:
    """The search box: name or company contains the text, the mobile number is it or starts with its digits
    (4+), or the WeChat ID is it. Every arm can use an index, so PostgreSQL combines them (BitmapOr) instead
    of reading every visible row: `icontains` is `ILIKE '%q%'` there, which the pg_trgm GIN indexes on name
    and company serve (3+ characters); a digit prefix is a range on the (store, mobile) index, because
    `LIKE 'x%'` uses a B-tree only under the C collation."""
    conds = [Customer.name.icontains(q, autoescape=True), Customer.company.icontains(q, autoescape=True)]
    mobile = normalise_mobile(q)
    if re.fullmatch(r"[0-9]{4,}", mobile):
        if len(mobile) == 11:
            conds.append(Customer.mobile_norm == mobile)
        else:
            upper = str(int(mobile) + 1).zfill(len(mobile))  # digit strings of one length sort as numbers
            conds.append(and_(Customer.mobile_norm >= mobile, Customer.mobile_norm < upper)
                         if len(upper) == len(mobile) else Customer.mobile_norm >= mobile)
    conds.append(Customer.chat_id_norm == normalise_chat_id(q))
    return or_(*conds)


def filtered(actor: User, f: CustomerFilters) -> Select[Any]:
    stmt = visible(select(Customer), actor, Customer)
    if f.ids:
        stmt = stmt.where(Customer.id.in_(f.ids))
    if f.q:
        stmt = stmt.where(_search(f.q))
    if f.owner == "me":
        stmt = stmt.where(Customer.owner_id == actor.id)
    elif f.owner == "pool":
        stmt = stmt.where(Customer.owner_id.is_(None))
    elif f.owner:
        stmt = stmt.where(Customer.owner_id == int(f.owner))
    stmt = where_equal(stmt, {Customer.store_id: f.store_id,
                              **{getattr(Customer, key): getattr(f, key)
                                 for key in ("source_platform", "industry", "province", "city")}})
    if f.level:
        stmt = stmt.where(Customer.level.in_([CustomerLevel(v) for v in f.level]))
    if f.intention:
        stmt = stmt.where(Customer.intention.in_([Intention(v) for v in f.intention]))
    if f.tag:
        stmt = stmt.where(Customer.tags_text.contains(f",{f.tag},", autoescape=True))
    for key in ("locked", "won"):
        if getattr(f, key):
            stmt = stmt.where(getattr(Customer, key).is_(getattr(f, key) == "yes"))
    if f.created_from:
        stmt = stmt.where(Customer.created_at >= local_day_start(f.created_from))
    if f.created_to:
        stmt = stmt.where(Customer.created_at < local_day_end(f.created_to))
    if f.follow_from:
        stmt = stmt.where(Customer.last_follow_up_at >= local_day_start(f.follow_from))
    if f.follow_to:
        stmt = stmt.where(Customer.last_follow_up_at < local_day_end(f.follow_to))
    if f.no_follow_days:
        # No follow-up for N days: the last one (or, never followed up, the creation) is older than N days.
        stmt = stmt.where(Customer.last_activity_at < utcnow() - timedelta(days=f.no_follow_days))
    if f.team == "member":
        from crm.customers.models import CustomerTeamMember

        stmt = stmt.where(Customer.id.in_(select(CustomerTeamMember.customer_id)
                                          .where(CustomerTeamMember.user_id == actor.id)))
    return stmt


def sort_keys(f: CustomerFilters) -> list[SortKey]:
    return [SortKey(SORTS[f.sort], descending=f.desc), SortKey(Customer.id, descending=f.desc)]


def list_customers(actor: User, f: CustomerFilters, cursor: str | None, limit: int) -> Page[Customer]:
    page = keyset_page(db.session, filtered(actor, f), sort_keys(f), cursor=cursor, limit=limit)
    page.extra["names"] = names_for(page.items)
    return page


def names_for(customers: list[Customer]) -> dict[str, dict[int, str]]:
    """Owner and store names of a page of customers, in two small queries (no user objects, no roles)."""
    owners = {c.owner_id for c in customers if c.owner_id}
    stores = {c.store_id for c in customers}
    from crm.org.models import OrgUnit

    return {
        "owners": dict(db.session.execute(select(User.id, User.name).where(User.id.in_(owners))).all()) if owners else {},
        "stores": dict(db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(stores))).all())
        if stores else {},
    }


def capped_count(actor: User, f: CustomerFilters, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): counting stops at `cap` rows, so the figure costs at most `cap` index entries
    however big the table is ("10,000+" on the page)."""
    inner = filtered(actor, f).with_only_columns(Customer.id).limit(cap + 1).subquery()
    n = int(db.session.scalar(select(func.count()).select_from(inner)) or 0)
    return min(n, cap), n > cap


def iter_customers(actor: User, f: CustomerFilters, batch: int = 1000) -> Any:
    """Every matching customer, in keyset batches (export)."""
    cursor = None
    while True:
        page = keyset_page(db.session, filtered(actor, f).options(selectinload(Customer.owner),
                                                                   selectinload(Customer.store)),
                           [SortKey(Customer.id)], cursor=cursor, limit=batch)
        yield from page.items
        if not page.has_next:
            return
        cursor = page.next_cursor


# To follow up -----------------------------------------------------------------------------------------------
def to_follow_up(actor: User, bucket: str, limit: int = 200) -> list[FollowUp]:
    """Open reminders (the latest follow-up per customer with a next-contact time) of the actor's visible
    customers: `overdue` (before today), `today`, `upcoming` (after today)."""
    now = utcnow()
    today = local_day_start(now.astimezone(LOCAL_ZONE).date())
    tomorrow = today + timedelta(days=1)
    latest = (select(func.max(FollowUp.id)).where(FollowUp.author_id == actor.id, FollowUp.next_contact_at.is_not(None))
              .group_by(FollowUp.customer_id))
    stmt = (select(FollowUp).join(Customer, Customer.id == FollowUp.customer_id)
            .where(FollowUp.id.in_(latest), FollowUp.author_id == actor.id)
            .options(selectinload(FollowUp.customer)))
    stmt = visible(stmt, actor, Customer)
    if bucket == "overdue":
        stmt = stmt.where(FollowUp.next_contact_at < today)
    elif bucket == "today":
        stmt = stmt.where(FollowUp.next_contact_at >= today, FollowUp.next_contact_at < tomorrow)
    else:
        stmt = stmt.where(FollowUp.next_contact_at >= tomorrow)
    return list(db.session.scalars(stmt.order_by(FollowUp.next_contact_at, FollowUp.id).limit(limit)))


def due_count(actor: User, cap: int = 99) -> int:
    """Open next contacts of the actor due by the end of today (the navigation badge), counted up to `cap` + 1."""
    end = local_day_end(utcnow().astimezone(LOCAL_ZONE).date())
    latest = (select(func.max(FollowUp.id)).where(FollowUp.author_id == actor.id, FollowUp.next_contact_at.is_not(None))
              .group_by(FollowUp.customer_id))
    inner = (select(FollowUp.id).where(FollowUp.id.in_(latest), FollowUp.next_contact_at < end)
             .limit(cap + 1).subquery())
    return min(int(db.session.scalar(select(func.count()).select_from(inner)) or 0), cap + 1)  # 100 shows "99+"


# Cross-store duplicates (HQ report) ---------------------------------------------------------------------------
def cross_store_duplicates(actor: User, key: str, after: str | None, limit: int = 50) -> tuple[list[tuple[str, list[Customer]]], str | None]:
    """Mobile numbers (or WeChat IDs) held by customers of more than one store the actor can see, with those
    customers; keyset pages on the key. Within a store a key is unique, so duplicates only cross stores."""
    column = Customer.mobile_norm if key == "mobile" else Customer.chat_id_norm
    stmt = visible(select(column), actor, Customer).where(column.is_not(None))
    if after:
        stmt = stmt.where(column > after)
    keys = list(db.session.scalars(stmt.group_by(column).having(func.count(func.distinct(Customer.store_id)) > 1)
                                   .order_by(column).limit(limit + 1)))
    more = len(keys) > limit
    keys = keys[:limit]
    rows: dict[str, list[Customer]] = {k: [] for k in keys}
    if keys:
        found = visible(select(Customer).where(column.in_(keys)), actor, Customer).options(
            selectinload(Customer.store), selectinload(Customer.owner)).order_by(Customer.store_id, Customer.id)
        for customer in db.session.scalars(found):
            rows[getattr(customer, column.key)].append(customer)
    return list(rows.items()), (keys[-1] if more and keys else None)


def names_of(ids: set[int], actor: User) -> dict[int, str]:
    """The names of these customers, those in the actor's scope, for pages and lists that only hold
    references to them (a task, process instances). One query."""
    if not ids:
        return {}
    return dict(db.session.execute(visible(select(Customer.id, Customer.name).where(Customer.id.in_(sorted(ids))),
                                           actor, Customer)).tuples().all())


# Sections other contexts add to the customer page (work: its open tasks), in registration order: a function
# of the customer giving the section's HTML for the current reader ("" to show nothing).
_sections: dict[str, Callable[[Customer], Any]] = {}


def register_customer_section(key: str, render: Callable[[Customer], Any]) -> None:
    _sections[key] = render


def customer_sections(customer: Customer) -> list[Any]:
    return [render(customer) for render in _sections.values()]



def follow_ups_due(user: User, day_end: datetime) -> tuple[int, int]:
    """(overdue, due later today) next follow-ups of the user's own customers; `day_end`: the end of the
    user's business day (UTC)."""
    now = utcnow()
    base = select(func.count()).select_from(Customer).where(Customer.owner_id == user.id,
                                                            Customer.next_follow_up_at.is_not(None))
    overdue = db.session.scalar(base.where(Customer.next_follow_up_at < now)) or 0
    today = db.session.scalar(base.where(Customer.next_follow_up_at >= now, Customer.next_follow_up_at < day_end)) or 0
    return int(overdue), int(today)
