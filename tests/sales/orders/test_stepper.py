"""The order page's stepper: the statuses the order's own pipeline version projects for its payment mode, in
flow order, read from the diagram (not a list typed in the page); done, current and still to come."""

from __future__ import annotations

import re

import pytest

from crm.workflow import progress
from tests.conftest import PROCESS_DIR
from tests.sales.conftest import approved_quote
from tests.sales.conftest import order_from_quote
from tests.sales.orders.conftest import _sign

pytestmark = pytest.mark.usefixtures("quote_process")

PIPELINE = (PROCESS_DIR / "order_pipeline.bpmn").read_text()


def test_the_statuses_follow_the_payment_mode_and_what_is_known_of_the_payment():
    assert progress.statuses(PIPELINE, "order_pipeline", {"payment_mode": "prepay", "payment": None}) == [
        "contracting", "pending_collection", "pending_outbound", "pending_delivery", "pending_receipt", "completed"]
    assert progress.statuses(PIPELINE, "order_pipeline", {"payment_mode": "arrears", "payment": None}) == [
        "contracting", "pending_outbound", "pending_delivery", "pending_receipt", "pending_collection", "completed"]
    # Paid before receipt in arrears: nothing left to collect after it.
    assert progress.statuses(PIPELINE, "order_pipeline", {"payment_mode": "arrears", "payment": {"amount": "1"}}) == [
        "contracting", "pending_outbound", "pending_delivery", "pending_receipt", "completed"]


def test_a_status_the_diagram_no_longer_projects_leaves_the_stepper():
    changed = PIPELINE.replace('<spiffworkflow:property name="status" value="pending_delivery"/>', "")
    assert "pending_delivery" not in progress.statuses(changed, "order_pipeline", {"payment_mode": "prepay"})
    assert progress.statuses(PIPELINE, "no_such_process", {}) == []


def _steps(html: str) -> list[tuple[str, str]]:
    box = html[html.index('id="order-steps"'):]
    box = box[: box.index("</ol>")]
    return re.findall(r'<li class="crm-step-(\w+)" data-status="(\w+)"', box)


def test_the_order_page_shows_where_the_order_is(org, products, customers, login_as):
    client = login_as(org.a_rep1)
    prepay = order_from_quote(org, approved_quote(org, products, customers), "prepay")
    steps = _steps(client.get(f"/orders/{prepay.id}").get_data(as_text=True))
    assert [s for _state, s in steps] == ["contracting", "pending_collection", "pending_outbound", "pending_delivery",
                                          "pending_receipt", "completed"]
    assert steps[0][0] == "current" and {state for state, _s in steps[1:]} == {"todo"}
    _sign(org, prepay)
    steps = _steps(client.get(f"/orders/{prepay.id}").get_data(as_text=True))
    assert steps[0] == ("done", "contracting") and steps[1] == ("current", "pending_collection")
    arrears = order_from_quote(org, approved_quote(org, products, customers), "arrears")
    _sign(org, arrears)
    html = client.get(f"/orders/{arrears.id}").get_data(as_text=True)
    assert [s for _state, s in _steps(html)][:2] == ["contracting", "pending_outbound"]
    assert _steps(html)[1][0] == "current" and 'id="pipeline-diagram"' in html
