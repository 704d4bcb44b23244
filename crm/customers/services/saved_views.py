"""Saved list views (filters and columns) of one user."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.validation import check_text
from crm.customers.services.profile import Errors
from crm.customers.services.profile import flush
from crm.extensions import db
from crm.org.models import User


# Saved list views -----------------------------------------------------------------------------------------
def save_view(name: Any, query: Any, columns: list[str], *, actor: User) -> Any:
    from crm.customers.models import SavedCustomerView

    errors: Errors = {}
    name = check_text(name, errors, "name", max_length=80)
    query = check_text(query, errors, "query", max_length=2000, required=False)
    if errors:
        raise ValidationFailed(errors)
    query = "&".join(p for p in query.lstrip("?").split("&") if p and not p.startswith(("cursor=", "view_id=")))
    row = db.session.scalar(select(SavedCustomerView).where(SavedCustomerView.user_id == actor.id,
                                                            SavedCustomerView.name == name))
    if row is None:
        row = SavedCustomerView(user_id=actor.id, name=name)
        db.session.add(row)
    row.query = query
    row.columns = [str(c)[:40] for c in columns][:30]
    flush()
    return row


def get_view(view_id: Any, *, actor: User) -> Any:
    from crm.customers.models import SavedCustomerView

    try:
        key = int(view_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    row = db.session.get(SavedCustomerView, key) if 0 < key < 2**31 else None
    if row is None or row.user_id != actor.id:
        raise NotFound()
    return row


def delete_view(view_id: Any, *, actor: User) -> None:
    db.session.delete(get_view(view_id, actor=actor))
    flush()
