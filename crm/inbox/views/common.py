"""The inbox blueprint and what its pages share: labels of history events, the list filters read from
the query string, and the navigation badge."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint
from flask import g
from flask import request
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l

from crm.core.web import int_arg
from crm.inbox import merged
from crm.workflow.models import EVENT_LABELS  # noqa: F401  (re-exported for the inbox pages)
from crm.workflow.models import event_label  # noqa: F401
from crm.workflow.tasks import queries as task_queries
from crm.workflow.tasks.queries import TaskFilters

# import_name is the package so that `templates/` resolves to crm/inbox/templates.
bp = Blueprint("inbox", "crm.inbox", template_folder="templates", url_prefix="/tasks")

VIEW_LABELS = {
    "mine": _l("My tasks"),
    "group": _l("Group tasks"),
    "overdue": _l("Overdue"),
    "today": _l("Due today"),
    "all": _l("All in my scope"),
    "completed": _l("Completed by me"),
}
VIEW_ENDPOINTS = {"mine": "inbox.mine", "group": "inbox.group", "overdue": "inbox.overdue", "today": "inbox.today",
                  "all": "inbox.scope", "completed": "inbox.completed"}
DUE_LABELS = {"overdue": _l("Overdue"), "today": _l("Due today"), "week": _l("Due in the next 7 days"),
              "later": _l("Due later"), "none": _l("No due date")}
SORT_LABELS = {"newest": _l("Newest first"), "oldest": _l("Oldest first"), "priority": _l("Highest priority first"),
               "due": _l("Soonest due first")}
KIND_LABELS = {"process": _l("Process task"), "work": _l("Work task")}

FIELD_LABELS = {"due_at": _l("Due"), "follow_up_at": _l("Follow up"), "priority": _l("Priority")}


def filters_from_args(view: str, args: Any = None) -> TaskFilters:
    """The list filters of the query string; anything malformed counts as absent."""
    args = args if args is not None else request.args
    process = (args.get("process") or "").strip()
    object_type = (args.get("object_type") or "").strip()
    due = args.get("due") or None
    sort = args.get("sort") or "newest"
    kind = args.get("kind") or None
    return TaskFilters(
        view=view,
        process=process if re.fullmatch(r"[\w.-]{1,100}", process) else None,
        store_id=int_arg("store_id") if args is request.args else _int(args.get("store_id")),
        due=due if due in task_queries.DUE_WINDOWS else None,
        object_type=object_type if re.fullmatch(r"[a-z_]{1,50}", object_type) else None,
        object_id=int_arg("object_id") if args is request.args else _int(args.get("object_id")),
        q=re.sub(r"[\x00-\x1f\x7f]", "", (args.get("q") or "").strip())[:100],
        sort=sort if sort in task_queries.SORTS else "newest",
        kind=kind if kind in task_queries.KINDS else None,
        claimable=view == "mine",
    )


def _int(raw: Any) -> int | None:
    text = str(raw or "")
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


def tz() -> Any:
    return get_timezone()


def counts(user: Any) -> dict[str, int]:
    """The inbox counts of this request (one query, cached for the request)."""
    cached = g.get("_inbox_counts")
    if cached is None:
        cached = merged.inbox_counts(user)
        g._inbox_counts = cached
    return cached  # type: ignore[no-any-return]


def open_task_count(user: Any) -> int | None:
    """The navigation badge: my open process and work tasks plus the group tasks I may claim."""
    c = counts(user)
    return (c["mine"] + c["group"]) or None


def approval_count(user: Any) -> int | None:
    """The Approvals menu's badge, from the same one query as the Tasks badge."""
    return counts(user).get("approvals") or None
