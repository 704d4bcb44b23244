"""Deep validation at deployment (crm/workflow/soundness): the mistakes that used to deploy and break
production are refused with a message naming the element and saying what to do — a misspelt variable, a
bit shift where a comparison was meant, the order pipeline's warehouse task deleted (a status shown
without the steps the application requires before it), a call without the called process's input, an
unreachable task, a dead end, a message the application sends no longer caught, a status the object
does not have. A refusal changes nothing; the shipped diagrams deploy as they are."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crm.extensions import db
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import DeploymentRejected
from crm.workflow.deploy import current_definitions
from crm.workflow.deploy import deploy_directory
from crm.workflow.deploy import deploy_files
from crm.workflow.soundness.names import names_of
from tests.conftest import chain
from tests.conftest import csrf


@pytest.fixture
def shipped() -> dict[str, int]:
    deploy_directory(PROCESS_DIR)
    db.session.commit()
    return {k: d.version for k, d in current_definitions().items()}


def _source(key: str) -> str:
    return (PROCESS_DIR / f"{key}.bpmn").read_text(encoding="utf-8")


def _refused(key: str, xml: str) -> dict[str, list[str]]:
    """element id -> messages of a refused deployment of `xml` as the next version of `key`."""
    with pytest.raises(DeploymentRejected) as err:
        deploy_files({f"{key}.bpmn": xml.encode()}, source="editor", comment="test")
    found: dict[str, list[str]] = {}
    lines = xml.splitlines()
    for p in err.value.problems:
        found.setdefault(p.element_id or "", []).append(p.message)
        if p.element_id:  # the line is the element's own
            assert p.line and f'id="{p.element_id}"' in lines[p.line - 1], p
    return found


def _drop(xml: str, *element_ids: str) -> str:
    """The diagram without these elements (and their shapes), as the editor saves a deletion."""
    for element_id in element_ids:
        xml = re.sub(rf'<bpmn:(\w+) id="{element_id}"[^>]*?/>', "", xml)
        xml = re.sub(rf'<bpmn:(\w+) id="{element_id}"[^>]*?[^/]>.*?</bpmn:\1>', "", xml, flags=re.S)
        xml = re.sub(rf'<bpmndi:(BPMNShape|BPMNEdge) [^>]*bpmnElement="{element_id}".*?</bpmndi:\1>', "", xml,
                     flags=re.S)
        xml = xml.replace(f"<bpmn:incoming>{element_id}</bpmn:incoming>", "")
        xml = xml.replace(f"<bpmn:outgoing>{element_id}</bpmn:outgoing>", "")
    return xml


def _without_the_warehouse(xml: str) -> str:
    """The issue's edit: the warehouse task (and its cancellation boundary) and the end event deleted, the
    flow reconnected from "pending outbound" straight to "outbound recorded"."""
    xml = xml.replace("<bpmn:incoming>op_f10</bpmn:incoming>", "<bpmn:incoming>op_f9</bpmn:incoming>")
    xml = _drop(xml, "op_outbound", "op_outbound_cancelled", "op_f10", "op_fc3", "op_end", "op_f19")
    return xml.replace('sourceRef="op_await_outbound" targetRef="op_outbound"',
                       'sourceRef="op_await_outbound" targetRef="op_outbound_done"')


CASES: dict[str, tuple[str, Callable[[str], str], dict[str, list[str]]]] = {
    "misspelt variable": ("quote_approval", lambda x: x.replace("min_rate &lt; 0.90", "min_ratee &lt; 0.88"), {
        "qa_f_audit": ["The condition reads min_ratee", "Did you mean min_rate?"]}),
    "bit shift for a comparison": ("quote_approval", lambda x: x.replace("min_rate &lt; 0.90", "min_rate &lt;&lt; 0.90"), {
        "qa_f_audit": ["'min_rate << 0.90' uses <<", "Did you mean <?"]}),
    "call without the called process's input": ("quote_approval", lambda x: x.replace(
        "approval_chain = 'discount_audit'", "chain = 'discount_audit'"), {
        "qa_audit": ["The called process approval needs approval_chain"]}),
    "warehouse task deleted": ("order_pipeline", _without_the_warehouse, {
        "op_delivery": ["The status 'pending_delivery' is shown here",
                        "without a user task with the form order_pipeline.outbound.schema.json"],
        "op_complete": ["The path ends here without an end event"]}),
    "outbound not recorded": ("order_pipeline", lambda x: _drop(x, "op_outbound_done", "op_f11").replace(
        'sourceRef="op_outbound" targetRef="op_outbound_done"', 'sourceRef="op_outbound" targetRef="op_delivery"'), {
        "op_delivery": ["without a service task calling sales.record_outbound"]}),
    "payment message no longer caught": ("order_pipeline", lambda x: x.replace(
        'messageRef="msg_order_paid"', 'messageRef="msg_order_cancelled"'), {
        "order_pipeline": ["sends the message 'order_paid'"]}),
    "follow-up message no longer caught": ("high_seas_claim", lambda x: x.replace(
        '<bpmn:message id="msg_follow_up" name="follow_up_recorded"/>',
        '<bpmn:message id="msg_follow_up" name="visit_recorded"/>'), {
        "high_seas_claim": ["sends the message 'follow_up_recorded'"]}),
    "status the order does not have": ("order_pipeline", lambda x: x.replace(
        "value=\"'pending_refund'\"", "value=\"'refund_pending'\""), {
        "op_await_refund": ["The status 'refund_pending' is not one of the statuses an order can have"]}),
    "text compared with a number": ("order_pipeline", lambda x: x.replace(
        "payment_mode == 'prepay'", "total &gt; 1000 or payment_mode == 1"), {
        "op_f_prepay": ["'total > 1000' compares values of different types",
                        "'payment_mode == 1' compares text with a number"]}),
    "unknown function": ("collection_verification", lambda x: x.replace(
        "verification.get('decision') == 'verify'", "checked(verification)"), {
        "cv_f_ok": ["calls checked(), which is not a function diagrams can use"]}),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_diagram_that_would_break_production_is_refused(case: str, shipped: dict[str, int]) -> None:
    key, edit, expected = CASES[case]
    xml = edit(_source(key))
    assert xml != _source(key)
    found = _refused(key, xml)
    assert set(found) == set(expected), found
    for element, parts in expected.items():
        text = " ".join(found[element])
        for part in parts:
            assert part in text, (part, found[element])
    db.session.expire_all()
    assert {k: d.version for k, d in current_definitions().items()} == shipped  # nothing deployed


def test_an_unreachable_task_and_a_dead_end_are_refused(shipped: dict[str, int]) -> None:
    xml = chain("wf_flow", "A", "B").replace(
        "</bpmn:process>",
        '<bpmn:userTask id="orphan" name="Never reached"/>\n'
        '<bpmn:exclusiveGateway id="gw" default="f_on"/>\n'
        '<bpmn:userTask id="stuck" name="Goes nowhere"/>\n'
        '<bpmn:sequenceFlow id="f_side" sourceRef="gw" targetRef="stuck"><bpmn:conditionExpression>True'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
        '<bpmn:sequenceFlow id="f_on" sourceRef="gw" targetRef="B"/>\n</bpmn:process>').replace(
        '<bpmn:sequenceFlow id="f_A_B" sourceRef="A" targetRef="B"/>', '<bpmn:sequenceFlow id="f_A_gw" sourceRef="A" targetRef="gw"/>')
    found = _refused("wf_flow", xml)
    assert set(found) == {"orphan", "stuck"}
    assert "No path from a start event reaches this user task" in found["orphan"][0]
    assert "The path ends here without an end event" in found["stuck"][0]
    assert "wf_flow" not in current_definitions()


def test_a_loop_with_no_way_out_is_refused() -> None:
    xml = chain("wf_loop", "A", "B").replace(
        '<bpmn:sequenceFlow id="f_B_end" sourceRef="B" targetRef="end"/>',
        '<bpmn:sequenceFlow id="f_B_A" sourceRef="B" targetRef="A"/>')
    found = _refused("wf_loop", xml)  # not "too deep for the engine", which is what the engine finds
    assert set(found) == {"A", "end"}
    assert "in a loop with no way out" in found["A"][0] and "No path from a start event" in found["end"][0]


def test_the_shipped_diagrams_deploy_and_a_name_read_too_early_is_refused(shipped: dict[str, int]) -> None:
    """The names check follows the flow: `outbound_recorded` (set by the outbound step) is known after it,
    not at the payment-mode gateway before it."""
    assert {"order_pipeline", "quote_approval", "approval", "high_seas_claim", "collection_verification"} <= set(shipped)
    renamed = _source("order_pipeline").replace('name="Shipment recorded"', 'name="Shipment booked"')
    result = deploy_files({"order_pipeline.bpmn": renamed.encode()}, source="editor", comment="a new name")
    assert [d.version for d in result.created] == [shipped["order_pipeline"] + 1]
    reading_too_early = _source("order_pipeline").replace(
        "payment_mode == 'prepay'", "payment_mode == 'prepay' and outbound_recorded")
    found = _refused("order_pipeline", reading_too_early)
    assert "reads outbound_recorded, which is not known at this point" in found["op_f_prepay"][0]


def test_a_name_set_on_one_branch_is_known_after_it_union_over_paths() -> None:
    """Documented choice: a name is known where SOME path sets it (the branch that reads it sets it)."""
    xml = chain("wf_union", "A").replace("<bpmn:process id=\"wf_union\" name=\"Chain\" isExecutable=\"true\">",
                                          '<bpmn:process id="wf_union" name="Chain" isExecutable="true">'
                                          '<bpmn:extensionElements><spiffworkflow:properties>'
                                          '<spiffworkflow:property name="inputs" value="flag: bool"/>'
                                          '</spiffworkflow:properties></bpmn:extensionElements>').replace(
        '<bpmn:sequenceFlow id="f_A_end" sourceRef="A" targetRef="end"/>',
        '<bpmn:exclusiveGateway id="gw" default="f_skip"/><bpmn:scriptTask id="set"><bpmn:script>extra = 1'
        '</bpmn:script></bpmn:scriptTask><bpmn:exclusiveGateway id="join" default="f_out"/>'
        '<bpmn:sequenceFlow id="f_A_gw" sourceRef="A" targetRef="gw"/>'
        '<bpmn:sequenceFlow id="f_set" sourceRef="gw" targetRef="set"><bpmn:conditionExpression>flag'
        '</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="f_skip" sourceRef="gw" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f_set_join" sourceRef="set" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f_more" sourceRef="join" targetRef="end"><bpmn:conditionExpression>extra &gt; 0 '
        'and flag</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="f_out" sourceRef="join" targetRef="end"/>')
    assert [d.key for d in deploy_files({"wf_union.bpmn": xml.encode()}, source="editor").created] == ["wf_union"]


def test_problems_come_in_the_readers_language(client: Any, login_as: Any, owner: Any, shipped: dict[str, int]) -> None:
    login_as(owner)
    token = csrf(client, "/processes/editor")
    xml = CASES["misspelt variable"][1](_source("quote_approval"))
    resp = client.post("/processes/editor/save", json={"xml": xml, "comment": "typo", "key": "quote_approval"},
                       headers={"X-CSRFToken": token, "Accept": "application/json", "Accept-Language": "zh-CN,zh;q=0.9"})
    assert resp.status_code == 422
    [problem] = resp.get_json()["problems"]
    assert problem["element_id"] == "qa_f_audit" and "min_ratee" in problem["message"]
    assert "是不是 min_rate？" in problem["message"] and "还不存在" in problem["message"]


@pytest.mark.parametrize(("code", "mode", "reads", "writes"), [
    ("a = b + 1\nc = a * 2", "exec", ["b"], {"a", "c"}),
    ("total = 0\nfor x in items:\n    total += x", "exec", ["items"], {"total", "x"}),
    ("[y for y in rows if y > limit]", "eval", ["rows", "limit"], set()),
    ("f'{order_number}: {len(lines)}'", "eval", ["order_number", "len", "lines"], set()),
    ("def twice(v):\n    return v * factor\nfactor = 2\nout = twice(3)", "exec", [], {"twice", "factor", "out"}),
])
def test_what_a_snippet_reads_and_sets(code: str, mode: str, reads: list[str], writes: set[str]) -> None:
    found = names_of(code, mode)
    assert found is not None
    assert [n for n, _call in found.names] == reads and found.writes == writes


def test_data_files_of_the_corpus_keep_their_verdict() -> None:
    """The corpus files are refused today for what the engine cannot run; the deep checks add nothing
    to a file the parser already refuses (tests/workflow/test_deploy.py checks each refusal is specific)."""
    corpus = Path("/work/shared/bpmn-corpus/miwg")
    if not corpus.is_dir():
        pytest.skip("the MIWG corpus is not here")
    from crm.workflow.validation import validate_files

    for path in sorted(corpus.glob("*.bpmn")):
        result = validate_files({path.name: path.read_bytes()})
        assert not result.ok
        assert not any("No path" in p.message or "reads " in p.message for p in result.problems), path.name
