"""Export of customers (CSV and XLSX): the customer list's rows, written by the one export writer
(`crm.core.tabular.write_table`, which quotes text a spreadsheet would run as a formula). The column titles
are the import's field labels, so an exported file imports back (the import drops that quoting again)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crm.core.tabular import write_table
from crm.customers.imports import FIELDS
from crm.customers.models import Customer

EXPORT_FIELDS = ["id", "name", "company", "mobile", "chat_id", "email", "province", "city", "address",
                 "source_platform", "source_store", "level", "industry", "tags", "product_preferences", "intention",
                 "remarks", "owner", "store", "locked", "won", "last_follow_up_at", "next_follow_up_at", "created_at"]


def export_row(c: Customer) -> list[Any]:
    def fmt(v: Any) -> Any:
        if v is None:
            return ""
        if hasattr(v, "isoformat"):
            return v.isoformat(timespec="minutes")
        if hasattr(v, "value"):
            return v.value
        return v

    values = {f: getattr(c, f, None) for f in EXPORT_FIELDS}
    values["tags"] = ", ".join(c.tags or [])
    values["owner"] = c.owner.name if c.owner else ""
    values["store"] = c.store.name if c.store else ""
    values["locked"] = "1" if c.locked else "0"
    values["won"] = "1" if c.won else "0"
    return [fmt(values[f]) for f in EXPORT_FIELDS]


def export(rows: Iterator[Customer], file_format: str) -> bytes:
    titles = [str(FIELDS[f][0]) if f in FIELDS else f for f in EXPORT_FIELDS]
    return write_table(titles, (export_row(c) for c in rows), file_format)

