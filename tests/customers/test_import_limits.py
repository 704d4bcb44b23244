"""Imports never do unbounded work in a request (issue 18, item 3). A zip bomb or a file that lies about
its size is refused at upload from the zip's directory and the sheet's declared size, or, when it gets
past those cheap checks, answered at once with a pending job whose reading stops at the row limit and
fails with a clear error, importing nothing. The work is asserted by rows parsed (`tabular.METER`), not
by time."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from crm.core import tabular
from crm.core.errors import ValidationFailed
from crm.customers import imports
from crm.customers.models import Customer
from crm.customers.models import ImportJob
from crm.customers.models import ImportStatus
from crm.extensions import db
from tests.conftest import assert_problem
from tests.conftest import csrf
from tests.factories import Org

SHEET = "xl/worksheets/sheet1.xml"
CUSTOMER_TITLES = ("客户名称", "手机号")


def workbook(body: Iterable[str], dimension: str | None = "A1:B2", prolog: str = "",
             titles: Iterable[str] = CUSTOMER_TITLES) -> bytes:
    """A real XLSX (made by openpyxl) whose first sheet is rewritten as the title row and then `body`
    (XML of <row> elements, streamed into the zip), declaring `dimension`."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["客户名称", "手机号"])
    seed = io.BytesIO()
    wb.save(seed)
    source = zipfile.ZipFile(seed)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            if info.filename != SHEET:
                zf.writestr(info.filename, source.read(info.filename))
        with zf.open(SHEET, "w", force_zip64=True) as sheet:
            dim = f'<dimension ref="{dimension}"/>' if dimension else ""
            head = "".join(f'<c t="inlineStr"><is><t>{t}</t></is></c>' for t in titles)
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns='
                        f'"http://schemas.openxmlformats.org/spreadsheetml/2006/main">{dim}<sheetData><row r="1">{head}</row>'.encode())
            for chunk in body:
                sheet.write(chunk.encode())
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def same_rows(n: int) -> Iterator[str]:
    """n identical rows without row numbers: they compress about 300 to 1."""
    block = '<row><c t="inlineStr"><is><t>Bomb</t></is></c><c><v>13800000000</v></c></row>' * 10_000
    for _ in range(n // 10_000):
        yield block


def varied_rows(n: int, start: int = 2) -> Iterator[str]:
    """n numbered rows of different customers: they compress about 7 to 1, like real data."""
    for first in range(start, start + n, 5000):
        yield "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>Customer {i}</t></is></c>'
                      f'<c r="B{i}"><v>139{i:08d}</v></c></row>' for i in range(first, min(start + n, first + 5000)))


def zip_bomb(titles: Iterable[str] = CUSTOMER_TITLES, dimension: str | None = "A1:B2") -> bytes:
    """The issue's file: under a megabyte, three million rows, 230 MB of sheet XML."""
    return workbook(same_rows(3_000_000), titles=titles, dimension=dimension)


def multipart(name: str, content: bytes, **fields: str) -> dict[str, Any]:
    """A multipart body built here: werkzeug's test client would spool a large one into a temporary file
    it never closes (a ResourceWarning, an error under this suite's settings)."""
    boundary = "crm-test-boundary-7c1f"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
             f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def uploads(app: Flask, tmp_path: Path) -> Iterator[Path]:
    app.config["TASK_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        yield tmp_path
    finally:
        app.config["TASK_ATTACHMENT_DIR"] = None


@pytest.fixture
def unpacked(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Bytes decompressed from any zip (by our checks and by openpyxl alike): the work done on a workbook."""
    seen = {"bytes": 0}
    original = zipfile.ZipExtFile._read1

    def counting(self: Any, n: int) -> bytes:
        data = original(self, n)
        seen["bytes"] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "_read1", counting)
    return seen


@pytest.fixture
def limits(app: Flask) -> Iterator[dict[str, Any]]:
    """Set IMPORT_MAX_* for one test."""
    keys = ("IMPORT_MAX_ROWS", "IMPORT_MAX_COLUMNS", "IMPORT_MAX_UNCOMPRESSED_BYTES", "IMPORT_MAX_RATIO")
    saved = {k: app.config[k] for k in keys}
    try:
        yield app.config
    finally:
        app.config.update(saved)


def loosen(config: Any) -> None:
    """An operator who allows any archive: only the reading's own row limit is left."""
    config.update(IMPORT_MAX_RATIO=10**9, IMPORT_MAX_UNCOMPRESSED_BYTES=1 << 40)


def customers() -> int:
    return db.session.scalar(select(func.count()).select_from(Customer)) or 0


def stored(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def run_to_end() -> None:
    for _ in range(50):
        if not imports.run_imports():
            return


def message(exc: pytest.ExceptionInfo[ValidationFailed]) -> str:
    return exc.value.errors["file"][0]


# Refused at upload, from the zip's directory and the sheet's head ------------------------------------------
@pytest.mark.parametrize(("content", "words"), [
    (zip_bomb, "unpacks to more than 200 MB"),
    (lambda: workbook(same_rows(1_000_000)), "compressed more than 100 to 1"),
    (lambda: workbook([], dimension="A1:B3000000"), "more than 100000 rows"),
    (lambda: workbook([], dimension="A1:ZZ2"), "more than 200 columns"),
    (lambda: workbook(varied_rows(3), prolog='<!DOCTYPE lol [<!ENTITY lol "lol">]>'), "could not be read"),
], ids=["size-bomb", "ratio-bomb", "declared-rows", "declared-columns", "dtd"])
def test_bombs_are_refused_at_upload_without_reading_rows(org: Org, uploads: Path, content: Any, words: str) -> None:
    content, before, count = content(), tabular.METER.rows, customers()
    with pytest.raises(ValidationFailed) as exc:
        imports.upload("bomb.xlsx", io.BytesIO(content), actor=org.a_manager)
    assert words in message(exc)
    assert tabular.METER.rows == before
    db.session.rollback()
    assert stored(uploads) == [] and customers() == count


@pytest.mark.parametrize(("content", "words"), [
    (lambda: b"PK\x03\x04 not really a zip", "not an Excel .xlsx file"),
    (lambda: _zip({"word/document.xml": "<w/>", "[Content_Types].xml": "<Types/>"}), "not an Excel .xlsx file"),
    (lambda: workbook([f'<row r="2">{"<c><v>1</v></c>" * 201}</row>']), "more than 200 columns"),
    (lambda: workbook(['<row r="2"><c r="A2" t="inlineStr"><is><t>' + "x" * 40_000 + "</t></is></c></row>"]),
     "more than 32767 characters"),
], ids=["not-a-zip", "not-a-workbook", "wide-row", "long-cell"])
def test_files_that_are_not_workbooks_or_too_wide_are_refused_at_upload(org: Org, uploads: Path, content: Any,
                                                                       words: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        imports.upload("x.xlsx", io.BytesIO(content()), actor=org.a_manager)
    assert words in message(exc)


def _zip(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return out.getvalue()


@pytest.mark.parametrize(("content", "words"), [
    (("a," * 600_000 + "\n").encode(), "longer than 1000000 characters"),
    (("名称," * 201 + "\n").encode(), "more than 200 columns"),
    ("名称\n\x00\n".encode(), "neither UTF-8 nor GBK"),
], ids=["long-line", "wide", "binary"])
def test_csv_files_too_wide_or_not_text_are_refused_at_upload(org: Org, uploads: Path, content: bytes,
                                                              words: str) -> None:
    before = tabular.METER.rows
    with pytest.raises(ValidationFailed) as exc:
        imports.upload("x.csv", io.BytesIO(content), actor=org.a_manager)
    assert words in message(exc) and tabular.METER.rows - before <= 1


def test_a_row_of_a_million_cells_is_refused_by_the_scan_of_the_first_rows(org: Org, uploads: Path,
                                                                           limits: Any) -> None:
    loosen(limits)  # so that the ratio check does not catch it first
    row = '<row r="2">' + "<c><v>1</v></c>" * 1_000_000 + "</row>"
    with pytest.raises(ValidationFailed) as exc:
        imports.upload("wide.xlsx", io.BytesIO(workbook([row])), actor=org.a_manager)
    assert "more than 200 columns" in message(exc)


def test_the_api_and_the_page_refuse_the_zip_bomb_on_the_file_field(call: Any, api_org: Org, uploads: Path,
                                                                     client: Any, login_as: Any) -> None:
    bomb, before, jobs = zip_bomb(), tabular.METER.rows, db.session.scalar(select(func.count(ImportJob.id)))
    resp = call("POST", "/api/v1/customers/imports", api_org.a_manager, headers={"Accept-Language": "zh-CN"},
                **multipart("bomb.xlsx", bomb))
    problem = assert_problem(resp, 422, "file")
    assert "200 MB" in problem["errors"]["file"][0] and any("\u4e00" <= ch <= "\u9fff" for ch in
                                                             problem["errors"]["file"][0])
    login_as(api_org.a_manager)
    page = client.post("/customers/import", **multipart("bomb.xlsx", bomb, csrf_token=csrf(client, "/customers/import")))
    assert page.status_code == 422 and "unpacks to more than 200 MB" in page.get_data(as_text=True)
    assert tabular.METER.rows == before
    assert db.session.scalar(select(func.count(ImportJob.id))) == jobs and stored(uploads) == []


# Past the cheap checks: answered at once, cut off in the job ------------------------------------------------
def test_a_bomb_the_archive_limits_let_through_answers_at_once_and_fails_in_the_job(
        call: Any, api_org: Org, uploads: Path, limits: Any, unpacked: dict[str, int]) -> None:
    loosen(limits)
    # 3 M rows, no dimension (openpyxl would parse the whole sheet to size it when opening the workbook)
    bomb, count = zip_bomb(dimension=None), customers()
    before, unpacked["bytes"] = tabular.METER.rows, 0
    resp = call("POST", "/api/v1/customers/imports", api_org.a_manager, **multipart("bomb.xlsx", bomb))
    assert resp.status_code == 201, resp.get_json()
    job = resp.get_json()
    assert (job["status"], job["total_rows"], job["processed_rows"]) == ("pending", 0, 0)
    assert tabular.METER.rows - before <= 6  # the title row (and the row after it) read a few times: no data
    assert unpacked["bytes"] < 2 * 1024 * 1024  # of 230 MB
    before = tabular.METER.rows
    run_to_end()
    db.session.commit()
    assert tabular.METER.rows - before <= 100_002  # the title row, 100,000 rows, and the one past the limit
    status = call("GET", f"/api/v1/customers/imports/{job['id']}", api_org.a_manager).get_json()
    assert status["status"] == "failed" and status["created"] == 0
    assert status["errors"][-1]["field"] == "File" and status["errors"][-1]["value"] == "bomb.xlsx"
    assert status["errors"][-1]["message"] == "The file has more than 100000 rows. Split it into smaller files."
    assert db.session.get(ImportJob, job["id"]).last_error == status["errors"][-1]["message"]
    assert customers() == count
    assert [p.suffix for p in stored(uploads)] == [".xlsx"]  # the half-converted CSV is gone


def test_the_page_answers_at_once_and_the_preview_reads_only_the_first_rows(
        client: Any, login_as: Any, org: Org, uploads: Path, limits: Any, unpacked: dict[str, int]) -> None:
    loosen(limits)
    bomb, count = zip_bomb(dimension=None), customers()
    login_as(org.a_manager)
    token = csrf(client, "/customers/import")
    before = tabular.METER.rows
    resp = client.post("/customers/import", **multipart("bomb.xlsx", bomb, csrf_token=token))
    assert resp.status_code == 302 and tabular.METER.rows - before <= 2
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    before, unpacked["bytes"] = tabular.METER.rows, 0
    page = client.get(f"/customers/import/{job_id}").get_data(as_text=True)
    assert "Bomb" in page and "13800000000" in page
    # the preview's 10 rows and the duplicate check's first 2,000 rows, each with the title row and one more
    assert tabular.METER.rows - before <= (imports.PREVIEW_ROWS + 2) + (2000 + 2)
    assert unpacked["bytes"] < 4 * 1024 * 1024  # of 230 MB
    before = tabular.METER.rows
    resp = client.post(f"/customers/import/{job_id}", data={
        "csrf_token": token, "map_name": "0", "map_mobile": "1", "on_duplicate": "skip", "default_owner_id": "pool"})
    assert resp.status_code == 302 and tabular.METER.rows - before <= 4
    status = client.get(f"/customers/import/{job_id}/status", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-status="pending"' in status and "Waiting to start" in status
    run_to_end()
    status = client.get(f"/customers/import/{job_id}/status", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-status="failed"' in status and "more than 100000 rows" in status
    report = client.get(f"/customers/import/{job_id}/errors.csv").data.decode("utf-8-sig")
    assert "bomb.xlsx" in report and "more than 100000 rows" in report
    assert customers() == count


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_file_that_lies_about_its_size_is_cut_at_the_row_limit_in_the_job(
        org: Org, uploads: Path, limits: Any, fmt: str) -> None:
    limits["IMPORT_MAX_ROWS"] = 50
    if fmt == "xlsx":  # declares two rows, holds 500 (compressed like real data: the archive checks pass)
        content = workbook(varied_rows(500), dimension="A1:B2")
    else:
        content = ("客户名称,手机号\n" + "".join(f"Customer {i},139{i:08d}\n" for i in range(500))).encode()
    count = customers()
    job = imports.upload(f"liar.{fmt}", io.BytesIO(content), actor=org.a_manager)
    imports.confirm(job, job.mapping, "skip", "pool", actor=org.a_manager)
    before = tabular.METER.rows
    run_to_end()
    assert tabular.METER.rows - before <= 52
    assert job.status == ImportStatus.FAILED and job.created == 0 and job.processed_rows == 0
    assert job.last_error == "The file has more than 50 rows. Split it into smaller files."
    assert customers() == count


def test_a_file_at_the_limit_is_imported(org: Org, uploads: Path, limits: Any) -> None:
    limits["IMPORT_MAX_ROWS"] = 50
    job = imports.upload("fifty.xlsx", io.BytesIO(workbook(varied_rows(50))), actor=org.a_manager)
    imports.confirm(job, job.mapping, "skip", "pool", actor=org.a_manager)
    run_to_end()
    assert job.status == ImportStatus.DONE and (job.total_rows, job.created) == (50, 50)


def test_a_row_numbered_past_the_limit_fails_at_once(org: Org, uploads: Path) -> None:
    """openpyxl would fill the gap up to row 999,999,999 with empty rows."""
    rows = ['<row r="2"><c r="A2" t="inlineStr"><is><t>Near</t></is></c><c r="B2"><v>13900000001</v></c></row>',
            '<row r="999999999"><c r="A999999999" t="inlineStr"><is><t>Far</t></is></c></row>']
    job = imports.upload("far.xlsx", io.BytesIO(workbook(rows)), actor=org.a_manager)
    imports.confirm(job, job.mapping, "skip", "pool", actor=org.a_manager)
    before = tabular.METER.rows
    run_to_end()
    assert tabular.METER.rows - before <= 3
    assert job.status == ImportStatus.FAILED and "more than 100000 rows" in job.last_error


def test_the_job_says_why_it_stopped_in_its_creators_language(org: Org, uploads: Path, limits: Any) -> None:
    limits["IMPORT_MAX_ROWS"] = 5
    org.a_manager.locale = "zh"
    job = imports.upload("liar.xlsx", io.BytesIO(workbook(varied_rows(20))), actor=org.a_manager)
    imports.confirm(job, job.mapping, "skip", "pool", actor=org.a_manager)
    run_to_end()
    assert job.status == ImportStatus.FAILED and job.last_error == "文件超过 5 行，请拆分为较小的文件。"
    assert job.errors[-1]["field"] == "文件"


def test_product_import_reads_a_bounded_number_of_rows_in_the_request(org: Org, limits: Any) -> None:
    from crm.sales.catalog import services as product_services

    with pytest.raises(ValidationFailed) as exc:
        product_services.import_products(workbook(same_rows(1_000_000)), "p.xlsx", actor=org.hq_admin)
    assert "compressed more than 100 to 1" in message(exc)
    loosen(limits)
    before = tabular.METER.rows
    with pytest.raises(ValidationFailed) as exc:
        product_services.import_products(zip_bomb(("sku", "name", "list_price")), "p.xlsx", actor=org.hq_admin)
    assert "more than 5000 rows" in message(exc) or "at most 5000" in message(exc)
    assert tabular.METER.rows - before <= 5002
