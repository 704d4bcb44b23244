"""The default roles of DESIGN §5. `ensure_default_roles` creates the missing ones and never changes a
role an admin already edited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm.auth.models import Role
from crm.auth.permissions import DataScope
from crm.auth.permissions import all_permissions
from crm.extensions import db

DEFAULT_ROLES: list[dict[str, Any]] = [
    {"key": "super_admin", "name": "Super admin", "scope": DataScope.ALL, "system": True, "permissions": ["*"],
     "description": "Everything, everywhere. Cannot be edited or removed."},
    {"key": "hq_manager", "name": "HQ manager", "scope": DataScope.ALL,
     "permissions": ["org.view", "user.view", "audit.view", "api.use", "product.manage", "product.cost",
                     "approval.view_all", "announcement.publish", "customer.view", "customer.export", "quote.view",
                     "opportunity.view", "order.view", "order.export"],
     "description": "Sees every store; reads the kanban and statistics."},
    {"key": "subsidiary_manager", "name": "Subsidiary manager", "scope": DataScope.SUBSIDIARY,
     "permissions": ["org.view", "user.view", "audit.view", "product.cost", "approval.view_all", "announcement.publish",
                     "customer.view", "customer.export", "quote.view", "opportunity.view", "order.view", "order.export"],
     "description": "Sees every store of the subsidiary."},
    {"key": "store_manager", "name": "Store manager", "scope": DataScope.STORE,
     "permissions": ["org.view", "user.view", "user.manage", "audit.view", "task.reassign", "product.cost",
                     "approval.view_all", "announcement.publish",
                     "customer.view", "customer.create", "customer.edit", "customer.transfer", "customer.lock",
                     "customer.import", "customer.export", "customer.merge", "lead.manage",
                     "quote.view", "quote.edit", "opportunity.view", "opportunity.edit", "pipeline.manage",
                     "order.view", "order.create", "order.cancel", "order.export",
                     "highseas.view", "highseas.assign", "highseas.configure"],
     "description": "Runs one store and its people."},
    {"key": "supervisor", "name": "Supervisor", "scope": DataScope.SELF_AND_SUBORDINATES,
     "permissions": ["user.view", "audit.view", "task.reassign", "customer.view", "customer.create",
                     "customer.edit", "customer.transfer", "customer.lock", "customer.export",
                     "quote.view", "quote.edit", "opportunity.view", "opportunity.edit",
                     "order.view", "order.create", "order.cancel", "highseas.view", "highseas.assign"],
     "description": "Approves and reassigns the work of their team."},
    {"key": "salesperson", "name": "Salesperson", "scope": DataScope.SELF,
     "permissions": ["customer.view", "customer.create", "customer.edit", "customer.lock",
                     "quote.view", "quote.edit", "opportunity.view", "opportunity.edit", "highseas.view",
                     "order.view", "order.create", "order.cancel"],
     "description": "Works own customers, quotes and orders from the task inbox."},
    {"key": "finance", "name": "Finance", "scope": DataScope.STORE, "permissions": ["audit.view", "product.cost",
                                                                           "customer.view", "quote.view", "opportunity.view",
                                                                           "order.view", "order.export", "order.record_payment"],
     "description": "Collections, refunds and invoices of the store."},
    {"key": "warehouse", "name": "Warehouse", "scope": DataScope.STORE, "permissions": ["order.view"],
     "description": "Outbound, delivery and returns of the store."},
    {"key": "logistics", "name": "Logistics", "scope": DataScope.STORE, "permissions": ["order.view"],
     "description": "Delivery of the store's orders: carriers and tracking numbers."},
    {"key": "process_owner", "name": "Process owner", "scope": DataScope.ALL,
     "permissions": ["process.deploy", "process.admin", "audit.view"],
     "description": "Edits and deploys BPMN diagrams, watches running instances."},
    {"key": "admin", "name": "Admin", "scope": DataScope.ALL,
     "permissions": ["org.view", "org.manage", "user.view", "user.manage", "role.manage", "audit.view", "api.use",
                     "product.manage", "approval.configure",
                     "customer.view", "customer.import", "customer.export", "customer.merge", "lead.manage",
                     "pipeline.manage", "highseas.configure"],
     "description": "Org tree, users, roles and rules."},
]


def ensure_default_roles() -> dict[str, Role]:
    existing = {r.key: r for r in db.session.scalars(select(Role))}
    known = set(all_permissions())
    for spec in DEFAULT_ROLES:
        if spec["key"] in existing:
            continue
        permissions = sorted(known) if spec["permissions"] == ["*"] else spec["permissions"]
        role = Role(
            key=spec["key"], name=spec["name"], default_name=spec["name"], description=spec["description"],
            data_scope=spec["scope"], permissions=permissions, is_system=bool(spec.get("system")),
        )
        db.session.add(role)
        existing[role.key] = role
    db.session.flush()
    return existing
