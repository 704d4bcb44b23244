"""Process admin pages (blueprint `processes`, under /processes).

URL variables: `key` (a process key), `version`, `instance_id`. The store-isolation crawler classifies
them (tests/test_isolation_crawler.py VARIABLES)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_nav
from crm.core.web import register_action_label
from crm.processes.views import definitions  # noqa: F401  (registers the definition and editor routes)
from crm.processes.views import instances  # noqa: F401  (registers the instance routes)
from crm.processes.views.common import bp

__all__ = ["bp"]

add_nav(NavItem("main", "processes.instances", _l("Processes"), "diagram-3", order=40))
add_nav(NavItem("admin", "processes.definitions", _l("Process definitions"), "diagram-2", permission="process.deploy",
                order=60))
add_nav(NavItem("admin", "processes.unmatched", _l("Unmatched messages"), "envelope-exclamation",
                permission="process.admin", order=61))

for _action, _label in {
    "process_suspended": _l("Process suspended"),
    "process_resumed": _l("Process resumed"),
    "process_terminated": _l("Process terminated"),
    "process_retried": _l("Process retried"),
    "process_task_reassigned": _l("Process task reassigned"),
    "process_migrated": _l("Process moved to another version"),
}.items():
    register_action_label(_action, _label)
