"""Spreadsheet test support: formula payloads and the check that an exported file holds them inert (the
tabular tests and the export check of every route, tests/test_export_formulas.py)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from openpyxl import load_workbook

PAYLOADS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1+1)", '=HYPERLINK("http://x","y")', "\t=1", "\r=1"]
STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")


def cells_of(body: bytes, fmt: str) -> list[Any]:
    """Every cell of an exported file, read back as a spreadsheet program would get it; asserts that no
    XLSX cell is a formula."""
    if fmt == "csv":
        text = body.decode("utf-8")
        assert text.startswith("\ufeff")
        return [c for row in csv.reader(io.StringIO(text[1:])) for c in row]
    sheet = load_workbook(io.BytesIO(body)).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells), [c.value for c in cells if c.data_type == "f"]
    return [c.value for c in cells]


def assert_inert(body: bytes, fmt: str, payloads: list[str] = PAYLOADS) -> list[Any]:
    """No text cell starts as a formula would (a bare number excepted), and every payload is there, quoted."""
    values = cells_of(body, fmt)
    texts = [v.replace("\r\n", "\r").replace("\n", "\r") if isinstance(v, str) else v for v in values]
    for value in texts:
        if isinstance(value, str) and value.startswith(STARTS):
            assert NUMBER.fullmatch(value), f"live formula text {value!r}"
    for payload in payloads:
        assert "'" + payload.replace("\n", "\r") in texts or any(
            isinstance(v, str) and v.startswith("'") and payload in v for v in texts), f"{payload!r} missing"
    return values
