"""The SpiffWorkflow adapter: script engine, workflow class, serializer with split spec storage, timer
due dates, waiting messages and READY user tasks. Everything here is engine mechanics; the database
and transactions live in `runtime`."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import MutableMapping
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any
from typing import NamedTuple

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BaseMessageDef
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import EventBasedGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins import ExclusiveGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins import InclusiveGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins import ParallelGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from crm.core.clock import utcnow
from crm.core.errors import DomainError
from crm.workflow import registry
from crm.workflow import sandbox
from crm.workflow.budget import StepTimeout


def _correct_cardinality_output_check() -> None:
    """SpiffWorkflow 3.2.0 misspells `data_output` in the check of a cardinality loop's existing output
    (guide §4.3), so any such loop whose output variable already exists failed with a NameError. Replace
    that one method with the check it means, and only while the library still has the typo."""
    method = MultiInstanceTask.init_data_output_with_cardinality
    if "data_ouput" not in method.__code__.co_names:
        return

    def init_data_output_with_cardinality(self: Any, my_task: Any) -> None:
        if not self.data_output.exists(my_task):
            self.data_output.set(my_task, [])
            return
        output = self.data_output.get(my_task)
        if not isinstance(output, MutableMapping) and len(output) > 0:
            self.raise_data_exception(
                "If loop cardinality is specified, the output must be a map (dict) or an empty sequence (list)",
                my_task)

    MultiInstanceTask.init_data_output_with_cardinality = init_data_output_with_cardinality


_correct_cardinality_output_check()

def _now() -> datetime:
    return utcnow()


def _helpers() -> dict[str, Any]:
    return {
        "__builtins__": sandbox.builtins(),
        "Decimal": Decimal,
        "datetime": datetime,
        "date": date,
        "timedelta": timedelta,
        "now": _now,
        **sandbox.GUARDS,
    }


class SandboxEnvironment(TaskDataEnvironment):
    """The library's task-data environment with every snippet compiled and run by `crm.workflow.sandbox`.
    The guards and builtins are applied last, so no task-data key can replace them."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        code = sandbox.compiled(expression, "eval")
        scope = dict(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        scope.update(self._fixed)
        return eval(code, scope)  # noqa: S307 — RestrictedPython code against the sandbox's guards

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        code = sandbox.compiled(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        context.update(self.globals)
        context.update(external_context or {})
        context.update(self._fixed)
        try:
            exec(code, context)  # noqa: S102 — RestrictedPython code against the sandbox's guards
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True

    def __init__(self, environment_globals: dict[str, Any]) -> None:
        super().__init__(environment_globals)
        # Applied last on every evaluation, built once.
        self._fixed = {"__builtins__": self.globals["__builtins__"], **sandbox.GUARDS}


class OperatorFailed(Exception):
    """A service operator raised: carries the operator's own message (not the library's NameError)."""

    task: Any = None  # the task whose operator failed: the admin diagram marks its element


class CrmScriptEngine(PythonScriptEngine):
    """Snippets run in the sandbox (`crm.workflow.sandbox`) with the app's script functions; service
    tasks are dispatched to registered operators. A step's time budget that runs out inside a snippet
    names the snippet's task, so the instance's error points at the element."""

    def __init__(self) -> None:
        env = _helpers()
        env.update(registry.functions())
        super().__init__(environment=SandboxEnvironment(env))

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except StepTimeout as exc:
            _blame(exc, task)
            raise

    def execute(self, task: Any, script: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().execute(task, script, external_context)
        except StepTimeout as exc:
            _blame(exc, task)
            raise

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any], **kwargs: Any) -> str:
        from crm.workflow.registry import OperatorContext

        handler = registry.get_operator(operation_name)
        if handler is None:
            raise WorkflowTaskException(f"Unknown service operator {operation_name!r}", task=task)
        top = task.workflow.top_workflow
        app: dict[str, Any] = getattr(top, "crm_context", {}) or {}
        ctx = OperatorContext(
            instance_id=app.get("instance_id", 0),
            process_key=app.get("process_key", top.spec.name),
            object_type=app.get("object_type"),
            object_id=app.get("object_id"),
            store_id=app.get("store_id"),
            actor_id=app.get("actor_id"),
            task_bpmn_id=task.task_spec.bpmn_id,
            data=copy.deepcopy(task.data),
        )
        params = {name: spec["value"] for name, spec in operation_params.items()}
        try:
            result = handler(ctx, **params)
        except DomainError as exc:
            if exc.status == 404 or ctx.actor_id is None:
                raise _failed(operation_name, exc, task) from exc
            # A person's action the operator refuses (the recorder verifying their own collection): the
            # step rolls back and they are told why; the process has no error to record.
            raise
        except Exception as exc:  # the base class would turn this into NameError: script (guide §3.6)
            raise _failed(operation_name, exc, task) from exc
        return json.dumps(result, default=_json_default)


def _failed(operation_name: str, exc: Exception, task: Any) -> OperatorFailed:
    failed = OperatorFailed(f"{operation_name}: {exc}")
    failed.task = task
    return failed


def _blame(exc: BaseException, task: Any) -> None:
    if getattr(exc, "task", None) is None:
        exc.task = task  # type: ignore[attr-defined]  # any exception: the innermost snippet's task is the culprit


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_engine: CrmScriptEngine | None = None
_engine_functions: frozenset[str] = frozenset()


def script_engine() -> CrmScriptEngine:
    """One shared engine (it keeps no per-instance state), rebuilt when script functions were added."""
    global _engine, _engine_functions
    names = frozenset(registry.functions())
    if _engine is None or names != _engine_functions:
        _engine = CrmScriptEngine()
        _engine_functions = names
    return _engine


class CrmWorkflow(BpmnWorkflow):
    """BpmnTaskIterator stops at depth 1000 and the workflow stalls silently (guide §10.1)."""

    def get_tasks_iterator(self, first_task: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("max_depth", 1_000_000)
        return super().get_tasks_iterator(first_task, **kwargs)


class _SharedSpecConverter(BpmnWorkflowConverter):
    """Restores a workflow around spec objects restored once per spec hash (guide §8.3: a load cost
    about a quarter), when the dict carries them under "_crm_specs"; otherwise the library's way.
    The body mirrors BpmnWorkflowConverter.from_dict of SpiffWorkflow 3.2.0: re-check it on upgrades."""

    def from_dict(self, dct: dict[str, Any]) -> Any:
        shared = dct.pop("_crm_specs", None)
        if shared is None:
            return super().from_dict(dct)
        from uuid import UUID

        spec, subprocess_specs = shared
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any]
        if not getattr(workflow, "crm_state_only", False):
            dct = super().to_dict(workflow)
            return dct
        # The state alone: the specs are stored once per hash, converting them on every save is waste.
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[CrmWorkflow] = _SharedSpecConverter
    reg = BpmnWorkflowSerializer.configure(config)
    reg.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    reg.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    return BpmnWorkflowSerializer(reg)


SERIALIZER = _make_serializer()


# Split spec storage (guide §8.3) ------------------------------------------------------------------------
def _properties_index(wf: BpmnWorkflow) -> dict[str, dict[str, str]]:
    """"process|bpmn_id" -> spiffworkflow properties of every element that has some. The serializer
    drops the extensions of event specs on restore (3.2.0), so they are kept beside the specs."""
    index: dict[str, dict[str, str]] = {}
    for spec in [wf.spec, *wf.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            props = (getattr(ts, "extensions", None) or {}).get("properties")
            if props and getattr(ts, "bpmn_id", None):
                index[f"{spec.name}|{ts.bpmn_id}"] = dict(props)
    return index


def specs_of(wf: BpmnWorkflow) -> tuple[str, str]:
    """(sha256, JSON) of the workflow's spec and subprocess specs, the part shared by every instance."""
    d = SERIALIZER.to_dict(wf)
    part = {"spec": d["spec"], "subprocess_specs": d["subprocess_specs"], "properties": _properties_index(wf)}
    text = json.dumps(part, sort_keys=True, separators=(",", ":"), cls=SERIALIZER.json_encoder_cls)
    return hashlib.sha256(text.encode()).hexdigest(), text


def dump_state(wf: BpmnWorkflow) -> str:
    wf.crm_state_only = True
    try:
        d = SERIALIZER.to_dict(wf)
    finally:
        wf.crm_state_only = False
    d.pop("spec", None)
    d.pop("subprocess_specs", None)
    d["serializer_version"] = SERIALIZER.VERSION
    return json.dumps(d, separators=(",", ":"), cls=SERIALIZER.json_encoder_cls)


_spec_parts: dict[str, dict[str, Any]] = {}


def remember_specs(sha256: str, specs_json: str) -> None:
    if sha256 not in _spec_parts:  # parsed once: the text is the whole diagram's spec
        _spec_parts[sha256] = json.loads(specs_json, cls=SERIALIZER.json_decoder_cls)


def knows_specs(sha256: str) -> bool:
    return sha256 in _spec_parts


def element_properties(sha256: str, process: str, bpmn_id: str) -> dict[str, str]:
    """The spiffworkflow properties of one element of a remembered spec part (`remember_specs` first),
    without restoring any workflow."""
    index = (_spec_parts.get(sha256) or {}).get("properties") or {}
    return dict(index.get(f"{process}|{bpmn_id}") or {})


_spec_objects: dict[str, tuple[Any, dict[str, Any]]] = {}


def _shared_specs(sha256: str, part: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The spec objects of a spec part, restored once. Restoring consumes the dicts it is given (the
    library pops the task specs' extensions), so it restores from a copy and keeps the part intact."""
    objects = _spec_objects.get(sha256)
    if objects is None:
        restore = SERIALIZER.registry.restore
        spec = restore(copy.deepcopy(part["spec"]))
        subprocess_specs = {name: restore(d) for name, d in copy.deepcopy(part["subprocess_specs"]).items()}
        objects = (spec, subprocess_specs)
        _spec_objects[sha256] = objects
    return objects


def load_state(state: str, sha256: str, specs_json: str | None) -> CrmWorkflow:
    """Rebuild a workflow from its state and its spec part (cached by hash after the first load)."""
    part = _spec_parts.get(sha256)
    if part is None:
        if specs_json is None:
            raise KeyError(sha256)
        part = json.loads(specs_json, cls=SERIALIZER.json_decoder_cls)
        _spec_parts[sha256] = part
    d = json.loads(state, cls=SERIALIZER.json_decoder_cls)
    if d.get("serializer_version") == SERIALIZER.VERSION:
        d["_crm_specs"] = _shared_specs(sha256, part)
    else:  # an older format: the library's migrations need the spec dicts
        d["spec"] = copy.deepcopy(part["spec"])
        d["subprocess_specs"] = copy.deepcopy(part["subprocess_specs"])
        SERIALIZER.migrate(d)
    wf: CrmWorkflow = SERIALIZER.from_dict(d)  # the serializer's config restores our class
    wf.script_engine = script_engine()
    wf.crm_properties = part.get("properties", {})
    return wf


def new_workflow(spec: Any, subprocess_specs: dict[str, Any], data: dict[str, Any]) -> CrmWorkflow:
    wf = CrmWorkflow(spec, subprocess_specs, script_engine=script_engine())
    wf.task_tree.data.update(data)
    wf.crm_properties = _properties_index(wf)
    return wf


# Timers (guide §5.3) --------------------------------------------------------------------------------------
def _timer_defs(ed: Any) -> list[Any]:
    if isinstance(ed, MultipleEventDefinition):
        return [d for d in ed.event_definitions if isinstance(d, TimerEventDefinition)]
    return [ed] if isinstance(ed, TimerEventDefinition) else []


def _due_of(task: Any) -> datetime | None:
    """The due time of a WAITING timer task (aware UTC), or None if it is not one or has none yet."""
    defs = _timer_defs(getattr(task.task_spec, "event_definition", None))
    value = task.internal_data.get("event_value") if defs else None
    if value is None:
        return None
    if isinstance(value, dict):
        nxt = value.get("next")
        if nxt is None:
            return None
        due = datetime.fromisoformat(nxt)
    elif any(isinstance(d, TimeDateEventDefinition) for d in defs):
        due = TimerEventDefinition.parse_time_or_duration(value)
    else:
        due = TimerEventDefinition.get_datetime(value)
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return due.astimezone(UTC)


# Messages -------------------------------------------------------------------------------------------------
def _message_names(task: Any) -> list[str]:
    """The messages a WAITING task waits for."""
    ed = getattr(task.task_spec, "event_definition", None)
    defs = ed.event_definitions if isinstance(ed, MultipleEventDefinition) else [ed]
    return [d.name for d in defs if isinstance(d, BaseMessageDef) and d.name]


def deliver_message(wf: BpmnWorkflow, name: str, payload: dict[str, Any]) -> None:
    wf.send_event(BpmnEvent(MessageEventDefinition(name), payload))


# Tasks ----------------------------------------------------------------------------------------------------
def task_properties(wf: BpmnWorkflow, task: Any) -> dict[str, str]:
    """The spiffworkflow properties of a task's element (from the index kept beside the specs)."""
    index: dict[str, dict[str, str]] = getattr(wf, "crm_properties", None) or {}
    found = index.get(f"{task.workflow.spec.name}|{getattr(task.task_spec, 'bpmn_id', None)}")
    if found is not None:
        return found
    return dict((getattr(task.task_spec, "extensions", None) or {}).get("properties") or {})


def _status_of(wf: BpmnWorkflow, task: Any) -> str | None:
    """A READY or WAITING task's `status` property (guide §3.2). Gateways carry no extensions, so a waiting
    event-based gateway answers with the status of the events it waits for."""
    status = task_properties(wf, task).get("status")
    if not status:
        status = next((s for c in task.children if (s := task_properties(wf, c).get("status"))), None)
    return str(status) if status else None


class Position(NamedTuple):
    """Where a workflow stands after a step: what the instance row and the inbox record of it."""

    ready_user_tasks: list[Any]
    next_timer_due: datetime | None  # the earliest WAITING timer, subprocesses included
    waiting_messages: set[str]
    business_status: str | None  # of the first READY or WAITING task that has one


def position(wf: BpmnWorkflow) -> Position:
    """One walk over the READY and WAITING tasks (subprocesses included) instead of one per question:
    every step asks all four, and each walk visits the whole task tree."""
    ready: list[Any] = []
    dues: list[datetime] = []
    messages: set[str] = set()
    status: str | None = None
    for task in wf.get_tasks(state=TaskState.READY | TaskState.WAITING):
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                ready.append(task)
        else:
            due = _due_of(task)
            if due is not None:
                dues.append(due)
            messages.update(_message_names(task))
        if status is None:
            status = _status_of(wf, task)
    return Position(ready, min(dues) if dues else None, messages, status)


# The passage of a step (process analytics) -------------------------------------------------------------
# An element "waits" while its task is READY (a user task), WAITING (a catch event, a timer, an event-based
# gateway) or STARTED (a call activity, a sub-process, a multi-instance task).
WAITING = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_GATEWAYS = (ExclusiveGatewayMixin, InclusiveGatewayMixin, ParallelGatewayMixin, EventBasedGatewayMixin)
_SPLIT = ".BoundaryEventSplit"


def _element(task: Any) -> str | None:
    """The diagram element a task of the top-level process stands for (None for the library's own specs,
    such as a multi-instance task's children or the end join)."""
    spec = task.task_spec
    bpmn_id = getattr(spec, "bpmn_id", None)
    return str(bpmn_id) if bpmn_id is not None and spec.name == bpmn_id else None


def _target(task: Any) -> str | None:
    """The element a gateway's path leads to: the task's element, or for a task with boundary events the
    task the library's split stands before."""
    name = task.task_spec.name
    return str(name[: -len(_SPLIT)]) if name.endswith(_SPLIT) else _element(task)


class Snapshot(NamedTuple):
    """Where the top-level process's elements stood when a step began: task id -> (state, since when
    (epoch seconds: the task's last change of state), element)."""

    states: dict[Any, tuple[int, float, str]]


def snapshot(wf: BpmnWorkflow) -> Snapshot:
    """The states of the top-level diagram's element tasks that were waiting or done (one pass over the
    workflow's own task table, not the whole tree of its sub-processes)."""
    return Snapshot({t.id: (t.state, t.last_state_change, element) for t in wf.tasks.values()
                     if _waits_or_done(t) and (element := _element(t)) is not None})


def _waits(task: Any) -> bool:
    """A READY task waits only when a person must act (a user task); any other READY task is about to run."""
    return bool(task.state & (TaskState.WAITING | TaskState.STARTED)) or (
        task.state == TaskState.READY and bool(task.task_spec.manual))


def _waits_or_done(task: Any) -> bool:
    return _waits(task) or bool(task.state & TaskState.FINISHED_MASK)


class Passage(NamedTuple):
    """What the step did to the top-level diagram's elements (process analytics, `runtime._passage`):
    elements that began to wait (guid, element), elements completed (guid, element, seconds it waited or
    None when it was reached and left in this step), waits ended without completing (cancelled by a
    boundary event or another branch) and the outgoing paths of the gateways passed
    (gateway guid, gateway, element the path leads to)."""

    reached: list[tuple[str, str]]
    passed: list[tuple[str, str, float | None]]
    withdrawn: list[tuple[str, str, float | None]]
    flows: list[tuple[str, str, str]]


def passage(wf: BpmnWorkflow, before: Snapshot, now: float) -> Passage:
    reached: list[tuple[str, str]] = []
    passed: list[tuple[str, str, float | None]] = []
    withdrawn: list[tuple[str, str, float | None]] = []
    flows: list[tuple[str, str, str]] = []
    seen = set()
    for task in wf.tasks.values():
        element = _element(task)
        if element is None:
            continue
        seen.add(task.id)
        was = before.states.get(task.id)
        waited = round(max(now - was[1], 0.0), 3) if was is not None and was[0] & WAITING else None
        if task.state == TaskState.COMPLETED:
            if was is not None and was[0] & TaskState.FINISHED_MASK:
                continue
            passed.append((str(task.id), element, waited))
            spec = task.task_spec
            if isinstance(spec, _GATEWAYS) and len(spec.outputs) > 1:
                flows.extend((str(task.id), element, target) for child in task.children
                             if (target := _target(child)) is not None)
        elif _waits(task):
            if was is None or not was[0] & WAITING:
                reached.append((str(task.id), element))
        elif task.state & TaskState.FINISHED_MASK and waited is not None:
            withdrawn.append((str(task.id), element, waited))
    for task_id, (state, since, element) in before.states.items():
        if task_id not in seen and state & WAITING:  # a waiting task the step removed from the tree
            withdrawn.append((str(task_id), element, round(max(now - since, 0.0), 3)))
    return Passage(reached, passed, withdrawn, flows)


def error_message(exc: BaseException) -> str:
    """A readable one-paragraph message: the library appends notes to str(exc) (guide §10.18)."""
    if isinstance(exc, StepTimeout):
        task = getattr(exc, "task", None)
        where = f" [{task.task_spec.bpmn_id}]" if task is not None else ""
        seconds = f" of {exc.seconds:g} s" if exc.seconds else ""
        return f"The step ran past its time budget{seconds} and was stopped{where}."
    if isinstance(exc, OperatorFailed):
        return str(exc)
    cause = exc.__cause__ if isinstance(exc.__cause__, OperatorFailed) else None
    if cause is not None:
        return str(cause)
    if isinstance(exc, SpiffWorkflowException):
        text = str(exc.args[0]) if exc.args else type(exc).__name__
        notes = [n for n in getattr(exc, "notes", []) if n]
        task = getattr(exc, "task", None)
        where = f" [{task.task_spec.bpmn_id}]" if task is not None else ""
        return (text + where + (". " + " ".join(notes) if notes else "")).strip()
    return f"{type(exc).__name__}: {exc}"


def error_task_id(exc: BaseException) -> str | None:
    task = getattr(exc, "task", None)
    return str(task.id) if task is not None else None


def error_bpmn_id(exc: BaseException) -> str | None:
    """The element the failing task stands for (the diagram marks it; the task itself was rolled back)."""
    task = getattr(exc, "task", None)
    return getattr(task.task_spec, "bpmn_id", None) if task is not None else None
