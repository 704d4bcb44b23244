"""Demo data for approvals and announcements (`crm seed-demo`): the company-wide chains of DESIGN §8 (and the make-ups')
and two announcements, so `make run` shows the chain admin, the preview and the home page notices."""

from __future__ import annotations

from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.approvals.models import ApprovalChain
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User

CHAINS = [
    ("discount_audit", "折扣审核", [
        {"title": "主管审核", "rule": "supervisor", "mode": "single", "reminder_hours": 24, "escalation_hours": 72},
        {"title": "店长审核（折扣低于 80%）", "rule": "store_role", "role": "store_manager", "mode": "any",
         "condition": {"field": "discount_rate", "op": "lt", "value": "0.8"}, "on_empty": "auto_pass"},
    ]),
    ("high_seas_claim", "公海领取", [
        {"title": "主管审核", "rule": "supervisor", "mode": "single", "reminder_hours": 8, "escalation_hours": 24},
    ]),
    ("after_sales", "售后审核", [
        {"title": "主管审核", "rule": "supervisor", "mode": "single", "reminder_hours": 24},
        {"title": "财务复核（金额 ≥ 5000）", "rule": "store_role", "role": "finance", "mode": "any",
         "condition": {"field": "amount", "op": "ge", "value": "5000"}},
    ]),
    ("make_up", "补款审批", [
        {"title": "主管审核", "rule": "supervisor", "mode": "single", "reminder_hours": 24},
        {"title": "店长审核（金额 ≥ 5000）", "rule": "store_role", "role": "store_manager", "mode": "any",
         "condition": {"field": "amount", "op": "ge", "value": "5000"}, "on_empty": "auto_pass"},
    ]),
    ("contract", "合同审批", [
        {"title": "逐级审批", "rule": "supervisors_up_to", "level": 2, "mode": "sequential", "reminder_hours": 24},
    ]),
]


def seed() -> None:
    if db.session.scalar(select(ApprovalChain.id).limit(1)) is not None:
        return
    admin = db.session.scalar(select(User).where(User.mobile == "13800000001"))
    if admin is None:
        return
    for key, name, steps in CHAINS:
        approval_chains.create_chain({"key": key, "name": name, "steps": steps}, actor=admin)
    from crm.notify.services import publish_announcement

    ceo = db.session.scalar(select(User).where(User.mobile == "13800000002"))
    if ceo is not None:
        publish_announcement({"title": "双十一备货通知", "body": "各店铺请于本周五前确认托盘库存与发货计划。",
                              "audience": "all", "pinned": True}, actor=ceo)
    manager = db.session.scalar(select(User).where(User.mobile == "13800000101"))
    store = db.session.get(OrgUnit, manager.store_id) if manager is not None and manager.store_id else None
    if manager is not None and store is not None:
        publish_announcement({"title": "本店周会改到周四下午", "body": "地点不变，请准时参加。", "audience": "unit",
                              "unit_id": store.id}, actor=manager)
