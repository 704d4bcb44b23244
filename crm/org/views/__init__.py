"""Admin pages of the org tree and users (blueprint `org`, under /admin).

URL variables are named `unit_id` and `user_id`: the store-isolation crawler finds routes by these names."""

from __future__ import annotations

from crm.org.views import units  # noqa: F401  (registers the unit routes)
from crm.org.views import users  # noqa: F401  (registers the user routes)
from crm.org.views.common import bp

__all__ = ["bp"]

