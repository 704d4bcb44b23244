"""Each user's saved inbox filters: a name and the list's query string, re-applied with one click."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.validation import check_text
from crm.extensions import db
from crm.org.models import User
from crm.workflow.models import SavedTaskFilter
from crm.workflow.tasks.services import valid_id

FILTER_MAX = 50  # per user


def saved_filters(actor: User) -> list[SavedTaskFilter]:
    return list(db.session.scalars(
        select(SavedTaskFilter).where(SavedTaskFilter.user_id == actor.id).order_by(SavedTaskFilter.name)
    ))


def get_filter(filter_id: Any, actor: User) -> SavedTaskFilter:
    row = db.session.get(SavedTaskFilter, valid_id(filter_id))
    if row is None or row.user_id != actor.id:
        raise NotFound()
    return row


def save_filter(name: Any, query: str, *, actor: User) -> SavedTaskFilter:
    """Save (or overwrite, by name) one of the actor's inbox filters."""
    errors: dict[str, str] = {}
    text = check_text(name if isinstance(name, str) else None, errors, "name", max_length=80)
    if len(query) > 1000:
        errors["query"] = str(_l("This filter is too long to save."))
    if errors:
        raise ValidationFailed(errors)
    row = db.session.scalar(select(SavedTaskFilter).where(SavedTaskFilter.user_id == actor.id,
                                                          SavedTaskFilter.name == text))
    if row is None:
        count = db.session.scalar(select(func.count()).select_from(SavedTaskFilter)
                                  .where(SavedTaskFilter.user_id == actor.id)) or 0
        if count >= FILTER_MAX:
            raise ValidationFailed({"name": _l("You have %(n)d saved filters; delete one first.", n=count)})
        row = SavedTaskFilter(user_id=actor.id, name=text, query=query, created_at=utcnow())
        db.session.add(row)
    else:
        row.query = query
    db.session.flush()
    return row


def delete_filter(filter_id: Any, *, actor: User) -> None:
    row = get_filter(filter_id, actor)
    db.session.execute(delete(SavedTaskFilter).where(SavedTaskFilter.id == row.id))
    db.session.flush()
