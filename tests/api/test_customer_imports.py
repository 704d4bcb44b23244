"""POST /api/v1/customers/imports: upload a file with its column mapping and start the import job, with the
import page's checks and messages; a refused upload leaves neither a job nor a stored file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.customers import imports
from crm.customers.models import Customer
from crm.customers.models import ImportJob
from crm.extensions import db
from tests.conftest import assert_problem
from tests.factories import Org

URL = "/api/v1/customers/imports"
CSV = "客户名称,手机号,Level\nAPI Import One,13800000041,a\nAPI Import Two,13800000042,b\n,13800000043,c\n".encode()


@pytest.fixture
def uploads(app: Any, tmp_path: Path) -> Iterator[Path]:
    app.config["TASK_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        yield tmp_path
    finally:
        app.config["TASK_ATTACHMENT_DIR"] = None


def post(call: Any, user: Any, content: bytes = CSV, name: str = "c.csv", headers: dict[str, str] | None = None,
         **fields: Any) -> Any:
    data = {"file": (io.BytesIO(content), name), **fields}
    return call("POST", URL, user, data=data, content_type="multipart/form-data", headers=headers)


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_upload_with_a_mapping_by_title_and_index_runs_the_import(call: Any, api_org: Org, uploads: Path) -> None:
    o = api_org
    resp = post(call, o.a_manager, mapping=json.dumps({"name": "客户名称", "mobile": 1, "level": "level"}),
                default_owner_id=str(o.a_rep1.id))
    assert resp.status_code == 201, resp.get_json()
    job = resp.get_json()
    # The request answers at once: the rows are counted by the job, not here.
    assert job["status"] == "pending" and job["total_rows"] == 0 and job["store_id"] == o.store_a.id
    imports.run_imports()
    db.session.commit()
    status = call("GET", f"{URL}/{job['id']}", o.a_manager).get_json()
    assert status["status"] == "done" and status["created"] == 2 and status["failed"] == 1
    assert status["total_rows"] == 3
    assert status["errors"][0]["row"] == 4 and status["errors"][0]["field"] == "Name"
    one = db.session.scalar(select(Customer).where(Customer.name == "API Import One"))
    assert one.owner_id == o.a_rep1.id and one.level.value == "a" and one.store_id == o.store_a.id
    assert call("GET", f"{URL}/{job['id']}", o.b_manager).status_code == 404  # another store


def test_without_a_mapping_the_titles_are_matched_as_on_the_page(call: Any, api_org: Org, uploads: Path) -> None:
    resp = post(call, api_org.a_manager)
    assert resp.status_code == 201, resp.get_json()
    job = db.session.get(ImportJob, resp.get_json()["id"])
    assert job.mapping == {"name": 0, "mobile": 1, "level": 2} and job.default_owner_id is None  # to the high seas


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"content": b""}, "file"),
    ({"name": "c.txt"}, "file"),
    ({"name": "c.xlsx"}, "file"),  # not a workbook
    ({"content": b"\n\n"}, "file"),  # no titles
    ({"mapping": "{not json"}, "mapping"),
    ({"mapping": "[1, 2]"}, "mapping"),
    ({"mapping": json.dumps({"mobile": 1})}, "mapping.name"),
    ({"mapping": json.dumps({"name": 0})}, "mapping.mobile"),
    ({"mapping": json.dumps({"name": 0, "mobile": 9})}, "mapping.mobile"),
    ({"mapping": json.dumps({"name": 0, "mobile": "Phone"})}, "mapping.mobile"),
    ({"mapping": json.dumps({"name": True, "mobile": 1})}, "mapping.name"),
    ({"mapping": json.dumps({"name": 0, "mobile": 1, "colour": 2})}, "mapping.colour"),
    ({"on_duplicate": "merge"}, "on_duplicate"),
    ({"target": "orders"}, "target"),
    ({"default_owner_id": "abc"}, "default_owner_id"),
])
def test_refused_uploads_name_the_field_and_leave_nothing(call: Any, api_org: Org, uploads: Path,
                                                           kwargs: dict[str, Any], field: str) -> None:
    before = db.session.scalar(select(func.count()).select_from(ImportJob))
    assert_problem(post(call, api_org.a_manager, **kwargs), 422, field)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == before
    assert stored_files(uploads) == []


def test_errors_name_the_field_and_speak_the_callers_language(call: Any, api_org: Org, uploads: Path) -> None:
    o = api_org
    other_store_rep = str(o.b_rep.id)
    problem = assert_problem(post(call, o.a_manager, default_owner_id=other_store_rep,
                                  headers={"Accept-Language": "zh-CN"}), 422, "default_owner_id")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["errors"]["default_owner_id"][0])
    assert_problem(call("POST", URL, o.a_manager, data={}, content_type="multipart/form-data"), 422, "file")


def test_permission_and_store_rules(call: Any, api_org: Org, uploads: Path) -> None:
    o = api_org
    assert_problem(post(call, o.a_rep1), 403)  # salespeople do not import
    assert stored_files(uploads) == []
