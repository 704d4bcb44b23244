"""Registry of models whose rows belong to a user (`owner_id`). Disabling a user counts and transfers
them through here, so org needs no knowledge of customers, orders or tasks; each context registers its
models when it is imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class OwnedModel:
    model: Any
    label: Any  # lazy, translated label shown on the disable page ("Customers")
    owner_column: str = "owner_id"


_registry: list[OwnedModel] = []


def register_owned(model: Any, label: Any, owner_column: str = "owner_id") -> None:
    if all(entry.model is not model for entry in _registry):
        _registry.append(OwnedModel(model, label, owner_column))


def owned_counts(session: Session, user_id: int) -> list[tuple[OwnedModel, int]]:
    result = []
    for entry in _registry:
        col = getattr(entry.model, entry.owner_column)
        count = session.scalar(select(func.count()).select_from(entry.model).where(col == user_id)) or 0
        result.append((entry, count))
    return result


def transfer_owned(session: Session, from_user_id: int, to_user_id: int) -> int:
    """Move every registered row owned by one user to another; returns how many rows moved.

    Rows are changed through the ORM, not a bulk UPDATE, so each move lands in the operation log."""
    moved = 0
    for entry in _registry:
        col = getattr(entry.model, entry.owner_column)
        for obj in session.scalars(select(entry.model).where(col == from_user_id)):
            setattr(obj, entry.owner_column, to_user_id)
            moved += 1
    session.flush()
    return moved
