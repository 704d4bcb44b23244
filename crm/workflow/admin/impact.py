"""What deploying a diagram would do, before it does (the editor's "Review and deploy", the API's preview):
the deployment pipeline's verdict, the diff against the current version, how many live instances run on
each version, and which of those on older versions could be moved to the new one.

The preview deploys the diagram for real inside a SAVEPOINT and rolls it back: the verdict, the version
number and every migration check are the ones a deployment would give, computed by the same code (a
preview that re-implemented them would drift). Nothing is written: the savepoint's rows are discarded
before the request ends, and the parsed specs the migration check builds are its own (`fresh_spec_for`),
not the shared catalogue.

Drafts: a diagram can be saved as the process's draft (validated, not current) and deployed later from
the editor; `save_draft` keeps the pipeline's problems with it so the process page says whether it would
deploy."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.scopes import visible
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.extensions import db
from crm.org.models import User
from crm.workflow.admin import migration
from crm.workflow.admin.definitions import LIVE
from crm.workflow.admin.definitions import VersionDiff
from crm.workflow.admin.definitions import diff_versions
from crm.workflow.admin.definitions import live_instances_on_old_versions
from crm.workflow.admin.definitions import prepare_diagram
from crm.workflow.deploy import DeploymentRejected
from crm.workflow.deploy import current_definitions
from crm.workflow.deploy import deploy_files
from crm.workflow.models import ProcessDefinition
from crm.workflow.models import ProcessDraft
from crm.workflow.models import ProcessInstance
from crm.workflow.validation import Problem

# Moving an instance is checked by loading and diffing its workflow: the preview checks this many (oldest
# first) and says so when there are more.
CHECK_LIMIT = 100
BLOCKED_SHOWN = 10


@dataclass
class Blocked:
    instance_id: int
    version: int
    reasons: list[str]


@dataclass
class Impact:
    key: str | None
    problems: list[Problem] = field(default_factory=list)
    unchanged: bool = False
    current_version: int | None = None  # None: a new process
    next_version: int | None = None
    diff: VersionDiff | None = None
    live: dict[int, int] = field(default_factory=dict)  # version -> live instances in the viewer's scope
    checked: int = 0  # live instances on older versions whose move was checked
    movable: int = 0
    more: bool = False  # more instances than were checked
    blocked: list[Blocked] = field(default_factory=list)

    @property
    def deployable(self) -> bool:
        return not self.problems and not self.unchanged


def _require(actor: User) -> None:
    if not actor.can("process.deploy"):
        raise PermissionDenied()


def impact(xml: Any, *, key: str | None, actor: User, check_instances: bool = True) -> Impact:
    """The preview of deploying `xml` as the next version of `key` (None: a new process). Refuses bad input
    (ValidationFailed); a diagram the pipeline rejects comes back with its problems, not as an error.
    `check_instances=False` skips the live instances (a draft's save wants only the verdict)."""
    _require(actor)
    try:
        filename, content, _text = prepare_diagram(xml, key=key, comment=None)
    except DeploymentRejected as exc:
        return Impact(key=key, problems=list(exc.problems))
    savepoint = db.session.begin_nested()
    try:
        try:
            result = deploy_files({filename: content}, source="editor", actor_id=actor.id, comment="preview")
        except DeploymentRejected as exc:
            return Impact(key=key, problems=list(exc.problems))
        if not result.created:
            current = current_definitions().get(result.unchanged[0])
            return Impact(key=result.unchanged[0], unchanged=True,
                          current_version=current.version if current else None)
        created = result.created[0]
        previous = db.session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.key == created.key, ProcessDefinition.version == created.version - 1))
        out = Impact(key=created.key, current_version=previous.version if previous else None,
                     next_version=created.version, diff=diff_versions(previous, created) if previous else None)
        if not check_instances:
            return out
        out.live = _live_per_version(created.key, actor)
        candidates = live_instances_on_old_versions(created.key, actor, limit=CHECK_LIMIT + 1)
        out.more = len(candidates) > CHECK_LIMIT
        for instance in candidates[:CHECK_LIMIT]:
            plan = migration.preview(instance)
            out.checked += 1
            if plan.safe:
                out.movable += 1
            elif len(out.blocked) < BLOCKED_SHOWN:
                out.blocked.append(Blocked(instance.id, plan.from_version, [str(r) for r in plan.reasons]))
        return out
    finally:
        savepoint.rollback()


def _live_per_version(key: str, actor: User) -> dict[int, int]:
    stmt = (select(ProcessDefinition.version, func.count()).select_from(ProcessInstance)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(ProcessInstance.process_key == key, ProcessInstance.status.in_(LIVE))
            .group_by(ProcessDefinition.version).order_by(ProcessDefinition.version.desc()))
    rows: list[Any] = list(db.session.execute(visible(stmt, actor, ProcessInstance)))  # type: ignore[arg-type]
    return {int(v): int(n) for v, n in rows}


# Drafts -------------------------------------------------------------------------------------------------
def get_draft(key: str) -> ProcessDraft | None:
    return db.session.scalar(select(ProcessDraft).where(ProcessDraft.key == key))


def save_draft(xml: Any, *, key: str | None, comment: Any, actor: User, lock_version: Any = None) -> ProcessDraft:
    """Keep the diagram as its process's draft, with what the deployment pipeline says of it (a draft may
    have problems: it is work in progress). `lock_version` is the version of the draft the editor opened:
    saving over a newer save by someone else is refused (409) instead of losing it."""
    _require(actor)
    filename, content, text = prepare_diagram(xml, key=key, comment=comment)
    preview = impact(content.decode("utf-8"), key=key, actor=actor, check_instances=False)
    draft_key = preview.key or filename.removesuffix(".bpmn")
    current = current_definitions().get(draft_key)
    draft = get_draft(draft_key)
    if draft is None:
        draft = ProcessDraft(key=draft_key)
        db.session.add(draft)
    elif lock_version not in (None, "") and str(lock_version) != str(draft.lock_version):
        raise Conflict(_l("Someone saved this draft after you opened it. Open the draft again to see their changes."))
    draft.bpmn_xml, draft.comment = content.decode("utf-8"), text or None
    draft.problems = [str(p) for p in preview.problems]
    draft.based_on_version = current.version if current else None
    draft.saved_by_id, draft.saved_at = actor.id, utcnow()
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(_l("Someone saved this draft at the same moment. Open the draft again.")) from exc
    return draft


def discard_draft(key: str, *, actor: User) -> None:
    _require(actor)
    draft = get_draft(key)
    if draft is None:
        raise NotFound()
    db.session.delete(draft)
    db.session.flush()


def summary(preview: Impact) -> dict[str, Any]:
    """The preview as plain data (the editor's JSON and the API)."""
    def changes(items: list[Any]) -> list[dict[str, Any]]:
        return [{"element_id": c.element_id, "kind": c.kind, "name": c.name, "changes": [str(x) for x in c.changes]}
                for c in items]

    diff = preview.diff
    return {
        "key": preview.key, "deployable": preview.deployable, "unchanged": preview.unchanged,
        "problems": [{"element_id": p.element_id, "line": p.line, "message": str(p.message), "text": str(p)}
                     for p in preview.problems],
        "current_version": preview.current_version, "next_version": preview.next_version,
        "diff": None if diff is None else {"added": changes(diff.added), "removed": changes(diff.removed),
                                           "changed": changes(diff.changed)},
        "live": [{"version": v, "instances": n} for v, n in preview.live.items()],
        "checked": preview.checked, "movable": preview.movable, "more": preview.more,
        "blocked": [{"instance_id": b.instance_id, "version": b.version, "reasons": b.reasons} for b in preview.blocked],
    }
