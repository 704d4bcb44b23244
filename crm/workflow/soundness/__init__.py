"""Deep validation of a diagram at deployment (on top of `validation`'s syntax, schema and lint): what
would break production when the diagram runs, found before it becomes a version.

- **Flow.** Every element is reachable from a start event, and every path reaches an end event: an
  element without an outgoing flow that is not an end event is a dead end, and a loop with no way out
  is refused too. Embedded sub-processes are walked inside (their start and end events), boundary events
  from the activity they are attached to, link events from their throw to their catch.
- **Names.** When a process declares its inputs (`<spiffworkflow:property name="inputs" value="min_rate:
  number, quote_number"/>` in the process's own `extensionElements`), every name a condition, script,
  pre/post script, service parameter, timer, multi-instance expression or `assignee`/`exclude`
  expression reads must be known there: an input, a field of an earlier user task's form, the result
  variable of an earlier service task, a variable an earlier script sets, a message variable, a
  multi-instance item or collection, what a called process sets — or a helper diagrams always have
  (`Decimal`, `now()`, the sandbox's builtins, registered script functions, `initiator_id`,
  `object_id`). The analysis is a forward data flow over the flow graph with **union over paths**: a
  name is known at an element when SOME path from the start sets it before. That catches misspelt names
  and names whose step was deleted, without refusing a diagram that reads a name only on the branch that
  sets it. A diagram without the declaration gets the flow and contract checks only (diagrams imported
  from other tools). A call activity into a process that declares inputs must have them known.
- **Types seen statically.** `<<`, `>>`, `&`, `|`, `^` with a decimal number (`min_rate << 0.90`, meant
  `<`), and text compared with a number (literals, or names whose type is declared: `min_rate: number`,
  a form field's JSON-Schema type, a literal a script assigns): ordering fails at run time, equality is
  never true.
- **Contracts** (`registry.ProcessContract`, registered by the contexts that rely on them): the messages
  the application sends are still caught, statuses shown are the object's, and the steps a status needs
  (e.g. the warehouse's outbound form and `sales.record_outbound` before `pending_delivery`) run on every
  path before it.

Every problem names the element (a flow's condition: the flow), and says what to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm.workflow.soundness.contracts import check_contracts
from crm.workflow.soundness.dataflow import all_writes
from crm.workflow.soundness.dataflow import check_names
from crm.workflow.soundness.dataflow import declared_inputs
from crm.workflow.soundness.dataflow import required_inputs
from crm.workflow.soundness.graph import Report
from crm.workflow.soundness.graph import build_graph
from crm.workflow.soundness.graph import check_flow

__all__ = ["check_process", "declared_inputs"]


def check_process(process: Any, processes: dict[str, Any], kind_label: Callable[[str], str], report: Report) -> None:
    """Every deep check of one executable process (`processes`: id -> element, of every known file, for
    call activities)."""
    g = build_graph(process)
    reachable = check_flow(g, report)
    seen: set[str] = set()

    def called(key: str) -> tuple[set[str], dict[str, str | None] | None] | None:
        target = processes.get(key)
        if target is None or key in seen:
            return None
        seen.add(key)
        try:
            return all_writes(target, called) | set(declared_inputs(target) or {}), dict.fromkeys(required_inputs(target))
        finally:
            seen.discard(key)

    check_names(process, g, reachable, called, kind_label, report)
    check_contracts(process, g, report)
