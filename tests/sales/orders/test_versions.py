"""The process owner changes the order pipeline in the editor: new orders follow the new version, running
orders finish on theirs."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.sales.orders.models import OrderStatus
from crm.workflow import runtime
from crm.workflow.deploy import PROCESS_DIR
from tests.conftest import collect
from tests.conftest import csrf
from tests.factories import UserFactory
from tests.sales.conftest import approved_quote
from tests.sales.conftest import candidates
from tests.sales.conftest import open_task
from tests.sales.conftest import order_from_quote

pytestmark = pytest.mark.usefixtures("quote_process")

QUALITY_CHECK = """
    <bpmn:userTask id="op_quality" name="Quality check of order {{ order_number }}">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="status" value="pending_outbound"/>
          <spiffworkflow:property name="role" value="warehouse"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>op_f9</bpmn:incoming><bpmn:outgoing>op_fq</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="op_fq" sourceRef="op_quality" targetRef="op_outbound"/>
"""


def _to_outbound(org, staff, order):
    runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=org.a_rep1.id)
    db.session.commit()
    collect(order, staff["finance"], staff["finance2"])


def test_a_quality_check_added_in_the_editor_applies_to_new_orders_only(
        org, roles, products, customers, staff, client, login_as):
    running = order_from_quote(org, approved_quote(org, products, customers), "prepay")
    runtime.complete_task(open_task(running, "op_sign").id, {}, actor_id=org.a_rep1.id)
    db.session.commit()  # waits for its payment on version 1

    xml = (PROCESS_DIR / "order_pipeline.bpmn").read_text(encoding="utf-8")
    flow = '<bpmn:sequenceFlow id="op_f9" sourceRef="op_await_outbound" targetRef="op_outbound"/>'
    assert flow in xml
    changed = (xml.replace(flow, '<bpmn:sequenceFlow id="op_f9" sourceRef="op_await_outbound" targetRef="op_quality"/>')
               .replace("<bpmn:incoming>op_f9</bpmn:incoming><bpmn:outgoing>op_f10</bpmn:outgoing>",
                        "<bpmn:incoming>op_fq</bpmn:incoming><bpmn:outgoing>op_f10</bpmn:outgoing>")
               .replace("    <bpmn:boundaryEvent id=\"op_outbound_cancelled\"", QUALITY_CHECK + "    <bpmn:boundaryEvent id=\"op_outbound_cancelled\""))
    owner = UserFactory(name="Process Owner", unit=org.units["hq"], roles=[roles["process_owner"]])
    db.session.commit()
    login_as(owner)
    token = csrf(client, "/processes/editor")
    resp = client.post("/processes/editor/save", json={"xml": changed, "comment": "quality check before outbound",
                                                       "key": "order_pipeline"},
                       headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["version"] == 2

    new = order_from_quote(org, approved_quote(org, products, customers), "prepay")
    _to_outbound(org, staff, new)
    check = open_task(new, "op_quality")
    assert candidates(check) == {staff["warehouse"].id, staff["warehouse2"].id}
    db.session.refresh(new)
    assert new.status == OrderStatus.PENDING_OUTBOUND
    runtime.complete_task(check.id, {}, actor_id=staff["warehouse"].id)
    db.session.commit()
    assert open_task(new, "op_outbound")

    collect(running, staff["finance"], staff["finance2"])
    assert open_task(running, "op_outbound")  # straight to outbound: it runs on version 1
    runtime.complete_task(open_task(running, "op_outbound").id, {"picked": [{"quantity": 10}]},
                          actor_id=staff["warehouse"].id)
    runtime.complete_task(open_task(running, "op_delivery").id, {"carrier": "SF", "tracking_no": "9"},
                          actor_id=staff["logistics"].id)
    runtime.complete_task(open_task(running, "op_receipt").id, {"rating": 3}, actor_id=org.a_rep1.id)
    db.session.commit()
    db.session.refresh(running)
    assert running.status == OrderStatus.COMPLETED
    assert runtime.instances_of("order", running.id)[-1].definition.version == 1
    assert runtime.instances_of("order", new.id)[-1].definition.version == 2
