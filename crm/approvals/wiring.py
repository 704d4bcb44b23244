"""The approvals context's wiring: the queue and chain pages, the API, the `approvals.*` operators."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    import crm.approvals.bpmn  # noqa: F401  (the operators, before any diagram is validated)
    import crm.approvals.models  # noqa: F401  (the mappers)
    from crm.approvals import api
    from crm.approvals.views import bp
    from crm.auth.rest import add_resource
    from crm.workflow.tasks.queries import register_subprocess

    register_subprocess("ap_step", "approval")  # the decision tasks' embedded sub-process (approval.bpmn)
    app.register_blueprint(bp)
    add_resource(api.blp, order=80)
    # Its badge (the approvals waiting for the user) is counted by the inbox's one badge query (crm.inbox).
    add_nav(NavItem("main", "approvals.queue", _l("Approvals"), "check2-square", order=15))
    add_nav(NavItem("admin", "approvals.chains", _l("Approval chains"), "diagram-3", permission="approval.configure",
                    order=60))
