"""The dry run's engine: a diagram run in memory on start data, with operators simulated, every user task
completed with generated form data and the paths it can take explored.

A run is a sequence of choices. At a choice point the run has alternatives: an exclusive gateway (each of
its outgoing flows), a wait (complete a user task — with each variant of its generated form data —,
deliver a message an event waits for, fire a timer). The first run takes the natural alternative
everywhere (the gateway's own conditions; the first user task; the first message); each run after it
replays a prefix of an earlier run's choices and then takes one alternative not taken yet. Exploration is
bounded: each alternative (an element and what happens there) is explored once, and there are at most
`MAX_RUNS` runs of at most `MAX_WAITS` waits each.

A forced flow still evaluates every condition of its gateway (a condition that raises is the run's error,
naming the gateway); operators are replaced by their registered simulation (`registry.simulation`) or give
their parameters back. Nothing here reads or writes the database."""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from time import monotonic
from typing import Any
from uuid import UUID

from flask_babel import gettext as _
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BaseMessageDef
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import ExclusiveGatewayMixin
from SpiffWorkflow.util.task import TaskState

from crm.workflow import engine
from crm.workflow import inbox_sync
from crm.workflow import registry
from crm.workflow.budget import StepTimeout
from crm.workflow.budget import budget
from crm.workflow.dryrun.forms import Variant
from crm.workflow.dryrun.forms import variants
from crm.workflow.i18n import translated
from crm.workflow.registry import OperatorContext

MAX_RUNS = 40
MAX_WAITS = 60
MESSAGE_PAYLOAD = {"dry_run": True}
_SPLIT = ".BoundaryEventSplit"
_PAST = datetime(2000, 1, 1, tzinfo=UTC).isoformat()


@dataclass
class Step:
    element_id: str
    name: str
    kind: str  # the element's class: UserTask, ServiceTask, ExclusiveGateway, EndEvent …
    process: str


@dataclass
class Run:
    sample: int
    choices: list[str]  # the alternatives this run took that the first run did not (in words)
    keys: list[str] = field(default_factory=list)  # the same alternatives, as identities (for comparing runs)
    path: list[Step] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    outcome: str = "waiting"  # completed | error | stalled | limit
    error: str | None = None
    error_element: str | None = None
    error_name: str | None = None
    notes: list[str] = field(default_factory=list)
    process: str = ""

    @property
    def ends(self) -> list[str]:
        """The end events of the top-level process the run reached."""
        return [s.name or s.element_id for s in self.path if s.kind == "EndEvent" and s.process == self.process]


@dataclass
class _Alternative:
    key: str  # what it is, to explore each one once
    label: str
    act: Callable[[Any], None]


class _Plan:
    """The choices of one run: replayed by index, then natural (0); records what each point offered."""

    def __init__(self, forced: list[int]) -> None:
        self.forced = forced
        self.points: list[list[_Alternative]] = []
        self.taken: list[int] = []
        self.gateways: dict[UUID, str] = {}  # gateway task -> the target chosen

    def choose(self, alternatives: list[_Alternative], natural: int = 0) -> int:
        """The alternative to take at the next point: the forced one, else `natural` (-1: none is natural)."""
        i = len(self.points)
        self.points.append(alternatives)
        pick = self.forced[i] if i < len(self.forced) and self.forced[i] < len(alternatives) else natural
        self.taken.append(pick)
        return pick


class SimulationEngine(engine.CrmScriptEngine):
    """The app's script engine with operators simulated and exclusive gateways steered by the run's plan."""

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any], **kwargs: Any) -> str:
        top = task.workflow.top_workflow
        run: _Context = top.crm_dry_run
        if registry.get_operator(operation_name) is None:
            raise WorkflowTaskException(f"Unknown service operator {operation_name!r}", task=task)
        params = {name: spec["value"] for name, spec in operation_params.items()}
        ctx = OperatorContext(
            instance_id=0, process_key=top.spec.name, object_type=run.object_type, object_id=run.object_id,
            store_id=run.store_id, actor_id=run.actor_id, task_bpmn_id=task.task_spec.bpmn_id, data=dict(task.data),
        )
        simulate = registry.simulation_of(operation_name)
        try:
            result = simulate(ctx, **params) if simulate is not None else dict(params)
        except Exception as exc:  # noqa: BLE001 — the operator's error, as the real step would report it
            raise engine._failed(operation_name, exc, task) from exc
        if isinstance(params.get("status"), str):
            run.status(params["status"])
        return json.dumps(result, default=engine._json_default)

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        spec = task.task_spec
        run: _Context | None = getattr(task.workflow.top_workflow, "crm_dry_run", None)
        if run is None or not isinstance(spec, ExclusiveGatewayMixin):
            return super().evaluate(task, expression, external_context)
        target = run.plan.gateways.get(task.id)
        if target is None:
            target = self._decide(task, run, external_context)
            run.plan.gateways[task.id] = target
        return any(c is not None and c.args and c.args[0] == expression and t == target
                   for c, t in spec.cond_task_specs)

    def _decide(self, task: Any, run: _Context, external_context: dict[str, Any] | None) -> str:
        spec = task.task_spec
        flows = list(spec.cond_task_specs)
        targets = list(dict.fromkeys(t for _c, t in flows))
        natural = spec.default_task_spec
        for condition, target in flows:
            if condition is not None and condition.args and super().evaluate(task, condition.args[0], external_context):
                natural = target
                break
        names = [_element_name(task.workflow.spec, t, task.data) for t in targets]
        gateway = shown(spec, task.data)
        alternatives = [_Alternative(f"gw:{task.workflow.spec.name}:{spec.bpmn_id}->{t}",
                                     _("%(gateway)s → %(target)s", gateway=gateway, target=n), lambda wf: None)
                        for t, n in zip(targets, names, strict=True)]
        pick = run.plan.choose(alternatives, targets.index(natural) if natural in targets else -1)
        if pick < 0:  # no condition holds and no default flow: what the engine would raise, at the gateway
            raise WorkflowTaskException(f"No condition of gateway {gateway!r} holds and it has no default flow",
                                        task=task)
        if targets[pick] != natural:
            # A forced flow: the conditions are still all evaluated (one that raises is the run's error).
            for condition, _target in flows:
                if condition is not None and condition.args:
                    super().evaluate(task, condition.args[0], external_context)
        return str(targets[pick])


def _element_name(spec: Any, task_spec_name: str, data: dict[str, Any]) -> str:
    name = task_spec_name[: -len(_SPLIT)] if task_spec_name.endswith(_SPLIT) else task_spec_name
    ts = spec.task_specs.get(name)
    return shown(ts, data) if ts is not None else name


def shown(ts: Any, data: dict[str, Any]) -> str:
    """An element's name as people read it: in their language, its {{ placeholders }} filled from the data;
    its id when it has no name."""
    name = getattr(ts, "bpmn_name", None)
    if not name:
        return str(getattr(ts, "bpmn_id", None) or ts.name)
    return str(inbox_sync.render(translated(name), data) or name)


@dataclass
class _Context:
    """What the simulated operators know, and the run's plan and statuses."""

    plan: _Plan
    run: Run
    actor_id: int | None
    object_type: str | None
    object_id: int | None
    store_id: int | None
    reads: frozenset[str] = frozenset()

    def status(self, value: str) -> None:
        if value and (not self.run.statuses or self.run.statuses[-1] != value):
            self.run.statuses.append(value)


_engine: SimulationEngine | None = None


def simulation_engine() -> SimulationEngine:
    """One shared engine (a run's state lives on its workflow), rebuilt when script functions were added."""
    global _engine
    if _engine is None or not set(registry.functions()) <= set(_engine.environment.globals):  # a function added
        _engine = SimulationEngine()
    return _engine


@dataclass
class Subject:
    """What the runs are about: the actor and, from a real instance, its object."""

    actor_id: int | None = None
    object_type: str | None = None
    object_id: int | None = None
    store_id: int | None = None


@dataclass
class Sample:
    data: dict[str, Any]
    subject: Subject
    label: str = ""
    instance_id: int | None = None  # the real instance whose start data this is


def explore(spec: Any, subprocess_specs: dict[str, Any], samples: list[Sample], *, seconds: float | None = None,
            max_runs: int = MAX_RUNS, until: float | None = None) -> tuple[list[Run], bool]:
    """Every run of the diagram on each sample (bounded, see the module's doc; `seconds` is each run's time
    budget, `until` a `time.monotonic()` after which no run starts). Returns the runs and whether the bound
    cut the exploration short."""
    runs: list[Run] = []
    explored: set[str] = set()
    queue: list[tuple[int, list[int], list[_Alternative]]] = [(i, [], []) for i in range(len(samples))]
    cut = False
    while queue:
        if len(runs) >= max_runs or (until is not None and runs and monotonic() > until):
            cut = True
            break
        sample, forced, choices = queue.pop(0)
        run, plan = _run(spec, subprocess_specs, samples[sample], sample, forced, choices, seconds)
        runs.append(run)
        for i, alternatives in enumerate(plan.points):
            if plan.taken[i] >= 0:  # -1: the natural way was an error (a gateway no condition lets through)
                explored.add(alternatives[plan.taken[i]].key)
        for i in range(len(forced), len(plan.points)):
            for j, alternative in enumerate(plan.points[i]):
                if j == plan.taken[i] or alternative.key in explored:
                    continue
                explored.add(alternative.key)
                queue.append((sample, [*plan.taken[:i], j], [*choices, alternative]))
    return runs, cut


def _run(spec: Any, subprocess_specs: dict[str, Any], given: Sample, sample: int, forced: list[int],
         choices: list[_Alternative], seconds: float | None) -> tuple[Run, _Plan]:
    plan = _Plan(forced)
    subject = given.subject
    run = Run(sample=sample, choices=[c.label for c in choices], keys=[c.key for c in choices], process=spec.name)
    wf = engine.CrmWorkflow(spec, subprocess_specs, script_engine=simulation_engine())
    seed = copy.deepcopy(given.data)
    seed.setdefault("initiator_id", subject.actor_id)
    if subject.object_id is not None:
        seed.setdefault("object_id", subject.object_id)
    wf.task_tree.data.update(seed)
    wf.crm_properties = engine._properties_index(wf)
    wf.crm_dry_run = _Context(plan, run, subject.actor_id, subject.object_type, subject.object_id, subject.store_id,
                              reads_of(spec, subprocess_specs))
    seen: set[UUID] = set()
    try:
        with budget(seconds):
            wf.do_engine_steps()
            _record(wf, run, seen)
            for _wait in range(MAX_WAITS):
                if wf.is_completed():
                    run.outcome = "completed"
                    break
                alternatives = _waits(wf, run)
                if not alternatives:
                    run.outcome = "stalled"
                    break
                alternatives[plan.choose(alternatives)].act(wf)
                wf.do_engine_steps()
                _record(wf, run, seen)
            else:
                run.outcome = "limit"
    except StepTimeout as exc:
        _failed(run, wf, exc)
    except Exception as exc:  # noqa: BLE001 — whatever the diagram raises is what the dry run reports
        _failed(run, wf, exc)
    return run, plan


def reads_of(spec: Any, subprocess_specs: dict[str, Any]) -> frozenset[str]:
    """The names the diagram's conditions and scripts read, and the keys they look up ("key:approved"): the
    form choices worth exploring, and the start data worth varying."""
    if spec is None:
        return frozenset()
    cached = spec.__dict__.get("_crm_dry_run_reads")
    if cached is not None:
        return cached  # type: ignore[no-any-return]  # set below, a frozenset
    names: set[str] = set()
    for each in [spec, *subprocess_specs.values()]:
        for ts in each.task_specs.values():
            snippets = [c.args[0] for c, _t in getattr(ts, "cond_task_specs", None) or [] if c is not None and c.args]
            snippets += [getattr(ts, attr, None) for attr in ("script", "prescript", "postscript", "condition")]
            for code in snippets:
                if isinstance(code, str) and code.strip():
                    try:
                        tree = ast.parse(code.strip())
                    except (SyntaxError, ValueError, RecursionError):
                        continue
                    for n in ast.walk(tree):
                        if isinstance(n, ast.Name):
                            names.add(n.id)
                        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
                            names.add(f"key:{n.value}")  # decision['approved'], correction.get('action')
    found = frozenset(names)
    spec.__dict__["_crm_dry_run_reads"] = found
    return found


def _failed(run: Run, wf: Any, exc: BaseException) -> None:
    _record(wf, run, set(), only_new=False)
    run.outcome = "error"
    run.error = engine.error_message(exc)
    run.error_element = engine.error_bpmn_id(exc)
    task = getattr(exc, "task", None)
    if task is not None:
        run.error_name = shown(task.task_spec, task.data)


def _record(wf: Any, run: Run, seen: set[UUID], *, only_new: bool = True) -> None:
    """Add the elements completed since the last look to the run's path, and the status shown now."""
    if not only_new:  # after an error: the path as it stands (the run's `seen` is gone with its frame)
        seen = {UUID(int=0)}
        run.path.clear()
    done = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.id not in seen]
    done.sort(key=lambda t: t.last_state_change)
    for task in done:
        seen.add(task.id)
        ts = task.task_spec
        bpmn_id = getattr(ts, "bpmn_id", None)
        if bpmn_id is None or ts.name != bpmn_id:
            continue
        run.path.append(Step(str(bpmn_id), shown(ts, task.data) if ts.bpmn_name else "", type(ts).__name__,
                             task.workflow.spec.name))
    if only_new:
        status = engine.position(wf).business_status
        if status:
            context: _Context = wf.crm_dry_run
            context.status(status)


def _waits(wf: Any, run: Run) -> list[_Alternative]:
    """What can happen next while the workflow waits: user tasks first (each form variant), then messages,
    then timers."""
    out: list[_Alternative] = []
    for task in wf.get_tasks(state=TaskState.READY):
        if not task.task_spec.manual:
            continue
        name = shown(task.task_spec, task.data)
        options, notes = variants(task.task_spec, task.data, wf.crm_dry_run.reads)
        for note in notes:
            if note not in run.notes:
                run.notes.append(note)
        for variant in options:
            label = _("%(task)s: completed", task=name) if not variant.label else \
                _("%(task)s: completed with %(choice)s", task=name, choice=variant.label)
            out.append(_Alternative(f"task:{task.task_spec.bpmn_id}#{variant.label}", label,
                                    _completer(task.id, variant)))
    messages: list[_Alternative] = []
    timers: list[_Alternative] = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        ed = getattr(task.task_spec, "event_definition", None)
        defs = ed.event_definitions if isinstance(ed, MultipleEventDefinition) else [ed]
        name = _event_name(task)
        for d in defs:
            if isinstance(d, BaseMessageDef) and d.name:
                messages.append(_Alternative(f"msg:{task.task_spec.bpmn_id}:{d.name}",
                                             _("%(event)s: message %(message)s", event=name, message=d.name),
                                             _sender(d.name)))
            elif isinstance(d, TimerEventDefinition):
                timers.append(_Alternative(f"timer:{task.task_spec.bpmn_id}", _("%(event)s: timer fired", event=name),
                                           _timer(task.id)))
    return out + messages + timers


def _event_name(task: Any) -> str:
    """An event's name, with the activity it is attached to when it is a boundary event ("Cancelled on Ship
    order …"): several boundary events often share a name."""
    name = shown(task.task_spec, task.data)
    parent = task.parent.task_spec.name if task.parent is not None else ""
    if parent.endswith(_SPLIT):
        attached = next((c for c in task.parent.children if c.task_spec.name == parent[: -len(_SPLIT)]), None)
        if attached is not None:
            activity = shown(attached.task_spec, attached.data)
            return str(_("%(event)s on “%(activity)s”", event=name, activity=activity))
    return name


def _completer(task_id: UUID, variant: Variant) -> Callable[[Any], None]:
    def act(wf: Any) -> None:
        task = wf.get_task_from_id(task_id)
        variable = getattr(task.task_spec, "variable", None)
        task.data.update({variable: variant.data} if variable else variant.data)
        task.run()
    return act


def _sender(name: str) -> Callable[[Any], None]:
    return lambda wf: engine.deliver_message(wf, name, dict(MESSAGE_PAYLOAD))


def _timer(task_id: UUID) -> Callable[[Any], None]:
    def act(wf: Any) -> None:
        task = wf.get_task_from_id(task_id)
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):
            value["next"] = _PAST
        else:
            task.internal_data["event_value"] = _PAST
        wf.refresh_timers()
    return act
