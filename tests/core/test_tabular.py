"""crm.core.tabular: the one export writer makes formula text inert in CSV and XLSX (numbers stay numbers,
Decimals and times keep their format), and the readers stay within the row and column limits."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from crm.core import tabular
from crm.core.errors import ValidationFailed
from crm.core.workbook_guard import TooManyColumns
from crm.core.workbook_guard import TooManyRows
from tests.core.conftest import PAYLOADS
from tests.core.conftest import assert_inert
from tests.core.conftest import cells_of


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formula_text_is_quoted_in_both_formats(app: Any, fmt: str) -> None:
    rows = [[p, f"{p} in a sentence"] for p in PAYLOADS]
    body = tabular.write_table(["=title", "Text"], rows, fmt)
    values = assert_inert(body, fmt, [*PAYLOADS, "=title"])
    assert f"{PAYLOADS[1]} in a sentence" not in values  # quoted too: the cell starts with "+"
    assert "'+1+1 in a sentence" in values


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_numbers_dates_and_decimals_keep_their_format(app: Any, fmt: str) -> None:
    when = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)
    body = tabular.write_table(["n", "d", "m", "b", "t", "p", "none"],
                               [[-5, Decimal("-12.5"), when, True, "-7", "-5.00%", None]], fmt)
    values = cells_of(body, fmt)[7:]
    if fmt == "xlsx":
        assert values == [-5, "-12.50", "2026-03-02T09:30+00:00", "1", "-7", "-5.00%", None]
    else:
        assert values == ["-5", "-12.50", "2026-03-02T09:30+00:00", "1", "-7", "-5.00%", ""]


def test_control_characters_xml_cannot_hold_do_not_break_an_xlsx_export(app: Any) -> None:
    body = tabular.write_table(["t"], [["bell\x07 and \x00nul"], ["\x0b=1"]], "xlsx")
    assert cells_of(body, "xlsx")[1:] == ["bell and nul", "'=1"]


def test_quoted_cells_import_back(app: Any) -> None:
    body = tabular.write_table(["name"], [[p] for p in PAYLOADS], "csv")
    assert [tabular.unquote(c) for c in cells_of(body, "csv")[1:]] == PAYLOADS
    assert tabular.unquote("'plain") == "'plain" and tabular.unquote("'") == "'"


def test_readers_stop_at_the_row_and_column_limits(app: Any) -> None:
    text = "a,b\n" + "x,1\n" * 20
    assert len(list(tabular.iter_file_rows(text.encode(), "csv", max_rows=20))) == 21
    with pytest.raises(TooManyRows):
        list(tabular.iter_file_rows(text.encode(), "csv", max_rows=19))
    assert len(list(tabular.iter_file_rows(text.encode(), "csv", max_rows=5, first=3))) == 3  # a preview
    app.config["IMPORT_MAX_COLUMNS"] = 3
    try:
        with pytest.raises(TooManyColumns):
            list(tabular.iter_file_rows(b"a,b,c,d\n", "csv"))
        xlsx = tabular.write_table(["a", "b", "c", "d"], [], "xlsx")
        with pytest.raises(ValidationFailed) as exc:
            list(tabular.iter_file_rows(xlsx, "xlsx"))
        assert "more than 3 columns" in exc.value.errors["file"][0]
    finally:
        app.config["IMPORT_MAX_COLUMNS"] = 200


def test_an_xlsx_reads_back_as_written(app: Any) -> None:
    xlsx = tabular.write_table(["客户名称", "手机号"], [["杭州物流", 13800000001], ["", ""], ["Two", "13800000002"]], "xlsx")
    assert list(tabular.iter_file_rows(xlsx, "xlsx")) == [["客户名称", "手机号"], ["杭州物流", "13800000001"],
                                                          ["", ""], ["Two", "13800000002"]]
    assert list(tabular.read_rows(xlsx, "xlsx")) == [["客户名称", "手机号"], ["杭州物流", "13800000001"],
                                                     ["Two", "13800000002"]]


def test_an_upload_csv_is_stored_as_utf8(app: Any) -> None:
    assert tabular.check_upload("名称\n托盘\n".encode("gb18030"), "csv") == "名称\n托盘\n".encode()
    with pytest.raises(ValidationFailed):
        tabular.check_upload(b"\xff\xfe\x00a", "csv")
