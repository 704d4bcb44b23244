"""Reads and state changes of saved views: they take the actor, flush, never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.core.errors import Conflict
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.saved_views.models import SavedView
from crm.core.validation import check_text
from crm.extensions import db

# Query parameters a view never remembers: the page position and the view itself.
TRANSIENT = ("cursor=", "view_id=")


def views_of(list_key: str, actor: Any) -> list[SavedView]:
    """The actor's own views of one list, by name."""
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == actor.id,
                                                           SavedView.list_key == list_key)
                                   .order_by(SavedView.name)))


def save_view(list_key: str, name: Any, query: Any, columns: list[str], *, actor: Any) -> SavedView:
    """Save (or, under a name already used for this list, replace) the actor's view."""
    errors: dict[str, str] = {}
    name = check_text(name, errors, "name", max_length=80)
    query = check_text(query, errors, "query", max_length=2000, required=False)
    if errors:
        raise ValidationFailed(errors)
    query = "&".join(p for p in query.lstrip("?").split("&") if p and not p.startswith(TRANSIENT))
    row = db.session.scalar(select(SavedView).where(SavedView.user_id == actor.id, SavedView.list_key == list_key,
                                                    SavedView.name == name))
    if row is None:
        row = SavedView(user_id=actor.id, list_key=list_key, name=name)
        db.session.add(row)
    row.query = query
    row.columns = [str(c)[:40] for c in columns][:30]
    try:
        db.session.flush()
    except IntegrityError:  # the same name saved by a parallel request
        raise Conflict() from None
    return row


def get_view(list_key: str, view_id: Any, *, actor: Any) -> SavedView:
    """The actor's view of this list; 404 for a bad id, someone else's view or another list's."""
    try:
        key = int(view_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    row = db.session.get(SavedView, key) if 0 < key < 2**31 else None
    if row is None or row.user_id != actor.id or row.list_key != list_key:
        raise NotFound()
    return row


def delete_view(list_key: str, view_id: Any, *, actor: Any) -> None:
    db.session.delete(get_view(list_key, view_id, actor=actor))
    db.session.flush()
