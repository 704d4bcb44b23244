"""The inbox lists (mine, group, overdue, due today, all in my scope, completed by me) with filters,
keyset pages and saved filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from crm.core.clock import utcnow
from crm.core.errors import ValidationFailed
from crm.core.web import forget_refused_write
from crm.inbox import merged
from crm.inbox.views.common import DUE_LABELS
from crm.inbox.views.common import KIND_LABELS
from crm.inbox.views.common import SORT_LABELS
from crm.inbox.views.common import VIEW_ENDPOINTS
from crm.inbox.views.common import VIEW_LABELS
from crm.inbox.views.common import bp
from crm.inbox.views.common import counts
from crm.inbox.views.common import filters_from_args
from crm.inbox.views.common import tz
from crm.workflow.tasks import filters as task_filters
from crm.workflow.tasks import queries as task_queries
from crm.workflow.tasks.queries import day_window


def _list(view: str) -> Any:
    filters = filters_from_args(view)
    now = utcnow()
    page = merged.list_tasks(current_user, filters, request.args.get("cursor") or None,
                             current_app.config["PAGE_SIZE"], now=now, tz=tz(), listed_only=True)
    items = page.items
    processes = [t for t in items if t.inbox_kind == "process"]
    people = ({t.assignee_id for t in processes} | {t.completed_by_id for t in items}
              | {t.delegated_by_id for t in processes} | {t.owner_id for t in items if t.inbox_kind == "work"})
    start, end = day_window(now, tz())
    store_choices = task_queries.store_choices(current_user)
    stores = dict(store_choices)  # the filter's choices name most rows' stores; look up only the others
    stores.update(task_queries.store_names({t.store_id for t in items if t.store_id} - stores.keys()))
    return render_template(
        "inbox/list.html",
        view=view,
        page=page,
        filters=filters,
        now=now,
        counts=counts(current_user),
        view_labels=VIEW_LABELS,
        view_endpoints=VIEW_ENDPOINTS,
        due_labels=DUE_LABELS,
        sort_labels=SORT_LABELS,
        names=task_queries.user_names({p for p in people if p}),
        stores=stores,
        candidates=task_queries.candidate_counts([t.id for t in items]) if view == "group" else {},
        kind_labels=KIND_LABELS,
        week_end=start + timedelta(days=7),
        today_end=end,
        processes=task_queries.process_names(),
        store_choices=store_choices,
        saved=task_filters.saved_filters(current_user),
        saved_query=urlencode(filters.query_args()),
    )


@bp.route("/")
@login_required
def mine() -> Any:
    return _list("mine")


@bp.route("/group")
@login_required
def group() -> Any:
    return _list("group")


@bp.route("/overdue")
@login_required
def overdue() -> Any:
    return _list("overdue")


@bp.route("/today")
@login_required
def today() -> Any:
    return _list("today")


@bp.route("/scope")
@login_required
def scope() -> Any:
    return _list("all")


@bp.route("/completed")
@login_required
def completed() -> Any:
    return _list("completed")


# Saved filters ----------------------------------------------------------------------------------------------
def _view_of(raw: Any) -> str:
    return raw if raw in VIEW_ENDPOINTS else "mine"


@bp.route("/filters", methods=["POST"])
@login_required
def save_filter() -> Any:
    view = _view_of(request.form.get("view"))
    raw_query = request.form.get("query") or ""
    # Keep only what the list understands, checked the way the list reads it.
    filters = filters_from_args(view, dict(parse_qsl(raw_query[:2000])))
    query = urlencode({"view": view, **filters.query_args()})
    try:
        saved = task_filters.save_filter(request.form.get("name"), query, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)  # the redirect below would otherwise commit the attempt
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "danger")
        return redirect(url_for(VIEW_ENDPOINTS[view], **filters.query_args()), code=303)
    flash(_("The filter %(name)s was saved.", name=saved.name), "success")
    return redirect(url_for("inbox.apply_filter", filter_id=saved.id), code=303)


@bp.route("/filters/<int:filter_id>")
@login_required
def apply_filter(filter_id: int) -> Any:
    saved = task_filters.get_filter(filter_id, current_user)
    args = dict(parse_qsl(saved.query))
    view = _view_of(args.pop("view", None))
    filters = filters_from_args(view, args)
    return redirect(url_for(VIEW_ENDPOINTS[view], **filters.query_args()))


@bp.route("/filters/<int:filter_id>/delete", methods=["POST"])
@login_required
def delete_filter(filter_id: int) -> Any:
    saved = task_filters.get_filter(filter_id, current_user)
    name = saved.name
    task_filters.delete_filter(saved.id, actor=current_user)
    flash(_("The filter %(name)s was deleted.", name=name), "success")
    return redirect(url_for("inbox.mine"), code=303)
