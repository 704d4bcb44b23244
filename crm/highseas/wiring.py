"""The high seas' wiring: the pool and claim pages, the API, the claim operators and approvable, the
nightly recycle sweep, the customer signals it answers, and its column on the customer list."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core import signals
from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav


def clock_time(value: Any, setting: str) -> tuple[int, int]:
    """"HH:MM" -> (hour, minute); a setting that is not a time of day stops start-up with its name."""
    text = str(value).strip()
    hour, _, minute = text.partition(":")
    if hour.isdigit() and (minute or "0").isdigit() and int(hour) < 24 and int(minute or 0) < 60:
        return int(hour), int(minute or 0)
    raise RuntimeError(f"{setting} must be a time of day such as 02:00, not {text!r}")


def init_app(app: Flask) -> None:
    import crm.highseas.bpmn  # noqa: F401  (the operators and the claim approvable)
    import crm.highseas.models  # noqa: F401  (the mappers)
    from crm.auth.rest import add_resource
    from crm.customers.queries import register_list_column
    from crm.highseas import api
    from crm.highseas.jobs import sweep
    from crm.highseas.services import on_customer_locking
    from crm.highseas.services import on_customer_released
    from crm.highseas.sweep import days_until_recycle_cells
    from crm.highseas.views import bp

    app.register_blueprint(bp)
    add_resource(api.blp, order=150)
    hour, minute = clock_time(app.config.get("HIGHSEAS_SWEEP_AT", "02:00"), "CRM_HIGHSEAS_SWEEP_AT")
    register_job("highseas.sweep", sweep, "cron", hour=hour, minute=minute)
    add_nav(NavItem("main", "highseas.pool", _l("High seas"), "water", permission="highseas.view", order=12))
    add_nav(NavItem("main", "highseas.my_claims", _l("My claim applications"), "hand-index",
                    permission="highseas.view", order=13))
    add_nav(NavItem("main", "highseas.audit", _l("Claim audit"), "clipboard-check", permission="highseas.assign",
                    order=14))
    add_nav(NavItem("admin", "highseas.rules_page", _l("High-seas rules"), "water", permission="highseas.configure",
                    order=47))
    signals.customer_released.connect(on_customer_released)
    signals.customer_locking.connect(on_customer_locking)
    # The customer list can show how many days an owned customer has before the sweep recycles it.
    register_list_column("days_until_recycle", _l("Days until recycle"), days_until_recycle_cells)
