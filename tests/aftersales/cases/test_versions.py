"""The process owner adds a quality inspection to `after_sales` in the editor: new cases get it, running
cases finish on their version."""

from __future__ import annotations

from crm.aftersales.cases.models import CaseStatus
from crm.extensions import db
from crm.workflow.deploy import PROCESS_DIR
from tests.aftersales.conftest import REFUND
from tests.aftersales.conftest import RETURN
from tests.aftersales.conftest import case_task
from tests.aftersales.conftest import inspection
from tests.aftersales.conftest import open_case
from tests.aftersales.conftest import ship
from tests.aftersales.conftest import step
from tests.conftest import collect
from tests.conftest import csrf
from tests.factories import UserFactory
from tests.finance.conftest import signed_order
from tests.sales.conftest import candidates

QUALITY = """
    <bpmn:userTask id="as_quality" name="Quality inspection of case {{ case_number }}">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="status" value="awaiting_inspection"/>
          <spiffworkflow:property name="role" value="warehouse"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>as_f9</bpmn:incoming><bpmn:outgoing>as_fq</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="as_fq" sourceRef="as_quality" targetRef="as_await_inspection"/>
"""


def test_a_quality_inspection_added_in_the_editor_applies_to_new_cases_only(
        delivered, org, roles, staff, products, customers, client, login_as):
    running = open_case(delivered, org.a_rep1, quantity=1, amount="95.00")
    assert running.status == CaseStatus.AWAITING_RETURN  # on version 1

    xml = (PROCESS_DIR / "after_sales.bpmn").read_text(encoding="utf-8")
    flow = '<bpmn:sequenceFlow id="as_f9" sourceRef="as_return_recorded" targetRef="as_await_inspection"/>'
    assert flow in xml
    changed = (xml.replace(flow, '<bpmn:sequenceFlow id="as_f9" sourceRef="as_return_recorded" targetRef="as_quality"/>')
               .replace("<bpmn:incoming>as_f9</bpmn:incoming><bpmn:outgoing>as_f10</bpmn:outgoing>",
                        "<bpmn:incoming>as_fq</bpmn:incoming><bpmn:outgoing>as_f10</bpmn:outgoing>")
               .replace("  </bpmn:process>", QUALITY + "  </bpmn:process>"))
    owner = UserFactory(name="Process Owner", unit=org.units["hq"], roles=[roles["process_owner"]])
    db.session.commit()
    login_as(owner)
    resp = client.post("/processes/editor/save", json={"xml": changed, "comment": "quality inspection",
                                                       "key": "after_sales"},
                       headers={"X-CSRFToken": csrf(client, "/processes/editor"), "Accept": "application/json"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["version"] == 2

    other = signed_order(org, products, customers)
    collect(other, staff["finance"], staff["finance2"], "950.00")
    new = open_case(ship(other, staff, org), org.a_rep1, "exchange", quantity=2, amount="")
    step(new, "as_return", org.a_rep1, RETURN)
    check = case_task(new, "as_quality")
    assert candidates(check) == {staff["warehouse"].id, staff["warehouse2"].id}
    step(new, "as_quality", staff["warehouse"], {})
    assert case_task(new, "as_inspect")

    step(running, "as_return", org.a_rep1, RETURN)
    step(running, "as_inspect", staff["warehouse"], inspection(1))  # straight to the inspection: version 1
    step(running, "as_refund", staff["finance"], REFUND)
    assert running.status == CaseStatus.COMPLETED
