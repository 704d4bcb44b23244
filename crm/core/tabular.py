"""Spreadsheets in and out: CSV (UTF-8 or GBK, as Excel in China saves it) and XLSX, for every import and
export of the application."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from crm.core.errors import ValidationFailed

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def format_of(filename: str | None, field: str = "file") -> str:
    name = (filename or "").lower()
    for fmt in FORMATS:
        if name.endswith("." + fmt):
            return fmt
    raise ValidationFailed({field: _l("Upload a .xlsx or .csv file.")})


def decode_csv(raw: bytes, field: str = "file") -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed({field: _l("The CSV file is neither UTF-8 nor GBK text.")})


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # numbers typed into Excel: mobile numbers, SKUs, whole prices
    return str(value).strip()


def read_rows(raw: bytes, fmt: str, field: str = "file") -> Iterator[list[str]]:
    """Every row (the header first) as a list of stripped texts; blank rows are skipped."""
    if fmt == "csv":
        for row in csv.reader(io.StringIO(decode_csv(raw, field))):
            cells = [c.strip() for c in row]
            if any(cells):
                yield cells
        return
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 — openpyxl raises many kinds of errors for a file that is not XLSX
        raise ValidationFailed({field: _l("The file is not a readable .xlsx workbook.")}) from None
    try:
        for row in wb.worksheets[0].iter_rows(values_only=True):
            cells = [cell_text(c) for c in row]
            if any(cells):
                yield cells
    finally:
        wb.close()


def match_columns(header: list[str], aliases: dict[str, Iterable[str]]) -> dict[str, int]:
    """field -> column index, matching header titles (case-insensitive) against each field's names."""
    wanted = {name.strip().lower(): field for field, names in aliases.items() for name in (field, *names)}
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        field = wanted.get(title.strip().lower())
        if field is not None and field not in found:
            found[field] = index
    return found


def _safe(value: Any) -> Any:
    """Export value: text that a spreadsheet would run as a formula is quoted (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_table(titles: list[str], rows: Iterable[list[Any]], fmt: str, sheet: str = "export") -> bytes:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(titles)
        for row in rows:
            writer.writerow([_safe(v) for v in row])
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(titles)
    for row in rows:
        ws.append([_safe(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
