"""The operation log: one table of typed per-field changes and business events for every audited model.

Models opt in by inheriting `Audited`. A session `after_flush` hook records every insert, update and delete
with the acting user taken from `session.info["actor_id"]`, which the request (or job) sets once; services
do not have to remember to log field changes. Business events (transfer, lock, claim ...) go through
`record_event`, the same table, so one timeline shows both."""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import column
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from crm.core.clock import utcnow
from crm.core.db import Base


class OperationLog(Base):
    __tablename__ = "operation_log"
    __table_args__ = (Index("ix_operation_log_object", "object_type", "object_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int]
    store_id: Mapped[int | None] = mapped_column(index=True)
    # created | updated | deleted | an event name such as "transferred", "disabled", "password_reset"
    action: Mapped[str] = mapped_column(String(64))
    # {"field": {"type": "decimal", "old": "1.00", "new": "2.00"}}; events may carry details instead
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(String(1000))


class Audited:
    """Mixin: record every change of this model. `__audit_exclude__` names fields never logged (secrets,
    bookkeeping); `audit_store_id` tells which store the row belongs to (None for org-level rows)."""

    __audit_exclude__: frozenset[str] = frozenset({"created_at", "updated_at"})
    if TYPE_CHECKING:
        __tablename__: str  # the model's, which mixes this in

    @classmethod
    def audit_type(cls) -> str:
        return cls.__tablename__

    @property
    def audit_store_id(self) -> int | None:
        return getattr(self, "store_id", None)


def encode_value(value: Any) -> tuple[str, Any]:
    """(type, JSON-safe value) for one field value; the type lets the timeline format it back."""
    if value is None:
        return "null", None
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, enum.Enum):
        return "enum", value.value
    if isinstance(value, int):
        return "int", value
    if isinstance(value, Decimal):
        return "decimal", str(value)
    if isinstance(value, float):
        return "float", value
    if isinstance(value, datetime):
        return "datetime", value.isoformat()
    if isinstance(value, date):
        return "date", value.isoformat()
    if isinstance(value, str):
        return "str", value
    if isinstance(value, (dict, list)):
        return "json", value
    return "str", str(value)


def _field_change(old: Any, new: Any) -> dict[str, Any]:
    old_type, old_v = encode_value(old)
    new_type, new_v = encode_value(new)
    return {"type": new_type if new_type != "null" else old_type, "old": old_v, "new": new_v}


def _column_attrs(obj: Audited) -> list[str]:
    mapper = inspect(type(obj))
    return [a.key for a in mapper.column_attrs if a.key not in obj.__audit_exclude__]


def _changes_of(obj: Audited, action: str) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for key in _column_attrs(obj):
        if key == "id":
            continue
        hist = state.attrs[key].history
        if action == "created":
            value = state.attrs[key].value
            if value is not None:
                changes[key] = _field_change(None, value)
        elif action == "deleted":
            value = (hist.unchanged or hist.deleted or [None])[0]
            if value is not None:
                changes[key] = _field_change(value, None)
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                changes[key] = _field_change(old, new)
    return changes


def _pk(obj: Audited) -> int:
    # During after_flush new rows have their id but no identity key yet: read it from the mapper.
    # obj.__class__, not type(obj): views pass flask_login's current_user, a proxy whose type is LocalProxy.
    return int(inspect(obj.__class__).primary_key_from_instance(obj)[0])


_CREATED = "_audit_created"  # session.info: (object_type, id) -> log row id of rows created this transaction


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context: Any) -> None:
    actor_id = session.info.get("actor_id")
    created_here: dict[tuple[str, int], int] = session.info.setdefault(_CREATED, {})
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    amend: list[dict[str, Any]] = []
    for action, objs in (("created", session.new), ("updated", session.dirty), ("deleted", session.deleted)):
        for obj in objs:
            if not isinstance(obj, Audited):
                continue
            if action == "updated" and not session.is_modified(obj, include_collections=False):
                continue
            key = (obj.audit_type(), _pk(obj))
            if action == "updated" and key in created_here:
                # Created earlier in this transaction (services often flush once for the id, then again):
                # the "created" entry takes the final values instead of a second "changed" entry.
                amend.append({"log_id": created_here[key], "changes": _changes_of(obj, "created"),
                              "store_id": obj.audit_store_id})
                continue
            changes = _changes_of(obj, action)
            if action == "updated" and not changes:
                continue
            inserts.append(
                {
                    "occurred_at": now,
                    "actor_id": actor_id,
                    "object_type": key[0],
                    "object_id": key[1],
                    "store_id": obj.audit_store_id,
                    "action": action,
                    "changes": changes,
                    "note": None,
                }
            )
    table = OperationLog.__table__
    conn = session.connection()
    created = [row for row in inserts if row["action"] == "created"]
    if created:  # their ids, for the amendments above when the row changes again in this transaction
        ids = conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), created).scalars()
        for row, log_id in zip(created, ids, strict=True):
            created_here[(row["object_type"], row["object_id"])] = log_id
    others = [row for row in inserts if row["action"] != "created"]
    if others:
        conn.execute(table.insert(), others)
    for row in amend:
        conn.execute(
            table.update().where(table.c.id == row["log_id"]).values(changes=row["changes"], store_id=row["store_id"])
        )


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_created(session: Session) -> None:
    session.info.pop(_CREATED, None)


def record_event(
    session: Session,
    obj: Audited,
    action: str,
    *,
    actor_id: int | None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> OperationLog:
    """Log a business event (transfer, lock, claim, password reset ...) on `obj`'s timeline."""
    session.flush()
    entry = OperationLog(
        occurred_at=utcnow(),
        actor_id=actor_id,
        object_type=obj.audit_type(),
        object_id=_pk(obj),
        store_id=obj.audit_store_id,
        action=action,
        changes={k: _field_change(None, v) for k, v in (details or {}).items()},
        note=note,
    )
    session.add(entry)
    return entry


_users = table("user", column("id"), column("name"))


def timeline(session: Session, object_type: str, object_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first: each entry with the actor's name. The caller has already checked visibility."""
    stmt = (
        select(OperationLog, _users.c.name)
        .outerjoin(_users, _users.c.id == OperationLog.actor_id)
        .where(OperationLog.object_type == object_type, OperationLog.object_id == object_id)
        .order_by(OperationLog.id.desc())
        .limit(limit)
    )
    return [{"entry": log, "actor_name": name} for log, name in session.execute(stmt)]


def ids_in(entries: list[dict[str, Any]], fields: frozenset[str] | set[str]) -> set[int]:
    """Every id the `timeline` entries hold in these fields (old and new values), to look their names up
    in one query."""
    return {v for item in entries for field, change in (item["entry"].changes or {}).items() if field in fields
            for v in (change.get("old"), change.get("new")) if isinstance(v, int)}


def name_of(names: Mapping[int, str]) -> Callable[[Any], Any]:
    """Shows an id by its name; an id without one (deleted, or outside the reader's scope) as "#id"."""
    return lambda value: names.get(value, f"#{value}")


def label_of(labels: Mapping[Any, Any]) -> Callable[[Any], Any]:
    """Shows an enum's logged value by its label (the log keeps the plain value)."""
    def show(value: Any) -> Any:
        label = next((lbl for key, lbl in labels.items() if key == value), None)
        return str(label) if label is not None else value
    return show


def readable(entries: list[dict[str, Any]], show: Mapping[str, Callable[[Any], Any]]) -> list[dict[str, Any]]:
    """Copies of `timeline` entries in which each field named in `show` displays `show[field](value)`
    (names for ids, labels for enum values). The logged rows themselves are never touched."""
    def change_of(field: str, change: dict[str, Any]) -> dict[str, Any]:
        convert = show.get(field)
        if convert is None:
            return change
        old, new = change.get("old"), change.get("new")
        return {"type": "str", "old": None if old is None else convert(old), "new": None if new is None else convert(new)}

    out = []
    for item in entries:
        e = item["entry"]
        changes = {field: change_of(field, change) for field, change in (e.changes or {}).items()}
        out.append({"entry": SimpleNamespace(occurred_at=e.occurred_at, action=e.action, note=e.note, changes=changes),
                    "actor_name": item["actor_name"]})
    return out
