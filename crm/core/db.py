"""Declarative base, naming convention and the column types every model shares."""

from __future__ import annotations

import enum
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from typing import Any
from typing import ClassVar
from typing import TypeVar

from sqlalchemy import DDL
from sqlalchemy import JSON
from sqlalchemy import DateTime
from sqlalchemy import Enum
from sqlalchemy import Index
from sqlalchemy import MetaData
from sqlalchemy import Numeric
from sqlalchemy import Table
from sqlalchemy import TypeDecorator
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import registry

from crm.core.clock import utcnow

RowT = TypeVar("RowT")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always hands back aware UTC values (SQLite returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use crm.core.clock.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    # One registry carrying both the naming convention and the type map (Flask-SQLAlchemy subclasses
    # this base, and SQLAlchemy 2.1 refuses a per-subclass type_annotation_map).
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UTCDateTime(),
            Decimal: Numeric(14, 2),
            dict[str, Any]: JSONType,
            list[Any]: JSONType,
        },
    )
    metadata = registry.metadata

    if TYPE_CHECKING:
        # Every model here is mapped to a Table (SQLAlchemy types it as any FromClause): its insert(),
        # update() and delete() type-check.
        __table__: ClassVar[Table]


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Contains-search ("ILIKE '%x%'") indexes: PostgreSQL's pg_trgm GIN indexes. The extension lives in the
# `public` schema, whatever schema the tables are in (tests and benchmarks use a schema per run, and an
# extension created inside one would be dropped with it), so the operator class is named with its schema.
TRIGRAM_SCHEMA = "public"


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A Python enum stored as its values in a VARCHAR(32) with a CHECK (not a native enum type): adding a
    member needs no ALTER TYPE, and both databases store the same text."""
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


def where_equal(stmt: Any, conditions: dict[Any, Any]) -> Any:
    """`stmt` narrowed by `column == value` for every condition whose value is given (not None, not
    empty): the filter chain of list queries, where an unset filter means "any"."""
    for column, value in conditions.items():
        if value not in (None, "", [], ()):
            stmt = stmt.where(column == value)
    return stmt


def locked_row(session: Any, model: type[RowT], row_id: Any) -> RowT | None:
    """The row `row_id` of `model` read again from the database (not the session's copy) under a row lock:
    FOR UPDATE on PostgreSQL; SQLite, which has no row locks and serialises writers, leaves the clause out.
    None when the row is gone."""
    from sqlalchemy import select

    row: RowT | None = session.scalar(select(model).where(model.id == row_id).with_for_update()  # type: ignore[attr-defined]
                                      .execution_options(populate_existing=True))
    return row


def custom_plans(session: Any) -> None:
    """Plan the rest of the transaction's statements for their own parameters (PostgreSQL's
    `plan_cache_mode = force_custom_plan`; elsewhere nothing). For reports whose statements stay the same
    while their ranges go from a day to years: psycopg prepares a statement run five times on a connection,
    after which PostgreSQL may keep one generic plan, chosen from the short ranges it saw, for the long ones
    too (the kanban's drill-down of HQ's year took 1.0 s on a plan made for 30 days, 0.12 s planned for a
    year). Once per transaction: a `SET LOCAL`, gone at its end."""
    if session.get_bind().dialect.name != "postgresql":
        return
    connection = session.connection()  # begins the transaction if none has yet
    root = session.get_transaction()
    if session.info.get("crm_custom_plans") is root:
        return
    from sqlalchemy import text

    connection.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    session.info["crm_custom_plans"] = root


def trigram_index(name: str, column: str) -> Index:
    """A GIN trigram index on `column`, PostgreSQL only: SQLite has no equivalent and creates nothing
    (`ddl_if`); `info["postgresql_only"]` tells the schema comparison (Alembic does not read `ddl_if`).
    It serves `column ILIKE '%x%'` (SQLAlchemy's `icontains` on PostgreSQL) for patterns of 3+ characters."""
    index = Index(name, column, postgresql_using="gin", postgresql_ops={column: f"{TRIGRAM_SCHEMA}.gin_trgm_ops"},
                  info={"postgresql_only": True})
    return index.ddl_if(dialect="postgresql")


def include_in_schema_compare(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any,
                              dialect: str) -> bool:
    """Alembic's `include_object`: leave out PostgreSQL-only indexes when comparing on another database."""
    return not (type_ == "index" and dialect != "postgresql" and obj.info.get("postgresql_only"))


# create_all (tests, first run on a new database) needs the extension before the indexes.
event.listen(
    Base.metadata, "before_create",
    DDL(f"CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA {TRIGRAM_SCHEMA}").execute_if(dialect="postgresql"),
)
