"""Process admin pages (blueprint `processes`, under /processes).

URL variables: `key` (a process key), `version`, `instance_id`. The store-isolation crawler classifies
them (tests/test_isolation_crawler.py VARIABLES)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.core.objects import register_action_label
from crm.processes.views import analytics  # noqa: F401  (registers the analytics page of a version)
from crm.processes.views import definitions  # noqa: F401  (registers the definition and editor routes)
from crm.processes.views import dryrun  # noqa: F401  (registers the dry run: the editor's Test and the test page)
from crm.processes.views import instances  # noqa: F401  (registers the instance routes)
from crm.processes.views.common import bp

__all__ = ["bp"]


for _action, _label in {
    "process_suspended": _l("Process suspended"),
    "process_resumed": _l("Process resumed"),
    "process_terminated": _l("Process terminated"),
    "process_retried": _l("Process retried"),
    "process_task_reassigned": _l("Process task reassigned"),
    "process_migrated": _l("Process moved to another version"),
    "process_rolled_back": _l("Earlier version made current again"),
}.items():
    register_action_label(_action, _label)
