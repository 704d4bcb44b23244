"""Export of customers (CSV and XLSX): the customer list's rows, and the table writer the lead export uses
too. The column titles are the import's field labels, so an exported file imports back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

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


def write_table(titles: list[str], rows: Iterator[list[Any]], file_format: str) -> bytes:
    """CSV (UTF-8 with a BOM, so Excel reads Chinese) or XLSX (openpyxl's streaming writer)."""
    if file_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(titles)
        writer.writerows(rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("export")
    ws.append(titles)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
