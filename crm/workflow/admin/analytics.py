"""Process analytics: for one version of a process, per element of its diagram, how long instances spent
there (median, p90, max), how many instances passed it, which paths its gateways sent them on, and how many
live instances wait there now and for how long. Drawn as a heatmap on the version's diagram
(crm/static/processes/analytics.js) and answered by the API.

Where each figure comes from (the honest source per element kind):
- The runtime writes the passage of every step through the top-level diagram into `process_event`
  (`crm.workflow.runtime._passage`): `element_reached` when an element begins to wait, `element_passed`
  when it completes (with `waited`, the seconds since it was reached, when it was reached in an earlier
  step), `element_withdrawn` when a wait ends without completing (a boundary event, an event-based
  gateway's other branch), `flow_taken` for each path a splitting gateway takes.
- User tasks: from the moment the task opened (the same instant as its inbox row's `created_at`) to its
  completion; a multi-instance task from its start to the completion of the whole element.
- Waits — intermediate catch events (message, timer), receive tasks, event-based gateways — from the step
  that reached the element to the step that left it: for a timer that is when the scheduler ran it, for a
  message when it was delivered. SpiffWorkflow makes an event-based gateway itself the waiting element (its
  catch events complete in the step that fires them), so the heat of such a wait is on the gateway.
- Call activities and sub-processes: from their start to their completion (everything inside them counts).
- Boundary events: from the moment their task began to wait to the moment they fired (a timer's lateness,
  a cancellation's arrival); they are armed beside their task, so "waiting now" counts the task, not them.
- Script and service tasks, gateways, start and end events are reached and left inside one step (one
  transaction): they have counts and paths but no duration — the step's milliseconds are not a business
  time and are not measured.
- Waiting now counts every live instance (running, failed, suspended) of the version in the viewer's scope,
  whatever its start date: the date filter chooses the instances whose passage is measured, but an old
  instance still waiting is exactly what "waiting now" must show. Instances that were already waiting when
  the runtime began to record passages are not counted until they move on (their durations are: a task's
  state change time is kept in the instance state).
- Counts of "passed" are instances (distinct), durations are per pass (an element visited twice in a loop
  gives two durations). Percentiles are linear interpolations between the closest ranks, as PostgreSQL's
  `percentile_cont` computes them, done with window functions (`row_number`, `count`) so that PostgreSQL and
  SQLite run the same SQL; Python only interpolates between the (at most five) rows kept per element.

Everything goes through `crm.auth.scopes.visible` on `ProcessInstance`: HQ sees every store, a store-scoped
process owner their stores' instances (and those they started or work on)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from lxml import etree
from marshmallow import fields
from marshmallow import validate
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import aliased

from crm.auth.scopes import visible
from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.validation import load_input
from crm.extensions import db
from crm.workflow.admin.definitions import get_version
from crm.workflow.deploy import current_definitions
from crm.workflow.i18n import translated
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessDefinition
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from crm.workflow.runtime import FLOW
from crm.workflow.runtime import PASSED
from crm.workflow.runtime import REACHED
from crm.workflow.runtime import WITHDRAWN
from crm.workflow.validation import BPMN_NS
from crm.workflow.validation import main_process
from crm.workflow.validation import parse_xml

LIVE = (InstanceStatus.RUNNING, InstanceStatus.ERROR, InstanceStatus.SUSPENDED)
DEFAULT_DAYS = 30
MAX_DAYS = 731
ID_LIST_LIMIT = 20_000  # instances read by a literal list of ids; more: by a subquery

KIND_LABELS = {
    "startEvent": _l("Start event"),
    "endEvent": _l("End event"),
    "userTask": _l("User task"),
    "manualTask": _l("Manual task"),
    "task": _l("Task"),
    "serviceTask": _l("Service task"),
    "scriptTask": _l("Script task"),
    "businessRuleTask": _l("Business rule task"),
    "sendTask": _l("Send task"),
    "receiveTask": _l("Receive task"),
    "callActivity": _l("Call activity"),
    "subProcess": _l("Sub-process"),
    "exclusiveGateway": _l("Exclusive gateway"),
    "inclusiveGateway": _l("Inclusive gateway"),
    "parallelGateway": _l("Parallel gateway"),
    "eventBasedGateway": _l("Event-based gateway"),
    "intermediateCatchEvent": _l("Catch event"),
    "intermediateThrowEvent": _l("Throw event"),
    "boundaryEvent": _l("Boundary event"),
}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"}


class AnalyticsArgs(ma.Schema):
    """What the page and the API read from the query string."""

    version = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1),
                         metadata={"description": "The version (default: the current one)."})
    date_from = fields.Date(load_default=None, metadata={"description": "Instances started on or after this day "
                                                                          "(default: 29 days before date_to)."})
    date_to = fields.Date(load_default=None, metadata={"description": "Instances started on or before this day "
                                                                        "(default: today)."})

    class Meta:
        unknown = ma.EXCLUDE


def read_args(args: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The page's query string through `AnalyticsArgs`: (values that passed, field -> message)."""
    loaded = load_input(AnalyticsArgs(), {k: v for k, v in args.items() if v not in (None, "")})
    return dict(loaded.values), dict(loaded.errors)


# The diagram: its elements and sequence flows ------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    id: str
    name: str | None
    kind: str


@dataclass(frozen=True)
class Flow:
    id: str
    name: str | None
    source: str
    target: str


@dataclass(frozen=True)
class Diagram:
    nodes: tuple[Node, ...]
    flows: tuple[Flow, ...]


_diagrams: dict[str, Diagram] = {}


def diagram(definition: ProcessDefinition) -> Diagram:
    """The flow nodes and sequence flows of the version's executable process, in document order (parsed once
    per content hash)."""
    found = _diagrams.get(definition.sha256)
    if found is not None:
        return found
    tree = parse_xml(f"{definition.key}.bpmn", definition.bpmn_xml.encode("utf-8"), [])
    nodes: list[Node] = []
    flows: list[Flow] = []
    if tree is not None:
        main, _name = main_process(f"{definition.key}.bpmn", tree)
        process = next((p for p in tree.iter(f"{{{BPMN_NS}}}process") if p.get("id") == main), None)
        for el in process if process is not None else []:
            if not isinstance(el.tag, str) or etree.QName(el.tag).namespace != BPMN_NS or not el.get("id"):
                continue
            kind = etree.QName(el.tag).localname
            if kind == "sequenceFlow":
                flows.append(Flow(el.get("id"), el.get("name"), el.get("sourceRef") or "", el.get("targetRef") or ""))
            elif kind in KIND_LABELS:
                nodes.append(Node(el.get("id"), el.get("name"), kind))
    found = Diagram(tuple(nodes), tuple(flows))
    if len(_diagrams) > 200:
        _diagrams.clear()
    _diagrams[definition.sha256] = found
    return found


# The figures ----------------------------------------------------------------------------------------------------
@dataclass
class ElementFigures:
    id: str
    name: str
    kind: str
    passed: int = 0  # instances that completed the element
    passes: int = 0  # completions (a loop passes an element more than once)
    median: float | None = None  # seconds, per pass, of the passes that waited
    p90: float | None = None
    max: float | None = None
    waiting: int = 0  # live instances waiting there now
    oldest_wait: float | None = None  # seconds
    median_wait: float | None = None
    in_diagram: bool = True

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind or "—"))


@dataclass
class FlowFigures:
    id: str
    name: str | None
    source: str
    target: str
    taken: int


@dataclass
class Analytics:
    definition: ProcessDefinition
    date_from: date
    date_to: date
    instances: int  # started in the period, in scope
    elements: list[ElementFigures] = field(default_factory=list)
    flows: list[FlowFigures] = field(default_factory=list)
    computed_at: datetime = field(default_factory=utcnow)

    @property
    def median_range(self) -> tuple[float, float] | None:
        """The smallest and largest median (the heatmap's colour scale), or None when nothing waited."""
        medians = [e.median for e in self.elements if e.median is not None]
        return (min(medians), max(medians)) if medians else None


def default_period(today: date) -> tuple[date, date]:
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def _day_start(day: date, tz: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def resolve_version(key: str, version: int | None) -> ProcessDefinition:
    """The asked version of `key`, or its current one (404 for an unknown process or version)."""
    if version is None:
        current = current_definitions().get(key)
        if current is None or key.endswith(".dmn"):
            raise NotFound()
        return current
    return get_version(key, version)


def compute(key: str, actor: Any, *, version: int | None = None, date_from: date | None = None,
            date_to: date | None = None, tz: Any = UTC) -> Analytics:
    """The figures of one version (default: the current one) for instances started from `date_from` to
    `date_to` (days in `tz`, both included; default: the last 30 days), within the actor's scope."""
    definition = resolve_version(key, version)
    if date_to is None:
        date_to = utcnow().astimezone(tz).date() if date_from is None else max(date_from, utcnow().astimezone(tz).date())
    if date_from is None:
        date_from = default_period(date_to)[0]
    if date_from > date_to:
        raise ValidationFailed({"date_from": _l("The start date is after the end date.")})
    if (date_to - date_from).days >= MAX_DAYS:
        raise ValidationFailed({"date_from": _l("Choose a period of at most two years.")})
    now = utcnow()
    started = visible(select(ProcessInstance.id).where(
        ProcessInstance.definition_id == definition.id,
        ProcessInstance.started_at >= _day_start(date_from, tz),
        ProcessInstance.started_at < _day_start(date_to + timedelta(days=1), tz),
    ), actor, ProcessInstance)
    live = visible(select(ProcessInstance.id).where(ProcessInstance.definition_id == definition.id,
                                                    ProcessInstance.status.in_(LIVE)), actor, ProcessInstance)
    # The instances first, then their rows by the list of their ids: PostgreSQL reads the rows of a list of
    # ids through ix_process_event_kind (a bitmap of the pages that hold them: a period's rows were written
    # in the same weeks, so they sit together), where `IN (subquery)` made it scan the whole table.
    # Rendered as literals (integers from our own query): no bound-parameter limit on SQLite. Past
    # ID_LIST_LIMIT the subquery again: most of the table is wanted then, and the statement stays short.
    period_ids = list(db.session.scalars(started.limit(ID_LIST_LIMIT + 1)))
    live_ids = list(db.session.scalars(live.limit(ID_LIST_LIMIT + 1)))
    in_period = _among(period_ids, started, "period_ids")
    is_live = _among(live_ids, live, "live_ids")
    instances = len(period_ids) if len(period_ids) <= ID_LIST_LIMIT else int(
        db.session.scalar(select(func.count()).select_from(started.subquery())) or 0)

    figures: dict[str, ElementFigures] = {}
    shape = diagram(definition)
    boundary = {n.id for n in shape.nodes if n.kind == "boundaryEvent"}
    for node in shape.nodes:
        figures[node.id] = ElementFigures(node.id, translated(node.name) or node.id, node.kind)

    def at(element: str) -> ElementFigures:
        found = figures.get(element)
        if found is None:  # an element of another version (a migrated instance passed it there)
            found = figures[element] = ElementFigures(element, element, "", in_diagram=False)
        return found

    # Passed: instances and passes per element.
    # (grouped by element and instance first: a hash aggregate, where count(DISTINCT) sorts every row)
    per_instance = (select(ProcessEvent.bpmn_id.label("element"), func.count().label("passes"))
                    .where(ProcessEvent.kind == PASSED, in_period)
                    .group_by(ProcessEvent.bpmn_id, ProcessEvent.instance_id).subquery())
    for element, passed, passes in db.session.execute(
        select(per_instance.c.element, func.count(), func.sum(per_instance.c.passes)).group_by(per_instance.c.element)
    ):
        if element:
            figures_of = at(element)
            figures_of.passed, figures_of.passes = int(passed), int(passes)

    # Durations of the passes that waited.
    waited = ProcessEvent.details["waited"].as_float()
    for element, (n, ranks) in _ranked(
        select(ProcessEvent.bpmn_id.label("element"), waited.label("value"))
        .where(ProcessEvent.kind == PASSED, in_period, waited.is_not(None))
    ).items():
        figures_of = at(element)
        figures_of.median = _percentile(ranks, n, 0.5)
        figures_of.p90 = _percentile(ranks, n, 0.9)
        figures_of.max = float(ranks[n])

    # Waiting now: waits begun and neither completed nor withdrawn, in the live instances of the version.
    closing = aliased(ProcessEvent)
    still_open = ~select(closing.id).where(
        closing.instance_id == ProcessEvent.instance_id, closing.task_guid == ProcessEvent.task_guid,
        closing.kind.in_([PASSED, WITHDRAWN]),
    ).exists()
    for element, (n, ranks) in _ranked(
        select(ProcessEvent.bpmn_id.label("element"), ProcessEvent.occurred_at.label("value"))
        .where(ProcessEvent.kind == REACHED, is_live, still_open)
    ).items():
        if element in boundary:
            continue  # armed beside the task it is attached to: the instance waits at that task
        figures_of = at(element)
        stamps = {rank: value.timestamp() for rank, value in ranks.items()}
        figures_of.waiting = n
        figures_of.oldest_wait = max(now.timestamp() - stamps[1], 0.0)
        median_reached = _percentile(stamps, n, 0.5)
        figures_of.median_wait = max(now.timestamp() - median_reached, 0.0) if median_reached is not None else None

    # Paths: the flows out of each splitting gateway, by (gateway, element the path leads to).
    taken: dict[tuple[str, str], int] = {}
    paths = select(ProcessEvent.bpmn_id.label("gateway"), ProcessEvent.details["to"].as_string().label("target")).where(
        ProcessEvent.kind == FLOW, in_period).subquery()
    for gateway, target, n in db.session.execute(
        select(paths.c.gateway, paths.c.target, func.count()).group_by(paths.c.gateway, paths.c.target)
    ):
        taken[(gateway or "", target or "")] = int(n)
    kinds = {n.id: n.kind for n in shape.nodes}
    flows = [FlowFigures(f.id, translated(f.name) if f.name else None, f.source, f.target,
                         taken.get((f.source, f.target), 0))
             for f in shape.flows if kinds.get(f.source) in GATEWAYS and sum(1 for g in shape.flows if g.source == f.source) > 1]
    return Analytics(definition, date_from, date_to, instances, list(figures.values()), flows, now)


def _among(ids: list[int], query: Any, name: str) -> Any:
    """process_event.instance_id among `ids` (the result of `query`, cut at ID_LIST_LIMIT + 1)."""
    if len(ids) > ID_LIST_LIMIT:
        return ProcessEvent.instance_id.in_(query.scalar_subquery())
    return ProcessEvent.instance_id.in_(bindparam(name, ids, expanding=True, literal_execute=True))


def _ranked(stmt: Any) -> dict[str, tuple[int, dict[int, Any]]]:
    """For a select of (element, value): per element, how many values and the values at the ranks the
    percentiles need (first, median and p90 neighbours, last), ranked by value in SQL — one sort, and at
    most six rows per element come back."""
    inner = stmt.subquery()
    ranked = select(
        inner.c.element, inner.c.value,
        func.row_number().over(partition_by=inner.c.element, order_by=inner.c.value).label("rank"),
        func.count().over(partition_by=inner.c.element).label("n"),
    ).subquery()
    rank, n = ranked.c.rank, ranked.c.n
    # percentile p lies between ranks floor(1 + p(n-1)) and ceil(1 + p(n-1)) (integer division in SQL).
    wanted = or_(rank == 1, rank == n, rank == (n - 1) // 2 + 1, rank == n // 2 + 1,
                 rank == (9 * (n - 1)) // 10 + 1, rank == (9 * (n - 1) + 9) // 10 + 1)
    out: dict[str, tuple[int, dict[int, Any]]] = {}
    for element, value, position, count in db.session.execute(
        select(ranked.c.element, ranked.c.value, rank, n).where(wanted)
    ):
        if element is None:
            continue
        out.setdefault(element, (int(count), {}))[1][int(position)] = value
    return out


def _percentile(ranks: dict[int, Any], n: int, p: float) -> float | None:
    """Linear interpolation between the closest ranks (1-based), as `percentile_cont(p)`."""
    if n <= 0:
        return None
    position = 1 + p * (n - 1)
    low, high = math.floor(position), math.ceil(position)
    if low not in ranks or high not in ranks:
        return None
    a, b = float(ranks[low]), float(ranks[high])
    return round(a + (position - low) * (b - a), 3)  # to the millisecond, as the durations are kept


# Reading ----------------------------------------------------------------------------------------------------------
def human_duration(seconds: float | None) -> str:
    """"2 d 4 h", "3 h 5 min", "35 min", "40 s"; "—" for none."""
    if seconds is None:
        return "—"
    total = int(round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = _("%(days)s d %(hours)s h", days=days, hours=hours) if hours else _("%(days)s d", days=days)
    elif hours:
        text = (_("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes) if minutes
                else _("%(hours)s h", hours=hours))
    elif minutes:
        text = _("%(minutes)s min", minutes=minutes)
    else:
        text = _("%(seconds)s s", seconds=secs)
    return str(text)
