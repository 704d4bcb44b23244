"""The finance context's wiring: its pages and API, the operators of `collection_verification`, of
`invoice_request`, of `make_up` and of the order pipeline's refund step, its sections of the order and quote pages, its
notification kinds and navigation, and the receivable plans' daily reminder job."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav

# The reminders go out at this local time (Asia/Shanghai); a day the scheduler missed is caught up the
# next day (the job reads every instalment whose day has come and that it has not handled yet).
REMINDER_HOUR = 9


def init_app(app: Flask) -> None:
    from flask_login import current_user

    import crm.finance.invoices.bpmn  # noqa: F401  (the operators, before any diagram is validated)
    import crm.finance.invoices.models  # noqa: F401  (the mappers)
    import crm.finance.ledger.dues  # noqa: F401  (the receivables' due rows and the flush hook keeping them)
    import crm.finance.makeups.bpmn  # noqa: F401  (the operators and the make-up approvable)
    import crm.finance.makeups.models  # noqa: F401
    import crm.finance.payments.bpmn  # noqa: F401
    import crm.finance.payments.models  # noqa: F401
    import crm.finance.plans.models  # noqa: F401
    import crm.finance.settlements.models  # noqa: F401
    from crm.auth.rest import add_resource
    from crm.core.objects import register_action_label
    from crm.core.objects import register_object_page
    from crm.finance.blueprint import bp
    from crm.finance.invoices import api as invoices_api
    from crm.finance.invoices import views as invoice_views
    from crm.finance.invoices.models import STATUS_LABELS as INVOICE_STATUS_LABELS
    from crm.finance.invoices.models import Invoice
    from crm.finance.ledger import api as ledger_api
    from crm.finance.makeups import api as makeups_api
    from crm.finance.makeups import views as makeup_views
    from crm.finance.makeups.models import STATUS_LABELS as MAKE_UP_STATUS_LABELS
    from crm.finance.makeups.models import MakeUp
    from crm.finance.payments import api as payments_api
    from crm.finance.payments.models import STATUS_LABELS
    from crm.finance.payments.models import Payment
    from crm.finance.payments.views import order_section
    from crm.finance.plans import api as plans_api
    from crm.finance.plans.jobs import remind
    from crm.finance.settlements import api as settlements_api
    from crm.notify.services import KINDS
    from crm.sales.orders.queries import register_order_section
    from crm.sales.quotes.queries import register_quote_section

    app.register_blueprint(bp)
    add_resource(payments_api.blp, order=165)
    add_resource(invoices_api.blp, order=166)
    add_resource(plans_api.blp, order=167)
    add_resource(ledger_api.blp, order=168)
    add_resource(makeups_api.blp, order=169)
    add_resource(settlements_api.blp, order=169)
    add_nav(NavItem("main", "finance.ledger", _l("Ledger"), "cash-coin", permission="finance.view", order=43))
    add_nav(NavItem("main", "finance.receivables", _l("Receivables"), "hourglass-split", permission="finance.view",
                    order=44))
    add_nav(NavItem("main", "finance.settlements", _l("Settlements"), "bank", permission="finance.view", order=44))
    add_nav(NavItem("main", "finance.invoices", _l("Invoices"), "receipt", permission="finance.invoice.request",
                    order=45))
    add_nav(NavItem("main", "finance.make_ups", _l("Make-ups"), "plus-circle", permission="finance.make_up.request",
                    order=46))
    register_job("finance.remind_instalments", remind, "cron", hour=REMINDER_HOUR, minute=0, timezone="Asia/Shanghai")
    register_order_section("finance", order_section)
    register_order_section("make_ups", makeup_views.order_section)
    register_order_section("invoices", invoice_views.order_section)
    register_quote_section("invoices", invoice_views.quote_section)
    register_object_page("collection", "finance.payment_detail", "payment_id", _l("Collection"),
                         names=lambda ids: _amounts(Payment, ids, current_user), statuses=STATUS_LABELS)
    register_object_page("settlement", "finance.settlement_detail", "settlement_id", _l("Settlement"),
                         names=lambda ids: _settlement_labels(ids, current_user))
    register_object_page("invoice", "finance.invoice_detail", "invoice_id", _l("Invoice"),
                         names=lambda ids: _amounts(Invoice, ids, current_user), statuses=INVOICE_STATUS_LABELS)
    register_object_page("make_up", "finance.make_up_detail", "make_up_id", _l("Make-up payment"),
                         names=lambda ids: _amounts(MakeUp, ids, current_user),
                         statuses={"pending_approval": _l("Waiting for approval"), **MAKE_UP_STATUS_LABELS})
    KINDS.setdefault("make_up_approved", _l("A make-up payment of your order was approved"))
    KINDS.setdefault("make_up_rejected", _l("A make-up payment of your order was rejected"))
    KINDS.setdefault("collection_rejected", _l("A collection you recorded was rejected"))
    KINDS.setdefault("invoice_requested", _l("An invoice of your order was requested"))
    KINDS.setdefault("invoice_issued", _l("An invoice you requested was issued"))
    KINDS.setdefault("invoice_rejected", _l("An invoice you requested was rejected"))
    KINDS.setdefault("invoice_mailed", _l("An invoice you requested was mailed"))
    KINDS.setdefault("invoice_voided", _l("An invoice you requested was voided"))
    KINDS.setdefault("receivable_reminder", _l("An instalment of an order falls due soon"))
    KINDS.setdefault("receivable_overdue", _l("An instalment of an order is overdue"))
    for action, label in {"collection_recorded": _l("Collection recorded"),
                          "collection_verified": _l("Collection verified"),
                          "receivable_plan_created": _l("Receivable plan created"),
                          "receivable_plan_changed": _l("Receivable plan changed"),
                          "make_up_requested": _l("Make-up requested"),
                          "make_up_approved": _l("Make-up approved"),
                          "make_up_rejected": _l("Make-up rejected"),
                          "make_up_withdrawn": _l("Make-up withdrawn"),
                          "refund_paid": _l("Refund paid")}.items():
        register_action_label(action, label)


def _amounts(model: Any, ids: set[int], actor: object) -> dict[int, str]:
    """"¥1,234.00" of these collections, invoices or make-ups, those in the actor's scope. One query."""
    from sqlalchemy import select

    from crm.auth.scopes import visible
    from crm.extensions import db

    rows = db.session.execute(visible(select(model.id, model.amount).where(model.id.in_(sorted(ids))), actor, model))  # type: ignore[arg-type]
    return {row.id: f"¥{row.amount:,.2f}" for row in rows}


def _settlement_labels(ids: set[int], actor: object) -> dict[int, str]:
    """The references of these settlements (finance only), those in the actor's scope. One query."""
    from sqlalchemy import select

    from crm.auth.scopes import visible
    from crm.extensions import db
    from crm.finance.settlements.models import Settlement

    if not actor.can("finance.view"):  # type: ignore[attr-defined]
        return {}
    rows = db.session.execute(visible(select(Settlement.id, Settlement.reference).where(Settlement.id.in_(sorted(ids))),
                                      actor, Settlement))  # type: ignore[arg-type]
    return {row.id: row.reference for row in rows if row.reference}
