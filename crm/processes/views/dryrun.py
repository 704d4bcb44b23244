"""The dry run before deploy: the editor's "Test" (JSON in, the result's HTML and data out) and the test page
of a process's draft or of one of its versions, each beside the same runs of the current version. Nothing
is written (`crm.workflow.admin.dryrun`)."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask import jsonify
from flask import render_template
from flask import request
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.web import forget_refused_write
from crm.processes.views.common import bp
from crm.processes.views.definitions import _editor_payload
from crm.processes.views.definitions import _json_error
from crm.workflow.admin import definitions as defs
from crm.workflow.admin import dryrun
from crm.workflow.admin import impact
from crm.workflow.deploy import DeploymentRejected
from crm.workflow.deploy import current_definitions


@bp.route("/editor/dry-run", methods=["POST"])
@permission_required("process.deploy")
def editor_dry_run() -> Any:
    """JSON in ({xml, key, samples}), JSON out: the runs of the diagram beside the current version's, as
    data and as the HTML the editor shows."""
    payload, key = _editor_payload()
    try:
        result = dryrun.dry_run(payload.get("xml"), key=key, actor=current_user, samples=payload.get("samples"))
    except DeploymentRejected as exc:
        forget_refused_write(exc)
        return jsonify({"ok": False, "title": str(exc.message), "problems": [
            {"element_id": p.element_id, "line": p.line, "message": str(p.message), "text": str(p)}
            for p in exc.problems]}), 422
    except DomainError as exc:
        return _json_error(exc)
    return jsonify({"ok": True, **dryrun.summary(result),
                    "html": render_template("processes/_dry_run.html", result=result)})


@bp.route("/definitions/<key>/dry-run", methods=["GET", "POST"])
@permission_required("process.deploy")
def dry_run(key: str) -> Any:
    """The test page of the draft (`?draft=1`) or of a version (`?version=`, the current one by default):
    the runs on recent instances' start data (or the JSON typed in), beside the current version's."""
    current = current_definitions().get(key)
    draft = impact.get_draft(key) if request.args.get("draft") == "1" else None
    if key.endswith(".dmn") or (current is None and draft is None) or (request.args.get("draft") == "1" and draft is None):
        abort(404)
    raw = request.args.get("version") or ""
    if draft is not None:
        xml, label = draft.bpmn_xml, None
    elif raw.isdigit() and 0 < int(raw) < 2**31:
        chosen = defs.get_version(key, int(raw))
        xml, label = chosen.bpmn_xml, chosen.version
    else:
        assert current is not None
        xml, label = current.bpmn_xml, current.version
    samples = request.form.get("samples", "") if request.method == "POST" else ""
    errors: dict[str, Any] = {}
    result = None
    try:
        result = dryrun.dry_run(xml, key=key, actor=current_user, samples=samples or None)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        errors = exc.errors
    return render_template("processes/dry_run.html", key=key, draft=draft, version=label, current=current,
                           result=result, samples=samples, errors=errors), (422 if errors else 200)
