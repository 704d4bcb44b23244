"""The catalogue of function permissions and data scopes.

A role grants named permissions (strings like `user.manage`) and exactly one data scope. Every context
adds its permissions to `CATALOGUE` here, so the admin permission matrix lists them all in one place."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class DataScope(enum.StrEnum):
    SELF = "self"
    SELF_AND_SUBORDINATES = "self_and_subordinates"
    DEPARTMENT = "department"
    DEPARTMENT_TREE = "department_tree"
    STORE = "store"
    SUBSIDIARY = "subsidiary"
    ALL = "all"

    @property
    def label(self) -> str:
        return str(SCOPE_LABELS[self])

    @property
    def description(self) -> str:
        return str(SCOPE_DESCRIPTIONS[self])


SCOPE_LABELS = {
    DataScope.SELF: _l("Own records"),
    DataScope.SELF_AND_SUBORDINATES: _l("Own and subordinates' records"),
    DataScope.DEPARTMENT: _l("Own department"),
    DataScope.DEPARTMENT_TREE: _l("Department and sub-departments"),
    DataScope.STORE: _l("Whole store"),
    DataScope.SUBSIDIARY: _l("Whole subsidiary"),
    DataScope.ALL: _l("Everything (within the user's place in the org tree)"),
}

SCOPE_DESCRIPTIONS = {
    DataScope.SELF: _l("Records the user owns."),
    DataScope.SELF_AND_SUBORDINATES: _l("Records of the user and of everyone below them in the supervisor chain."),
    DataScope.DEPARTMENT: _l("Records owned by anyone in the user's own unit."),
    DataScope.DEPARTMENT_TREE: _l("Records owned by anyone in the user's unit or the units below it."),
    DataScope.STORE: _l("Every record of the user's store."),
    DataScope.SUBSIDIARY: _l("Every record of the stores of the user's subsidiary."),
    DataScope.ALL: _l("Every record; a store user still sees only their store, a subsidiary user only their subsidiary."),
}


# permission -> label, grouped for the matrix page. Keep the keys stable: they are stored on roles.
CATALOGUE: dict[str, dict[str, object]] = {
    "org": {
        "label": _l("Organisation"),
        "permissions": {
            "org.view": _l("View the org tree"),
            "org.manage": _l("Create, rename, move and deactivate org units"),
        },
    },
    "users": {
        "label": _l("Users"),
        "permissions": {
            "user.view": _l("View users"),
            "user.manage": _l("Create, edit and disable users, reset passwords"),
        },
    },
    "roles": {
        "label": _l("Roles"),
        "permissions": {
            "role.manage": _l("Edit roles, their permissions and data scope"),
        },
    },
    "audit": {
        "label": _l("Audit"),
        "permissions": {
            "audit.view": _l("View the operation log of records in scope"),
        },
    },
    "api": {
        "label": _l("API"),
        "permissions": {
            "api.use": _l("Create personal API tokens and use the REST API"),
        },
    },
    "process": {
        "label": _l("Processes"),
        "permissions": {
            "process.deploy": _l("Deploy and edit BPMN process diagrams"),
            "process.admin": _l("Monitor and repair process instances"),
        },
    },
    "products": {
        "label": _l("Products"),
        "permissions": {
            "product.manage": _l("Create and edit products and categories, put them on or off the shelf, import"),
            "product.cost": _l("See cost prices and margins"),
        },
    },
    "quotes": {
        "label": _l("Quotes"),
        "permissions": {
            "quote.view": _l("View quotes in scope and their price history"),
            "quote.edit": _l("Create, edit, submit and revise quotes; attach customer-supplied invoices"),
        },
    },
    "orders": {
        "label": _l("Orders"),
        "permissions": {
            "order.view": _l("View contracting orders in scope, their pipeline and timeline"),
            "order.create": _l("Create contracting orders from approved quotes or directly"),
            "order.cancel": _l("Cancel orders before outbound, with a reason"),
            "order.export": _l("Export signed orders for statistics"),
        },
    },
    "finance": {
        "label": _l("Finance"),
        "permissions": {
            "finance.view": _l("See the receipts-and-payments ledger of the scope"),
            "finance.export": _l("Export the ledger"),
            "finance.collection.record": _l("Record collections of orders with their vouchers"),
            "finance.collection.verify": _l("Verify or reject collections against their vouchers (never those they recorded)"),
            "finance.invoice.request": _l("Request invoices of approved quotes and orders; see the invoices of the scope"),
            "finance.invoice.issue": _l("Issue or reject requested invoices, void issued ones"),
            "finance.invoice.mail": _l("Record how paper invoices were mailed (carrier, tracking number)"),
            "finance.plan.edit": _l("Create and edit the receivable plans (instalments) of orders in scope"),
            "finance.make_up.request": _l("Request make-up payments (freight, price or quantity corrections) on signed orders in scope"),
        },
    },
    "aftersales": {
        "label": _l("After-sales"),
        "permissions": {
            "aftersales.request": _l("Open after-sales cases (return, refund, exchange, reissue) on orders in scope"),
            "aftersales.inspect": _l("Receive and inspect returned goods, add photos to after-sales cases"),
        },
    },
    "work": {
        "label": _l("Work"),
        "permissions": {
            "work.task.arrange": _l("Arrange work tasks for the people in the data scope"),
            "work.tag.manage": _l("Manage the task tags of the stores in scope"),
            "work.report.file": _l("File daily, weekly and monthly work reports (and be reminded to)"),
            "work.report.review": _l("See who in the data scope has and has not reported, with the reports"),
        },
    },
    "opportunities": {
        "label": _l("Opportunities"),
        "permissions": {
            "opportunity.view": _l("View opportunities in scope, the board, funnel and forecast"),
            "opportunity.edit": _l("Create and edit opportunities, move them between stages, close them won or lost"),
            "pipeline.manage": _l("Configure the pipelines of a store, their stages and win rates"),
        },
    },
    "customers": {
        "label": _l("Customers"),
        "permissions": {
            "customer.view": _l("View customers in scope, their contacts and follow-ups"),
            "customer.create": _l("Create customers"),
            "customer.edit": _l("Edit customers, contacts and record follow-ups"),
            "customer.transfer": _l("Transfer customers to another owner or release them to the pool"),
            "customer.lock": _l("Lock and unlock customers"),
            "customer.import": _l("Import customers from CSV or Excel files"),
            "customer.export": _l("Export customers in scope"),
            "customer.merge": _l("Merge duplicate customers"),
            "lead.manage": _l("Set up lead web forms and lead assignment rules"),
        },
    },
    "highseas": {
        "label": _l("High seas"),
        "permissions": {
            "highseas.view": _l("See the high seas of own store and apply to claim customers"),
            "highseas.assign": _l("Assign high-seas customers, audit claims, act as pool admin"),
            "highseas.configure": _l("Configure pools: members, recycle rules, quotas and caps"),
        },
    },
    "enquiries": {
        "label": _l("Enquiry statistics"),
        "permissions": {
            "enquiry.view": _l("See the enquiry statistics in scope: daily tables, trends and rates"),
            "enquiry.enter_platform": _l("Enter and import the daily platform enquiries of the stores in scope"),
            "enquiry.enter_own": _l("Enter own daily WeChat adds and contacts, upload WeChat screenshots"),
        },
    },
    "tasks": {
        "label": _l("Tasks"),
        "permissions": {
            "task.reassign": _l("Reassign and delegate the tasks of people in scope, set their due dates and priority"),
        },
    },
    "approvals": {
        "label": _l("Approvals"),
        "permissions": {
            "approval.configure": _l("Configure approval chains"),
            "approval.view_all": _l("See every approval request in scope (not only own and decided)"),
        },
    },
    "integrations": {
        "label": _l("Integrations"),
        "permissions": {
            "integration.webhooks.manage": _l("Register webhook endpoints for the stores in scope, see and resend their deliveries"),
        },
    },
    "notify": {
        "label": _l("Announcements"),
        "permissions": {
            "announcement.publish": _l("Publish announcements to people in scope"),
        },
    },
}


def all_permissions() -> list[str]:
    return [p for group in CATALOGUE.values() for p in group["permissions"]]  # type: ignore[attr-defined]


def permission_label(permission: str) -> str:
    for group in CATALOGUE.values():
        perms: dict[str, object] = group["permissions"]  # type: ignore[assignment]
        if permission in perms:
            return str(perms[permission])
    return permission
