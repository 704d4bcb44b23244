"""Receivable plans' test support: saving a plan as a user would (and committing it)."""

from __future__ import annotations

from typing import Any

from crm.extensions import db
from crm.finance.plans import services


def save(order: Any, actor: Any, *rows: tuple[str, str], **extra: Any) -> Any:
    """A plan of (amount, due date) rows, saved by `actor`."""
    plan = services.save_plan(order.id, {"instalments": [{"amount": a, "due_on": d, **extra} for a, d in rows]},
                              actor=actor)
    db.session.commit()
    return plan
