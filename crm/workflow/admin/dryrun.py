"""The dry run before deploy (issue 24): the editor's "Test", the draft's and a version's test page and the
API run a diagram in memory (`crm.workflow.dryrun.explore`) on sample data, beside the same runs of the
current version.

Samples: the start data typed in (a JSON object, or a list of them), else the start data of recent real
instances of the process in the actor's scope (those that differ in what the diagram's conditions read
first), else data generated from the inputs the process declares. Nothing is written: operators are
simulated, the diagram is parsed by a parser of its own, and the instances are only read."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from dataclasses import field
from time import monotonic
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.auth.scopes import visible
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.org.models import User
from crm.workflow import engine
from crm.workflow.admin.definitions import prepare_diagram
from crm.workflow.deploy import current_definitions
from crm.workflow.deploy import spec_for
from crm.workflow.depth import deep
from crm.workflow.dryrun.explore import Run
from crm.workflow.dryrun.explore import Sample
from crm.workflow.dryrun.explore import Subject
from crm.workflow.dryrun.explore import explore
from crm.workflow.dryrun.explore import reads_of
from crm.workflow.models import ProcessInstance
from crm.workflow.runtime import step_budget_seconds
from crm.workflow.soundness.dataflow import declared_inputs
from crm.workflow.soundness.graph import B

MAX_SAMPLES = 3
RECENT = 30  # recent instances looked at for samples
MAX_TYPED = 5
TOTAL_SECONDS = 20.0  # per side: no run starts after that (each run also has the step's time budget)
_GENERATED = {"number": 1, "str": "DRY-RUN", "bool": False, "list": [], "dict": {}}


@dataclass
class Side:
    """The runs of one version of the diagram."""

    version: int | None  # None: the diagram being edited
    runs: list[Run] = field(default_factory=list)
    cut: bool = False  # the exploration stopped at its bound
    problem: str | None = None  # the diagram could not be parsed

    @property
    def errors(self) -> list[Run]:
        return [r for r in self.runs if r.outcome == "error"]


@dataclass
class Row:
    """One scenario (a sample and the choices made), in the new version and in the current one."""

    sample: int
    choices: list[str]
    new: Run | None
    current: Run | None

    @property
    def same(self) -> bool:
        """Both versions took the same path to the same outcome, showing the same statuses."""
        a, b = self.new, self.current
        return a is not None and b is not None and (a.outcome, a.statuses, a.error) == (b.outcome, b.statuses, b.error) \
            and [s.element_id for s in a.path] == [s.element_id for s in b.path]


@dataclass
class DryRun:
    key: str
    samples: list[Sample]
    new: Side
    current: Side | None  # None: a new process

    @property
    def rows(self) -> list[Row]:
        def key(r: Run) -> tuple[int, tuple[str, ...]]:
            return r.sample, tuple(r.keys)

        current = {key(r): r for r in (self.current.runs if self.current else [])}
        rows = [Row(r.sample, r.choices, r, current.pop(key(r), None)) for r in self.new.runs]
        rows += [Row(r.sample, r.choices, None, r) for r in current.values()]
        return rows


def _require(actor: User) -> None:
    if not actor.can("process.deploy"):
        raise PermissionDenied()


def typed_samples(raw: Any) -> list[dict[str, Any]] | None:
    """Start data typed in: a JSON object or a list of objects (text or already parsed); None when empty.
    Refuses anything else with an error naming the field."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ValidationFailed({"samples": _l("The sample data is not valid JSON: %(error)s", error=str(exc))}) from None
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, dict) for i in items) or len(items) > MAX_TYPED:
        raise ValidationFailed({"samples": _l("Give the start data as a JSON object, or a list of at most %(n)s "
                                              "objects.", n=MAX_TYPED)})
    return [dict(i) for i in items]


def dry_run(xml: Any, *, key: str | None, actor: User, samples: Any = None) -> DryRun:
    """Run `xml` (the next version of `key`, or a new process) and the current version on the same samples."""
    _require(actor)
    typed = typed_samples(samples)
    filename, content, _text = prepare_diagram(xml, key=key, comment=None)
    key = filename.removesuffix(".bpmn")
    current = current_definitions().get(key)
    seconds = step_budget_seconds()
    until = monotonic() + TOTAL_SECONDS
    new = Side(version=None)
    parsed = _parse(key, content)
    if isinstance(parsed, str):
        new.problem = parsed
        spec = None
    else:
        spec, subprocess_specs = parsed
    current_specs = None
    if current is not None:
        _definition, current_spec, current_subprocess_specs = spec_for(key)
        current_specs = (current_spec, current_subprocess_specs)
    reads = reads_of(*(parsed if not isinstance(parsed, str) else current_specs or (None, {})))
    chosen = _samples(key, typed, actor, reads, content)
    if spec is not None:
        new.runs, new.cut = explore(spec, subprocess_specs, chosen, seconds=seconds, until=until)
    out = DryRun(key=key, samples=chosen, new=new, current=None)
    if current_specs is not None:
        side = Side(version=current.version if current else None)
        side.runs, side.cut = explore(*current_specs, chosen, seconds=seconds, until=until + TOTAL_SECONDS)
        out.current = side
    return out


def _parse(key: str, content: bytes) -> tuple[Any, dict[str, Any]] | str:
    """The specs of `key` from `content`, with the current versions of every other process (call
    activities), by a parser of this dry run's own; or the parser's message."""
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    try:
        parser = SpiffBpmnParser()
        others = [d for d in current_definitions().values() if d.key != key]
        for d in sorted(others, key=lambda d: d.key):
            if d.key.endswith(".dmn"):
                parser.add_dmn_str(d.bpmn_xml.encode(), d.key)
        for d in sorted(others, key=lambda d: d.key):
            if not d.key.endswith(".dmn"):
                parser.add_bpmn_str(d.bpmn_xml.encode(), f"{d.key}.bpmn")
        parser.add_bpmn_str(content, f"{key}.bpmn")
        return deep(lambda: (parser.get_spec(key), parser.get_subprocess_specs(key)))
    except Exception as exc:  # noqa: BLE001 — a diagram the parser refuses is the dry run's answer, not a 500
        return engine.error_message(exc)


def _samples(key: str, typed: list[dict[str, Any]] | None, actor: User, reads: frozenset[str],
             content: bytes) -> list[Sample]:
    me = Subject(actor_id=actor.id)
    if typed is not None:
        return [Sample(data, me, _("typed in")) for data in typed]
    found = recent_samples(key, actor, reads)
    if found:
        return found
    inputs = declared_inputs_of(content, key)
    return [Sample({name: copy.deepcopy(_GENERATED.get(kind or "")) for name, kind in inputs.items()}, me,
                   _("generated from the declared inputs") if inputs else _("no start data"))]


def declared_inputs_of(content: bytes, key: str) -> dict[str, str | None]:
    """The inputs the process `key` of this diagram declares (`inputs` property), name -> type."""
    from lxml import etree

    try:
        tree = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return {}
    process = next((el for el in tree.iter(f"{B}process") if el.get("id") == key), None)
    return (declared_inputs(process) or {}) if process is not None else {}


def recent_samples(key: str, actor: User, reads: frozenset[str]) -> list[Sample]:
    """The start data of recent instances of `key` in the actor's scope, newest first, at most one per
    combination of the values the diagram's conditions read."""
    stmt = select(ProcessInstance).where(ProcessInstance.process_key == key).order_by(ProcessInstance.id.desc())
    out: list[Sample] = []
    seen: set[str] = set()
    for instance in db.session.scalars(visible(stmt, actor, ProcessInstance).limit(RECENT)):
        data = start_data(instance.state)
        if data is None:
            continue
        shape = json.dumps({k: data[k] for k in sorted(reads & set(data))}, default=str, sort_keys=True)
        if shape in seen:
            continue
        seen.add(shape)
        out.append(Sample(data, Subject(actor.id, instance.object_type, instance.object_id, instance.store_id),
                          _("instance #%(id)s", id=instance.id), instance.id))
        if len(out) >= MAX_SAMPLES:
            break
    return out


def start_data(state: str | None) -> dict[str, Any] | None:
    """The data an instance was started with: its root task's (the engine never changes it afterwards)."""
    if not state:
        return None
    try:
        d = json.loads(state, cls=engine.SERIALIZER.json_decoder_cls)
        data = d["tasks"][d["root"]]["data"]
        restored = engine.SERIALIZER.registry.restore(data)
    except (ValueError, KeyError, TypeError):
        return None
    return dict(restored) if isinstance(restored, dict) else None


def summary(result: DryRun) -> dict[str, Any]:
    """The dry run as plain data (the editor's JSON and the API)."""
    def run(r: Run | None) -> dict[str, Any] | None:
        if r is None:
            return None
        return {"outcome": r.outcome, "path": [{"element_id": s.element_id, "name": s.name, "kind": s.kind,
                                                "process": s.process} for s in r.path],
                "statuses": r.statuses, "ends": r.ends, "error": r.error, "error_element": r.error_element,
                "error_name": r.error_name, "notes": r.notes}

    def side(s: Side | None) -> dict[str, Any] | None:
        if s is None:
            return None
        return {"version": s.version, "problem": s.problem, "cut": s.cut, "runs": len(s.runs), "errors": len(s.errors)}

    return {
        "key": result.key,
        "samples": [{"label": s.label, "instance_id": s.instance_id, "data": json.loads(json.dumps(s.data, default=str))}
                    for s in result.samples],
        "new": side(result.new), "current": side(result.current),
        "rows": [{"sample": row.sample, "choices": row.choices, "same": row.same, "new": run(row.new),
                  "current": run(row.current)}
                 for row in result.rows],
    }
