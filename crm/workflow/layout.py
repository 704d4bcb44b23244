"""A simple automatic layout for diagrams written without BPMN DI (by hand, or by tools that keep only
the semantics): the viewer and the editor need shapes and edges to draw anything.

Left to right by the longest path from the start events, one row per element of the same column;
boundary events sit on their host's lower edge; edges are straight or one elbow. Embedded sub-processes
are drawn collapsed (their content gets a plane of its own, laid out the same way). Only the drawing is
added: the process semantics are left exactly as they were."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from lxml import etree

from crm.workflow.validation import BPMN_NS
from crm.workflow.validation import parse_xml

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SIZES: dict[str, tuple[float, float]] = {"event": (36, 36), "gateway": (50, 50), "activity": (100, 80)}
COLUMN, ROW, LEFT, TOP = 170, 130, 120, 100
SKIP = {"sequenceFlow", "boundaryEvent", "laneSet", "dataObject", "dataObjectReference", "dataStoreReference",
        "textAnnotation", "association", "ioSpecification", "property", "extensionElements", "documentation",
        "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "incoming", "outgoing", "group"}


def _local(el: Any) -> str:
    return etree.QName(el.tag).localname if isinstance(el.tag, str) else ""


def _kind(name: str) -> str:
    if name.endswith("Event"):
        return "event"
    if name.endswith("Gateway"):
        return "gateway"
    return "activity"


def needs_layout(xml: str) -> bool:
    return "BPMNDiagram" not in xml


def with_layout(xml: str) -> str:
    """`xml` with a generated diagram when it has none; unchanged otherwise (or when it cannot be read)."""
    if not needs_layout(xml):
        return xml
    tree = parse_xml("diagram.bpmn", xml.encode(), [])
    if tree is None:
        return xml
    etree.register_namespace("bpmndi", BPMNDI)
    etree.register_namespace("dc", DC)
    etree.register_namespace("di", DI)
    for container in [*tree.iter(f"{{{BPMN_NS}}}process"), *tree.iter(f"{{{BPMN_NS}}}subProcess")]:
        if container.get("id") and any(_local(c) not in SKIP for c in container):
            tree.append(_diagram(container))
    return str(etree.tostring(tree, encoding="unicode"))


def labelled(xml: str, names: dict[str, str], other: Callable[[str], str] | None = None) -> str:
    """`xml` with the elements of `names` (bpmn id -> label) relabelled, and every other named element but a
    message through `other` (a translation), for the read-only viewer of one instance: its labels read as
    its history does (the names rendered from its data, in the reader's language). Never for the editor,
    which must save the diagram's own names."""
    tree = parse_xml("diagram.bpmn", xml.encode(), [])
    if tree is None:
        return xml
    changed = False
    for element in tree.iter():
        name = element.get("name") if isinstance(element.tag, str) else None
        if name is None or _local(element) == "message":  # a message's name is what correlates it
            continue
        label = names.get(element.get("id") or "") or (other(name) if other is not None else name)
        if label != name:
            element.set("name", label)
            changed = True
    return etree.tostring(tree, encoding="unicode") if changed else xml


def _ranks(nodes: dict[str, Any], flows: list[tuple[str, str, str]]) -> dict[str, int]:
    """Column of each node: the longest path from a node without incoming flows (back edges ignored)."""
    outgoing: dict[str, list[str]] = defaultdict(list)
    incoming: dict[str, int] = defaultdict(int)
    for _fid, source, target in flows:
        if source in nodes and target in nodes:
            outgoing[source].append(target)
            incoming[target] += 1
    starts = [n for n in nodes if incoming[n] == 0] or list(nodes)[:1]
    rank: dict[str, int] = {}
    on_path: set[str] = set()

    def visit(node: str, depth: int) -> None:
        if node in on_path or rank.get(node, -1) >= depth:
            return
        rank[node] = depth
        on_path.add(node)
        for nxt in outgoing[node]:
            visit(nxt, depth + 1)
        on_path.discard(node)

    for start in starts:
        visit(start, 0)
    for node in nodes:  # unreachable ones go after the rest
        rank.setdefault(node, max(rank.values(), default=-1) + 1)
    return rank


def _diagram(container: Any) -> Any:
    nodes = {c.get("id"): c for c in container if c.get("id") and _local(c) not in SKIP and not _local(c).endswith("Flow")}
    flows = [(f.get("id"), f.get("sourceRef"), f.get("targetRef"))
             for f in container if _local(f) == "sequenceFlow" and f.get("id")]
    boundaries = [c for c in container if _local(c) == "boundaryEvent" and c.get("id")]
    hosts = {b.get("id"): b.get("attachedToRef") for b in boundaries}
    # A flow leaving a boundary event counts from its host when ranking.
    rank = _ranks(nodes, [(f, hosts.get(s, s), t) for f, s, t in flows])
    rows: dict[int, int] = defaultdict(int)
    bounds: dict[str, tuple[float, float, float, float]] = {}
    for node_id in sorted(nodes, key=lambda n: (rank[n], list(nodes).index(n))):
        width, height = SIZES[_kind(_local(nodes[node_id]))]
        column, row = rank[node_id], rows[rank[node_id]]
        rows[column] += 1
        x = LEFT + column * COLUMN + (100 - width) / 2
        y = TOP + row * ROW + (80 - height) / 2
        bounds[node_id] = (x, y, width, height)
    for index, boundary in enumerate(boundaries):
        host = bounds.get(boundary.get("attachedToRef") or "")
        if host is None:
            continue
        siblings = [b for b in boundaries[:index] if b.get("attachedToRef") == boundary.get("attachedToRef")]
        bounds[boundary.get("id")] = (host[0] + host[2] - 44 - 56 * len(siblings), host[1] + host[3] - 18, 36, 36)

    diagram = etree.Element(f"{{{BPMNDI}}}BPMNDiagram", id=f"{container.get('id')}_diagram")
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"{container.get('id')}_plane",
                             bpmnElement=container.get("id"))
    for node_id, (x, y, width, height) in bounds.items():
        attrs = {"id": f"{node_id}_di", "bpmnElement": node_id}
        element = nodes.get(node_id)
        if element is not None and _local(element) == "subProcess":
            attrs["isExpanded"] = "false"
        shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", attrs)
        etree.SubElement(shape, f"{{{DC}}}Bounds", x=f"{x:g}", y=f"{y:g}", width=f"{width:g}", height=f"{height:g}")
    for flow_id, source, target in flows:
        if source not in bounds or target not in bounds:
            continue
        edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow_id}_di", bpmnElement=flow_id)
        for x, y in _route(bounds[source], bounds[target], from_boundary=source in hosts):
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=f"{x:g}", y=f"{y:g}")
    return diagram


def _route(a: tuple[float, float, float, float], b: tuple[float, float, float, float], *,
           from_boundary: bool = False) -> list[tuple[float, float]]:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    start = (ax + aw, ay + ah / 2)
    end = (bx, by + bh / 2)
    if from_boundary and bx > ax:  # down from the boundary event, then right into the target
        start = (ax + aw / 2, ay + ah)
        if end[1] > start[1]:
            return [start, (start[0], end[1]), end]
        low = start[1] + 20
        return [start, (start[0], low), (bx - 20, low), (bx - 20, end[1]), end]
    if bx <= ax:  # a flow going back: leave below, come in from below
        start, end = (ax + aw / 2, ay + ah), (bx + bw / 2, by + bh)
        low = max(ay + ah, by + bh) + 30
        return [start, (start[0], low), (end[0], low), end]
    if abs(start[1] - end[1]) < 1:
        return [start, end]
    return [start, (start[0] + 20, start[1]), (start[0] + 20, end[1]), end]
