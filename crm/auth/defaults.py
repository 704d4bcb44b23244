"""The default roles of DESIGN §5. `ensure_default_roles` creates the missing ones and never changes a
role an admin already edited. A release that adds default permissions (or roles) offers them to an existing
database once, through `pending_defaults` / `apply_defaults`: `role.offered_permissions` records what each
built-in role was offered, so a permission an admin took away is not offered again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import select

from crm.auth.models import DEFAULT_ROLE_LABELS
from crm.auth.models import Role
from crm.auth.permissions import DataScope
from crm.auth.permissions import all_permissions
from crm.core.errors import PermissionDenied
from crm.extensions import db

if TYPE_CHECKING:
    from crm.org.models import User

# `api.use` (a personal API token) goes to every built-in role: a token acts as its user, with the same
# permissions and data scope as the pages, so the channel itself adds no reach. Each role's integrator:
# managers' reporting tools, a salesperson's phone app, finance's bookkeeping, the warehouse's scanner,
# logistics' carrier integration, a process owner's deployment pipeline (docs/api.md, docs/security.md).
# An admin takes it away from a role whose people should work in the pages only.
DEFAULT_ROLES: list[dict[str, Any]] = [
    {"key": "super_admin", "name": "Super admin", "scope": DataScope.ALL, "system": True, "permissions": ["*"],
     "description": "Everything, everywhere. Cannot be edited or removed."},
    {"key": "hq_manager", "name": "HQ manager", "scope": DataScope.ALL,
     "permissions": ["org.view", "user.view", "audit.view", "api.use", "product.manage", "product.cost",
                     "approval.view_all", "announcement.publish", "customer.view", "customer.export", "quote.view",
                     "opportunity.view", "order.view", "order.export", "finance.view", "finance.export",
                     "enquiry.view", "enquiry.enter_platform", "work.task.arrange", "work.report.review",
                     "highseas.view", "highseas.assign"],
     "description": "Sees every store; reads the kanban and statistics."},
    {"key": "subsidiary_manager", "name": "Subsidiary manager", "scope": DataScope.SUBSIDIARY,
     "permissions": ["api.use", "org.view", "user.view", "audit.view", "product.cost", "approval.view_all", "announcement.publish",
                     "customer.view", "customer.export", "quote.view", "opportunity.view", "order.view", "order.export",
                     "finance.view", "finance.export", "enquiry.view", "enquiry.enter_platform",
                     "work.task.arrange", "work.report.review", "highseas.view", "highseas.assign"],
     "description": "Sees every store of the subsidiary."},
    {"key": "store_manager", "name": "Store manager", "scope": DataScope.STORE,
     "permissions": ["api.use", "org.view", "user.view", "user.manage", "audit.view", "task.reassign", "product.cost",
                     "approval.view_all", "announcement.publish",
                     "customer.view", "customer.create", "customer.edit", "customer.transfer", "customer.lock",
                     "customer.import", "customer.export", "customer.merge", "lead.manage",
                     "quote.view", "quote.edit", "opportunity.view", "opportunity.edit", "pipeline.manage",
                     "order.view", "order.create", "order.cancel", "order.export", "finance.view", "finance.export",
                     "finance.invoice.request", "finance.make_up.request", "aftersales.request", "highseas.view", "highseas.assign", "highseas.configure",
                     "enquiry.view", "enquiry.enter_platform", "work.task.arrange", "work.tag.manage",
                     "work.report.file", "work.report.review"],
     "description": "Runs one store and its people."},
    {"key": "supervisor", "name": "Supervisor", "scope": DataScope.SELF_AND_SUBORDINATES,
     "permissions": ["api.use", "user.view", "audit.view", "task.reassign", "customer.view", "customer.create",
                     "customer.edit", "customer.transfer", "customer.lock", "customer.export",
                     "quote.view", "quote.edit", "opportunity.view", "opportunity.edit",
                     "order.view", "order.create", "order.cancel", "highseas.view", "highseas.assign", "enquiry.view",
                     "finance.invoice.request", "finance.make_up.request", "aftersales.request", "work.task.arrange",
                     "work.report.file", "work.report.review"],
     "description": "Approves and reassigns the work of their team."},
    {"key": "salesperson", "name": "Salesperson", "scope": DataScope.SELF,
     "permissions": ["api.use", "customer.view", "customer.create", "customer.edit", "customer.lock",
                     "quote.view", "quote.edit", "opportunity.view", "opportunity.edit", "highseas.view",
                     "order.view", "order.create", "order.cancel", "finance.collection.record", "finance.plan.edit",
                     "enquiry.view", "enquiry.enter_own", "finance.invoice.request", "finance.make_up.request",
                     "aftersales.request", "work.report.file"],
     "description": "Works own customers, quotes and orders from the task inbox."},
    {"key": "finance", "name": "Finance", "scope": DataScope.STORE, "permissions": ["api.use", "audit.view", "product.cost",
                                                                           "customer.view", "quote.view", "opportunity.view",
                                                                           "order.view", "order.export", "finance.view",
                                                                           "finance.export", "finance.collection.record",
                                                                           "finance.collection.verify",
                                                                           "finance.invoice.request",
                                                                           "finance.invoice.issue",
                                                                           "finance.invoice.mail",
                                                                           "finance.plan.edit",
                                                                           "finance.make_up.request"],
     "description": "Collections, refunds and invoices of the store."},
    {"key": "warehouse", "name": "Warehouse", "scope": DataScope.STORE, "permissions": ["api.use", "order.view",
                                                                             "aftersales.inspect"],
     "description": "Outbound, delivery and returns of the store."},
    {"key": "logistics", "name": "Logistics", "scope": DataScope.STORE, "permissions": ["api.use", "order.view",
                                                                             "finance.invoice.mail"],
     "description": "Delivery of the store's orders: carriers and tracking numbers."},
    {"key": "process_owner", "name": "Process owner", "scope": DataScope.ALL,
     "permissions": ["api.use", "process.deploy", "process.admin", "audit.view"],
     "description": "Edits and deploys BPMN diagrams, watches running instances."},
    {"key": "admin", "name": "Admin", "scope": DataScope.ALL,
     "permissions": ["org.view", "org.manage", "user.view", "user.manage", "role.manage", "audit.view", "api.use",
                     "product.manage", "approval.configure",
                     "customer.view", "customer.import", "customer.export", "customer.merge", "lead.manage",
                     "pipeline.manage", "highseas.view", "highseas.configure", "enquiry.view", "enquiry.enter_platform",
                     "integration.webhooks.manage"],
     "description": "Org tree, users, roles and rules."},
]


def ensure_default_roles() -> dict[str, Role]:
    """Create the default roles that are missing (first set-up, demo, tests); never touch existing ones."""
    existing = {r.key: r for r in db.session.scalars(select(Role))}
    for spec in DEFAULT_ROLES:
        if spec["key"] not in existing:
            existing[spec["key"]] = _create(spec)
    db.session.flush()
    return existing


def _defaults(spec: dict[str, Any]) -> list[str]:
    return sorted(all_permissions()) if spec["permissions"] == ["*"] else list(spec["permissions"])


def _create(spec: dict[str, Any]) -> Role:
    permissions = _defaults(spec)
    role = Role(
        key=spec["key"], name=spec["name"], default_name=spec["name"], description=spec["description"],
        data_scope=spec["scope"], permissions=permissions, offered_permissions=permissions,
        is_system=bool(spec.get("system")),
    )
    db.session.add(role)
    return role


# New defaults of a release on an existing database --------------------------------------------------------
@dataclass(frozen=True)
class PendingDefault:
    """What applying this release's defaults would do to one built-in role: create it (`role` is None) or
    offer it the default permissions it was never offered and does not hold."""

    key: str
    name: str
    role: Role | None
    permissions: list[str]

    @property
    def label(self) -> str:
        return self.role.display_name if self.role is not None else str(DEFAULT_ROLE_LABELS.get(self.key, self.name))


def _built_in(role: Role) -> bool:
    # Created by this module (`default_name` set): an admin's own role with the same key is not offered anything.
    return role.default_name is not None


def pending_defaults() -> list[PendingDefault]:
    """Default roles this database lacks and default permissions its built-in roles were never offered
    (a release added them after the role was created). The super admin role is not listed: it may do
    everything whatever its list says, and applying brings the list up to date."""
    existing = {r.key: r for r in db.session.scalars(select(Role).order_by(Role.id))}
    pending = []
    for spec in DEFAULT_ROLES:
        role = existing.get(spec["key"])
        if role is None:
            pending.append(PendingDefault(spec["key"], spec["name"], None, _defaults(spec)))
        elif _built_in(role) and not role.is_system:
            offered = set(role.offered_permissions or [])
            held = set(role.permission_list)
            new = [p for p in _defaults(spec) if p not in offered and p not in held]
            if new:
                pending.append(PendingDefault(spec["key"], spec["name"], role, new))
    return pending


def apply_defaults(*, grant: bool, actor: User | None) -> list[PendingDefault]:
    """Create the missing default roles and offer the built-in roles this release's new default
    permissions: granted (`grant`) or declined, they count as offered and are never offered again.
    Everything else about a role stays as an admin left it. Returns what was pending. `actor` must hold
    `role.manage` (None: the command line)."""
    if actor is not None and not actor.can("role.manage"):
        raise PermissionDenied()
    # Two admins applying at once: the second waits here, then reads afresh (a new statement sees the
    # roles the first created) instead of creating them twice.
    db.session.execute(select(Role).with_for_update().execution_options(populate_existing=True)).all()
    pending = pending_defaults()
    existing = {r.key: r for r in db.session.scalars(select(Role))}
    for spec in DEFAULT_ROLES:
        role = existing.get(spec["key"])
        if role is None:
            _create(spec)
            continue
        if not _built_in(role):
            continue
        defaults = _defaults(spec)
        offered = set(role.offered_permissions or [])
        permissions = set(role.permission_list)
        if role.is_system:
            permissions = set(defaults)
        elif grant:
            permissions |= {p for p in defaults if p not in offered}
        if permissions != set(role.permission_list):  # assigned only when it changes: the audit logs each change
            role.permissions = sorted(permissions)
        if not set(defaults) <= offered:
            role.offered_permissions = sorted(offered | set(defaults))
    db.session.flush()
    return pending
