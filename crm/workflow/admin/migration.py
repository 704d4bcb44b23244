"""Moving a running instance to the current version of its process (guide §8.4), with a preview.

The library's `diff_workflow` + `migrate_workflow` alone are unsafe; this module adds the fixes the guide
describes and refuses what it cannot do safely:
- FUTURE branches below STARTED parents (call activities, multi-instance) keep the old route: they are
  dropped and predicted again from the new specs;
- a JSON round-trip afterwards re-wires multi-instance children to their parent;
- a running subprocess whose spec disappeared, a waiting task the new version no longer has, and a
  waiting task structurally re-mapped onto a DIFFERENT element are refused with the reason;
- a completed task the new version removed keeps its (old) spec inside the instance's own spec copy, so
  its history survives (the library would otherwise leave a task whose spec cannot be restored).

`preview()` runs the whole migration on a copy and reports what will happen; `migrate()` runs it again
on the locked row and applies it only when the admin confirmed exactly that report (its `token`)."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.bpmn.util.diff import diff_workflow
from SpiffWorkflow.bpmn.util.diff import migrate_workflow
from SpiffWorkflow.util.task import TaskState

from crm.core.errors import Conflict
from crm.core.errors import InvalidTransition
from crm.extensions import db
from crm.workflow import engine
from crm.workflow import locks
from crm.workflow import runtime
from crm.workflow.deploy import fresh_spec_for
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessInstance

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
PREDICTED = TaskState.FUTURE | TaskState.PREDICTED_MASK
MIGRATABLE = (InstanceStatus.RUNNING, InstanceStatus.ERROR, InstanceStatus.SUSPENDED)


class MigrationRefused(InvalidTransition):
    default_message = _l("This instance cannot be moved to the new version.")

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(_l("This instance cannot be moved to the new version: %(reasons)s", reasons=" ".join(reasons)))
        self.reasons = reasons


@dataclass
class MigrationPlan:
    instance_id: int
    process_key: str
    from_version: int
    to_version: int
    to_definition_id: int
    reasons: list[str] = field(default_factory=list)  # why it is refused; empty = safe
    waiting_before: list[str] = field(default_factory=list)
    waiting_after: list[str] = field(default_factory=list)
    added_will_run: list[str] = field(default_factory=list)
    added_skipped: list[str] = field(default_factory=list)
    removed_completed: list[str] = field(default_factory=list)
    removed_not_reached: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    token: str = ""

    @property
    def safe(self) -> bool:
        return not self.reasons

    @property
    def same_version(self) -> bool:
        return self.from_version == self.to_version

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("token")
        return out


def _label(spec: Any) -> str:
    name = getattr(spec, "bpmn_name", None)
    bpmn_id = getattr(spec, "bpmn_id", None) or spec.name
    return f"{name} ({bpmn_id})" if name and name != bpmn_id else str(bpmn_id)


def _is_element(spec: Any) -> bool:
    return bool(getattr(spec, "bpmn_id", None))


def _waiting(wf: Any) -> list[str]:
    return sorted({_label(t.task_spec) for t in wf.get_tasks(state=ACTIVE) if _is_element(t.task_spec)
                   and t.task_spec.__class__.__name__ not in ("SubWorkflowTask",)})


def _keep_removed_specs(diff: Any, workflow: Any, new_spec: Any, plan: MigrationPlan) -> None:
    """A removed task that finished keeps a copy of its old spec inside the new spec (no inputs, no
    outputs: nothing is routed through it). A removed task that is active makes the migration unsafe; one
    only predicted simply will not happen."""
    for task in diff.removed:
        spec = task.task_spec
        if not _is_element(spec):
            continue
        if task.has_state(ACTIVE):
            plan.reasons.append(_("The instance is at %(task)s, which the new version no longer has.", task=_label(spec)))
        elif task.has_state(FINISHED):
            if spec.name not in new_spec.task_specs:
                kept = copy.copy(spec)
                kept.inputs, kept.outputs = [], []
                kept._wf_spec = new_spec
                new_spec.task_specs[spec.name] = kept
            label = _label(spec)
            if label not in plan.removed_completed:
                plan.removed_completed.append(label)
        else:
            label = _label(spec)
            if label not in plan.removed_not_reached:
                plan.removed_not_reached.append(label)


def _repredict_future(workflow: Any) -> None:
    """migrate_workflow() re-predicts only below READY/WAITING tasks; FUTURE branches below a STARTED task
    (multi-instance parent, call activity) keep the OLD route. Drop them and predict again (guide §8.4;
    private API of SpiffWorkflow 3.2.0: re-check on upgrades)."""
    parents = {t.parent for t in workflow.get_tasks(state=PREDICTED, skip_subprocesses=True)
               if t.parent is not None and not t.parent.has_state(PREDICTED) and not t.triggered}
    for parent in parents:
        for child in list(parent.children):
            if child.has_state(PREDICTED) and not child.triggered:
                workflow._remove_task(child.id)
        parent.task_spec._predict(parent, mask=TaskState.NOT_FINISHED_MASK)


def _run(instance: ProcessInstance) -> tuple[MigrationPlan, Any, tuple[str, str] | None]:
    """Migrate a freshly loaded copy of the instance's workflow. Returns the plan, the migrated workflow
    (None when refused) and the (sha256, JSON) of its specs."""
    definition, new_spec, new_deps = fresh_spec_for(instance.process_key)
    plan = MigrationPlan(instance.id, instance.process_key, instance.definition.version, definition.version,
                         definition.id)
    if instance.status not in MIGRATABLE:
        plan.reasons.append(_("Only a running, suspended or failed instance can be moved."))
        return plan, None, None
    wf = runtime._load(instance)
    plan.waiting_before = _waiting(wf)
    spec_diff = SpecDiff(engine.SERIALIZER.registry, wf.spec, new_spec)
    plan.changed = sorted(_label(s) for s, attrs in spec_diff.changed.items()
                          if _is_element(s) and set(attrs) - {"inputs", "outputs"})
    added = [s for s in spec_diff.added if _is_element(s)]
    try:
        top_diff, sub_diffs = diff_workflow(engine.SERIALIZER.registry, wf, new_spec, new_deps)
    except Exception as exc:  # noqa: BLE001 — the library's diff of an odd tree: refuse, never crash
        plan.reasons.append(_("The versions cannot be compared: %(error)s", error=engine.error_message(exc)))
        return plan, None, None
    for task, spec in top_diff.alignment.items():
        if spec is not None and _is_element(task.task_spec) and spec.name != task.task_spec.name:
            plan.renamed[_label(task.task_spec)] = _label(spec)
            if task.has_state(ACTIVE):
                plan.reasons.append(_("The waiting task %(old)s would be matched to a different element, %(new)s.",
                                      old=_label(task.task_spec), new=_label(spec)))
    _keep_removed_specs(top_diff, wf, new_spec, plan)
    for sp_id, sub in sub_diffs.items():
        sub_wf = wf.subprocesses[sp_id]
        if sub is None:
            plan.reasons.append(_("The running sub-process %(name)s is missing from the new version.",
                                  name=sub_wf.spec.name))
            continue
        _keep_removed_specs(sub, sub_wf, new_deps[sub_wf.spec.name], plan)
    if plan.reasons:
        return plan, None, None
    try:
        migrate_workflow(top_diff, wf, new_spec)
        for sp_id, sub in sub_diffs.items():
            sub_wf = wf.subprocesses[sp_id]
            migrate_workflow(sub, sub_wf, new_deps[sub_wf.spec.name])
        wf.subprocess_specs = new_deps
        _repredict_future(wf)
        for sub_wf in wf.subprocesses.values():
            if not sub_wf.completed:
                _repredict_future(sub_wf)
        specs = engine.specs_of(wf)
        properties = engine._properties_index(wf)
        # The round-trip re-wires multi-instance children to their parent (fresh specs are not wired).
        wf = engine.SERIALIZER.deserialize_json(engine.SERIALIZER.serialize_json(wf))
        wf.script_engine = engine.script_engine()
        wf.crm_properties = properties
    except Exception as exc:  # noqa: BLE001 — whatever the library trips on is a reason to refuse
        plan.reasons.append(_("The instance cannot be moved: %(error)s", error=engine.error_message(exc)))
        return plan, None, None
    plan.waiting_after = _waiting(wf)
    pending = {t.task_spec.name for t in wf.get_tasks(state=ACTIVE | PREDICTED)}
    for spec in added:
        (plan.added_will_run if spec.name in pending else plan.added_skipped).append(_label(spec))
    plan.added_will_run.sort()
    plan.added_skipped.sort()
    plan.token = hashlib.sha256(
        json.dumps([plan.summary(), instance.lock_version], sort_keys=True, default=str).encode()
    ).hexdigest()[:32]
    return plan, wf, specs


def preview(instance: ProcessInstance) -> MigrationPlan:
    """What moving this instance to the current version would do; changes nothing."""
    plan, _wf, _specs = _run(instance)
    return plan


def migrate(instance_id: int, token: str, *, actor_id: int) -> tuple[ProcessInstance, MigrationPlan]:
    """Apply the migration the admin previewed. `token` is the preview's: if the instance or the
    versions changed since, the admin must look again."""
    instance = locks.lock_instance(instance_id)
    plan, wf, specs = _run(instance)
    if not plan.safe:
        raise MigrationRefused(plan.reasons)
    if not token or token != plan.token:
        raise Conflict(_l("The instance or the process changed since the preview. Review the new preview and confirm again."))
    if plan.same_version:
        raise InvalidTransition(_l("The instance already runs on the current version."))
    assert wf is not None and specs is not None
    sha, text = specs
    runtime._ensure_spec(sha, text)
    instance.spec_sha256 = sha
    instance.definition_id = plan.to_definition_id
    instance.waiting = None  # task titles and candidates may have changed: sync the inbox
    runtime._attach_context(wf, instance, actor_id)
    kept = (instance.status, instance.last_error, instance.error_task_id)
    runtime._persist(instance, wf, completed_guid=None, actor_id=actor_id)
    if kept[0] in (InstanceStatus.ERROR, InstanceStatus.SUSPENDED):
        # Moving is not running: a failed step still waits for its retry, a suspended one for resume.
        instance.status, instance.last_error, instance.error_task_id = kept
    runtime._event(instance.id, "migrated", actor_id, from_version=plan.from_version, to_version=plan.to_version,
                   report=plan.summary())
    db.session.flush()
    db.session.expire(instance, ["definition"])  # loaded as the old version: read the new one next time
    return instance, plan
