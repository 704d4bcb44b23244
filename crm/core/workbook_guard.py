"""Spreadsheet uploads that cannot make the server do unbounded work.

An XLSX file is a zip of XML parts: a file of a few hundred kilobytes can unpack to gigabytes (a "zip
bomb"), declare a sheet of millions of rows, or hold one row of millions of cells; openpyxl reads whatever
is there (and builds each row in memory, and fills every gap in the row numbers with empty rows). Two
layers keep the work bounded, both driven by the `IMPORT_MAX_*` settings (`Limits`):

- `check_archive` looks only at the zip's directory (nothing is decompressed): the number of parts, their
  total unpacked size and compression ratio, the parts a workbook must have; and at the first 64 KB of the
  first sheet for its declared size (`<dimension ref="A1:F3000000"/>`). Cheap: the upload request runs it.
- `scan_sheet` streams the sheet XML that openpyxl is about to read (expat, nothing kept) and stops at the
  row limit whatever the sheet declares; it refuses a row with more cells than the column limit, a text
  longer than Excel allows, a DTD, nested rows and clutter outside the rows. `crm.core.tabular` lets
  openpyxl read only rows this scan has checked.

Every refusal is a `ValidationFailed` on the upload's field (`file` by default) with a translated message;
`TooManyRows` is the one a background import reports when a file turns out longer than it declared."""

from __future__ import annotations

import posixpath
import pyexpat
import re
import zipfile
from dataclasses import dataclass
from typing import IO
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from crm.core.errors import ValidationFailed

MAX_PARTS = 10_000  # parts in one workbook; real ones have tens
SMALL_PART_BYTES = 10 * 1024 * 1024  # [Content_Types].xml, the workbook and its relationships
RATIO_FROM_BYTES = 1024 * 1024  # parts smaller than this are not ratio-checked (tiny parts compress oddly)
HEAD_BYTES = 64 * 1024  # how much of a sheet is unpacked to find its declared size
CELL_TEXT_LIMIT = 32_767  # Excel's own limit on the characters of one cell
WORKBOOK_TYPES = (  # openpyxl's order
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_SHEET_DATA = re.compile(rb"<(?:[\w.-]+:)?sheetData\b")


@dataclass(frozen=True)
class Limits:
    rows: int  # data rows (below the title row)
    columns: int
    unpacked_bytes: int
    ratio: float


def limits(rows: int | None = None) -> Limits:
    """The configured limits; `rows` overrides IMPORT_MAX_ROWS (the product import allows fewer)."""
    config = current_app.config
    return Limits(rows=int(rows if rows is not None else config.get("IMPORT_MAX_ROWS", 100_000)),
                  columns=int(config.get("IMPORT_MAX_COLUMNS", 200)),
                  unpacked_bytes=int(config.get("IMPORT_MAX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024)),
                  ratio=float(config.get("IMPORT_MAX_RATIO", 100)))


class TooManyRows(ValidationFailed):
    def __init__(self, limit: int, field: str = "file") -> None:
        super().__init__({field: _l("The file has more than %(n)d rows. Split it into smaller files.", n=limit)})


class TooManyColumns(ValidationFailed):
    def __init__(self, limit: int, field: str = "file") -> None:
        super().__init__({field: _l("The file has more than %(n)d columns.", n=limit)})


def unreadable(field: str = "file") -> ValidationFailed:
    return ValidationFailed({field: _l("The file could not be read. Save it again as .xlsx or .csv.")})


def not_a_workbook(field: str = "file") -> ValidationFailed:
    return ValidationFailed({field: _l("This is not an Excel .xlsx file.")})


def column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


# The zip's directory ---------------------------------------------------------------------------------------
def check_archive(zf: zipfile.ZipFile, lim: Limits, field: str = "file") -> str:
    """Refuse a workbook that would unpack to too much or declares too large a sheet; the path of its
    first worksheet otherwise. Reads the directory and a few small parts, never the sheets' data."""
    parts = zf.infolist()
    if len(parts) > MAX_PARTS:
        raise ValidationFailed({field: _l("The workbook holds more than %(n)d parts.", n=MAX_PARTS)})
    unpacked = sum(p.file_size for p in parts)
    packed = sum(p.compress_size for p in parts)
    if unpacked > lim.unpacked_bytes:
        raise ValidationFailed({field: _l("The workbook unpacks to more than %(mb)d MB. Split it, or save it as CSV.",
                                          mb=lim.unpacked_bytes // (1024 * 1024))})
    for p in [*parts, None]:
        size, squeezed = (p.file_size, p.compress_size) if p is not None else (unpacked, packed)
        if size > RATIO_FROM_BYTES and size > lim.ratio * max(squeezed, 1):
            raise ValidationFailed({field: _l(
                "The workbook is compressed more than %(n)d to 1, as zip bombs are; it is refused.", n=int(lim.ratio))})
    sheet = first_worksheet(zf, field)
    last_col, last_row = declared_size(zf, sheet, field)
    if last_row > lim.rows + 1:
        raise TooManyRows(lim.rows, field)
    if last_col > lim.columns:
        raise TooManyColumns(lim.columns, field)
    return sheet


def _small_part(zf: zipfile.ZipFile, name: str, field: str) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise not_a_workbook(field) from None
    if info.file_size > SMALL_PART_BYTES:
        raise unreadable(field)
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError):
        raise unreadable(field) from None


def _start_tags(data: bytes, field: str) -> list[tuple[str, dict[str, str]]]:
    """(local name, attributes by local name) of every element of a small XML part; no DTDs."""
    found: list[tuple[str, dict[str, str]]] = []
    parser = _parser(field)
    parser.StartElementHandler = lambda name, attrs: found.append(
        (name.rpartition(" ")[2], {k.rpartition(" ")[2]: v for k, v in attrs.items()}))
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError:
        raise unreadable(field) from None
    return found


def first_worksheet(zf: zipfile.ZipFile, field: str = "file") -> str:
    """The zip path of the first worksheet, found as openpyxl finds it (content types -> workbook part ->
    its relationships -> the first <sheet> that is not a chart sheet)."""
    types = _start_tags(_small_part(zf, "[Content_Types].xml", field), field)
    overrides = {a.get("ContentType"): a.get("PartName", "") for tag, a in types if tag == "Override"}
    defaults = {a.get("ContentType") for tag, a in types if tag == "Default"}
    workbook = next((overrides[t].lstrip("/") for t in WORKBOOK_TYPES if overrides.get(t)), None)
    if workbook is None and defaults & set(WORKBOOK_TYPES):
        workbook = "xl/workbook.xml"
    if workbook is None:
        raise not_a_workbook(field)
    folder, base = posixpath.split(workbook)
    rels: dict[str, tuple[str, str]] = {}
    for tag, a in _start_tags(_small_part(zf, posixpath.join(folder, "_rels", base + ".rels"), field), field):
        if tag == "Relationship" and a.get("TargetMode") != "External":
            target = a.get("Target", "")
            target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            rels[a.get("Id", "")] = (target, a.get("Type", ""))
    names = set(zf.namelist())
    for tag, a in _start_tags(_small_part(zf, workbook, field), field):
        if tag != "sheet" or not a.get("id"):
            continue
        target, kind = rels.get(a["id"], ("", ""))
        if target in names and "chartsheet" not in kind:
            return target
    raise not_a_workbook(field)


def declared_size(zf: zipfile.ZipFile, sheet: str, field: str = "file") -> tuple[int, int]:
    """(last column, last row) of the sheet's <dimension>, read from its first 64 KB; (0, 0) if none."""
    try:
        with zf.open(sheet) as stream:
            head = stream.read(HEAD_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError):
        raise unreadable(field) from None
    data_at = _SHEET_DATA.search(head)
    match = _DIMENSION.search(head, 0, data_at.start() if data_at else len(head))
    if not match:
        return 0, 0
    last = match.group(1).decode("ascii", "replace").split(":")[-1]
    ref = _REF.match(last.strip())
    return (column_index(ref.group(1)), int(ref.group(2))) if ref else (0, 0)


# The streaming scan ----------------------------------------------------------------------------------------
@dataclass
class Scan:
    last_row: int = 0  # the highest row number met (openpyxl reads up to it)
    max_column: int = 0
    rows: int = 0  # <row> elements met


class _Stop(Exception):
    pass


def _parser(field: str) -> Any:
    parser = pyexpat.ParserCreate(namespace_separator=" ")

    def no_dtd(*_args: Any) -> None:
        raise unreadable(field)

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def scan_sheet(stream: IO[bytes], lim: Limits, *, first: int | None = None, field: str = "file",
               on_row: Any = None) -> Scan:
    """Check the sheet's rows as a stream. With `first`, only the rows up to row `first` and the row after
    them (openpyxl parses one row ahead) are checked, and nothing is refused for the length of the file;
    without it the whole sheet is, and a row numbered past the limit raises `TooManyRows` there and then.
    `on_row` is called for every row met (a meter)."""
    scan = Scan()
    # depth: 0 outside a row, 1 in a row, 2 in one of its cells (openpyxl takes every child of a row for a
    # cell), more inside a cell's value or rich text.
    state = {"depth": 0, "cells": 0, "elements": 0, "column": 0, "row": 0, "outside": 0, "text": 0, "beyond": False}
    outside_limit = 2 * lim.rows + 10_000  # hyperlinks, merged cells... besides the rows
    elements_limit = 50 * lim.columns + 100  # in one row: its cells and their values and rich-text runs

    def start(name: str, attrs: dict[str, str]) -> None:
        state["text"] = 0
        depth = state["depth"]
        if depth:
            state["depth"] = depth + 1
            state["elements"] += 1
            if name.rpartition(" ")[2] == "row" or state["elements"] > elements_limit:
                raise unreadable(field)
            if depth == 1:
                _cell(attrs)
            return
        if name.rpartition(" ")[2] != "row":
            state["outside"] += 1
            if state["outside"] > outside_limit:
                raise unreadable(field)
            return
        number = _number(attrs.get("r"), state["row"] + 1, field)
        scan.rows += 1
        if on_row is not None:
            on_row()
        if first is None and number > lim.rows + 1:
            raise TooManyRows(lim.rows, field)
        if first is not None and number > first:
            state["beyond"] = True
        state.update(depth=1, cells=0, elements=0, column=0, row=number)
        scan.last_row = max(scan.last_row, number)

    def _cell(attrs: dict[str, str]) -> None:
        state["cells"] += 1
        ref = attrs.get("r")
        if ref:
            match = _REF.match(ref)
            if not match:
                raise unreadable(field)
            column = column_index(match.group(1))
        else:
            column = state["column"] + 1
        state["column"] = column
        if column > lim.columns or state["cells"] > lim.columns:
            raise TooManyColumns(lim.columns, field)
        scan.max_column = max(scan.max_column, column)

    def end(_name: str) -> None:
        state["text"] = 0
        if state["depth"]:
            state["depth"] -= 1
            if state["depth"] == 0 and state["beyond"]:
                raise _Stop()

    def text(data: str) -> None:
        state["text"] += len(data)
        if state["text"] > CELL_TEXT_LIMIT:
            raise ValidationFailed({field: _l("A cell holds more than %(n)d characters.", n=CELL_TEXT_LIMIT)})

    parser = _parser(field)
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        while chunk := stream.read(64 * 1024):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Stop:
        pass
    except pyexpat.ExpatError:
        raise unreadable(field) from None
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise unreadable(field) from None
    return scan


def _number(raw: str | None, default: int, field: str) -> int:
    if raw is None:
        return default
    try:
        number = int(raw)
    except ValueError:
        try:  # openpyxl takes "5.0" too
            value = float(raw)
        except ValueError:
            raise unreadable(field) from None
        if not value.is_integer():
            raise unreadable(field) from None
        number = int(value)
    if number < 1:
        raise unreadable(field)
    return number
