"""Spreadsheets in and out: CSV (UTF-8 or GBK, as Excel in China saves it) and XLSX, for every import and
export of the application.

Reading never does unbounded work: `check_upload` is what an upload request may afford (size and type
were checked by the caller; the CSV must decode, the workbook's zip directory and declared size must be
within the limits, see `crm.core.workbook_guard`), and `iter_file_rows` reads a sheet row by row with the
row limit enforced while streaming, or only its `first` rows (a preview). `METER` counts the rows parsed.

Writing: `write_table` is the one writer of every CSV and XLSX export. Text a spreadsheet would run as a
formula (starting with =, +, -, @, tab or CR) is quoted with a leading apostrophe (CSV injection), in
both formats, so no exported cell is ever a formula; numbers stay numbers."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l

from crm.core import workbook_guard as guard
from crm.core.errors import ValidationFailed

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8" to text types (naming it here doubled it)
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LINE_LIMIT = 1_000_000  # characters in one line of a CSV file (a row of 200 long cells is a tenth of it)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")

Source = str | Path | bytes  # a stored file's path, or an upload's content


class _Meter:
    """Rows parsed from uploaded files since start-up, by every reader together: a diagnostic that lets
    the tests count the work a request does (not exact under concurrent readers)."""

    rows = 0

    def tick(self) -> None:
        self.rows += 1


METER = _Meter()


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


def unquote(text: str) -> str:
    """An imported cell as it was before an export quoted it ("'=1+1" -> "=1+1"), so exports import back."""
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text


# Reading ----------------------------------------------------------------------------------------------------
def check_upload(content: bytes, fmt: str, *, max_rows: int | None = None, field: str = "file") -> bytes:
    """The cheap checks of an uploaded spreadsheet (its size and extension are the caller's): a CSV must
    decode (it is returned as UTF-8, so later reads need not guess); a workbook must be a zip with the
    parts of one, within the unpacked-size, ratio and declared-size limits. Nothing is parsed row by row."""
    if fmt == "csv":
        text = decode_csv(content, field)
        if "\x00" in text:
            raise ValidationFailed({field: _l("The CSV file is neither UTF-8 nor GBK text.")})
        return text.encode("utf-8")
    if not content.startswith(b"PK\x03\x04"):
        raise guard.not_a_workbook(field)
    with _zip(content, field) as zf:
        guard.check_archive(zf, guard.limits(max_rows), field)
    return content


def iter_file_rows(source: Source, fmt: str, *, max_rows: int | None = None, first: int | None = None,
                   field: str = "file") -> Iterator[list[str]]:
    """The first sheet's rows from the top (the title row first) as lists of stripped texts; blank rows
    are included (as empty or blank lists), so positions are row numbers. A file with more than `max_rows`
    data rows (default IMPORT_MAX_ROWS) raises `TooManyRows` when the reading reaches the row past the
    limit; with `first`, only the first `first` rows are read and the length of the file is not judged."""
    lim = guard.limits(max_rows)
    if fmt == "csv":
        yield from _csv_rows(source, lim, first, field)
    else:
        yield from _xlsx_rows(source, lim, first, field)


def read_rows(raw: bytes, fmt: str, field: str = "file", max_rows: int | None = None) -> Iterator[list[str]]:
    """Every non-blank row of an upload (the header first), cells unquoted; checked as `check_upload`."""
    content = check_upload(raw, fmt, max_rows=max_rows, field=field)
    for cells in iter_file_rows(content, fmt, max_rows=max_rows, field=field):
        if any(cells):
            yield [unquote(c) for c in cells]


def _zip(source: Source, field: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise guard.not_a_workbook(field) from None


def _csv_encoding(head: bytes) -> str:
    """Uploads are stored as UTF-8; a file kept from before that may be GBK (judged by its start)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def _lines(stream: Any, field: str) -> Iterator[str]:
    """The text's lines, refusing one so long that splitting it would cost more than a row may."""
    while line := stream.readline(LINE_LIMIT + 1):
        if len(line) > LINE_LIMIT:
            raise ValidationFailed({field: _l("A line of the file is longer than %(n)d characters.", n=LINE_LIMIT)})
        yield line


def _csv_rows(source: Source, lim: guard.Limits, first: int | None, field: str) -> Iterator[list[str]]:
    if isinstance(source, bytes):
        stream: Any = io.StringIO(decode_csv(source, field))
    else:
        raw = open(source, "rb")  # noqa: SIM115 — closed below, with the text stream over it
        stream = io.TextIOWrapper(raw, encoding=_csv_encoding(raw.read(64 * 1024)), newline="")
        raw.seek(0)
    with stream:
        try:
            for number, row in enumerate(csv.reader(_lines(stream, field)), start=1):
                if first is not None and number > first:
                    return
                if number > lim.rows + 1:
                    raise guard.TooManyRows(lim.rows, field)
                if len(row) > lim.columns:
                    raise guard.TooManyColumns(lim.columns, field)
                METER.tick()
                yield [c.strip() for c in row]
        except UnicodeDecodeError:
            raise ValidationFailed({field: _l("The CSV file is neither UTF-8 nor GBK text.")}) from None
        except csv.Error:
            raise guard.unreadable(field) from None


def _xlsx_rows(source: Source, lim: guard.Limits, first: int | None, field: str) -> Iterator[list[str]]:
    with _zip(source, field) as zf:  # cheap again: the file may not be the one checked at upload
        path = guard.check_archive(zf, lim, field)
        try:
            stream = zf.open(path)
        except (KeyError, zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, ValueError):
            raise guard.unreadable(field) from None
        with stream:  # before openpyxl parses any of the sheet
            scan = guard.scan_sheet(stream, lim, first=first, field=field, on_row=METER.tick)
    last = scan.last_row if first is None else min(scan.last_row, first)
    if last < 1:
        return
    try:
        archive, sheet = _scanned_sheet(io.BytesIO(source) if isinstance(source, bytes) else source, path)
    except Exception:  # noqa: BLE001 — openpyxl raises many kinds of errors for a file that is not XLSX
        raise guard.unreadable(field) from None
    try:
        rows = sheet.iter_rows(min_row=1, max_row=last, max_col=max(scan.max_column, 1), values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception:  # noqa: BLE001 — a cell openpyxl cannot read (bad number, date, shared string)
                raise guard.unreadable(field) from None
            yield [cell_text(c) for c in row]
    finally:
        archive.close()


def _scanned_sheet(source: Any, path: str) -> tuple[Any, Any]:
    """(zip archive, openpyxl streaming worksheet) of the sheet at `path`, opened as `load_workbook(...,
    read_only=True, data_only=True)` would, minus two passes that are not bounded: openpyxl measures every
    sheet of the workbook on opening it, and parses a whole sheet that declares no dimension to do so. The
    scan has measured this one; the others are never opened."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class ScannedSheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            return None

    reader = ExcelReader(source, read_only=True, data_only=True, keep_links=False)
    try:
        reader.read_manifest()
        reader.read_strings()  # the shared strings: bounded by the archive's unpacked-size limit
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)  # the date formats
        return reader.archive, ScannedSheet(reader.wb, "sheet", path, reader.shared_strings)
    except BaseException:
        reader.archive.close()
        raise


def match_columns(header: list[str], aliases: dict[str, Iterable[str]]) -> dict[str, int]:
    """field -> column index, matching header titles (case-insensitive) against each field's names."""
    wanted = {name.strip().lower(): field for field, names in aliases.items() for name in (field, *names)}
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        field = wanted.get(title.strip().lower())
        if field is not None and field not in found:
            found[field] = index
    return found


# Writing ----------------------------------------------------------------------------------------------------
def _safe(value: Any) -> Any:
    """Export value: text that a spreadsheet would run as a formula is quoted (CSV injection). Only text
    is touched: numbers stay numbers, and so does text that is nothing but a number ("-5", "-12.50%")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str) and value[:1] in FORMULA_STARTS and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_table(titles: list[str], rows: Iterable[list[Any]], fmt: str, sheet: str = "export") -> bytes:
    """CSV (UTF-8 with a BOM, so Excel reads Chinese) or XLSX (openpyxl's streaming writer); every value
    goes through `_safe`, titles too."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([_safe(t) for t in titles])
        for row in rows:
            writer.writerow([_safe(v) for v in row])
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        value = _safe(value)
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters XML cannot hold
            return "'" + value if value.startswith("=") else value  # never a formula, whatever _safe did
        return value

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append([cell(t) for t in titles])
    for row in rows:
        ws.append([cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
