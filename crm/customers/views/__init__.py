"""Customer pages (blueprint `customers`, under /customers).

URL variables: `customer_id`, `contact_id`, `follow_up_id`, `index` (an attachment's position), `view_id`,
`job_id`, `user_id`; the store-isolation crawler classifies them by these names."""

from __future__ import annotations

from crm.customers.leads import views as leads  # noqa: F401
from crm.customers.leads.views import public
from crm.customers.views import customers  # noqa: F401  (registers the routes)
from crm.customers.views import follow_ups  # noqa: F401
from crm.customers.views import imports  # noqa: F401
from crm.customers.views.common import bp

__all__ = ["bp", "public"]

