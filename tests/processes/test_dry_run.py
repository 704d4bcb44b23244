"""The dry run before deploy (issue 24): a diagram runs in memory on sample data — recent instances' start
data in the user's scope, or JSON typed in — with operators simulated, every user task completed with
generated form data and every gateway branch it can reach explored, beside the same runs of the current
version; nothing is written to the database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.extensions import db
from crm.workflow.admin import dryrun
from crm.workflow.deploy import current_definitions
from crm.workflow.models import ProcessInstance
from tests.conftest import csrf
from tests.conftest import html
from tests.sales.conftest import approved_quote
from tests.sales.conftest import order_from_quote

ORDER = {"order_id": 1, "order_number": "SO-DRY-1", "owner_id": 1, "customer_name": "宁波港物流", "total": "950.00",
         "receipt_days": 7, "payment": None, "picked": [{"product": "PL-100", "ordered": 10, "quantity": 10}]}
# A condition that deploys (it reads a known input) and raises at run time: an order number is no integer.
BROKEN_CONDITION = "int(order_number) &gt; 0"


@pytest.fixture(autouse=True)
def _processes(quote_process: Any) -> None:
    """The diagrams of processes/ deployed."""


def _rows() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) or 0 for t in db.metadata.sorted_tables}


def _pipeline() -> str:
    return current_definitions()["order_pipeline"].bpmn_xml


def _elements(run: Any) -> list[str]:
    return [s.element_id for s in run.path]


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json=body, headers={"X-CSRFToken": csrf(client, "/processes/definitions")})


def test_the_order_pipeline_reaches_completed_in_both_payment_modes_and_every_cancellation_writing_nothing(
        org: Any, owner: Any, products: Any, customers: Any) -> None:
    prepay = order_from_quote(org, approved_quote(org, products, customers), "prepay")
    order_from_quote(org, approved_quote(org, products, customers), "arrears")
    order_from_quote(org, approved_quote(org, products, customers), "arrears")  # same shape: not a third sample
    db.session.commit()
    before = _rows()

    result = dryrun.dry_run(_pipeline(), key="order_pipeline", actor=owner)

    # The samples are the start data of the recent instances, one per payment mode.
    assert sorted(s.data["payment_mode"] for s in result.samples) == ["arrears", "prepay"]
    assert {s.instance_id for s in result.samples} < set(db.session.scalars(select(ProcessInstance.id)))
    by_mode = {s.data["payment_mode"]: i for i, s in enumerate(result.samples)}
    assert result.samples[by_mode["prepay"]].data["order_number"] == prepay.number
    runs = result.new.runs
    assert not result.new.errors and not result.new.cut
    first = {r.sample: r for r in runs if not r.choices}
    pay_first, pay_after = first[by_mode["prepay"]], first[by_mode["arrears"]]
    for run in (pay_first, pay_after):
        assert (run.outcome, run.ends) == ("completed", ["Completed"])
        assert run.statuses[-1] == "completed"
    assert pay_first.statuses == ["contracting", "pending_collection", "pending_outbound", "pending_delivery",
                                  "pending_receipt", "completed"]
    assert pay_after.statuses == ["contracting", "pending_outbound", "pending_delivery", "pending_receipt",
                                  "pending_collection", "completed"]
    assert _elements(pay_first).index("op_paid") < _elements(pay_first).index("op_outbound")
    assert _elements(pay_after).index("op_receipt") < _elements(pay_after).index("op_paid_after")

    cancelled = [r for r in runs if r.ends == ["Cancelled"]]
    assert all(r.outcome == "completed" and r.statuses[-1] != "completed" for r in cancelled)
    caught_at = {e for r in cancelled for e in _elements(r)} & {"op_sign_cancelled", "op_payment_cancelled",
                                                                "op_outbound_cancelled"}
    assert caught_at == {"op_sign_cancelled", "op_payment_cancelled", "op_outbound_cancelled"}
    refunded = [r for r in cancelled if "op_refund" in _elements(r)]
    assert refunded and refunded[0].statuses[-1] == "pending_refund"
    assert any("op_receipt_timeout" in _elements(r) and r.ends == ["Completed"] for r in runs)  # the timer path

    # The current version, run beside it on the same samples, is the same diagram: the same rows.
    assert result.current is not None and result.current.version == current_definitions()["order_pipeline"].version
    assert all(row.new is not None and row.current is not None and row.new.outcome == row.current.outcome
               and _elements(row.new) == _elements(row.current) and row.same for row in result.rows)
    assert not db.session.new and not db.session.dirty and not db.session.deleted
    db.session.commit()
    db.session.expire_all()
    assert _rows() == before


def test_start_data_typed_in_drives_both_modes(owner: Any) -> None:
    samples = json.dumps([{**ORDER, "payment_mode": "prepay"}, {**ORDER, "payment_mode": "arrears"}])
    result = dryrun.dry_run(_pipeline(), key="order_pipeline", actor=owner, samples=samples)
    assert [s.label for s in result.samples] == ["typed in", "typed in"]
    natural = [r for r in result.new.runs if not r.choices]
    assert [(r.sample, r.outcome, r.statuses[1]) for r in natural] == [(0, "completed", "pending_collection"),
                                                                       (1, "completed", "pending_outbound")]


def test_without_instances_or_typed_data_the_declared_inputs_are_generated(owner: Any) -> None:
    result = dryrun.dry_run(_pipeline(), key="order_pipeline", actor=owner)
    [sample] = result.samples
    assert sample.label == "generated from the declared inputs" and sample.data["payment_mode"] == "DRY-RUN"
    # Not 'prepay': the gateway takes its default flow, and the forced flow explores pay-before-delivery.
    assert {r.outcome for r in result.new.runs} == {"completed"}
    assert any("op_paid" in _elements(r) for r in result.new.runs)


def test_bad_typed_data_is_refused_naming_the_field(owner: Any) -> None:
    from crm.core.errors import ValidationFailed

    for bad in ("{not json", "[1, 2]", "42"):
        with pytest.raises(ValidationFailed) as caught:
            dryrun.dry_run(_pipeline(), key="order_pipeline", actor=owner, samples=bad)
        assert "samples" in caught.value.errors


def test_a_condition_that_raises_shows_the_error_with_the_element_beside_a_clean_current_run(
        client: Any, login_as: Any, owner: Any) -> None:
    broken = _pipeline().replace("payment_mode == 'prepay'", BROKEN_CONDITION)
    assert broken != _pipeline()
    before = _rows()
    login_as(owner)
    resp = _post(client, "/processes/editor/dry-run", {"xml": broken, "key": "order_pipeline",
                                                        "samples": json.dumps({**ORDER, "payment_mode": "prepay"})})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["ok"] and body["new"]["errors"] >= 1 and body["current"]["errors"] == 0
    row = body["rows"][0]
    assert row["choices"] == [] and row["same"] is False
    assert row["new"]["outcome"] == "error" and row["new"]["error_element"] == "op_gw_mode"
    assert row["new"]["error_name"] == "Payment mode?" and "int(order_number)" in row["new"]["error"]
    assert row["current"]["outcome"] == "completed" and row["current"]["ends"] == ["Completed"]
    page = body["html"]
    assert "Payment mode? (op_gw_mode)" in page and 'data-outcome="error"' in page and 'data-outcome="completed"' in page
    db.session.expire_all()
    assert _rows() == before


def test_the_editor_refuses_what_is_no_diagram(client: Any, login_as: Any, owner: Any, org: Any) -> None:
    login_as(owner)
    empty = _post(client, "/processes/editor/dry-run", {"xml": "", "key": "order_pipeline"})
    assert empty.status_code == 400 and "xml" in empty.get_json()["errors"]
    bad = _post(client, "/processes/editor/dry-run", {"xml": _pipeline(), "key": "order_pipeline", "samples": "[1]"})
    assert bad.status_code == 400 and "samples" in bad.get_json()["errors"]
    login_as(org.a_rep1)
    assert _post(client, "/processes/editor/dry-run", {"xml": _pipeline(), "key": "order_pipeline"}).status_code == 403


def test_the_test_page_in_english_and_chinese(client: Any, login_as: Any, owner: Any) -> None:
    login_as(owner)
    version = current_definitions()["order_pipeline"].version
    page = client.get(f"/processes/definitions/order_pipeline/dry-run?version={version}")
    assert page.status_code == 200
    text = html(page)
    assert f"Test v{version} of order_pipeline" in text and "the first choice everywhere" in text
    assert "Pending collection" in text and 'data-outcome="completed"' in text
    assert "the same path and statuses" in text  # a version tested against itself
    assert client.get("/processes/definitions/order_pipeline/dry-run?draft=1").status_code == 404  # no draft
    assert client.get("/processes/definitions/no_such_process/dry-run").status_code == 404
    typed = client.post("/processes/definitions/order_pipeline/dry-run",
                        data={"samples": "{oops", "csrf_token": csrf(client, "/processes/definitions")})
    assert typed.status_code == 422 and "is-invalid" in html(typed)

    with client.session_transaction() as sess:
        sess["lang"] = "zh"
    zh = html(client.get("/processes/definitions/order_pipeline/dry-run"))
    assert "测试" in zh and "模拟" in zh and "当前版本" in zh
    assert "开具发货单" in zh and "付款方式？ → " in zh  # the diagram's names in the reader's language


def test_the_draft_is_tested_from_the_process_page(client: Any, login_as: Any, owner: Any) -> None:
    from crm.workflow.admin import impact

    impact.save_draft(_pipeline().replace("payment_mode == 'prepay'", BROKEN_CONDITION), key="order_pipeline",
                      comment="try", actor=owner)
    db.session.commit()
    login_as(owner)
    assert 'id="test-draft"' in html(client.get("/processes/definitions/order_pipeline"))
    page = html(client.get("/processes/definitions/order_pipeline/dry-run?draft=1"))
    assert "Test the draft of order_pipeline" in page
    assert "Payment mode? (op_gw_mode)" in page and 'data-outcome="error"' in page


def test_the_api_runs_a_diagram_beside_the_current_version(call: Any, token: Any, org: Any, owner: Any) -> None:
    from tests.conftest import assert_problem
    from tests.conftest import grant

    grant(org.roles["process_owner"], "api.use")
    grant(org.roles["store_manager"], "api.use")
    db.session.commit()
    token(owner), token(org.a_manager)  # made before counting
    before = _rows()
    broken = _pipeline().replace("payment_mode == 'prepay'", BROKEN_CONDITION)
    resp = call("POST", "/api/v1/process-definitions/dry-run", owner,
                json={"xml": broken, "key": "order_pipeline", "samples": {**ORDER, "payment_mode": "arrears"}})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["key"] == "order_pipeline" and body["samples"][0]["label"] == "typed in"
    first = body["rows"][0]
    assert first["new"]["error_element"] == "op_gw_mode" and first["current"]["outcome"] == "completed"
    assert "contracting" in first["current"]["statuses"]
    assert_problem(call("POST", "/api/v1/process-definitions/dry-run", owner,
                        json={"xml": _pipeline(), "key": "order_pipeline", "samples": [1]}), 422, "samples")
    assert call("POST", "/api/v1/process-definitions/dry-run", org.a_manager,
                json={"xml": _pipeline(), "key": "order_pipeline"}).status_code == 403
    db.session.expire_all()
    assert _rows() == before


def test_samples_come_from_the_instances_in_the_users_scope(
        org: Any, owner: Any, store_admin: Any, products: Any, customers: Any) -> None:
    from crm.sales.orders import services as order_services
    from tests.sales.conftest import line
    from tests.sales.conftest import submitted

    mine = order_from_quote(org, approved_quote(org, products, customers), "prepay")
    theirs = order_services.create_from_quote(submitted(org.b_rep, customers["b"], line(products["p100"], "95.00", 2)).id,
                                              {"payment_mode": "arrears", "ship_address": "x"}, actor=org.b_rep)
    db.session.commit()
    numbers = {s.data["order_number"] for s in dryrun.dry_run(_pipeline(), key="order_pipeline", actor=store_admin).samples}
    assert numbers == {mine.number}  # store A's process owner never sees store B's order
    everyone = {s.data["order_number"] for s in dryrun.dry_run(_pipeline(), key="order_pipeline", actor=owner).samples}
    assert everyone == {mine.number, theirs.number}


def test_an_approvals_reject_is_explored_through_the_called_process(owner: Any) -> None:
    """A choice field a condition reads (the decision's `approved`) gets a run per value: the quote under
    90 % goes through the `approval` call activity and ends approved, or rejected."""
    quote = current_definitions()["quote_approval"].bpmn_xml
    result = dryrun.dry_run(quote, key="quote_approval", actor=owner, samples={
        "min_rate": 0.8, "overall_rate": 0.8, "line_rates": [0.8], "quote_number": "Q-DRY-1"})
    runs = result.new.runs
    assert not result.new.errors
    first = runs[0]
    assert first.choices == [] and "qa_end_approved" in _elements(first) and "ap_open" in _elements(first)
    rejected = [r for r in runs if any("Decision = false" in c for c in r.choices)]
    assert rejected and all("qa_end_rejected" in _elements(r) for r in rejected)
    assert first.statuses == ["pending_approval", "approved"] and rejected[0].statuses == ["pending_approval", "rejected"]


def test_every_form_gets_valid_generated_data() -> None:
    """Each form in forms/ is completed with data its JSON Schema accepts (what the dry run submits)."""
    from pathlib import Path
    from types import SimpleNamespace

    from jsonschema import Draft202012Validator

    from crm.workflow.dryrun.forms import variants

    folder = Path(__file__).resolve().parents[2] / "forms"
    schemas = sorted(folder.glob("*.schema.json"))
    assert len(schemas) > 10
    for path in schemas:
        spec = SimpleNamespace(extensions={"formJsonSchemaFilename": path.name}, bpmn_name=path.name, bpmn_id="t",
                               variable=None)
        found, notes = variants(spec, {}, frozenset({"decision", "key:approved"}))
        assert not notes, (path.name, notes)
        schema = json.loads(path.read_text())
        for variant in found:
            assert Draft202012Validator(schema).is_valid(variant.data), (path.name, variant)
    decide = SimpleNamespace(extensions={"formJsonSchemaFilename": "approval.decide.schema.json"}, bpmn_name="Decide",
                             bpmn_id="d", variable=None)
    found, _notes = variants(decide, {}, frozenset({"decision", "key:approved"}))
    assert [v.data["decision"]["approved"] for v in found] == [True, False]
    assert found[1].data["decision"]["comment"]  # a rejection says why, as the form requires
    assert len(variants(decide, {}, frozenset())[0]) == 1  # nothing reads the decision: no second run


def test_a_new_process_runs_alone_and_the_bound_says_when_it_cut_the_exploration(
        client: Any, login_as: Any, owner: Any) -> None:
    from crm.workflow.deploy import spec_for
    from crm.workflow.dryrun.explore import Sample
    from crm.workflow.dryrun.explore import Subject
    from crm.workflow.dryrun.explore import explore
    from tests.conftest import chain

    login_as(owner)
    body = _post(client, "/processes/editor/dry-run", {"xml": chain("wf_dry_new", "A", "svc:B"), "key": None}).get_json()
    assert body["ok"] and body["key"] == "wf_dry_new" and body["current"] is None
    [row] = body["rows"]
    assert row["current"] is None and row["new"]["outcome"] == "completed"
    assert [s["element_id"] for s in row["new"]["path"]] == ["start", "A", "B", "end"]
    assert "wf_dry_new" not in current_definitions()

    _definition, spec, subprocess_specs = spec_for("order_pipeline")
    sample = Sample({**ORDER, "payment_mode": "arrears"}, Subject(actor_id=owner.id))
    runs, cut = explore(spec, subprocess_specs, [sample], max_runs=2)
    assert len(runs) == 2 and cut
    runs, cut = explore(spec, subprocess_specs, [sample])
    assert len(runs) == 8 and not cut


def test_a_diagram_the_engine_cannot_parse_is_reported_beside_the_current_run(owner: Any) -> None:
    broken = _pipeline().replace('<bpmn:serviceTask id="op_issue" name="Issue the delivery note">',
                                 '<bpmn:callActivity id="op_issue" name="Issue the delivery note" calledElement="no_such_process">'
                                 ).replace('</bpmn:serviceTask>\n    <bpmn:userTask id="op_sign"',
                                           '</bpmn:callActivity>\n    <bpmn:userTask id="op_sign"', 1)
    assert "no_such_process" in broken
    result = dryrun.dry_run(broken, key="order_pipeline", actor=owner, samples={**ORDER, "payment_mode": "prepay"})
    assert result.new.problem and not result.new.runs
    assert result.current is not None and result.current.runs and not result.current.errors


def test_a_gateway_no_condition_lets_through_is_the_natural_runs_error_and_its_flows_are_still_tried(owner: Any) -> None:
    strict = _pipeline().replace(' default="op_f_arrears"', "", 1).replace(
        '<bpmn:sequenceFlow id="op_f_arrears" name="delivery in arrears" sourceRef="op_gw_mode" targetRef="op_await_outbound"/>',
        '<bpmn:sequenceFlow id="op_f_arrears" name="delivery in arrears" sourceRef="op_gw_mode" targetRef="op_await_outbound">'
        "<bpmn:conditionExpression>payment_mode == 'arrears'</bpmn:conditionExpression></bpmn:sequenceFlow>")
    assert "payment_mode == 'arrears'" in strict
    result = dryrun.dry_run(strict, key="order_pipeline", actor=owner, samples={**ORDER, "payment_mode": "cash"})
    first = result.new.runs[0]
    assert (first.outcome, first.error_element, first.choices) == ("error", "op_gw_mode", [])
    assert "no default flow" in (first.error or "")
    forced = [r for r in result.new.runs if len(r.choices) == 1 and r.choices[0].startswith("Payment mode? → ")]
    assert len(forced) == 2 and all(r.outcome == "completed" and r.ends == ["Completed"] for r in forced)
    assert result.current is not None and result.current.runs[0].outcome == "completed"  # its default flow
