"""The after-sales context's wiring: its pages and API, the operators of `after_sales` (and the case as an
approvable object), its box on the order page, its notification kinds, labels and navigation."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    from flask_login import current_user

    import crm.aftersales.cases.bpmn  # noqa: F401  (the operators and the approvable, before any diagram is validated)
    import crm.aftersales.cases.models  # noqa: F401  (the mappers)
    from crm.aftersales.blueprint import bp
    from crm.aftersales.cases import api as cases_api
    from crm.aftersales.cases import views as case_views
    from crm.aftersales.cases.models import STATUS_LABELS
    from crm.auth.rest import add_resource
    from crm.core.objects import register_action_label
    from crm.core.objects import register_object_page
    from crm.notify.services import KINDS
    from crm.sales.orders.queries import register_order_section

    app.register_blueprint(bp)
    add_resource(cases_api.blp, order=170)
    add_nav(NavItem("main", "aftersales.cases", _l("After-sales"), "arrow-counterclockwise", permission="order.view",
                    order=42))
    register_order_section("after_sales", case_views.order_section)
    register_object_page("after_sales", "aftersales.case_detail", "case_id", _l("After-sales case"),
                         names=lambda ids: _case_labels(ids, current_user), statuses=STATUS_LABELS)
    for kind, label in {
        "after_sales_approved": _l("An after-sales case you opened was approved"),
        "after_sales_rejected": _l("An after-sales case you opened was rejected"),
        "after_sales_closed": _l("An after-sales case closed: nothing was shipped back"),
        "after_sales_return_due": _l("The goods of an after-sales case are still to be shipped back"),
        "after_sales_refunded": _l("An after-sales case was refunded"),
        "after_sales_shipped": _l("The replacement of an after-sales case was shipped"),
        "after_sales_completed": _l("An after-sales case is completed"),
    }.items():
        KINDS.setdefault(kind, label)
    for action, label in {"after_sales_opened": _l("After-sales case opened"),
                          "after_sales_approved": _l("After-sales case approved"),
                          "after_sales_rejected": _l("After-sales case rejected"),
                          "after_sales_closed": _l("After-sales case closed"),
                          "after_sales_completed": _l("After-sales case completed"),
                          "after_sales_refunded": _l("After-sales refund paid"),
                          "return_shipped": _l("Return shipped"),
                          "return_inspected": _l("Return inspected"),
                          "replacement_shipped": _l("Replacement shipped"),
                          "replacement_received": _l("Replacement received"),
                          "invoice_reissued": _l("Invoice re-issued"),
                          "photos_added": _l("Photos added")}.items():
        register_action_label(action, label)


def _case_labels(ids: set[int], actor: object) -> dict[int, str]:
    """"AS000012" of these cases, those in the actor's scope. One query."""
    from sqlalchemy import select

    from crm.aftersales.cases.models import AfterSalesCase
    from crm.auth.scopes import visible
    from crm.extensions import db

    found = db.session.scalars(visible(select(AfterSalesCase.id).where(AfterSalesCase.id.in_(sorted(ids))), actor,  # type: ignore[arg-type]
                                       AfterSalesCase))
    return {case_id: f"AS{case_id:06d}" for case_id in found}
