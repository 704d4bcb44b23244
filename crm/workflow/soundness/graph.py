"""The flow graph of a process, flattened (a sub-process is an entry node into its start events and an
exit node from its end events), and the flow checks: every element reachable from a start event, every
path reaching an end event (no dead end, no loop without a way out)."""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
B = f"{{{BPMN_NS}}}"
S = f"{{{SPIFF_NS}}}"
FLOW_NODES = frozenset({
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
})
SUB_PROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
EXIT = "\x00exit"  # suffix of a sub-process's exit node in the flattened graph

Report = Callable[[str, str], None]  # (element id, message)


def local(el: Any) -> str:
    return etree.QName(el.tag).localname if isinstance(el.tag, str) else ""


def text(el: Any) -> str:
    return (el.text or "").strip() if el is not None else ""


def properties(el: Any) -> dict[str, str]:
    """The element's own `spiffworkflow:properties` (not those of elements nested in it)."""
    ext = el.find(f"{B}extensionElements")
    out: dict[str, str] = {}
    if ext is not None:
        for props in ext.findall(f"{S}properties"):
            for prop in props.findall(f"{S}property"):
                if prop.get("name"):
                    out[prop.get("name")] = prop.get("value") or ""
    return out


def ext(el: Any, name: str) -> Any:
    """The element's own `spiffworkflow:<name>` extension."""
    found = el.find(f"{B}extensionElements")
    return found.find(f"{S}{name}") if found is not None else None


# The flow graph --------------------------------------------------------------------------------------------
ELEMENT_LABELS = {
    "task": _l("task"), "userTask": _l("user task"), "manualTask": _l("user task"), "serviceTask": _l("service task"),
    "scriptTask": _l("script task"), "sendTask": _l("send task"), "receiveTask": _l("receive task"),
    "businessRuleTask": _l("business rule task"), "callActivity": _l("call activity"),
    "subProcess": _l("sub-process"), "transaction": _l("sub-process"), "adHocSubProcess": _l("sub-process"),
}


def element_label(kind: str) -> str:
    if kind.endswith("Gateway"):
        return str(_l("gateway"))
    if kind.endswith("Event"):
        return str(_l("event"))
    return str(ELEMENT_LABELS.get(kind, kind))


@dataclass
class Node:
    id: str
    kind: str
    el: Any
    parent: str | None = None  # the sub-process it sits in (None: the process)
    host: str | None = None  # a boundary event's activity
    in_event_sub: bool = False
    succ: list[str] = field(default_factory=list)


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    starts: list[str] = field(default_factory=list)
    flows: dict[str, list[Any]] = field(default_factory=dict)  # source node (an exit for a sub-process) -> flows

    def add_edge(self, a: str, b: str) -> None:
        if a in self.nodes and b in self.nodes and b not in self.nodes[a].succ:
            self.nodes[a].succ.append(b)

    def exit_of(self, node_id: str) -> str:
        return node_id + EXIT if node_id + EXIT in self.nodes else node_id


def _triggered(el: Any) -> bool:
    return (el.get("triggeredByEvent") or "").lower() == "true"


def build_graph(process: Any) -> Graph:
    """The process flattened: a sub-process is an entry node (into its start events) and an exit node
    (from its end events, on along its outgoing flows)."""
    g = Graph()
    _collect(process, g, parent=None, event_sub=False)
    g.starts = [c.get("id") for c in process if local(c) == "startEvent" and c.get("id")]
    _wire(process, g, entries=g.starts)
    return g


def _collect(container: Any, g: Graph, *, parent: str | None, event_sub: bool) -> None:
    for el in container:
        kind = local(el)
        node_id = el.get("id")
        if kind not in FLOW_NODES or not node_id:
            continue
        g.nodes[node_id] = Node(node_id, kind, el, parent=parent, host=el.get("attachedToRef"), in_event_sub=event_sub)
        if kind in SUB_PROCESSES:
            inner = event_sub or _triggered(el)
            g.nodes[node_id + EXIT] = Node(node_id + EXIT, "exit", el, parent=parent, in_event_sub=inner)
            _collect(el, g, parent=node_id, event_sub=inner)


def _wire(container: Any, g: Graph, *, entries: list[str]) -> None:
    thrown: dict[str, list[str]] = {}
    caught: dict[str, list[str]] = {}
    for el in container:
        kind = local(el)
        node_id = el.get("id")
        if kind == "sequenceFlow":
            source, target = el.get("sourceRef"), el.get("targetRef")
            if source and target:
                g.add_edge(g.exit_of(source), target)
                g.flows.setdefault(g.exit_of(source), []).append(el)
        elif kind == "boundaryEvent" and el.get("attachedToRef"):
            g.add_edge(el.get("attachedToRef"), node_id)
        elif kind in ("intermediateThrowEvent", "intermediateCatchEvent"):
            link = el.find(f"{B}linkEventDefinition")
            if link is not None:
                (thrown if kind == "intermediateThrowEvent" else caught).setdefault(link.get("name") or "", []).append(node_id)
        elif kind in SUB_PROCESSES and node_id:
            starts = [i.get("id") for i in el if local(i) == "startEvent" and i.get("id")]
            for start in starts:
                g.add_edge(node_id, start)
            if _triggered(el):
                for entry in entries:  # an event sub-process may start whenever its container runs
                    g.add_edge(entry, node_id)
            else:
                if not starts:
                    g.add_edge(node_id, node_id + EXIT)  # nothing to walk inside (the parser says why)
                for end in el:
                    if local(end) == "endEvent" and end.get("id"):
                        g.add_edge(end.get("id"), node_id + EXIT)
            _wire(el, g, entries=[node_id])
    for name, throws in thrown.items():
        for t in throws:
            for c in caught.get(name, []):
                g.add_edge(t, c)


def reach(g: Graph, starts: Iterable[str], blocked: Callable[[Node], bool] | None = None) -> set[str]:
    """Nodes reachable from `starts`. A blocked node is reached but not passed (its boundary events are:
    they fire while it runs, before it completes)."""
    seen: set[str] = set()
    todo = deque(s for s in starts if s in g.nodes)
    while todo:
        n = todo.popleft()
        if n in seen:
            continue
        seen.add(n)
        node = g.nodes[n]
        for s in node.succ:
            if blocked is not None and blocked(node) and g.nodes[s].host != n:
                continue
            if blocked is not None and node.kind == "exit" and blocked(g.nodes[n[: -len(EXIT)]]):
                continue
            todo.append(s)
    return seen


def _is_allowed_sink(node: Node) -> bool:
    if node.kind == "endEvent":
        return True
    if node.kind == "boundaryEvent" and (node.el.get("cancelActivity") or "true").lower() == "false":
        return True  # a non-interrupting event without a flow: the activity goes on
    if node.kind == "boundaryEvent" and node.el.find(f"{B}compensateEventDefinition") is not None:
        return True
    if (node.el.get("isForCompensation") or "").lower() == "true":
        return True
    return node.kind == "exit" and node.in_event_sub


def check_flow(g: Graph, report: Report) -> set[str]:
    """Unreachable elements, dead ends and loops without exit; returns the reachable nodes."""
    reachable = reach(g, g.starts)
    for node in g.nodes.values():
        if node.id in reachable or node.kind in ("exit", "startEvent", "boundaryEvent") or node.in_event_sub:
            continue
        if (node.el.get("isForCompensation") or "").lower() == "true" or (node.parent and node.parent not in reachable):
            continue  # compensation runs on its own; an unreachable sub-process is reported, not its inside
        report(node.id, _("No path from a start event reaches this %(kind)s: it can never run. Connect it with "
                          "a sequence flow from an earlier step, or delete it.", kind=element_label(node.kind)))
    sinks = [n for n in g.nodes if n in reachable and not g.nodes[n].succ]
    for n in sinks:
        node = g.nodes[n]
        if _is_allowed_sink(node):
            continue
        shown = n[: -len(EXIT)] if node.kind == "exit" else n
        report(shown, _("The path ends here without an end event: this %(kind)s has no outgoing sequence flow, so "
                        "the process would stop half done. Connect it to the next step or to an end event.",
                        kind=element_label(g.nodes[shown].kind)))
    # Loops with no way out: reachable nodes from which no sink is reachable.
    preds: dict[str, list[str]] = {n: [] for n in g.nodes}
    for node in g.nodes.values():
        for succ in node.succ:
            preds[succ].append(node.id)
    todo = deque(sinks)
    coreach: set[str] = set()
    while todo:
        n = todo.popleft()
        if n not in coreach:
            coreach.add(n)
            todo.extend(preds[n])
    covered: set[str] = set()
    for node in g.nodes.values():  # document order; report an element of each loop (not what leads into it)
        if node.id not in reachable or node.id in coreach or node.id in covered or node.kind == "exit":
            continue
        if node.id not in reach(g, node.succ):
            continue
        covered |= reach(g, [node.id])
        report(node.id, _("No path from this %(kind)s reaches an end event: it is in a loop with no way out. Add a "
                          "flow out of the loop (e.g. a gateway's default flow) towards an end event.",
                          kind=element_label(node.kind)))
    return reachable


def statuses_of(node: Node) -> list[str]:
    """The business statuses an element reports: the `status` parameter of its service-task operator (a
    Python literal), then its `status` property; none for an exit."""
    if node.kind == "exit":
        return []
    out: list[str] = []
    operator = ext(node.el, "serviceTaskOperator")
    if operator is not None:
        for p in operator.findall(f"{S}parameters/{S}parameter"):
            if p.get("id") == "status":
                try:
                    value = ast.literal_eval((p.get("value") or "").strip())
                except (ValueError, SyntaxError, RecursionError, MemoryError):
                    continue
                if isinstance(value, str):
                    out.append(value)
    status = properties(node.el).get("status")
    if status and status not in out:
        out.append(status)
    return out
