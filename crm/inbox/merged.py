"""The one inbox: process tasks (`human_task`) and work tasks (`work_task`) in one list, one order and
one keyset page, and the counts of the navigation badge.

Each kind's list is its own query with its view's filters and its own visibility (`crm.workflow.tasks.
queries.filtered`, `crm.work.tasks.queries.inbox_selects`), projected to the same columns and merged with
UNION ALL. The order always ends with (kind, id), so it is total and the cursor (every key of the last
row) continues exactly where the page stopped, whichever kinds it mixes:

- newest / oldest: (created_at, kind, id), descending / ascending
- priority: (priority desc, created_at desc, kind desc, id desc) (work: high 2, medium 1, low 0, none -1;
  process: urgent 2, high 1, normal 0)
- due (and the overdue and due-today views): (due, kind, id), tasks without a due date last
- completed: (completed_at desc, kind desc, id desc)

On PostgreSQL each branch reads its index in that order and the LIMIT stops the merge early."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.orm import load_only

from crm.approvals.services import APPROVAL_TASK_PROCESSES
from crm.approvals.services import DECISION_TASKS
from crm.core.db import UTCDateTime
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import after_cursor
from crm.core.pagination import keyset_page
from crm.core.pagination import page_limit
from crm.extensions import db
from crm.work.tasks import queries as work_queries
from crm.work.tasks.models import WorkTask
from crm.workflow.models import HumanTask
from crm.workflow.tasks import queries as task_queries
from crm.workflow.tasks.queries import BADGE_CAP
from crm.workflow.tasks.queries import TaskFilters

# Stand-ins for "no due date" (after every date) and "not completed" in the sort keys, which are never NULL.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)
NOT_DONE = datetime(1970, 1, 1, tzinfo=UTC)


def _columns(model: Any, kind: str) -> list[Any]:
    return [
        literal(kind).label("kind"),
        model.id.label("id"),
        func.coalesce(model.due_at, literal(NO_DUE, UTCDateTime())).label("due_key"),
        model.created_at.label("created_at"),
        model.priority.label("priority"),
        func.coalesce(model.completed_at, literal(NOT_DONE, UTCDateTime())).label("done_key"),
    ]


def _branches(actor: Any, filters: TaskFilters, now: datetime, tz: Any) -> list[Select[Any]]:
    branches: list[Select[Any]] = []
    if filters.kind != "work":
        process = task_queries.filtered(actor, filters, now, tz)
        branches.append(process.with_only_columns(*_columns(HumanTask, "process")))
    for work in work_queries.inbox_selects(actor, filters, now, tz):
        branches.append(work.with_only_columns(*_columns(WorkTask, "work")))
    if not branches:  # a view that lists no task of the kind asked (work tasks are never claimable): none
        empty = task_queries.filtered(actor, filters, now, tz).where(false())
        branches.append(empty.with_only_columns(*_columns(HumanTask, "process")))
    return branches


def _merged(actor: Any, filters: TaskFilters, now: datetime, tz: Any, cursor: str | None = None,
            limit: int | None = None) -> Any:
    """The branches as one subquery. With `limit`, each branch is first cut to its own page (after the
    cursor, in the list's order, `limit + 1` rows): PostgreSQL does not merge-append a UNION ALL whose
    order holds the branch's constant `kind`, so without the cut it would sort every row of the scope."""
    branches = _branches(actor, filters, now, tz)
    if limit is not None:
        cut = []
        for i, branch in enumerate(branches):
            one = branch.subquery(f"branch{i}")
            keys = _keys(one, filters)
            stmt = select(one)
            if cursor:
                stmt = stmt.where(after_cursor(keys, cursor))
            stmt = stmt.order_by(*[k.column.desc() if k.descending else k.column.asc() for k in keys])
            cut.append(select(stmt.limit(limit + 1).subquery(f"page{i}")))
        branches = cut
    if len(branches) == 1:
        return branches[0].subquery("inbox")
    return union_all(*branches).subquery("inbox")


def _keys(sub: Any, filters: TaskFilters) -> list[SortKey]:
    c = sub.c
    if filters.view == "completed":
        spec = [(c.done_key, True), (c.kind, True), (c.id, True)]
    elif filters.view in ("overdue", "today") or filters.sort == "due":
        spec = [(c.due_key, False), (c.kind, False), (c.id, False)]
    elif filters.sort == "oldest":
        spec = [(c.created_at, False), (c.kind, False), (c.id, False)]
    elif filters.sort == "priority":
        spec = [(c.priority, True), (c.created_at, True), (c.kind, True), (c.id, True)]
    else:
        spec = [(c.created_at, True), (c.kind, True), (c.id, True)]
    return [SortKey(column, descending=desc) for column, desc in spec]


# What the inbox page shows of a process task (its list template): a page loads only these columns, not the
# task's form, draft and data (JSON that can weigh kilobytes a row); reading another raises, so a template
# that starts to need one fails its tests instead of loading it row by row.
LISTED = (HumanTask.id, HumanTask.instance_id, HumanTask.title, HumanTask.texts, HumanTask.process_key,
          HumanTask.bpmn_id, HumanTask.store_id, HumanTask.object_type, HumanTask.object_id, HumanTask.assignee_id,
          HumanTask.delegated_by_id, HumanTask.status, HumanTask.priority, HumanTask.due_at,
          HumanTask.created_at, HumanTask.completed_by_id, HumanTask.completed_at)


def list_tasks(actor: Any, filters: TaskFilters, cursor: str | None, limit: int, *, now: datetime, tz: Any,
               listed_only: bool = False) -> Page[Any]:
    """One page of the one inbox: its items are HumanTask and WorkTask rows (`inbox_kind` says which).
    `listed_only`: the rows carry only what the list page shows (`LISTED`, `work_queries.LISTED`)."""
    limit = page_limit(limit)
    sub = _merged(actor, filters, now, tz, cursor, limit)
    page = keyset_page(db.session, select(sub), _keys(sub, filters), limit=limit, plain_rows=True)
    process_ids = [r.id for r in page.items if r.kind == "process"]
    work_ids = [r.id for r in page.items if r.kind == "work"]
    humans: dict[int, HumanTask] = {}
    if process_ids:
        stmt = select(HumanTask).where(HumanTask.id.in_(process_ids))
        if listed_only:
            stmt = stmt.options(load_only(*LISTED, raiseload=True))
        humans = {t.id: t for t in db.session.scalars(stmt)}
    works, progress = work_queries.by_ids(work_ids, listed_only=listed_only)
    page.items = [humans[r.id] if r.kind == "process" else works[r.id] for r in page.items
                  if r.id in (humans if r.kind == "process" else works)]
    page.extra["subtasks"] = progress
    return page


def inbox_counts(actor: Any) -> dict[str, int]:
    """{"mine": my open process and work tasks, "group": process tasks I may claim, "approvals": the approval
    decisions among them}, capped at BADGE_CAP, in one statement (the Tasks badge is mine + group, the
    Approvals badge the last; the lists' counts are the same reads)."""
    parts = task_queries.badge_selects(actor)
    if parts is None:
        return {"mine": 0, "group": 0, "approvals": 0}
    mine, group = parts
    mine_all = union_all(mine, *work_queries.badge_selects(actor))
    # The Approvals menu's own count: the same reads narrowed to approval decisions.
    decisions = (HumanTask.process_key.in_(APPROVAL_TASK_PROCESSES), HumanTask.bpmn_id.in_(DECISION_TASKS))
    approvals = union_all(mine.where(*decisions), group.where(*decisions))

    def capped(stmt: Any) -> Any:
        return select(func.count()).select_from(stmt.limit(BADGE_CAP).subquery()).scalar_subquery()

    row = db.session.execute(select(capped(mine_all), capped(group), capped(approvals))).one()
    return {"mine": int(row[0] or 0), "group": int(row[1] or 0), "approvals": int(row[2] or 0)}
