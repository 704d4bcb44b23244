"""The data flow: what each element reads and sets, stage by stage, and the names known at each element
(union over the paths from the start), checked against what every snippet reads."""

from __future__ import annotations

import difflib
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask_babel import gettext as _

from crm.workflow import deadlines
from crm.workflow import registry
from crm.workflow import sandbox
from crm.workflow.soundness.graph import SUB_PROCESSES
from crm.workflow.soundness.graph import B
from crm.workflow.soundness.graph import Graph
from crm.workflow.soundness.graph import Node
from crm.workflow.soundness.graph import Report
from crm.workflow.soundness.graph import S
from crm.workflow.soundness.graph import build_graph
from crm.workflow.soundness.graph import ext
from crm.workflow.soundness.graph import local
from crm.workflow.soundness.graph import properties
from crm.workflow.soundness.graph import text
from crm.workflow.soundness.names import names_of

ANY = "*"  # in a set of known names: anything may be set here (a step whose outputs cannot be read)
ALWAYS_KNOWN = frozenset({"initiator_id", "object_id", "Decimal", "datetime", "date", "timedelta", "now",
                          *sandbox.builtin_names()})
TYPE_NAMES = {"number": "number", "integer": "number", "int": "number", "float": "number", "decimal": "number",
              "str": "str", "string": "str", "text": "str", "bool": "bool", "boolean": "bool",
              "list": "list", "array": "list", "dict": "dict", "object": "dict"}


def declared_inputs(process: Any) -> dict[str, str | None] | None:
    """name -> type of the inputs a process declares ("min_rate: number, approval_picks?: dict"; a `?`
    marks an input callers may leave out), or None when it declares none."""
    raw = properties(process).get("inputs")
    if raw is None:
        return None
    out: dict[str, str | None] = {}
    for part in raw.replace(";", ",").split(","):
        name, _sep, kind = part.partition(":")
        name = name.strip().rstrip("?").strip()
        if name.isidentifier():
            out[name] = TYPE_NAMES.get(kind.strip().lower())
    return out


def required_inputs(process: Any) -> set[str]:
    """The declared inputs a caller must provide (those without `?`)."""
    raw = properties(process).get("inputs") or ""
    return {name for part in raw.replace(";", ",").split(",")
            if (name := part.partition(":")[0].strip()).isidentifier()}


@dataclass
class Stage:
    reads: list[tuple[str, str, str, str]] = field(default_factory=list)  # (kind, code, mode, element id)
    writes: set[str] = field(default_factory=set)


def _form_fields(el: Any) -> dict[str, str | None]:
    name = text(ext(el, "formJsonSchemaFilename"))
    path = registry.find_form(name) if name else None
    if path is None:
        return {}
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return {}
    return {k: TYPE_NAMES.get(str((v or {}).get("type")) if isinstance(v, dict) else "") for k, v in props.items()}


def _message_variable(node: Node) -> str:
    if node.kind == "receiveTask":
        return text(ext(node.el, "messageVariable"))
    for definition in node.el.findall(f"{B}messageEventDefinition"):
        variable = text(definition.find(f"{B}extensionElements/{S}messageVariable"))
        if variable:
            return variable
    return ""


def _script(code: str) -> str:
    """A write standing for what a script sets (read by `_resolve`, with the types known then)."""
    return ANY + "script:" + code


def stages(node: Node, called: Callable[[str], tuple[set[str], dict[str, str | None] | None] | None]) -> list[Stage]:
    """Reads and writes of one element, stage by stage in the order the engine runs them. A stage's reads
    see the element's earlier stages' writes."""
    el, nid = node.el, node.el.get("id")
    mi = el.find(f"{B}multiInstanceLoopCharacteristics")
    post = text(ext(el, "postScript"))
    if node.kind == "exit":  # a sub-process ends: its multi-instance results, then its post-script
        out = [Stage(writes=_mi_output(mi) if mi is not None else set())]
        cond = text(mi.find(f"{B}completionCondition")) if mi is not None else ""
        if cond:
            out[0].reads.append(("completion condition", cond, "eval", nid))
        if post:
            out.append(Stage(reads=[("postscript", post, "exec", nid)], writes={_script(post)}))
        return out
    result: list[Stage] = []
    if mi is not None:
        first = Stage()
        collection = text(mi.find(f"{B}loopDataInputRef"))
        if collection:
            first.reads.append(("multi-instance collection", collection, "eval", nid))
        cardinality = text(mi.find(f"{B}loopCardinality"))
        if cardinality:
            first.reads.append(("loop cardinality", cardinality, "eval", nid))
        item = mi.find(f"{B}inputDataItem")
        if item is not None and (item.get("name") or item.get("id")):
            first.writes.add(item.get("name") or item.get("id"))
        result.append(first)
    pre = text(ext(el, "preScript"))
    if pre:
        result.append(Stage(reads=[("prescript", pre, "exec", nid)], writes={_script(pre)}))
    main = Stage()
    props = properties(el)
    for prop in ("assignee", "exclude"):
        if props.get(prop, "").strip():
            main.reads.append((prop, props[prop].strip(), "eval", nid))
    if deadlines.is_expression(props.get("due", "")):
        main.reads.append(("due", props["due"].strip(), "eval", nid))
    if node.kind == "scriptTask":
        script = text(el.find(f"{B}script"))
        if script:
            main.reads.append(("script", script, "exec", nid))
            main.writes.add(_script(script))
    operator = ext(el, "serviceTaskOperator")
    if operator is not None:
        for p in operator.findall(f"{S}parameters/{S}parameter"):
            if p.get("value"):
                main.reads.append((f"service parameter {p.get('id')}", p.get("value"), "eval", nid))
        if operator.get("resultVariable"):
            main.writes.add(operator.get("resultVariable"))
    if node.kind in ("userTask", "manualTask"):
        main.writes |= set(_form_fields(el))
    if node.kind in ("intermediateCatchEvent", "boundaryEvent", "startEvent", "receiveTask") and _message_variable(node):
        main.writes.add(_message_variable(node))
    for timer in el.findall(f"{B}timerEventDefinition"):
        for part in timer:
            if local(part) in ("timeDuration", "timeDate", "timeCycle") and text(part):
                main.reads.append(("timer", text(part), "eval", nid))
    if node.kind == "callActivity":
        target = called(el.get("calledElement") or "")
        if target is None:
            main.writes.add(ANY)
        else:
            sets, needs = target
            main.writes |= sets
            for name in needs or {}:
                main.reads.append((f"called input {el.get('calledElement')}", name, "eval", nid))
    if node.kind == "businessRuleTask" or el.find(f"{B}dataOutputAssociation") is not None \
            or el.find(f"{B}ioSpecification") is not None:
        main.writes.add(ANY)  # outputs this check does not read (DMN results, data objects)
    result.append(main)
    if mi is not None and node.kind not in SUB_PROCESSES:
        after = Stage(writes=_mi_output(mi, item=True))
        cond = text(mi.find(f"{B}completionCondition"))
        if cond:
            after.reads.append(("completion condition", cond, "eval", nid))
        result.extend([after, Stage(writes=_mi_output(mi))])
    loop = el.find(f"{B}standardLoopCharacteristics")
    cond = text(loop.find(f"{B}loopCondition")) if loop is not None else ""
    if cond:
        result.append(Stage(reads=[("loop condition", cond, "eval", nid)]))
    if post and node.kind not in SUB_PROCESSES:
        result.append(Stage(reads=[("postscript", post, "exec", nid)], writes={_script(post)}))
    return result


def _mi_output(mi: Any, *, item: bool = False) -> set[str]:
    if item:
        out = mi.find(f"{B}outputDataItem")
        return {out.get("name") or out.get("id")} if out is not None and (out.get("name") or out.get("id")) else set()
    collection = text(mi.find(f"{B}loopDataOutputRef"))
    return {collection} if collection else set()


# The data flow ----------------------------------------------------------------------------------------------
def _resolve(writes: set[str], types: dict[str, str]) -> set[str]:
    """Writes with each script's own assignments read (marked `*script:<code>` by `stages`)."""
    out: set[str] = set()
    for w in writes:
        if w.startswith(ANY + "script:"):
            reads = names_of(w[len(ANY + "script:"):], "exec", types)
            out |= reads.writes if reads is not None else {ANY}
        else:
            out.add(w)
    return out


def all_writes(process: Any, called: Callable[..., Any]) -> set[str]:
    """Every name any element of `process` may set (what a call activity into it brings back)."""
    g = build_graph(process)
    out: set[str] = set()
    for node in g.nodes.values():
        for stage in stages(node, called):
            out |= _resolve(stage.writes, {})
    return out


def check_names(process: Any, g: Graph, reachable: set[str], called: Callable[..., Any], kind_label: Callable[[str], str],
                report: Report) -> None:
    inputs = declared_inputs(process)
    if inputs is None:
        return
    types = _types(process, g, inputs)
    functions = set(registry.functions())
    start_known = set(inputs) | ALWAYS_KNOWN | functions | _data_objects(process)
    node_stages = {n: stages(g.nodes[n], called) for n in reachable}
    node_writes = {n: set().union(*(_resolve(s.writes, types) for s in st)) for n, st in node_stages.items()}
    preds: dict[str, list[str]] = {n: [] for n in reachable}
    for n in reachable:
        for s in g.nodes[n].succ:
            if s in preds:
                preds[s].append(n)
    known_in: dict[str, set[str]] = {n: set() for n in reachable}
    known_out: dict[str, set[str]] = {n: set() for n in reachable}
    starts = set(g.starts)
    todo = deque(reachable)
    while todo:
        n = todo.popleft()
        node = g.nodes[n]
        new_in = set(start_known) if n in starts or node.in_event_sub else set()
        for p in preds[n]:
            # A boundary event fires while its activity runs: what was known when the activity began.
            new_in |= known_in[p] if node.host == p else known_out[p]
        new_out = new_in | node_writes[n]
        if new_in != known_in[n] or new_out != known_out[n]:
            known_in[n], known_out[n] = new_in, new_out
            todo.extend(s for s in node.succ if s in known_in)
    order = {n: i for i, n in enumerate(g.nodes)}
    for n in sorted(reachable, key=order.__getitem__):
        node = g.nodes[n]
        if node.in_event_sub:
            continue
        known = set(known_in[n])
        for stage in node_stages[n]:
            for kind, code, mode, element in stage.reads:
                _check_snippet(kind, code, mode, element, known, types, functions, kind_label, report, inputs)
            known |= _resolve(stage.writes, types)
        for flow in g.flows.get(n, ()):
            cond = text(flow.find(f"{B}conditionExpression"))
            if cond:
                _check_snippet("condition", cond, "eval", flow.get("id"), known_out[n], types, functions, kind_label,
                               report, inputs)


def _data_objects(process: Any) -> set[str]:
    names: set[str] = set()
    for el in process.iter(f"{B}dataObject", f"{B}dataObjectReference", f"{B}dataInput", f"{B}dataOutput"):
        names.update(v for v in (el.get("id"), el.get("name")) if v)
    return names


def _types(process: Any, g: Graph, inputs: dict[str, str | None]) -> dict[str, str]:
    """name -> its one type where every source agrees (declared input, form field, script literal)."""
    seen: dict[str, set[str | None]] = {}
    for name, kind in inputs.items():
        seen.setdefault(name, set()).add(kind)
    for node in g.nodes.values():
        if node.kind in ("userTask", "manualTask"):
            for name, kind in _form_fields(node.el).items():
                seen.setdefault(name, set()).add(kind)
        for stage in stages(node, lambda _key: None) if node.kind != "callActivity" else []:
            for w in stage.writes:
                if w.startswith(ANY + "script:"):
                    reads = names_of(w[len(ANY + "script:"):], "exec")
                    for name in reads.writes if reads is not None else ():
                        seen.setdefault(name, set()).add(reads.types.get(name) if reads else None)
                elif w != ANY:
                    seen.setdefault(w, set()).add(None)
    return {name: next(iter(kinds)) for name, kinds in seen.items() if len(kinds) == 1 and None not in kinds}  # type: ignore[misc]  # filtered above


def _check_snippet(kind: str, code: str, mode: str, element: str, known: set[str], types: dict[str, str],
                   functions: set[str], kind_label: Callable[[str], str], report: Report,
                   inputs: dict[str, str | None]) -> None:
    if kind.startswith("called input "):
        if ANY not in known and code not in known and code not in ALWAYS_KNOWN:
            report(element, _("The called process %(process)s needs %(name)s, which is not set before this call "
                              "activity. Set it in an earlier step (e.g. a script task: %(name)s = ...).",
                              process=kind[len("called input "):], name=code))
        return
    reads = names_of(code, mode, types)
    if reads is None:
        return
    label = kind_label(kind)
    for mistake in reads.mistakes:
        report(element, _("The %(kind)s is wrong: %(problem)s", kind=label, problem=mistake))
    if ANY in known:
        return
    reported: set[str] = set()
    for name, call in reads.names:
        if name in known or name in reported or name in ALWAYS_KNOWN or name in functions:
            continue
        reported.add(name)
        candidates = sorted((known | set(inputs)) - {ANY}) + sorted(ALWAYS_KNOWN | functions)
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
        hint = (_(" Did you mean %(name)s?", name=close[0]) if close else "")
        if call:
            report(element, _("The %(kind)s calls %(name)s(), which is not a function diagrams can use.%(hint)s Use one "
                              "of the helpers listed in docs/processes.md.", kind=label, name=name, hint=hint))
        else:
            report(element, _("The %(kind)s reads %(name)s, which is not known at this point of the flow: it is not an "
                              "input of the process and no earlier step sets it.%(hint)s Otherwise declare it among the "
                              "process inputs or set it in an earlier step.", kind=label, name=name, hint=hint))


