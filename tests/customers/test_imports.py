"""Import (CSV, XLSX): mapping, duplicate choices, bad rows with an error report, background chunks; merge."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.core.audit import OperationLog
from crm.core.errors import ValidationFailed
from crm.customers import imports
from crm.customers import services
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import FollowUp
from crm.customers.models import ImportStatus
from crm.customers.services import follow_ups
from crm.customers.services import merge
from crm.extensions import db
from tests.factories import Org
from tests.factories import make_customer

HEADER = ["客户名称", "手机号", "微信号", "Province", "Owner mobile", "Notes"]


def rows_file(rows: list[list[Any]], fmt: str) -> io.BytesIO:
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows([HEADER, *rows])
        return io.BytesIO(out.getvalue().encode("gb18030"))  # GBK, as Excel in China saves CSV
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


@pytest.fixture
def upload_dir(app: Any, tmp_path: Any) -> Any:
    app.config["TASK_ATTACHMENT_DIR"] = str(tmp_path)
    yield tmp_path
    app.config["TASK_ATTACHMENT_DIR"] = None


def run_to_end() -> None:
    for _ in range(100):
        if not imports.run_imports():
            return


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("on_duplicate", ["skip", "update"])
def test_import_counts_duplicates_and_errors(org: Org, upload_dir: Any, fmt: str, on_duplicate: str) -> None:
    existing = make_customer(org.a_manager, name="Old Name", mobile="13800000001", owner_id=org.a_rep1.id)
    rows = [
        ["新客户一", "138 0000 0002", "", "浙江", "", "good"],
        ["Existing again", "+86 13800000001", "", "上海", "", "dup of the store"],
        ["", "13800000003", "", "", "", "missing name"],
        ["Bad mobile", "12345", "", "", "", "invalid"],
        ["新客户一 twice", "13800000002", "", "", "", "dup in file"],
        ["By wechat", "", "wx_new", "", org.a_rep2.mobile, "owner column"],
        ["Unknown owner", "13800000009", "", "", "13999999999", ""],
        ["", "", "", "", "", ""],
    ]
    job = imports.upload(f"customers.{fmt}", rows_file(rows, fmt), actor=org.a_manager)
    assert job.mapping == {"name": 0, "mobile": 1, "chat_id": 2, "province": 3, "owner_mobile": 4, "remarks": 5}
    columns, preview = imports.preview(job)
    assert columns == HEADER and preview[0][0] == "新客户一"
    imports.confirm(job, job.mapping, on_duplicate, org.a_rep1.id, actor=org.a_manager)
    assert job.total_rows == 0 and job.status == ImportStatus.PENDING  # the job counts the rows, not the request
    run_to_end()
    assert job.status == ImportStatus.DONE and job.progress == 100 and job.total_rows == 7
    assert (job.created, job.failed) == (2, 3)
    if on_duplicate == "skip":
        assert (job.updated, job.skipped) == (0, 2)
        assert existing.name == "Old Name"
    else:
        assert (job.updated, job.skipped) == (1, 1)
        assert existing.name == "Existing again" and existing.province == "上海"
    errors = {(e["row"], e["field"]) for e in job.errors}
    assert errors == {(4, "Name"), (5, "Mobile number"), (8, "Owner (mobile number of the salesperson)")}
    new = db.session.scalar(select(Customer).where(Customer.mobile_norm == "13800000002"))
    assert new.owner_id == org.a_rep1.id and new.store_id == org.store_a.id and new.remarks == "good"
    assert db.session.scalar(select(Customer.owner_id).where(Customer.chat_id_norm == "wx_new")) == org.a_rep2.id
    report = imports.error_report(job).decode("utf-8-sig")
    assert "Bad mobile" not in report and "12345" in report and "Row" in report


def test_import_runs_in_chunks(org: Org, upload_dir: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "CHUNK", 10)
    rows = [[f"Bulk {i}", f"1370000{i:04d}", "", "", "", ""] for i in range(35)]
    job = imports.upload("bulk.csv", rows_file(rows, "csv"), actor=org.a_manager)
    imports.confirm(job, job.mapping, "skip", "pool", actor=org.a_manager)
    imports.run_imports(max_chunks=1)
    assert job.status == ImportStatus.RUNNING and job.processed_rows == 10 and job.progress == 28
    run_to_end()
    assert job.status == ImportStatus.DONE and job.created == 35
    assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.owner_id.is_(None))) == 35


def test_bad_files_and_mappings(org: Org, upload_dir: Any) -> None:
    with pytest.raises(ValidationFailed):
        imports.upload("x.pdf", io.BytesIO(b"%PDF-1"), actor=org.a_manager)
    with pytest.raises(ValidationFailed):
        imports.upload("x.xlsx", io.BytesIO(b"not a zip"), actor=org.a_manager)
    with pytest.raises(ValidationFailed):
        imports.upload("x.csv", io.BytesIO(b""), actor=org.a_manager)
    job = imports.upload("ok.csv", rows_file([["A", "13800000001", "", "", "", ""]], "csv"), actor=org.a_manager)
    with pytest.raises(ValidationFailed) as exc:
        imports.confirm(job, {"mobile": 1}, "skip", None, actor=org.a_manager)
    assert "map_name" in exc.value.errors
    with pytest.raises(ValidationFailed):
        imports.confirm(job, {"name": 99, "mobile": 1}, "skip", None, actor=org.a_manager)
    with pytest.raises(ValidationFailed):
        imports.confirm(job, {"name": 0, "mobile": 1}, "explode", None, actor=org.a_manager)
    with pytest.raises(ValidationFailed):
        imports.confirm(job, {"name": 0, "mobile": 1}, "skip", org.b_rep.id, actor=org.a_manager)
    with pytest.raises(services.PermissionDenied):
        imports.upload("ok.csv", io.BytesIO(b"a,b\n"), actor=org.a_rep1)


def test_merge_keeps_follow_ups_contacts_and_history(org: Org) -> None:
    from crm.customers.leads import services as lead_services
    from crm.customers.models import Lead

    target = make_customer(org.a_rep1, name="Target", mobile="13800000011", tags="vip")
    lead = lead_services.create_lead({"name": "Source lead", "chat_id": "src_wx"}, actor=org.a_rep2)
    source = lead_services.convert(lead, actor=org.a_rep2)
    services.update_customer(source, {"company": "Source Co", "tags": "冷链", "name": "Source"}, actor=org.a_rep2,
                             partial=True)
    services.add_contact(source, {"name": "Buyer"}, actor=org.a_rep2)
    follow_ups.record_follow_up(source, {"kind": "phone", "content": "from source"}, actor=org.a_rep2)
    follow_ups.record_follow_up(target, {"kind": "sms", "content": "from target"}, actor=org.a_rep1)
    source_logs = db.session.scalar(select(func.count()).select_from(OperationLog).where(
        OperationLog.object_type == "customer", OperationLog.object_id == source.id))
    target_logs = db.session.scalar(select(func.count()).select_from(OperationLog).where(
        OperationLog.object_type == "customer", OperationLog.object_id == target.id))
    with pytest.raises(services.PermissionDenied):
        merge.merge(source, target, actor=org.a_rep1)
    source_id = source.id
    merge.merge(source, target, actor=org.a_manager)
    assert db.session.get(Customer, source_id) is None
    assert target.chat_id_norm == "src_wx" and target.company == "Source Co" and target.tags == ["vip", "冷链"]
    assert {f.content for f in db.session.scalars(select(FollowUp).where(FollowUp.customer_id == target.id))} == {
        "from source", "from target"}
    assert set(db.session.scalars(select(Contact.name).where(Contact.customer_id == target.id))) == {
        "Buyer", "Source lead"}
    assert db.session.get(Lead, lead.id).converted_customer_id == target.id
    assert [m.user_id for m in services.team(target)] == [org.a_rep2.id]  # the source's owner keeps access
    logs = db.session.scalar(select(func.count()).select_from(OperationLog).where(
        OperationLog.object_type == "customer", OperationLog.object_id == target.id))
    assert logs >= source_logs + target_logs + 1  # both histories and the merge event
    with pytest.raises(ValidationFailed):
        merge.merge(target, target, actor=org.a_manager)
    other = make_customer(org.b_manager)
    with pytest.raises(ValidationFailed):
        merge.merge(other, target, actor=org.hq_admin)


def test_merge_registry_lets_other_contexts_repoint(org: Org) -> None:
    seen: list[tuple[int, int]] = []
    merge.register_merge_handler("test.orders", lambda s, t, a: seen.append((s.id, t.id)))
    try:
        a, b = make_customer(org.a_rep1), make_customer(org.a_rep1)
        merge.merge(a, b, actor=org.a_manager)
        assert seen == [(a.id, b.id)]
    finally:
        merge._handlers[:] = [h for h in merge._handlers if h[0] != "test.orders"]


@pytest.mark.parametrize("on_duplicate", ["skip", "create"])
def test_lead_import_dedups_against_customers_and_leads(org: Org, upload_dir: Any, on_duplicate: str) -> None:
    from crm.customers.leads import services as lead_services
    from crm.customers.models import Lead

    make_customer(org.a_manager, mobile="13800000051")
    lead_services.create_lead({"name": "Known lead", "mobile": "13800000052"}, actor=org.a_manager)
    lead_services.save_rule(org.store_a.id, {"name": "All", "member_ids": [str(org.a_rep1.id), str(org.a_rep2.id)]},
                            actor=org.a_manager)
    rows = [
        ["Fresh one", "13800000053", "", "浙江", "", "wants a quote"],
        ["Is a customer", "13800000051", "", "", "", ""],
        ["Is a lead", "13800000052", "", "", "", ""],
        ["Fresh two", "13800000054", "", "", "", ""],
        ["", "1", "", "", "", ""],
    ]
    job = imports.upload("leads.csv", rows_file(rows, "csv"), actor=org.a_manager, target="leads")
    with pytest.raises(ValidationFailed):
        imports.confirm(job, job.mapping, "update", "pool", actor=org.a_manager)
    imports.confirm(job, job.mapping, on_duplicate, "pool", actor=org.a_manager)
    run_to_end()
    assert job.status == ImportStatus.DONE and job.failed == 1
    if on_duplicate == "skip":
        assert (job.created, job.skipped) == (2, 2)
    else:
        assert (job.created, job.skipped) == (4, 0)
    fresh = db.session.scalars(select(Lead).where(Lead.source == "import").order_by(Lead.id)).all()
    assert fresh[0].name == "Fresh one" and fresh[0].message == "wants a quote" and fresh[0].province == "浙江"
    assert {lead.owner_id for lead in fresh} == {org.a_rep1.id, org.a_rep2.id}  # the rule handed them out


def test_duplicates_are_previewed_and_chosen_row_by_row(org: Org, upload_dir: Any) -> None:
    keep = make_customer(org.a_rep1, name="Keep me", mobile="13800000061")
    refresh = make_customer(org.a_rep1, name="Refresh me", mobile="13800000062")
    rows = [
        ["Dup keep", "13800000061", "", "上海", "", ""],
        ["Dup refresh", "13800000062", "", "上海", "", ""],
        ["New", "13800000063", "", "", "", ""],
    ]
    job = imports.upload("rows.csv", rows_file(rows, "csv"), actor=org.a_manager)
    preview = imports.duplicate_preview(job, org.a_manager)
    assert [(d["row"], d["key"]) for d in preview] == [(2, "13800000061"), (3, "13800000062")]
    assert "Keep me" in preview[0]["existing"] and "A Rep One" in preview[0]["existing"]
    with pytest.raises(ValidationFailed):
        imports.confirm(job, job.mapping, "skip", None, actor=org.a_manager, row_choices={"3": "explode"})
    imports.confirm(job, job.mapping, "skip", None, actor=org.a_manager, row_choices={"3": "update", "2": ""})
    run_to_end()
    assert (job.created, job.updated, job.skipped) == (1, 1, 1)
    assert keep.province is None and refresh.name == "Dup refresh" and refresh.province == "上海"


def test_duplicate_preview_names_only_what_the_importer_may_see(org: Org, upload_dir: Any) -> None:
    from crm.extensions import db as _db

    make_customer(org.a_rep1, name="Secret Name", mobile="13800000071")
    org.roles["salesperson"].permissions = sorted({*org.roles["salesperson"].permission_list, "customer.import"})
    _db.session.flush()
    org.a_rep2.__dict__.pop("_permissions", None)
    job = imports.upload("rows.csv", rows_file([["X", "13800000071", "", "", "", ""]], "csv"), actor=org.a_rep2)
    [row] = imports.duplicate_preview(job, org.a_rep2)
    assert "Secret Name" not in row["existing"] and "A Rep One" in row["existing"]


def test_a_100k_row_file_runs_in_the_background_with_progress(client: Any, login_as: Any, org: Org,
                                                              upload_dir: Any) -> None:
    """The issue's acceptance test: 100,000 rows, duplicates and bad rows among them; the status page shows
    the progress while the job works through its chunks, and the result has exact counts."""
    import time

    make_customer(org.a_manager, mobile="13500000000")  # row 2 duplicates it
    out = io.StringIO()
    out.write("name,mobile\n")
    for i in range(100_000):
        if i % 1000 == 999:
            out.write(f",1350{i:07d}\n")  # no name
        elif i % 500 == 0:
            out.write(f"Dup {i},13500000000\n")
        else:
            out.write(f"Customer {i},1350{i:07d}\n")
    job = imports.upload("big.csv", io.BytesIO(out.getvalue().encode()), actor=org.a_manager)
    imports.confirm(job, job.mapping, "skip", "pool", actor=org.a_manager)
    db.session.commit()
    started = time.perf_counter()
    imports.run_imports(max_chunks=1)
    login_as(org.a_manager)
    status = client.get(f"/customers/import/{job.id}/status", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-status="running"' in status and "5000 of 100000 rows processed" in status
    assert 'hx-trigger="every 2s"' in status  # the page keeps polling
    run_to_end()
    elapsed = time.perf_counter() - started
    assert job.status == ImportStatus.DONE and job.processed_rows == 100_000
    assert (job.created, job.skipped, job.failed) == (99_700, 200, 100)
    assert len(job.errors) == 100 and job.errors[0] == {"row": 1001, "field": "Name", "value": "",
                                                        "message": "This field is required."}
    status = client.get(f"/customers/import/{job.id}/status", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-status="done"' in status and "hx-trigger" not in status
    print(f"100k-row import: {elapsed:.1f} s")
