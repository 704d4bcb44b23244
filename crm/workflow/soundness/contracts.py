"""The contracts contexts register (`registry.ProcessContract`): the messages the application sends are
still caught, the statuses shown are the object's, and the steps a status needs run on every path before
it is shown."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask_babel import gettext as _

from crm.workflow import registry
from crm.workflow.soundness.graph import B
from crm.workflow.soundness.graph import Graph
from crm.workflow.soundness.graph import Node
from crm.workflow.soundness.graph import Report
from crm.workflow.soundness.graph import ext
from crm.workflow.soundness.graph import reach
from crm.workflow.soundness.graph import statuses_of
from crm.workflow.soundness.graph import text


def check_contracts(process: Any, g: Graph, report: Report) -> None:
    key = process.get("id") or ""
    contracts = registry.contracts(key)
    if not contracts:
        return
    messages = {m.get("id"): m.get("name") for m in process.getroottree().getroot().iter(f"{B}message")}
    caught: set[str] = set()
    for node in g.nodes.values():
        if node.kind in ("intermediateCatchEvent", "boundaryEvent", "startEvent", "receiveTask"):
            refs = [d.get("messageRef") for d in node.el.findall(f"{B}messageEventDefinition")]
            if node.kind == "receiveTask":
                refs.append(node.el.get("messageRef"))
            caught.update(messages.get(r) or r for r in refs if r)
    for contract in contracts:
        for message, why in contract.catches.items():
            if message not in caught:
                report(key, _("The application sends the message %(message)s to this process (%(why)s), but no event "
                              "of the diagram catches it any more. Add a message catch event (or a boundary event) "
                              "for %(message)s where the process waits for it.", message=repr(message), why=why))
        if contract.statuses:
            for node in g.nodes.values():
                for status in _statuses(node):
                    if status not in contract.statuses:
                        report(node.id, _("The status %(status)s is not one of the statuses %(object)s can have "
                                          "(%(known)s). Use one of them.", status=repr(status),
                                          object=str(contract.object_label or key),
                                          known=", ".join(contract.statuses)))
        for rule in contract.before:
            shown = [n for n in g.nodes.values() if rule.status in _statuses(n)]
            for step in rule.steps:
                reached = reach(g, g.starts, blocked=partial(_does, step=step))
                for node in shown:
                    if node.id in reached and not _does(node, step):
                        report(node.id, _("The status %(status)s is shown here, but a path from the start reaches this "
                                          "element without %(step)s (%(why)s). Put that step back before this element.",
                                          status=repr(rule.status), step=_step_label(step), why=rule.why))


def _statuses(node: Node) -> set[str]:
    return set(statuses_of(node))


def _does(node: Node, step: str) -> bool:
    kind, _sep, name = step.partition(":")
    if node.kind == "exit":
        return False
    if kind == "operator":
        operator = ext(node.el, "serviceTaskOperator")
        return operator is not None and operator.get("id") == name
    if kind == "form":
        return node.kind == "userTask" and text(ext(node.el, "formJsonSchemaFilename")) == name
    return False


def _step_label(step: str) -> str:
    kind, _sep, name = step.partition(":")
    if kind == "operator":
        return str(_("a service task calling %(operator)s", operator=name))
    return str(_("a user task with the form %(form)s", form=name))


