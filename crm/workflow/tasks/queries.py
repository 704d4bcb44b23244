"""Reads of the task inbox: the lists (mine, group, overdue, due today, everything in scope, completed by
me) with their filters and keyset pages, and the counts the navigation shows.

Every list goes through `crm.auth.scopes.visible` (HumanTask's visibility: the actor's data scope, plus
the tasks they are assigned to or a candidate of), then narrows to its own view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.i18n import translate
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User
from crm.workflow import runtime
from crm.workflow.deploy import current_names
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import TaskStatus
from crm.workflow.models import title_columns
from crm.workflow.tasks import files
from crm.workflow.tasks import forms
from crm.workflow.tasks import services

# "actionable": what the user can act on, assigned to them or offered to them to claim (the API's default).
VIEWS = ("actionable", "mine", "group", "overdue", "today", "all", "completed")
DUE_WINDOWS = ("overdue", "today", "week", "later", "none")
SORTS = ("newest", "oldest", "priority", "due")
KINDS = ("process", "work")  # what the one inbox lists: these tasks, and work tasks (crm.work)
OPEN = (TaskStatus.OPEN, TaskStatus.CLAIMED)


@dataclass
class TaskFilters:
    view: str = "mine"
    process: str | None = None
    store_id: int | None = None
    due: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    q: str = ""
    sort: str = "newest"
    kind: str | None = None  # "process" or "work": one kind of the one inbox only
    claimable: bool = False  # "mine" also lists the group tasks the actor may claim (the pages' default view)

    @property
    def is_filtered(self) -> bool:
        return any((self.process, self.store_id, self.due, self.object_type, self.object_id, self.q, self.kind))

    def query_args(self) -> dict[str, Any]:
        """The filters as query arguments (what a saved filter keeps), without the defaults."""
        args = {"process": self.process, "store_id": self.store_id, "due": self.due,
                "object_type": self.object_type, "object_id": self.object_id, "q": self.q or None,
                "sort": self.sort if self.sort != "newest" else None, "kind": self.kind}
        return {k: v for k, v in args.items() if v is not None}


def _is_candidate(actor: Any) -> Any:
    return exists().where(HumanTaskCandidate.task_id == HumanTask.id, HumanTaskCandidate.user_id == actor.id)


def day_window(now: datetime, tz: Any) -> tuple[datetime, datetime]:
    """Start and end of the actor's today, in UTC."""
    local = now.astimezone(tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if hasattr(tz, "normalize"):  # pytz: re-attach the offset valid at midnight
        start = tz.localize(start.replace(tzinfo=None))
    return start, start + timedelta(days=1)


def filtered(actor: Any, filters: TaskFilters, now: datetime, tz: Any) -> Select[Any]:
    """The actor's tasks of the list's view with its filters, unordered (the one inbox orders it with the
    work tasks)."""
    stmt = visible(select(HumanTask), actor, HumanTask)
    view = filters.view
    if view == "mine" and filters.claimable:
        # My tasks and the group tasks I may claim: the badge counts both, so the pages' default view lists
        # both (a warehouse clerk's outbound tasks are offered to the store's clerks, claimed by completing).
        stmt = stmt.where(or_(
            and_(HumanTask.assignee_id == actor.id, HumanTask.status.in_(OPEN)),
            and_(HumanTask.status == TaskStatus.OPEN, HumanTask.assignee_id.is_(None), _is_candidate(actor)),
        ))
    elif view == "mine":
        stmt = stmt.where(HumanTask.assignee_id == actor.id, HumanTask.status.in_(OPEN))
    elif view == "group":
        stmt = stmt.where(HumanTask.status == TaskStatus.OPEN, HumanTask.assignee_id.is_(None), _is_candidate(actor))
    elif view == "actionable":
        stmt = stmt.where(or_(
            and_(HumanTask.assignee_id == actor.id, HumanTask.status.in_(OPEN)),
            and_(HumanTask.status == TaskStatus.OPEN, HumanTask.assignee_id.is_(None), _is_candidate(actor))))
    elif view == "completed":
        stmt = stmt.where(HumanTask.status == TaskStatus.COMPLETED, HumanTask.completed_by_id == actor.id)
    else:
        stmt = stmt.where(HumanTask.status.in_(OPEN))
    # "Due today" and "in the next 7 days" are still to do (not yet late): overdue is its own view.
    start, end = day_window(now, tz)
    if view == "overdue":
        stmt = stmt.where(HumanTask.due_at < now)
    elif view == "today":
        stmt = stmt.where(HumanTask.due_at >= now, HumanTask.due_at < end)
    if filters.due == "overdue":
        stmt = stmt.where(HumanTask.due_at < now)
    elif filters.due == "today":
        stmt = stmt.where(HumanTask.due_at >= now, HumanTask.due_at < end)
    elif filters.due == "week":
        stmt = stmt.where(HumanTask.due_at >= now, HumanTask.due_at < start + timedelta(days=7))
    elif filters.due == "later":
        stmt = stmt.where(HumanTask.due_at >= start + timedelta(days=7))
    elif filters.due == "none":
        stmt = stmt.where(HumanTask.due_at.is_(None))
    if filters.kind == "work":
        stmt = stmt.where(false())
    if filters.process:
        stmt = stmt.where(HumanTask.process_key == filters.process)
    if filters.store_id:
        stmt = stmt.where(HumanTask.store_id == filters.store_id)
    if filters.object_type:
        stmt = stmt.where(HumanTask.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(HumanTask.object_id == filters.object_id)
    if filters.q:
        pattern = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(*(column.ilike(pattern, escape="\\") for column in title_columns())))
    return stmt


def _base(actor: Any, filters: TaskFilters, now: datetime, tz: Any) -> tuple[Select[Any], list[SortKey]]:
    stmt = filtered(actor, filters, now, tz)
    view = filters.view
    if view == "completed":
        keys = [SortKey(HumanTask.completed_at, descending=True), SortKey(HumanTask.id, descending=True)]
    elif view in ("overdue", "today"):
        keys = [SortKey(HumanTask.due_at), SortKey(HumanTask.id)]
    elif filters.sort == "oldest":
        keys = [SortKey(HumanTask.id)]
    elif filters.sort == "priority":
        keys = [SortKey(HumanTask.priority, descending=True), SortKey(HumanTask.id, descending=True)]
    else:
        keys = [SortKey(HumanTask.id, descending=True)]
    return stmt, keys


def list_tasks(actor: Any, filters: TaskFilters, cursor: str | None, limit: int, *, now: datetime, tz: Any) -> Page[Any]:
    stmt, keys = _base(actor, filters, now, tz)
    return keyset_page(db.session, stmt, keys, cursor=cursor, limit=limit)


BADGE_CAP = 100  # the navigation shows "99+" beyond this


def inbox_counts(actor: Any) -> dict[str, int]:
    """{"mine": open tasks assigned to the actor, "group": unclaimed tasks they may claim}, each capped at
    BADGE_CAP: a LIMIT lets PostgreSQL walk the assignee / candidate index and stop, where an exact
    count of 2 k candidates among 100 k tasks chose a hash join over every task (27 ms)."""
    parts = badge_selects(actor)
    if parts is None:
        return {"mine": 0, "group": 0}
    mine, group = parts

    def capped(stmt: Select[Any]) -> Any:
        return select(func.count()).select_from(stmt.limit(BADGE_CAP).subquery()).scalar_subquery()

    row = db.session.execute(select(capped(mine), capped(group))).one()
    return {"mine": int(row[0] or 0), "group": int(row[1] or 0)}


def badge_selects(actor: Any) -> tuple[Select[Any], Select[Any]] | None:
    """The ids of the open tasks assigned to the actor and of those they may claim (what the badge
    counts); None when the actor sees nothing."""
    ctx = scope_context(actor)
    if not ctx.scopes:
        return None
    mine = select(HumanTask.id).where(HumanTask.assignee_id == actor.id, HumanTask.status.in_(OPEN))
    group = (
        select(HumanTaskCandidate.task_id)
        .join(HumanTask, HumanTask.id == HumanTaskCandidate.task_id)
        .where(HumanTaskCandidate.user_id == actor.id, HumanTask.status == TaskStatus.OPEN,
               HumanTask.assignee_id.is_(None))
    )
    if ctx.store_filter is not None:
        mine = mine.where(HumanTask.store_id.in_(ctx.store_filter))
        group = group.where(HumanTask.store_id.in_(ctx.store_filter))
    return mine, group


def after_completion(actor: Any, task: HumanTask) -> tuple[HumanTask, list[HumanTask], dict[int, list[int]]]:
    """The completed task read again (the step updated its row in SQL) and the open tasks that follow it:
    of the same business object (or, without one, of the same process instance) that the actor may see,
    oldest first, with their candidates — what the completion API answers, so an integrator needs no
    second request.

    Visibility is the inbox's (`HumanTask.__visibility__`), decided like `get_visible`: a task the actor
    is assigned to or a candidate of is theirs; the others are kept only if `visible` finds them, so the
    actor's data scope is built only when a task does not involve them."""
    stmt = select(HumanTask).where(or_(HumanTask.id == task.id, and_(HumanTask.status.in_(OPEN), (
        and_(HumanTask.object_type == task.object_type, HumanTask.object_id == task.object_id)
        if task.object_type is not None and task.object_id is not None
        else HumanTask.instance_id == task.instance_id)))).order_by(HumanTask.id)
    rows = list(db.session.scalars(stmt.execution_options(populate_existing=True)))
    done = next(t for t in rows if t.id == task.id)
    following = [t for t in rows if t.id != task.id and t.status in OPEN]
    candidates = candidates_of([t.id for t in following])
    involved = {t.id for t in following if actor.active and (t.assignee_id == actor.id or actor.id in candidates[t.id])}
    others = [t.id for t in following if t.id not in involved]
    if others:
        involved |= set(db.session.scalars(visible(select(HumanTask.id).where(HumanTask.id.in_(others)), actor,
                                                   HumanTask)))
    return done, [t for t in following if t.id in involved], candidates


def candidates_of(task_ids: list[int]) -> dict[int, list[int]]:
    """Task id -> its candidates' user ids, in one query."""
    out: dict[int, list[int]] = {t: [] for t in task_ids}
    if task_ids:
        stmt = (select(HumanTaskCandidate.task_id, HumanTaskCandidate.user_id)
                .where(HumanTaskCandidate.task_id.in_(task_ids))
                .order_by(HumanTaskCandidate.task_id, HumanTaskCandidate.user_id))
        for task_id, user_id in db.session.execute(stmt):
            out[int(task_id)].append(int(user_id))
    return out


# Names for a page of tasks (one query each, never one per row) ------------------------------------------
def user_names(ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def store_names(ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all())


def candidate_counts(task_ids: list[int]) -> dict[int, int]:
    if not task_ids:
        return {}
    stmt = (select(HumanTaskCandidate.task_id, func.count()).where(HumanTaskCandidate.task_id.in_(task_ids))
            .group_by(HumanTaskCandidate.task_id))
    return {int(t): int(n) for t, n in db.session.execute(stmt)}


# Tasks of an embedded sub-process carry the sub-process's id as their process key ("ap_step"): the key of
# the process it belongs to, so lists name the process ("Approval"), never the id. Contexts register theirs.
SUBPROCESS_OF: dict[str, str] = {}


def register_subprocess(key: str, process_key: str) -> None:
    SUBPROCESS_OF[key] = process_key


def process_names() -> dict[str, str]:
    """Process key -> name of its current version, in the reader's language where the catalogue has it (the
    filter's choices, the inbox rows); registered sub-process keys get their process's name."""
    names = {key: (translate(name) if name else key) for key, name in sorted(current_names().items())
             if not key.endswith(".dmn")}
    return {**{sub: names[main] for sub, main in SUBPROCESS_OF.items() if main in names}, **names}


def store_choices(actor: Any) -> list[tuple[int, str]]:
    stores = select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == UnitKind.STORE)
    stmt = visible(stores, actor, OrgUnit)  # type: ignore[arg-type]  # visible() (crm.auth) is typed for one-column selects
    return [(int(i), n) for i, n in db.session.execute(stmt.order_by(OrgUnit.name, OrgUnit.id))]


def submitted_values(task: HumanTask, events: list[Any]) -> list[tuple[str, str]]:
    """What a completed task's form received, as (field label, value in words) in the form's order: the
    completion event's data read through the task's form (labels in the reader's language, choices by
    their labels). Hidden and file fields are left out; without a form, nothing."""
    from flask_babel import gettext

    done = next((e for e in reversed(events) if e.kind == "task_completed" and e.task_guid == task.task_guid), None)
    data = ((done.details or {}).get("data") if done is not None else None) or {}
    if task.is_open or not data:
        return []
    try:
        form = forms.load_form(task.form_schema, task.form_uischema, data)
    except forms.FormUnavailable:
        form = None
    if form is None:
        return []

    def text(field: Any, value: Any) -> str:
        if value is None or value == "" or value == []:
            return "—"
        if isinstance(value, bool):
            return str(gettext("Yes") if value else gettext("No"))
        options = {str(k): str(v) for k, v in field.options}
        if isinstance(value, list):
            return ", ".join(options.get(str(v), str(v)) for v in value)
        return options.get(str(value), str(value))

    out: list[tuple[str, str]] = []
    for field in form.fields:
        if field.widget in ("hidden", "file") or field.name not in data:
            continue
        value = data[field.name]
        if field.widget == "group" and isinstance(value, dict):
            out.extend((f"{field.title} · {c.title}", text(c, value.get(c.name))) for c in field.children
                       if c.name in value and c.widget not in ("hidden", "file"))
        elif field.widget == "table" and isinstance(value, list):
            out.append((field.title, "; ".join(", ".join(text(c, row.get(c.name)) for c in field.children)
                                               for row in value if isinstance(row, dict)) or "—"))
        else:
            out.append((field.title, text(field, value)))
    return out


# The task page's read model ----------------------------------------------------------------------------------
@dataclass
class TaskPage:
    """What the task page shows of a task and what the reader may do with it, read in one place."""

    task: HumanTask
    data: dict[str, Any]  # the engine's data of an open task (empty once it is done)
    form: Any  # the task's form (None: no form, or it cannot be shown: `form_problem` says why)
    form_problem: str | None
    candidate_ids: list[int]
    events: list[Any]  # the instance's history
    comments: list[Any]
    attachments: list[Any]
    names: dict[int, str]  # every user the page names: candidates, assignee, authors, history actors
    store_name: str | None
    process_name: str
    kind: str | None  # the diagram's `kind` property ("approval": the page shows the approval's decision form)
    submitted: list[tuple[str, str]]  # a completed task: what its form received (label, value in words)
    can_complete: bool
    can_claim: bool
    can_release: bool
    is_delegate: bool
    can_manage: bool
    can_follow_up: bool
    may_hand_over: bool
    assignable: list[User]


def task_page(task: HumanTask, actor: User) -> TaskPage:
    data = services.task_data(task) if task.is_open else {}
    form, form_problem = None, None
    try:
        form = forms.load_form(task.form_schema, task.form_uischema, data) if task.is_open else None
    except forms.FormUnavailable as exc:
        form_problem = str(exc.message)
    candidate_ids = services.candidate_ids(task)
    events = runtime.history(task.instance_id)
    comments = services.comments(task)
    attachments = files.attachments(task)
    manager = task.is_open and services.can_manage(task, actor)
    own = task.assignee_id == actor.id
    people = {*candidate_ids, task.assignee_id or 0, task.delegated_by_id or 0, task.completed_by_id or 0,
              *(c.author_id or 0 for c in comments), *(a.uploaded_by_id or 0 for a in attachments)}
    for e in events:
        people.add(e.actor_id or 0)
        people.update(v for k in ("to", "previous", "owner") if isinstance(v := (e.details or {}).get(k), int))
    may_hand_over = task.is_open and (manager or (own and task.assignee_id is not None))
    return TaskPage(
        task=task, data=data, form=form, form_problem=form_problem, candidate_ids=candidate_ids, events=events,
        comments=comments, attachments=attachments, names=user_names(people),
        store_name=store_names({task.store_id}).get(task.store_id) if task.store_id else None,
        # The instance's process: a task of an embedded or called sub-process ("ap_step") belongs to it.
        process_name=process_names().get(task.instance.process_key, task.instance.process_key),
        kind=services.task_kind(task),
        submitted=submitted_values(task, events),
        can_complete=services.can_complete(task, actor),
        can_claim=task.is_open and task.assignee_id is None and actor.id in candidate_ids,
        can_release=task.is_open and task.assignee_id is not None and (own or manager),
        is_delegate=own and task.delegated_by_id is not None,
        can_manage=manager,
        can_follow_up=task.is_open and (own or manager),
        may_hand_over=may_hand_over,
        assignable=services.assignable_users(task, actor) if may_hand_over else [],
    )
