"""Importing leads (the `leads` target of an import job). A lead whose mobile number or WeChat ID is
already a customer or a lead of the store is a duplicate: skipped, or created anyway when the job says so
(leads, unlike customers, may repeat). Pool leads (no owner) go through the assignment rules."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.customers.imports import skip_row
from crm.customers.leads.services import assign_by_rules
from crm.customers.models import Customer
from crm.customers.models import ImportJob
from crm.customers.models import Lead
from crm.customers.models import LeadStatus
from crm.extensions import db

LEAD_FIELDS = ("name", "company", "mobile", "mobile_norm", "chat_id", "chat_id_norm", "email", "province", "city",
               "source_platform")


def _known(store_id: int, model: Any, mobiles: set[str], chats: set[str]) -> set[tuple[str, str]]:
    conds = []
    if mobiles:
        conds.append(model.mobile_norm.in_(mobiles))
    if chats:
        conds.append(model.chat_id_norm.in_(chats))
    if not conds:
        return set()
    found: set[tuple[str, str]] = set()
    for mobile, chat in db.session.execute(select(model.mobile_norm, model.chat_id_norm)
                                           .where(model.store_id == store_id, or_(*conds))):
        if mobile:
            found.add(("m", mobile))
        if chat:
            found.add(("c", chat))
    return found


def store_leads(job: ImportJob, parsed: list[tuple[int, dict[str, Any], int | None]],
                errors: list[dict[str, Any]], reasons: dict[str, int], skipped: list[dict[str, Any]]) -> None:
    mobiles = {c["mobile_norm"] for _line, c, _o in parsed if c.get("mobile_norm")}
    chats = {c["chat_id_norm"] for _line, c, _o in parsed if c.get("chat_id_norm")}
    customers = _known(job.store_id, Customer, mobiles, chats)
    seen = _known(job.store_id, Lead, mobiles, chats)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for line, clean, owner_id in parsed:
        keys = {("m", clean.get("mobile_norm") or ""), ("c", clean.get("chat_id_norm") or "")}
        choice = (job.row_choices or {}).get(str(line), job.on_duplicate)
        if choice == "skip" and keys & customers:
            skip_row(reasons, str(_l("already a customer of this store")), skipped, line)
            job.skipped += 1
            continue
        if choice == "skip" and keys & seen:
            skip_row(reasons, str(_l("already a lead of this store")), skipped, line)
            job.skipped += 1
            continue
        seen |= {k for k in keys if k[1]}
        row = {f: clean.get(f) for f in LEAD_FIELDS}
        row.update(store_id=job.store_id, owner_id=owner_id, assigned_at=now if owner_id else None,
                   message=clean.get("remarks"), source="import", status=LeadStatus.NEW.value,
                   created_by_id=job.created_by_id, created_at=now, updated_at=now, lock_version=1)
        rows.append(row)
        job.created += 1
    if not rows:
        return
    db.session.execute(Lead.__table__.insert(), rows)
    pool = db.session.scalars(select(Lead).where(Lead.store_id == job.store_id, Lead.created_by_id == job.created_by_id,
                                                 Lead.created_at == now, Lead.owner_id.is_(None)))
    for lead in pool:
        assign_by_rules(lead)
    del errors  # refused rows were recorded while parsing
