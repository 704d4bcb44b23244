"""Task forms: JSON Schema + uiSchema rendered server-side, posted strings coerced to the schema's types
before jsonschema validates them, errors per field (nested paths) in the user's language with 422 and
the task still open, read-only fields kept, files stored as attachments, drafts, and completion moving
the instance on."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessEvent
from crm.workflow.models import TaskAttachment
from crm.workflow.models import TaskStatus
from crm.workflow.tasks import forms
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.forms import Posted
from tests.conftest import field_errors
from tests.conftest import html
from tests.conftest import post

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
VALID = {"amount": "1,234.5", "quantity": "3", "decision": "approve", "lines.0.product": "Pallet 1200",
         "lines.0.qty": "2", "lines.0.price": "88"}


@pytest.fixture
def task(review, inbox):
    t = review(candidates=[inbox.a_rep1, inbox.a_rep2])
    tasks.claim(t.id, actor=inbox.a_rep1)
    db.session.commit()
    return t


def form_of(task):
    return forms.load_form(task.form_schema, task.form_uischema, tasks.task_data(task))


def parse(task, data, files=None):
    values, raw, errors = forms.parse_form(form_of(task), Posted(MultiDict(data), files or {}), tasks.task_data(task))
    return values, errors


def errors_of(task, data):
    return parse(task, data)[1]


def open_tasks(instance_id):
    return list(db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))))


# Building the form -----------------------------------------------------------------------------------------
def test_fields_follow_the_schema_and_the_ui_schema(task):
    form = form_of(task)
    assert [f.name for f in form.fields] == [
        "customer", "decision", "amount", "quantity", "discount", "channel", "delivery_date", "call_back_at",
        "urgent", "note", "code", "tags", "contact", "lines", "voucher"]  # ui:order with "*"
    widgets = {f.path: f.widget for f in forms.walk(form.fields)}
    assert widgets == {
        "customer": "text", "decision": "radio", "amount": "money", "quantity": "integer", "discount": "number",
        "channel": "select", "delivery_date": "date", "call_back_at": "datetime", "urgent": "checkbox",
        "note": "textarea", "code": "text", "tags": "checkboxes", "contact": "group", "contact.name": "text",
        "contact.phone": "text", "lines": "table", "product": "text", "qty": "integer", "price": "money",
        "voucher": "file"}
    by_name = {f.path: f for f in forms.walk(form.fields)}
    assert by_name["customer"].readonly and by_name["amount"].required and not by_name["note"].required
    assert by_name["channel"].options == [("online", "Online shop"), ("phone", "Telephone"), ("visit", "Visit")]
    assert by_name["decision"].options == [("approve", "Approve"), ("reject", "Reject")]
    assert by_name["amount"].help == "In RMB, two decimals" and by_name["amount"].placeholder == "0.00"
    assert by_name["note"].rows == 4 and by_name["voucher"].accept == [".pdf", ".png"]
    assert form.title == "Review order SO-1" and form.description == "Customer ACME Pallets"  # {{ }} from task data


def test_the_form_is_prefilled_from_task_data_then_the_draft(task, inbox, login_as):
    task.draft = {"note": "from the draft", "customer": "drafts never change read-only fields"}
    db.session.commit()
    page = html(login_as(inbox.a_rep1).get(f"/tasks/{task.id}"))
    assert re.search(r'name="customer" disabled[^>]*value="ACME Pallets"', page)
    assert ">from the draft</textarea>" in page
    assert 'enctype="multipart/form-data"' in page and 'accept=".pdf,.png"' in page
    assert 'name="lines.__INDEX__.product"' in page  # the row template for "Add row"


# Coercion: strings to the schema's types -------------------------------------------------------------------
def test_every_widget_is_coerced_to_its_type(task):
    values, errors = parse(task, MultiDict([
        *VALID.items(), ("discount", "0.25"), ("channel", "phone"), ("delivery_date", "2026-12-01"),
        ("call_back_at", "2026-12-01T09:30"), ("urgent", "true"), ("note", "  keep\nlines  "), ("code", "AB1234"),
        ("tags", "vip"), ("tags", "sample"), ("contact.name", "Li"), ("contact.phone", "13800138000"),
        ("lines.1.product", ""), ("lines.1.qty", ""),  # an empty row is dropped
        ("lines.7.product", "Pallet 800"), ("lines.7.qty", "1"), ("lines.7.price", "12.50"),
        ("customer", "A forged customer"), ("unknown", "ignored"),
    ]))
    assert errors == {}
    assert values == {
        "customer": "ACME Pallets",  # read-only: the task data's value, not the posted one
        "decision": "approve", "amount": "1234.50", "quantity": 3, "discount": 0.25, "channel": "phone",
        "delivery_date": "2026-12-01", "call_back_at": "2026-12-01T09:30:00+08:00", "urgent": True,
        "note": "  keep\nlines  ", "code": "AB1234", "tags": ["vip", "sample"],
        "contact": {"name": "Li", "phone": "13800138000"},
        "lines": [{"product": "Pallet 1200", "qty": 2, "price": "88.00"},
                  {"product": "Pallet 800", "qty": 1, "price": "12.50"}],
    }
    assert isinstance(values["amount"], str)  # money is kept as text: never a float


def test_money_is_decimal_safe(task):
    assert parse(task, {**VALID, "amount": "0.1"})[0]["amount"] == "0.10"
    assert parse(task, {**VALID, "amount": "９９.９０"})[0]["amount"] == "99.90"  # full-width digits
    assert parse(task, {**VALID, "amount": "¥ 12,000"})[0]["amount"] == "12000.00"
    assert parse(task, {**VALID, "amount": "12.300"})[0]["amount"] == "12.30"
    assert errors_of(task, {**VALID, "amount": "12.345"}) == {"amount": ["Amount has at most 2 decimal places."]}
    assert errors_of(task, {**VALID, "amount": "1e3"}) == {"amount": ["Amount must be an amount, e.g. 1234.50."]}
    assert errors_of(task, {**VALID, "amount": "NaN"}) == {"amount": ["Amount must be an amount, e.g. 1234.50."]}
    assert errors_of(task, {**VALID, "lines.0.price": "-1"}) == {"lines.0.price": ["Unit price (row 1) must be at least 0."]}


@pytest.mark.parametrize(("posted", "expected"), [
    ({"quantity": "2.5"}, {"quantity": ["Quantity must be a whole number."]}),
    ({"quantity": "0"}, {"quantity": ["Quantity must be at least 1."]}),
    ({"quantity": "99999999999999999999"}, {"quantity": ["Quantity is too large."]}),
    ({"discount": "abc"}, {"discount": ["Discount rate must be a number."]}),
    ({"discount": "1.5"}, {"discount": ["Discount rate must be at most 1."]}),
    ({"channel": "fax"}, {"channel": ["Choose Channel from the list."]}),
    ({"decision": "maybe"}, {"decision": ["Choose Decision from the list."]}),
    ({"delivery_date": "2026-02-30"}, {"delivery_date": ["Delivery date must be a date (YYYY-MM-DD)."]}),
    ({"call_back_at": "tomorrow"}, {"call_back_at": ["Call back at must be a date and time."]}),
    ({"note": "x" * 201}, {"note": ["Note must be at most 200 characters long."]}),
    ({"note": "a\x00b"}, {"note": ["Note contains invisible control characters; remove them."]}),
    ({"code": "ab12"}, {"code": ["Order code is not in the expected format."]}),
    ({"tags": "gold"}, {"tags": ["Choose Tags from the list."]}),
    ({"contact.phone": "123"}, {"contact.phone": ["Contact phone must be at least 5 characters long."]}),
    ({"lines.0.qty": "0"}, {"lines.0.qty": ["Qty (row 1) must be at least 1."]}),
    ({"lines.0.qty": ""}, {"lines.0.qty": ["Qty (row 1) is required."]}),
    ({"decision": ""}, {"decision": ["Decision is required."]}),
])
def test_invalid_values_are_named_per_field(task, posted, expected):
    assert errors_of(task, {**VALID, **posted}) == expected


def test_a_table_needs_its_rows_and_nothing_else_is_required_twice(task):
    errors = errors_of(task, {"amount": "", "decision": "approve", "quantity": "1"})
    assert errors == {"amount": ["Amount is required."], "lines": ["Order lines needs at least 1 entries."]}


def test_json_values_of_the_api_are_coerced_the_same_way(task):
    form = form_of(task)
    values, errors = forms.parse_json(form, {"amount": 99.9, "quantity": "4", "decision": "approve", "urgent": False,
                                             "lines": [{"product": "P", "qty": 1, "price": "1.5"}],
                                             "customer": "forged", "voucher": 12345}, tasks.task_data(task), set())
    assert values["amount"] == "99.90" and values["quantity"] == 4 and values["lines"][0]["price"] == "1.50"
    assert values["customer"] == "ACME Pallets"
    assert errors == {"voucher": ["Payment voucher: upload the file to the task first."]}
    _values, errors = forms.parse_json(form, {"amount": True, "quantity": [1], "decision": 3, "lines": "none"},
                                       tasks.task_data(task), set())
    assert set(errors) == {"amount", "quantity", "decision", "lines"}
    assert forms.parse_json(form, ["not", "an", "object"], {}, set())[1] == {"data": ["Send the form data as a JSON object."]}


# The page: 422 with the values typed, then success ------------------------------------------------------------
def test_errors_come_back_per_field_with_422_and_the_task_stays_open(task, inbox, login_as):
    client = login_as(inbox.a_rep1)
    resp = post(client, f"/tasks/{task.id}/form", {**VALID, "amount": "12.345", "lines.0.qty": "0", "note": "typed",
                                                   "_action": "complete"})
    assert resp.status_code == 422
    page = html(resp)
    assert field_errors(resp) == {"amount", "lines.0.qty"}
    assert "Amount has at most 2 decimal places." in page and "Qty (row 1) must be at least 1." in page
    assert 'value="12.345"' in page and ">typed</textarea>" in page and 'value="Pallet 1200"' in page
    assert re.search(r'name="customer" disabled[^>]*value="ACME Pallets"', page)  # still shown
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == TaskStatus.CLAIMED
    assert [e.kind for e in runtime.history(task.instance_id)] == ["created", "claimed"]


def test_errors_in_the_users_language(task, inbox, login_as):
    client = login_as(inbox.a_rep1)
    with client.session_transaction() as sess:
        sess["lang"] = "zh"
    resp = post(client, f"/tasks/{task.id}/form", {**VALID, "quantity": "", "amount": "abc"})
    assert resp.status_code == 422
    page = html(resp)
    # The field titles too, where the catalogue knows them (crm.workflow.tasks.forms.i18n).
    assert "数量为必填项。" in page and "金额必须是金额，例如 1234.50。" in page


def test_completing_moves_the_instance_on(task, inbox, login_as):
    client = login_as(inbox.a_rep1)
    resp = post(client, f"/tasks/{task.id}/form", {**VALID, "_action": "complete"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/tasks/"
    db.session.expire_all()
    done = db.session.get(HumanTask, task.id)
    assert done.status == TaskStatus.COMPLETED and done.completed_by_id == inbox.a_rep1.id
    event = db.session.scalar(select(ProcessEvent).where(ProcessEvent.kind == "task_completed"))
    assert event.details["data"]["amount"] == "1234.50" and event.details["data"]["quantity"] == 3
    # "approve" leads to the confirmation task, which has no form: completed with an empty dict.
    [confirm] = open_tasks(task.instance_id)
    assert confirm.bpmn_id == "confirm" and confirm.form_schema is None
    page = html(client.get(f"/tasks/{confirm.id}"))
    assert "This task has no form" in page
    assert post(client, f"/tasks/{confirm.id}/form", {"_action": "complete"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(HumanTask, confirm.id).instance.status == InstanceStatus.COMPLETED
    assert "Review order SO-1" not in html(client.get("/tasks/"))


def test_a_task_completed_meanwhile_answers_409(task, inbox, login_as):
    runtime.complete_task(task.id, {"decision": "reject"}, actor_id=inbox.a_rep1.id)
    db.session.commit()
    resp = post(login_as(inbox.a_rep1), f"/tasks/{task.id}/form", VALID)
    assert resp.status_code == 409 and "already completed" in html(resp)


def test_someone_elses_task_cannot_be_completed(task, inbox, login_as):
    resp = post(login_as(inbox.a_rep2), f"/tasks/{task.id}/form", VALID)  # a candidate, but a_rep1 claimed it
    assert resp.status_code == 409 and "claimed by someone else" in html(resp)
    page = html(login_as(inbox.a_rep2).get(f"/tasks/{task.id}"))
    assert "A Rep One is working on this task." in page and 'id="complete-button"' not in page


def test_a_failed_step_shows_its_message_and_keeps_the_error_record(task, inbox, login_as, monkeypatch):
    def failing(task_id, data, *, actor_id):
        runtime._record_error(task.instance_id, "the warehouse system is down", None, actor_id, None)
        raise runtime.StepFailed(task.instance_id, "the warehouse system is down")

    monkeypatch.setattr(runtime, "complete_task", failing)
    resp = post(login_as(inbox.a_rep1), f"/tasks/{task.id}/form", VALID)
    assert resp.status_code == 409
    assert "The process stopped with an error: the warehouse system is down" in html(resp)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).instance.status == InstanceStatus.ERROR  # kept, not rolled back


def test_a_missing_form_file_is_explained(task, inbox, login_as):
    task.form_schema = "missing.schema.json"
    db.session.commit()
    client = login_as(inbox.a_rep1)
    assert "The form file missing.schema.json is missing" in html(client.get(f"/tasks/{task.id}"))
    assert post(client, f"/tasks/{task.id}/form", VALID).status_code == 409


# Files in forms -------------------------------------------------------------------------------------------------
def test_a_file_field_stores_an_attachment_and_its_id(task, inbox, login_as):
    resp = post(login_as(inbox.a_rep1), f"/tasks/{task.id}/form",
                {**VALID, "voucher": (io.BytesIO(PNG), "voucher.png")}, content_type="multipart/form-data")
    assert resp.status_code == 303
    attachment = db.session.scalar(select(TaskAttachment))
    assert attachment.field == "voucher" and attachment.original_name == "voucher.png"
    event = db.session.scalar(select(ProcessEvent).where(ProcessEvent.kind == "task_completed"))
    assert event.details["data"]["voucher"] == attachment.id


@pytest.mark.parametrize(("name", "content", "message"), [
    ("voucher.png", PNG + b"x" * 3000, "larger than"),
    ("voucher.jpg", b"\xff\xd8\xff" + b"x" * 10, "not accepted. Accepted: pdf, png"),  # ui:options accept
    ("voucher.pdf", b"<html>", "does not match"),
])
def test_a_file_field_refuses_big_or_wrong_files(task, inbox, login_as, uploads, name, content, message):
    resp = post(login_as(inbox.a_rep1), f"/tasks/{task.id}/form",
                {**VALID, "voucher": (io.BytesIO(content), name)}, content_type="multipart/form-data")
    assert resp.status_code == 422
    assert field_errors(resp) == {"voucher"} and message in html(resp)
    assert db.session.scalar(select(TaskAttachment.id)) is None
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


def test_a_refused_submission_keeps_no_upload(task, inbox, login_as, uploads):
    resp = post(login_as(inbox.a_rep1), f"/tasks/{task.id}/form",
                {**VALID, "quantity": "", "voucher": (io.BytesIO(PNG), "voucher.png")}, content_type="multipart/form-data")
    assert resp.status_code == 422 and field_errors(resp) == {"quantity"}
    assert db.session.scalar(select(TaskAttachment.id)) is None
    assert not any(p.is_file() for p in uploads.rglob("*"))


# Drafts ------------------------------------------------------------------------------------------------------------
def test_a_draft_keeps_what_was_typed_without_completing(task, inbox, login_as):
    client = login_as(inbox.a_rep1)
    resp = post(client, f"/tasks/{task.id}/form", {"_action": "draft", "amount": "12.3x", "note": "half done",
                                                   "lines.0.product": "Pallet"})
    assert resp.status_code == 303
    db.session.expire_all()
    saved = db.session.get(HumanTask, task.id)
    assert saved.status == TaskStatus.CLAIMED
    assert saved.draft["amount"] == "12.3x" and saved.draft["note"] == "half done"
    assert saved.draft["lines"] == [{"product": "Pallet"}]
    page = html(client.get(f"/tasks/{task.id}"))
    assert 'value="12.3x"' in page and ">half done</textarea>" in page and 'value="Pallet"' in page
    assert "A draft is saved" in page
    # Completing validates the draft's values like any others; the draft goes with the task.
    assert post(client, f"/tasks/{task.id}/form", {**VALID, "note": "done"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).draft is None


def test_saving_a_draft_of_a_group_task_claims_it(review, inbox, login_as):
    task = review(candidates=[inbox.a_rep2])
    resp = post(login_as(inbox.a_rep2), f"/tasks/{task.id}/form", {"_action": "draft", "note": "mine now"})
    assert resp.status_code == 303
    db.session.expire_all()
    saved = db.session.get(HumanTask, task.id)
    assert saved.assignee_id == inbox.a_rep2.id and saved.draft["note"] == "mine now"


def test_only_the_assignee_saves_drafts(task, inbox, login_as):
    assert post(login_as(inbox.a_rep2), f"/tasks/{task.id}/form", {"_action": "draft", "note": "x"}).status_code == 403
    assert post(login_as(inbox.b_rep), f"/tasks/{task.id}/form", {"_action": "draft", "note": "x"}).status_code == 404


# Local $ref (RJSF "definitions") ----------------------------------------------------------------------------
REF_SCHEMA = {
    "type": "object",
    "definitions": {
        "address": {"type": "object", "title": "Address", "required": ["city"],
                    "properties": {"city": {"type": "string", "title": "City"}, "street": {"type": "string"}}},
        "line": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"$ref": "#/$defs/count"}}},
    },
    "$defs": {"count": {"type": "integer", "minimum": 1, "title": "Quantity"}},
    "required": ["ship_to"],
    "properties": {
        "ship_to": {"$ref": "#/definitions/address", "title": "Ship to"},
        "bill_to": {"$ref": "#/definitions/address"},
        "lines": {"type": "array", "items": {"$ref": "#/definitions/line"}},
    },
}


def _write_form(tmp_path, name, schema):
    import json

    from crm.workflow import registry

    (tmp_path / name).write_text(json.dumps(schema), encoding="utf-8")
    registry.register_forms_dir(tmp_path)
    return name


def test_local_references_are_drawn_as_their_targets_and_validated(tmp_path):
    name = _write_form(tmp_path, "reftest.order.schema.json", REF_SCHEMA)
    form = forms.load_form(name, None, {})
    widgets = {f.path: (f.widget, f.title) for f in forms.walk(form.fields)}
    assert widgets["ship_to"] == ("group", "Ship to")  # the keyword beside $ref wins over the target's title
    assert widgets["bill_to"] == ("group", "Address")
    assert widgets["ship_to.city"] == ("text", "City") and widgets["lines"][0] == "table"
    assert widgets["qty"] == ("integer", "Quantity")  # a reference inside a referenced definition
    values, _raw, errors = forms.parse_form(form, Posted(MultiDict(
        {"ship_to.street": "1 Road", "lines.0.sku": "P-1", "lines.0.qty": "0"}), {}), {})
    assert "ship_to.city" in errors and "lines.0.qty" in errors  # the original schema validates ($ref kept)


@pytest.mark.parametrize("schema, message", [
    ({"type": "object", "properties": {"a": {"$ref": "other.schema.json#/definitions/x"}}}, "refers to another file"),
    ({"type": "object", "properties": {"a": {"$ref": "#/definitions/missing"}}}, "does not define"),
    ({"type": "object", "definitions": {"node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/node"}}}},
      "properties": {"a": {"$ref": "#/definitions/node"}}}, "recursive reference"),
])
def test_references_that_cannot_be_drawn_make_the_form_unavailable_with_a_reason(tmp_path, schema, message):
    from crm.workflow.tasks.forms import FormUnavailable

    name = _write_form(tmp_path, f"reftest.bad{abs(hash(message))}.schema.json", schema)
    with pytest.raises(FormUnavailable) as caught:
        forms.load_form(name, None, {})
    assert message in str(caught.value.message)
