"""Customer pages (blueprint `customers`, under /customers).

URL variables: `customer_id`, `contact_id`, `follow_up_id`, `index` (an attachment's position), `view_id`,
`job_id`, `user_id`; the store-isolation crawler classifies them by these names."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_nav
from crm.customers.leads import views as leads  # noqa: F401
from crm.customers.leads.views import public
from crm.customers.views import customers  # noqa: F401  (registers the routes)
from crm.customers.views import follow_ups  # noqa: F401
from crm.customers.views import imports  # noqa: F401
from crm.customers.views.common import bp

__all__ = ["bp", "public"]

add_nav(NavItem("main", "customers.index", _l("Customers"), "person-vcard", "customer.view", order=20))
add_nav(NavItem("main", "customers.leads", _l("Leads"), "funnel", "customer.view", order=22))
def _due_badge(user: Any) -> int | None:
    from crm.customers.queries import due_count

    return due_count(user) or None


add_nav(NavItem("main", "customers.to_follow_up", _l("To follow up"), "telephone-forward", "customer.view", order=25,
                badge=_due_badge))
