"""Receivable plans and their reminders. Functions take the acting user, validate everything before
writing, flush and never commit.

- `save_plan`: create or replace an order's plan (one per order) by the salesperson of the order or
  finance (`finance.plan.edit`). The instalments must add up to what the order owes
  (`payments.services.amount_due`); refused with the difference. An instalment that verified
  collections were allocated to, or that a live collection names, keeps its amount and due date and
  cannot be removed, and no edit may move verified money between instalments. Every change is in the
  operation log (`Audited`).
- `send_reminders`: the daily job's work: N days before an instalment's due date the order's salesperson
  and the store's finance users get a bell and an e-mail, and once more the day after it, if it is still
  not collected in full; each once per instalment (markers on the instalment, rows taken with
  SKIP LOCKED so several scheduler processes never send twice).

Locks: `lock_order` (the order's pipeline instances, then the order), like the verification, which
recomputes the allocation under the same lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.auth.models import Role
from crm.auth.models import user_role
from crm.core.audit import record_event
from crm.core.clock import local_today
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import InvalidTransition
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.extensions import db
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentKind
from crm.finance.payments.models import PaymentStatus
from crm.finance.payments.services import amount_due
from crm.finance.plans.allocation import allocate
from crm.finance.plans.allocation import shares
from crm.finance.plans.allocation import verified_collections
from crm.finance.plans.models import CLOSED_STATUSES
from crm.finance.plans.models import Instalment
from crm.finance.plans.models import ReceivablePlan
from crm.finance.plans.queries import plan_of
from crm.finance.plans.schemas import PlanInput
from crm.notify.services import notify_many
from crm.org.models import User
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus

DEFAULT_REMINDER_DAYS = 3
BATCH = 500
FINANCE_PERMISSION = "finance.collection.verify"  # who "the store's finance users" are


def reminder_days() -> int:
    """The FINANCE_REMINDER_DAYS setting: an instalment left without its own reminder days gets it."""
    try:
        return max(0, int(current_app.config.get("FINANCE_REMINDER_DAYS", DEFAULT_REMINDER_DAYS)))
    except (TypeError, ValueError):
        return DEFAULT_REMINDER_DAYS


def plan_editable(order: Order) -> bool:
    """A plan can change while the order still expects money: not cancelled, not completed."""
    return order.status.value not in CLOSED_STATUSES and order.status != OrderStatus.COMPLETED


def may_edit(order: Order, actor: User) -> bool:
    return actor.can("finance.plan.edit") and plan_editable(order)


def _live_names(order_id: int) -> set[int]:
    """Instalments named by a collection that waits for verification or was verified."""
    return {i for i in db.session.scalars(select(Payment.instalment_id).where(
        Payment.order_id == order_id, Payment.kind == PaymentKind.COLLECTION, Payment.instalment_id.is_not(None),
        Payment.status.in_([PaymentStatus.RECORDED, PaymentStatus.VERIFIED]))) if i is not None}


@dataclass
class _Row:
    """An instalment as the edit would leave it (for the allocation check before anything is written)."""

    id: int
    number: int
    amount: Decimal
    due_on: date


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def save_plan(order_id: Any, data: dict[str, Any] | Loaded, *, actor: User, lock_version: Any = None) -> ReceivablePlan:
    """Create the order's plan or replace its instalments (rows with an `id` keep that instalment)."""
    if not actor.can("finance.plan.edit"):
        raise PermissionDenied(_l("You may not edit receivable plans."))
    order, _instances = order_services.lock_order(order_id, actor)
    loaded = load_input(PlanInput(), data)
    plan = plan_of(order.id)
    if plan is not None and lock_version not in (None, "") and str(lock_version) != str(plan.lock_version):
        raise Conflict(_l("Someone else changed this plan meanwhile. Reload it and try again."))
    if not plan_editable(order):
        raise InvalidTransition(_l("The plan of a cancelled or completed order can no longer change."))
    errors: dict[str, Any] = dict(loaded.errors)
    if loaded.values.get("instalments") is None and "instalments" not in errors:
        errors["instalments"] = _l("Add at least one instalment.")
    rows: list[dict[str, Any]] = loaded.values.get("instalments") or []
    existing = {i.id: i for i in plan.instalments} if plan is not None else {}
    seen: set[int] = set()
    for index, row in enumerate(rows):
        if row.get("id") is not None and (row["id"] not in existing or row["id"] in seen):
            errors[f"instalments.{index}.id"] = _l("Not an instalment of this plan.")
        seen.add(row.get("id") or 0)
    complete = not any(k == "instalments" or k.startswith("instalments.") for k in errors)
    if complete:
        total = sum((row["amount"] for row in rows), Decimal("0.00"))
        due = amount_due(order)
        if total != due:
            errors["instalments"] = (
                _l("The instalments add up to ¥%(total)s, ¥%(diff)s short of what the order owes (¥%(due)s).",
                   total=_money(total), diff=_money(due - total), due=_money(due)) if total < due else
                _l("The instalments add up to ¥%(total)s, ¥%(diff)s more than the order owes (¥%(due)s).",
                   total=_money(total), diff=_money(total - due), due=_money(due)))
            complete = False
    if complete:
        error = _locked_error(order.id, existing, rows)
        if error is not None:
            errors.update(error)
    if errors:
        raise ValidationFailed(errors)
    return _write(order, plan, existing, rows, loaded.values.get("note"), actor)


def _locked_error(order_id: int, existing: dict[int, Instalment], rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Instalments with verified money (or named by a live collection) keep their amount and due date, stay
    in the plan, and keep what they collected after the edit."""
    locked = {iid for iid, i in existing.items() if i.collected > 0} | (_live_names(order_id) & set(existing))
    kept = {row["id"]: index for index, row in enumerate(rows) if row.get("id") is not None}
    for iid in sorted(locked, key=lambda i: existing[i].number):
        instalment = existing[iid]
        if iid not in kept:
            return {"instalments": _l("Instalment %(n)d has collections: it cannot be removed.", n=instalment.number)}
        row = rows[kept[iid]]
        if row["amount"] != instalment.amount or row["due_on"] != instalment.due_on:
            field = "amount" if row["amount"] != instalment.amount else "due_on"
            return {f"instalments.{kept[iid]}.{field}": _l(
                "Instalment %(n)d has collections: its amount and due date cannot change.", n=instalment.number)}
    planned = [_Row(row.get("id") or -index - 1, index + 1, row["amount"], row["due_on"]) for index, row in enumerate(rows)]
    after = shares(planned, verified_collections(order_id))  # type: ignore[arg-type]
    for iid in locked:
        if after.get(iid, Decimal(0)) != existing[iid].collected:
            return {"instalments": _l("This edit would move verified collections between instalments: keep the "
                                      "instalments that were collected first in due-date order.")}
    return None


def _write(order: Order, plan: ReceivablePlan | None, existing: dict[int, Instalment], rows: list[dict[str, Any]],
           note: str | None, actor: User) -> ReceivablePlan:
    created = plan is None
    if plan is None:
        plan = ReceivablePlan(store_id=order.store_id, order_id=order.id, owner_id=order.owner_id,
                              created_by_id=actor.id)
        db.session.add(plan)
    plan.note = note
    plan.updated_by_id = actor.id
    default_days = reminder_days()
    kept_ids = {row["id"] for row in rows if row.get("id") is not None}
    for iid, instalment in existing.items():
        if iid not in kept_ids:
            plan.instalments.remove(instalment)
    # Numbered by due date (then as typed): instalment 1 is the first to fall due.
    ordered = sorted(enumerate(rows), key=lambda pair: (pair[1]["due_on"], pair[0]))
    for number, (_index, row) in enumerate(ordered, start=1):
        days = row["remind_days"] if row.get("remind_days") is not None else default_days
        remind_on = row["due_on"] - timedelta(days=days)
        instalment = existing.get(row.get("id") or 0)
        if instalment is None:
            instalment = Instalment(order_id=order.id, store_id=order.store_id)
            plan.instalments.append(instalment)
        else:
            if instalment.remind_on != remind_on:
                instalment.reminded_at = None
            if instalment.due_on != row["due_on"]:
                instalment.overdue_sent_at = None
        instalment.number, instalment.amount, instalment.due_on = number, row["amount"], row["due_on"]
        instalment.method, instalment.remind_days, instalment.remind_on = row.get("method"), days, remind_on
    db.session.flush()
    allocate(order.id)
    db.session.flush()
    record_event(db.session, order, "receivable_plan_created" if created else "receivable_plan_changed",
                 actor_id=actor.id, details={"instalments": len(rows), "total": plan.total})
    return plan


# Reminders (the daily job) ----------------------------------------------------------------------------------
def _finance_users(store_ids: set[int]) -> dict[int, set[int]]:
    """store id -> active users placed in it whose roles let them verify collections."""
    if not store_ids:
        return {}
    role_ids = [r.id for r in db.session.scalars(select(Role)) if FINANCE_PERMISSION in r.permission_list
                and not r.is_system]
    out: dict[int, set[int]] = {s: set() for s in store_ids}
    if not role_ids:
        return out
    for uid, store_id in db.session.execute(
            select(User.id, User.store_id).where(
                User.active.is_(True), User.store_id.in_(store_ids),
                User.id.in_(select(user_role.c.user_id).where(user_role.c.role_id.in_(role_ids))))):
        out[store_id].add(uid)
    return out


def _due(condition: Any, marker: Any) -> list[tuple[Instalment, Order]]:
    stmt = (select(Instalment, Order).join(Order, Order.id == Instalment.order_id)
            .where(marker.is_(None), condition).order_by(Instalment.id).limit(BATCH))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Instalment)
    return [(i, o) for i, o in db.session.execute(stmt)]


def _open(instalment: Instalment, order: Order) -> bool:
    return instalment.collected < instalment.amount and order.status.value not in CLOSED_STATUSES \
        and order.status != OrderStatus.COMPLETED


def send_reminders(today: date | None = None) -> dict[str, int]:
    """Reminders from `remind_on` until the due date, overdue notices from the day after it; each
    instalment is handled once per kind (its marker), whether a notice was due or not (collected, the order
    closed). Returns how many instalments of each kind were notified."""
    today = today or local_today()
    now = utcnow()
    sent = {"reminders": 0, "overdue": 0}
    for kind, condition, marker in (
            ("reminders", Instalment.remind_on <= today, Instalment.reminded_at),
            ("overdue", Instalment.due_on < today, Instalment.overdue_sent_at)):
        while True:
            batch = _due(condition, marker)
            if not batch:
                break
            wanted = [(i, o) for i, o in batch if _open(i, o) and (kind == "overdue" or i.due_on >= today)]
            finance = _finance_users({o.store_id for _i, o in wanted})
            by_store: dict[int, list[tuple[int, Any, Any, str | None]]] = {}
            for instalment, order in wanted:
                due = _money(instalment.open_amount)
                if kind == "reminders":
                    title = _l("Instalment %(n)d of order %(number)s is due on %(day)s",
                               n=instalment.number, number=order.number, day=instalment.due_on.isoformat())
                    body = _l("¥%(amount)s is still to be collected for this instalment.", amount=due)
                else:
                    title = _l("Instalment %(n)d of order %(number)s is overdue since %(day)s",
                               n=instalment.number, number=order.number, day=instalment.due_on.isoformat())
                    body = _l("¥%(amount)s of this instalment was not collected by its due date.", amount=due)
                url = f"/orders/{order.id}#receivable-plan"
                for uid in sorted({order.owner_id} | finance.get(order.store_id, set())):
                    by_store.setdefault(order.store_id, []).append((uid, title, body, url))
            for store_id, messages in by_store.items():
                notify_many("receivable_reminder" if kind == "reminders" else "receivable_overdue", messages,
                            store_id=store_id)
            sent[kind] += len(wanted)
            for instalment, _order in batch:
                if kind == "reminders":
                    instalment.reminded_at = now
                else:
                    instalment.overdue_sent_at = now
            db.session.flush()
            if len(batch) < BATCH:
                break
    return sent
