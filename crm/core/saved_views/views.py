"""The web edge of saved views: opening one on a list page, and the save and delete routes a list adds
to its blueprint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from crm.core.errors import ValidationFailed
from crm.core.saved_views.models import SavedView
from crm.core.saved_views.services import delete_view
from crm.core.saved_views.services import get_view
from crm.core.saved_views.services import save_view


def open_view(list_key: str, endpoint: str, actor: Any) -> tuple[SavedView | None, Any]:
    """For a list page: (the view named by `view_id`, None), or (view, a redirect to its filters and
    columns) when the URL names only the view. 404 when the view is not the actor's."""
    args = request.args
    if not args.get("view_id"):
        return None, None
    view = get_view(list_key, args.get("view_id"), actor=actor)
    if len(args) > 1:
        return view, None
    query = MultiDict(parse_qsl(view.query, keep_blank_values=False))
    for col in view.columns:
        query.add("cols", col)
    query.add("view_id", str(view.id))
    return view, redirect(url_for(endpoint) + "?" + urlencode(list(query.items(multi=True))))


def add_routes(bp: Blueprint, list_key: str, list_endpoint: str, guard: Callable[[Any], Any],
               actor: Callable[[], Any]) -> None:
    """POST <prefix>/views (save) and POST <prefix>/views/<view_id>/delete on the list's blueprint, as the
    endpoints `save_view` and `delete_view`; `guard` is the list's permission decorator."""

    @guard
    def save_view_page() -> Any:
        try:
            view = save_view(list_key, request.form.get("name"), request.form.get("query"),
                             request.form.getlist("cols"), actor=actor())
        except ValidationFailed as exc:
            flash(" ".join(m for msgs in exc.errors.values() for m in msgs), "danger")
            return redirect(url_for(list_endpoint))
        flash(_("The view %(name)s was saved.", name=view.name), "success")
        return redirect(url_for(list_endpoint, view_id=view.id))

    @guard
    def delete_view_page(view_id: int) -> Any:
        delete_view(list_key, view_id, actor=actor())
        flash(_("The view was deleted."), "success")
        return redirect(url_for(list_endpoint))

    bp.add_url_rule("/views", "save_view", save_view_page, methods=["POST"])
    bp.add_url_rule("/views/<int:view_id>/delete", "delete_view", delete_view_page, methods=["POST"])
