"""The analytics page of a process version: the diagram as a heatmap of the time spent per element, with
counts of instances passed and waiting now, counts on the gateways' paths, and the same figures as a
sortable table (crm.workflow.admin.analytics computes them; crm/static/processes/analytics.js draws)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask import request
from flask import url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.errors import ValidationFailed
from crm.processes.views.common import any_permission
from crm.processes.views.common import bp
from crm.processes.views.definitions import VIEWERS
from crm.workflow.admin import analytics as stats
from crm.workflow.admin import definitions as defs


def heatmap_data(figures: stats.Analytics) -> dict[str, Any]:
    """What the script draws, with every text already in the reader's language (set as text, never HTML)."""
    span = figures.median_range
    return {
        "elements": {
            e.id: {"name": e.name, "median": e.median, "median_label": stats.human_duration(e.median),
                   "passed": e.passed, "waiting": e.waiting, "oldest_label": stats.human_duration(e.oldest_wait)}
            for e in figures.elements
        },
        "flows": {f.id: f.taken for f in figures.flows},
        "scale": {"min": span[0], "max": span[1], "min_label": stats.human_duration(span[0]),
                  "max_label": stats.human_duration(span[1])} if span else None,
        "labels": {"passed": _("instances passed"), "waiting": _("waiting now, the oldest for"),
                   "median": _("median"), "taken": _("times taken")},
    }


@bp.route("/definitions/<key>/analytics")
@any_permission(*VIEWERS)
def analytics(key: str) -> Any:
    values, errors = stats.read_args(request.args)
    rows = defs.versions(key)  # 404 for an unknown process
    tz = get_timezone()
    try:
        figures = stats.compute(key, current_user, tz=tz, **values)
    except ValidationFailed as exc:
        errors.update({name: messages[0] for name, messages in exc.errors.items()})
        figures = stats.compute(key, current_user, version=values.get("version"), tz=tz)
    return render_template(
        "processes/analytics.html", key=key, rows=rows, figures=figures, definition=figures.definition,
        errors=errors, heatmap=heatmap_data(figures), duration=stats.human_duration,
        xml_url=url_for("processes.xml", key=key, version=figures.definition.version),
    ), (400 if errors else 200)
