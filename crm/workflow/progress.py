"""The business statuses a process shows its object, in flow order, read from the diagram: the stepper above
an order's pipeline (签约中 → 待回款 → 待出库 → …) follows the order's own process version and its data.

A status is what the diagram projects (the same rule as the contracts' check, `soundness.contracts`): an
element's `status` property or the literal `status` parameter of its service operator. The walk starts at
the process's start events and follows the normal flow only: boundary events (cancellations, timeouts) are
exceptions, not steps. At an exclusive or inclusive gateway the conditions are evaluated in the sandbox
against the instance's data (`payment_mode == 'prepay'`); a condition that cannot be evaluated yet (a
name not set so far) and the default flow are candidates too. Where several branches remain (an
event-based gateway: "paid" or "cancelled"), the branch that shows the most statuses is the main path:
the others are the exceptions that end the story early. A status already shown is not repeated."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lxml import etree

from crm.workflow import sandbox
from crm.workflow.soundness.graph import B
from crm.workflow.soundness.graph import Graph
from crm.workflow.soundness.graph import Node
from crm.workflow.soundness.graph import build_graph
from crm.workflow.soundness.graph import statuses_of
from crm.workflow.soundness.graph import text

MAX_STEPS = 200  # a walk longer than this is a loop the diagram's own checks already refuse


def statuses(bpmn_xml: str, process_key: str, data: dict[str, Any] | None = None) -> list[str]:
    """The statuses along the main path of `process_key` in `bpmn_xml`, given the instance's `data`."""
    g, flows = _graph(bpmn_xml, process_key)
    if g is None:
        return []
    memo: dict[str, tuple[str, ...]] = {}
    best: tuple[str, ...] = ()
    for start in g.starts:
        found = _walk(g, flows, start, data or {}, memo, frozenset())
        if len(found) > len(best):
            best = found
    out: list[str] = []
    for status in best:
        if status not in out:
            out.append(status)
    return out


@lru_cache(maxsize=64)
def _graph(bpmn_xml: str, process_key: str) -> tuple[Graph | None, dict[str, list[tuple[str, str | None, bool]]]]:
    root = etree.fromstring(bpmn_xml.encode())
    process = next((p for p in root.iter(f"{B}process") if p.get("id") == process_key), None)
    if process is None:
        return None, {}
    g = build_graph(process)
    flows: dict[str, list[tuple[str, str | None, bool]]] = {}
    for source, els in g.flows.items():
        default = g.nodes[source].el.get("default") if source in g.nodes else None
        for el in els:
            condition = text(el.find(f"{B}conditionExpression")) or None
            flows.setdefault(source, []).append((el.get("targetRef") or "", condition, el.get("id") == default))
    return g, flows


def _holds(condition: str, data: dict[str, Any]) -> bool | None:
    """True/False when the condition evaluates against `data`; None when it cannot be evaluated yet."""
    try:
        code = sandbox.compiled(condition, "eval")
        scope = {**data, "__builtins__": sandbox.builtins(), **sandbox.GUARDS}
        return bool(eval(code, scope))  # noqa: S307 — RestrictedPython code against the sandbox's guards
    except Exception:  # noqa: BLE001 — a name the process sets later, a function of the engine: undecided
        return None


def _next(g: Graph, flows: dict[str, list[tuple[str, str | None, bool]]], node: Node, data: dict[str, Any]) -> list[str]:
    """The successors on the normal flow: no boundary event; a gateway's branches that may be taken."""
    normal = [s for s in node.succ if g.nodes[s].host != node.id]
    if node.kind not in ("exclusiveGateway", "inclusiveGateway"):
        return normal
    outgoing = flows.get(node.id, [])
    held = [target for target, condition, _default in outgoing if condition and _holds(condition, data) is True]
    if held:
        return held[:1] if node.kind == "exclusiveGateway" else held
    return [target for target, condition, default in outgoing
            if default or not condition or _holds(condition, data) is None] or normal


def _walk(g: Graph, flows: dict[str, list[tuple[str, str | None, bool]]], node_id: str, data: dict[str, Any],
          memo: dict[str, tuple[str, ...]], path: frozenset[str]) -> tuple[str, ...]:
    if node_id in memo:
        return memo[node_id]
    if node_id in path or len(path) > MAX_STEPS or node_id not in g.nodes:
        return ()
    node = g.nodes[node_id]
    here = tuple(statuses_of(node))
    best: tuple[str, ...] = ()
    for succ in _next(g, flows, node, data):
        found = _walk(g, flows, succ, data, memo, path | {node_id})
        if len(set(found) - set(here)) > len(set(best) - set(here)):
            best = found
    result = here + best
    memo[node_id] = result
    return result
