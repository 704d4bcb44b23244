"""Definitions: every process with its versions, the diagram of a version, its download, the diff of two
versions; and the browser editor with its save route (through the deployment validation pipeline)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import abort
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.web import forget_refused_write
from crm.processes.views.common import any_permission
from crm.processes.views.common import bp
from crm.processes.views.common import source_label
from crm.workflow import layout
from crm.workflow import registry
from crm.workflow.admin import definitions as defs
from crm.workflow.admin import impact
from crm.workflow.admin import instances as admin
from crm.workflow.deploy import DeploymentRejected
from crm.workflow.deploy import current_definitions
from crm.workflow.tasks import queries as task_queries

VIEWERS = ("process.deploy", "process.admin")


@bp.route("/definitions")
@any_permission(*VIEWERS)
def definitions() -> Any:
    return render_template("processes/definitions.html", processes=defs.overview())


@bp.route("/definitions/<key>")
@any_permission(*VIEWERS)
def process(key: str) -> Any:
    rows = defs.versions(key)
    draft = impact.get_draft(key)
    return render_template(
        "processes/process.html", key=key, rows=rows, current=rows[0].definition, draft=draft,
        draft_author=task_queries.user_names({draft.saved_by_id}).get(draft.saved_by_id) if draft and draft.saved_by_id else None,
        old_instances=defs.live_instances_on_old_versions(key, current_user), source_label=source_label,
        failed=admin.failed_instances(key, current_user) if current_user.can("process.admin") else [],
    )


@bp.route("/definitions/<key>/retry-failed", methods=["POST"])
@permission_required("process.admin")
def retry_failed(key: str) -> Any:
    """Retry every failed instance of the process (in scope); report the ones that fail again."""
    if key not in current_definitions() or key.endswith(".dmn"):
        abort(404)
    fixed, failed = admin.retry_many(key, actor=current_user)
    if fixed:
        flash(_("%(num)s failed instances run again.", num=len(fixed)), "success")
    for instance_id, reason in failed.items():
        flash(_("#%(id)s failed again: %(reason)s", id=instance_id, reason=reason), "danger")
    if not fixed and not failed:
        flash(_("No instance of this process is in error."), "info")
    return redirect(url_for("processes.process", key=key), code=303)


def _version_page(key: str, version: int, *, status: int = 200, errors: dict[str, Any] | None = None,
                  alert: str | None = None, comment: str = "") -> Any:
    definition = defs.get_version(key, version)
    rows = defs.versions(key)
    row = next(r for r in rows if r.definition.id == definition.id)
    return render_template("processes/version.html", key=key, definition=definition, row=row, rows=rows,
                           source_label=source_label, counts=admin.element_counts(definition.id, current_user),
                           errors=errors or {}, alert=alert, comment=comment), status


@bp.route("/definitions/<key>/<int:version>")
@any_permission(*VIEWERS)
def version(key: str, version: int) -> Any:
    return _version_page(key, version)


@bp.route("/definitions/<key>/<int:version>/rollback", methods=["POST"])
@permission_required("process.deploy")
def rollback(key: str, version: int) -> Any:
    """Make this (earlier) version current again: a new version with its content, with a required comment."""
    defs.get_version(key, version)  # 404 first
    comment = request.form.get("comment") or ""
    try:
        created = defs.rollback(key, version, comment=comment, actor=current_user)
    except DeploymentRejected as exc:
        forget_refused_write(exc)
        return _version_page(key, version, status=422, comment=comment,
                             alert=" ".join([str(exc.message), *(str(p) for p in exc.problems)]))
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _version_page(key, version, status=422, errors=exc.errors, comment=comment)
    except DomainError as exc:
        if exc.status == 404:
            raise
        forget_refused_write(exc)
        return _version_page(key, version, status=exc.status, alert=str(exc.message), comment=comment)
    flash(_("Version %(new)s of %(key)s was deployed with the content of version %(old)s: new instances use it.",
            new=created.version, key=key, old=version), "success")
    return redirect(url_for("processes.process", key=key), code=303)


@bp.route("/definitions/<key>/<int:version>/download")
@any_permission(*VIEWERS)
def download(key: str, version: int) -> Any:
    definition = defs.get_version(key, version)
    resp = Response(definition.bpmn_xml, mimetype="application/xml")
    resp.headers["Content-Disposition"] = f'attachment; filename="{key}.v{version}.bpmn"'
    return resp


@bp.route("/definitions/<key>/<int:version>/xml")
@any_permission(*VIEWERS)
def xml(key: str, version: int) -> Any:
    """The diagram for the viewer and the editor (same-origin fetch); laid out when it has no DI."""
    definition = defs.get_version(key, version)
    return Response(layout.with_layout(definition.bpmn_xml), mimetype="application/xml")


@bp.route("/definitions/<key>/diff")
@any_permission(*VIEWERS)
def diff(key: str) -> Any:
    rows = defs.versions(key)
    numbers = [r.definition.version for r in rows]
    try:
        a = int(request.args.get("a") or (numbers[1] if len(numbers) > 1 else numbers[0]))
        b = int(request.args.get("b") or numbers[0])
    except ValueError:
        a, b = (numbers[1] if len(numbers) > 1 else numbers[0]), numbers[0]
    old = defs.get_version(key, a)
    new = defs.get_version(key, b)
    return render_template("processes/diff.html", key=key, old=old, new=new, rows=rows,
                           result=defs.diff_versions(old, new))


# The editor ------------------------------------------------------------------------------------------------
def _editor(key: str | None, version: int | None = None, *, draft: bool = False) -> Any:
    definition = current_definitions().get(key) if key else None
    saved_draft = impact.get_draft(key) if key and draft else None
    if key and (key.endswith(".dmn") or (definition is None and saved_draft is None)):
        abort(404)
    if key and version is not None and saved_draft is None:
        definition = defs.get_version(key, version)  # "Edit in the browser" on an older version's page
    return render_template(
        "processes/editor.html", key=key if definition is not None else None, definition=definition,
        draft=saved_draft, draft_key=key, operators=sorted(registry.operators()), form_files=registry.form_files(),
        roles=_role_choices(), statuses=_status_choices(key or (saved_draft.key if saved_draft else None)),
    )


def _role_choices() -> list[tuple[str, str]]:
    """The roles a task's `role` property may name (by key), for the editor's picker."""
    from sqlalchemy import select

    from crm.auth.models import Role
    from crm.extensions import db

    return [(r.key, r.display_name) for r in db.session.scalars(select(Role).order_by(Role.name)) if r.key]


def _status_choices(key: str | None) -> list[tuple[str, str]]:
    """The statuses the process's object can have (its contracts'), for the `status` property's picker."""
    from crm.core.objects import any_status_label

    seen: list[str] = []
    for contract in registry.contracts(key) if key else []:
        seen += [s for s in contract.statuses if s not in seen]
    return [(s, any_status_label(s)) for s in seen]


@bp.route("/editor")
@permission_required("process.deploy")
def new_diagram() -> Any:
    return _editor(None)


@bp.route("/definitions/<key>/edit")
@permission_required("process.deploy")
def edit(key: str) -> Any:
    """The editor on the current version, an older one (`?version=`), or the process's draft (`?draft=1`)."""
    raw = request.args.get("version") or ""
    return _editor(key, int(raw) if raw.isdigit() and 0 < int(raw) < 2**31 else None,
                   draft=request.args.get("draft") == "1")


def _json_error(exc: DomainError) -> Any:
    forget_refused_write(exc)
    body: dict[str, Any] = {"ok": False, "title": str(exc.message), "problems": []}
    if isinstance(exc, ValidationFailed):
        body["errors"] = exc.errors
    resp = jsonify(body)
    resp.status_code = 400 if isinstance(exc, ValidationFailed) else exc.status
    return resp


def _editor_payload() -> tuple[dict[str, Any], str | None]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        payload = request.form.to_dict()
    key = payload.get("key") or None
    if key is not None and (not isinstance(key, str) or not defs.KEY_RE.fullmatch(key)):
        abort(404)
    return payload, key


@bp.route("/editor/preview", methods=["POST"])
@permission_required("process.deploy")
def preview() -> Any:
    """JSON in ({xml, key}), JSON out: what deploying it would do (`impact.summary`); changes nothing."""
    payload, key = _editor_payload()
    try:
        found = impact.impact(payload.get("xml"), key=key, actor=current_user)
    except DomainError as exc:
        return _json_error(exc)
    return jsonify({"ok": True, **impact.summary(found)})


@bp.route("/editor/draft", methods=["POST"])
@permission_required("process.deploy")
def save_draft() -> Any:
    """JSON in ({xml, key, comment, lock_version}), JSON out: the draft kept (not current), with the
    problems the deployment would report."""
    payload, key = _editor_payload()
    try:
        draft = impact.save_draft(payload.get("xml"), key=key, comment=payload.get("comment"), actor=current_user,
                                  lock_version=payload.get("lock_version"))
    except DeploymentRejected as exc:
        forget_refused_write(exc)
        return jsonify({"ok": False, "title": str(exc.message), "problems": [
            {"element_id": p.element_id, "line": p.line, "message": p.message, "text": str(p)} for p in exc.problems]}), 422
    except DomainError as exc:
        return _json_error(exc)
    return jsonify({
        "ok": True, "key": draft.key, "lock_version": draft.lock_version, "problems": draft.problems,
        "message": _("The draft was saved. It is not current: new instances still use the current version.")
        if not draft.problems else _("The draft was saved with %(count)s problems to fix before it can be deployed.",
                                     count=len(draft.problems)),
        "url": url_for("processes.process", key=draft.key) if draft.based_on_version else None,
    })


@bp.route("/definitions/<key>/draft.xml")
@permission_required("process.deploy")
def draft_xml(key: str) -> Any:
    draft = impact.get_draft(key)
    if draft is None:
        abort(404)
    return Response(draft.bpmn_xml, mimetype="application/xml")


@bp.route("/definitions/<key>/draft/discard", methods=["POST"])
@permission_required("process.deploy")
def discard_draft(key: str) -> Any:
    impact.discard_draft(key, actor=current_user)
    flash(_("The draft was discarded."), "success")
    if key in current_definitions():
        return redirect(url_for("processes.process", key=key), code=303)
    return redirect(url_for("processes.definitions"), code=303)


@bp.route("/editor/save", methods=["POST"])
@permission_required("process.deploy")
def save() -> Any:
    """JSON in ({xml, comment, key}), JSON out: the new version, or every problem (422), or field errors
    (400). A rejected diagram changes nothing."""
    payload, key = _editor_payload()
    try:
        result = defs.save_from_editor(payload.get("xml"), key=key, comment=payload.get("comment"),
                                       actor_id=current_user.id)
        if result.created and payload.get("draft"):  # deployed from the draft: the draft is done with
            draft = impact.get_draft(result.created[0].key)
            if draft is not None:
                impact.discard_draft(draft.key, actor=current_user)
    except DeploymentRejected as exc:
        forget_refused_write(exc)
        problems = [{"file": p.file, "element_id": p.element_id, "line": p.line, "message": p.message, "text": str(p)}
                    for p in exc.problems]
        resp = jsonify({"ok": False, "title": str(exc.message), "problems": problems})
        resp.status_code = 422
        return resp
    except ValidationFailed as exc:
        forget_refused_write(exc)
        resp = jsonify({"ok": False, "title": str(exc.message), "errors": exc.errors, "problems": []})
        resp.status_code = 400
        return resp
    if not result.created:
        return jsonify({"ok": True, "unchanged": True, "message": _("Nothing changed: the diagram is the same as the "
                                                                    "current version.")})
    created = result.created[0]
    return jsonify({
        "ok": True, "key": created.key, "version": created.version,
        "message": _("Version %(version)s of %(key)s was deployed.", version=created.version, key=created.key),
        "url": url_for("processes.version", key=created.key, version=created.version),
        "edit_url": url_for("processes.edit", key=created.key),
    })


@bp.route("/definitions/<key>/migrate", methods=["GET", "POST"])
@permission_required("process.admin")
def migrate_many(key: str) -> Any:
    """Preview the move of every live instance on an older version; move the ones ticked."""
    current = current_definitions().get(key)
    if current is None or key.endswith(".dmn"):
        abort(404)
    errors: list[str] = []
    if request.method == "POST":
        chosen = request.form.getlist("instance_ids")
        if not chosen:
            errors.append(_("Tick the instances to move."))
        elif request.form.get("confirm") != "yes":
            errors.append(_("Tick the box to confirm that you reviewed what will change."))
        else:
            items = [(raw, request.form.get(f"token_{raw}")) for raw in chosen[:admin.BULK_LIMIT]]
            moved, failed = admin.migrate_many(items, actor=current_user)
            if moved:
                flash(_("%(num)s instances were moved to v%(version)s.", num=len(moved), version=current.version),
                      "success")
            for instance_id, reason in failed.items():
                flash(_("#%(id)s was not moved: %(reason)s", id=instance_id, reason=reason), "danger")
            return redirect(url_for("processes.migrate_many", key=key), code=303)
    previews = admin.bulk_previews(key, current_user)
    return render_template("processes/migrate_many.html", key=key, current=current, previews=previews,
                           errors=errors), (400 if errors else 200)
