"""Keyset pagination: pages are found by the last row's sort key, never by OFFSET, so page 500 costs
what page 1 costs. The cursor is an opaque URL-safe token."""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any
from typing import Generic
from typing import TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy import TypeDecorator
from sqlalchemy import and_
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import tuple_
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session
from sqlalchemy.orm import scoped_session
from sqlalchemy.types import TypeEngine

from crm.core.errors import ValidationFailed

T = TypeVar("T")


@dataclass(frozen=True)
class SortKey:
    column: InstrumentedAttribute[Any]
    descending: bool = False


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    limit: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _encode(values: Sequence[Any]) -> str:
    def conv(v: Any) -> Any:
        if isinstance(v, datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, date):
            return {"d": v.isoformat()}
        if isinstance(v, Decimal):
            return {"dec": str(v)}
        return v

    raw = json.dumps([conv(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str, keys: Sequence[SortKey]) -> list[Any]:
    """The sort-key values of a cursor. A cursor comes from the client, so anything that is not exactly
    what `_encode` wrote for these keys is refused as a validation error, never passed to the database."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        return [_checked(value, key) for value, key in zip(values, keys, strict=True)]
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ValidationFailed({"cursor": _l("Invalid page cursor.")}) from exc


def _python_type(key: SortKey) -> type[Any] | None:
    column_type: TypeEngine[Any] = key.column.type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    try:
        return column_type.python_type
    except NotImplementedError:
        return None


def _checked(value: Any, key: SortKey) -> Any:
    if isinstance(value, dict) and list(value) == ["dt"] and isinstance(value["dt"], str):
        value = datetime.fromisoformat(value["dt"])
        if value.tzinfo is None:
            raise ValueError("naive datetime in cursor")
    elif isinstance(value, dict) and list(value) == ["d"] and isinstance(value["d"], str):
        value = date.fromisoformat(value["d"])
    elif isinstance(value, dict) and list(value) == ["dec"] and isinstance(value["dec"], str):
        value = Decimal(value["dec"])
        if not value.is_finite():
            raise ValueError("non-finite decimal in cursor")
    if value is None or isinstance(value, (dict, list)):
        raise TypeError("sort keys are scalars and never NULL")
    expected = _python_type(key)
    if expected is None or expected is object:
        return value
    if isinstance(expected, type) and issubclass(expected, enum.Enum):
        return expected(value)
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
            raise TypeError("integer expected")
        return value
    if expected is bool:
        if not isinstance(value, bool):
            raise TypeError("boolean expected")
        return value
    if expected is date and isinstance(value, datetime):
        raise TypeError("date expected")
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected):
        raise TypeError(f"{expected.__name__} expected")
    return value


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> Any:
    """Rows strictly after `values` in the order of `keys`. Keys that all run the same way compare as one
    row value, `(a, b) < (x, y)`, which PostgreSQL turns into an index range (a B-tree on the keys starts
    at the cursor); the expanded OR form of mixed directions is filtered row by row from the start."""
    if len(keys) > 1 and len({k.descending for k in keys}) == 1:
        row = tuple_(*[k.column for k in keys])
        bound = tuple_(*[literal(v, k.column.type) for k, v in zip(keys, values, strict=True)])
        return row < bound if keys[0].descending else row > bound
    clauses = []
    for i, key in enumerate(keys):
        equal_prefix = [keys[j].column == values[j] for j in range(i)]
        step = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)


def page_limit(limit: int) -> int:
    """A page's size as keyset_page takes it: 1 to 500."""
    return max(1, min(int(limit), 500))


def after_cursor(keys: Sequence[SortKey], cursor: str) -> Any:
    """The condition "after the cursor" in the order of `keys` (a bad cursor raises as keyset_page does)."""
    return _after(keys, _decode(cursor, keys))


def keyset_page(
    session: Session | scoped_session[Any],
    stmt: Select[*tuple[Any, ...]],  # of any number of columns (one entity when `scalars`)
    keys: Sequence[SortKey],
    *,
    cursor: str | None = None,
    limit: int = 50,
    scalars: bool = True,
    plain_rows: bool = False,
) -> Page[Any]:
    """One page of `stmt` ordered by `keys`. The last key must be unique (normally the primary key).
    Sort-key columns must not be NULL. `plain_rows`: the statement selects plain columns (of a subquery,
    say), the keys among them, and the page's items are its rows."""
    limit = page_limit(limit)
    if cursor:
        stmt = stmt.where(after_cursor(keys, cursor))
    stmt = stmt.order_by(*[k.column.desc() if k.descending else k.column.asc() for k in keys]).limit(limit + 1)
    rows = list(session.scalars(stmt) if scalars and not plain_rows else session.execute(stmt))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        obj = last if scalars or plain_rows else last[0]
        next_cursor = _encode([getattr(obj, k.column.key) for k in keys])
    return Page(items=rows, next_cursor=next_cursor, limit=limit)
