"""The BPMN editor and the instance admin in a real browser: the demo process owner opens the editor on
a deployed diagram, renames a task and adds a property through the side panel, saves, sees the new
version and its diagram; then opens a running instance and sees its active task highlighted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.config import Config
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.workflow import registry
from crm.workflow import runtime
from crm.workflow.deploy import current_definitions
from crm.workflow.deploy import deploy_files
from crm.workflow.models import HumanTask
from tests.browser.conftest import serve
from tests.conftest import chain
from tests.conftest import isolated_database
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser

OWNER = "13800000004"  # 赵流程, process owner at HQ
DIAGRAM = Path(__file__).resolve().parents[1] / "processes" / "data" / "wf_browser.bpmn"
MULTI = Path(__file__).resolve().parents[1] / "workflow" / "data" / "multi"
EDITOR_MI = Path(__file__).resolve().parents[1] / "processes" / "data" / "wf_browser_mi.bpmn"  # what the panel saves


@pytest.fixture
def process_server(tmp_path: Path) -> Iterator[tuple[str, Any, int]]:
    with isolated_database(tmp_path, "crm_browser_processes") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            deploy_files({"wf_browser.bpmn": DIAGRAM.read_bytes()}, source="file", comment="first cut")
            store = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "天猫旗舰店"))
            owner = db.session.scalar(select(User).where(User.mobile == OWNER))
            instance = runtime.start("wf_browser", object_type="order", object_id=1, store_id=store.id,
                                     actor_id=owner.id)
            # A diagram written without layout (no BPMN DI): the pages lay it out.
            deploy_files({"wf_plain.bpmn": chain("wf_plain", "first", "second").encode()}, source="file")
            plain = runtime.start("wf_plain", store_id=store.id, actor_id=owner.id)
            runtime.complete_task(db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == plain.id)),
                                  {}, actor_id=owner.id)
            # A multi-instance approval as SpiffWorkflow writes it (collections named by variable).
            registry.register_forms_dir(MULTI)
            deploy_files({"wf_mi.bpmn": (MULTI / "wf_mi.bpmn").read_bytes()}, source="file")
            db.session.commit()
            instance_id, plain_id = instance.id, plain.id
        with serve(app) as base_url:
            yield base_url, app, instance_id, plain_id


def _log_in(page: Any, base: str) -> None:
    """Sign in as the process owner."""
    page.goto(f"{base}/login")
    page.fill("#identifier", OWNER)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")


def test_edit_save_and_see_the_new_version_then_the_active_task(process_server: Any, page: Any) -> None:
    from playwright.sync_api import expect

    base, app, instance_id, plain_id = process_server
    _log_in(page, base)
    expect(page.locator("#mainnav")).to_be_visible()

    page.goto(f"{base}/processes/definitions/wf_browser/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    page.click("#canvas [data-element-id='check']")
    name = page.locator("#panel-body [data-field='name']")
    expect(name).to_have_value("Check the order")
    name.fill("Check the order twice")
    name.press("Tab")
    page.click("[data-add='properties']")
    rows = page.locator("[data-field='properties'] .pair")
    expect(rows).to_have_count(2)
    rows.nth(1).locator("input").nth(0).fill("status")
    rows.nth(1).locator("input").nth(1).fill("checking")
    rows.nth(1).locator("input").nth(1).press("Tab")
    page.fill("#comment", "Check twice")
    # Kept as a draft first: not current, listed on the process's page.
    page.click("#save-draft")
    expect(page.locator("#draft-result")).to_contain_text("The draft was saved")
    with app.app_context():
        assert current_definitions()["wf_browser"].version == 1
    # Then reviewed: what changes and which live instances it concerns, before anything is deployed ...
    page.click("#save")
    review = page.locator("#deploy-review")
    expect(review).to_contain_text("version 2 replaces version 1")
    expect(review).to_contain_text("Check the order twice (check)")
    expect(review).to_contain_text("Version 1: 1 live instance")
    expect(review).to_contain_text("1 of the 1 live instances on older versions could be moved")
    with app.app_context():
        assert current_definitions()["wf_browser"].version == 1
    # ... and deployed on confirmation; the draft is done with.
    page.click("#confirm-deploy")
    expect(page.locator("#save-result")).to_contain_text("Version 2 of wf_browser was deployed")

    with app.app_context():
        from crm.workflow.admin.impact import get_draft

        assert get_draft("wf_browser") is None
        current = current_definitions()["wf_browser"]
        assert current.version == 2 and current.comment == "Check twice" and current.source == "editor"
        assert 'name="Check the order twice"' in current.bpmn_xml
        assert 'name="status" value="checking"' in current.bpmn_xml
        assert 'name="assignee" value="initiator_id"' in current.bpmn_xml  # the existing property is kept

    page.click("#open-version")
    expect(page.locator("h1")).to_contain_text("v2")
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    expect(page.locator("#diagram [data-element-id='check']")).to_contain_text("twice")  # the label is wrapped into lines

    # v1's diagram counts the instance waiting at its task.
    page.goto(f"{base}/processes/definitions/wf_browser/1")
    expect(page.locator("#diagram .crm-count[data-count='active'][data-element='check']")).to_have_text("1")

    # The changes from v1: the task is marked changed on the diagram, and named in words.
    page.goto(f"{base}/processes/definitions/wf_browser/diff")
    expect(page.locator("#diagram [data-element-id='check'].crm-changed")).to_have_count(1)
    expect(page.locator("#diff-changed li[data-id='check']")).to_contain_text("name, properties")

    # The running instance stays on v1; its waiting task is highlighted.
    page.goto(f"{base}/processes/{instance_id}")
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    expect(page.locator("#diagram [data-element-id='check'].crm-active")).to_have_count(1)
    expect(page.locator("#diagram [data-element-id='start'].crm-completed")).to_have_count(1)

    # The same on an instance of a diagram without layout.
    page.goto(f"{base}/processes/{plain_id}")
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    expect(page.locator("#diagram [data-element-id='second'].crm-active")).to_have_count(1)
    expect(page.locator("#diagram [data-element-id='first'].crm-completed")).to_have_count(1)


def test_a_rejected_save_lists_the_problems(process_server: Any, page: Any) -> None:
    from playwright.sync_api import expect

    base, app, _instance_id, _plain_id = process_server
    _log_in(page, base)
    page.goto(f"{base}/processes/definitions/wf_browser/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    page.click("#canvas [data-element-id='check']")
    form = page.locator("#panel-body [data-field='form']")
    form.fill("no_such_form.schema.json")
    form.press("Tab")
    page.fill("#comment", "Broken")
    page.click("#save")
    problems = page.locator("#save-problems")
    expect(problems).to_contain_text("The form file 'no_such_form.schema.json' does not exist")
    expect(problems.locator("li[data-element='check']")).to_have_count(1)
    expect(page.locator("#canvas [data-element-id='check'].crm-failed")).to_have_count(1)
    with app.app_context():
        assert current_definitions()["wf_browser"].version == 1


def test_a_multi_instance_diagram_keeps_its_collections(process_server: Any, page: Any) -> None:
    """SpiffWorkflow names a multi-instance task's collections by variable; bpmn-js alone would drop
    them as unresolved references and the saved diagram would lose its approvers."""
    from playwright.sync_api import expect

    base, app, _instance_id, _plain_id = process_server
    _log_in(page, base)
    page.goto(f"{base}/processes/definitions/wf_mi/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    page.click("#canvas [data-element-id='decide']")
    name = page.locator("#panel-body [data-field='name']")
    name.fill("Approve the request")
    name.press("Tab")
    page.fill("#comment", "Clearer name")
    page.click("#save")
    page.click("#confirm-deploy")  # after the review
    expect(page.locator("#save-result")).to_contain_text("Version 2 of wf_mi was deployed")
    with app.app_context():
        saved = current_definitions()["wf_mi"].bpmn_xml
        assert "<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>" in saved
        assert "<bpmn:loopDataOutputRef>decisions</bpmn:loopDataOutputRef>" in saved
        assert "dataObject" not in saved
        assert 'name="Approve the request"' in saved


def test_a_task_becomes_multi_instance_through_the_panel(process_server: Any, page: Any) -> None:
    """The owner makes "each approver approves" without touching XML: parallel multi-instance over a
    collection with an item variable; the marker follows the select, the saved diagram carries the loop
    characteristics as SpiffWorkflow reads them, and the panel shows them again when reopened."""
    from playwright.sync_api import expect

    base, app, _instance_id, _plain_id = process_server
    _log_in(page, base)
    page.goto(f"{base}/processes/definitions/wf_browser/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    page.click("#canvas [data-element-id='check']")
    mode = page.locator("#panel-body [data-field='multi_instance']")
    expect(mode).to_have_value("none")
    expect(page.locator("#panel-body [data-field='mi_collection']")).to_have_count(0)
    task = page.locator("#canvas [data-element-id='check']")
    mode.select_option("sequential")
    expect(task.locator("[data-marker='sequential']")).to_have_count(1)
    mode.select_option("parallel")
    expect(task.locator("[data-marker='parallel']")).to_have_count(1)
    expect(task.locator("[data-marker='sequential']")).to_have_count(0)
    item = page.locator("#panel-body [data-field='mi_item']")
    for value, problem in (("check", "already has this name"), ("2nd", "Use a variable name")):
        item.fill(value)  # the task's own id, then no variable name: the panel says so before any save
        item.press("Tab")
        expect(item).to_have_class(re.compile("is-invalid"))
        expect(page.locator("#panel-body .invalid-feedback:visible")).to_contain_text(problem)
    for name, value in (("mi_collection", "approvers"), ("mi_item", "approver"), ("mi_output", "decisions"),
                        ("mi_output_item", "decision"), ("mi_cardinality", "3"), ("mi_condition", "not decision['ok']")):
        box = page.locator(f"#panel-body [data-field='{name}']")
        box.fill(value)
        box.press("Tab")
    expect(page.locator("#panel-body .is-invalid")).to_have_count(0)
    exported = page.evaluate("window.crmModeler.saveXML().then(function (r) { return r.xml; })")
    # Both expressions are FormalExpressions, in the child order the SpiffWorkflow XSD demands.
    assert ('<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">3'
            '</bpmn:loopCardinality><bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>') in exported
    assert ('<bpmn:outputDataItem id="decision" name="decision" /><bpmn:completionCondition '
            'xsi:type="bpmn:tFormalExpression">not decision[\'ok\']</bpmn:completionCondition>') in exported
    for name in ("mi_cardinality", "mi_condition"):  # an emptied field removes its element
        box = page.locator(f"#panel-body [data-field='{name}']")
        box.fill("")
        box.press("Tab")
    # Each approver approves: the fixed assignee would win over the item, so the owner removes it.
    page.locator("[data-field='properties'] .pair button").first.click()
    page.fill("#comment", "Everyone approves")
    page.click("#save")
    page.click("#confirm-deploy")  # after the review
    expect(page.locator("#save-result")).to_contain_text("Version 2 of wf_browser was deployed")

    with app.app_context():
        saved = current_definitions()["wf_browser"].bpmn_xml
    start = saved.index("<bpmn:multiInstanceLoopCharacteristics")
    block = saved[start:saved.index("</bpmn:multiInstanceLoopCharacteristics>", start)]
    assert "isSequential" not in block and "loopCardinality" not in block and "completionCondition" not in block
    assert "<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>" in block
    assert "<bpmn:loopDataOutputRef>decisions</bpmn:loopDataOutputRef>" in block
    assert '<bpmn:inputDataItem id="approver" name="approver"' in block
    assert '<bpmn:outputDataItem id="decision" name="decision"' in block
    assert "dataObject" not in saved and "assignee" not in saved
    # The same XML the Python test deploys and runs (tests/processes/test_editor_multi_instance.py).
    assert saved == EDITOR_MI.read_text(encoding="utf-8")

    page.goto(f"{base}/processes/definitions/wf_browser/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    page.click("#canvas [data-element-id='check']")
    expect(page.locator("#panel-body [data-field='multi_instance']")).to_have_value("parallel")
    expect(page.locator("#panel-body [data-field='mi_collection']")).to_have_value("approvers")
    expect(page.locator("#panel-body [data-field='mi_item']")).to_have_value("approver")
    page.locator("#panel-body [data-field='multi_instance']").select_option("none")
    expect(page.locator("#canvas [data-element-id='check'] [data-marker='parallel']")).to_have_count(0)
    expect(page.locator("#panel-body [data-field='mi_collection']")).to_have_count(0)
    # The change went through bpmn-js's command stack: undo brings the marker and the panel's fields back.
    page.evaluate("window.crmModeler.get('commandStack').undo()")
    expect(page.locator("#canvas [data-element-id='check'] [data-marker='parallel']")).to_have_count(1)
    expect(page.locator("#panel-body [data-field='multi_instance']")).to_have_value("parallel")
    expect(page.locator("#panel-body [data-field='mi_collection']")).to_have_value("approvers")


# Elements added through bpmn-js's modeling API, one per panel section the saved diagrams above lack.
_ADD_ELEMENTS = """() => {
  const m = window.crmModeler;
  const factory = m.get("elementFactory"), modeling = m.get("modeling"), root = m.get("canvas").getRootElement();
  [["svc", "bpmn:ServiceTask"], ["calc", "bpmn:ScriptTask"], ["sub", "bpmn:CallActivity"],
   ["wait", "bpmn:IntermediateCatchEvent", "bpmn:TimerEventDefinition"],
   ["paid", "bpmn:IntermediateCatchEvent", "bpmn:MessageEventDefinition"]].forEach(([id, type, definition], i) => {
    const shape = factory.createShape(definition ? { type, eventDefinitionType: definition } : { type });
    modeling.updateProperties(modeling.createShape(shape, { x: 200 + 150 * i, y: 320 }, root), { id });
  });
}"""
_SELECT = "id => { const m = window.crmModeler; m.get('selection').select(m.get('elementRegistry').get(id)); }"
_ALL_IDS = ("() => window.crmModeler.get('elementRegistry').getAll()"
            ".filter(e => !e.labelTarget && e.businessObject).map(e => e.id)")


def test_the_editor_modules_run_under_the_csp_without_console_errors(process_server: Any, page: Any) -> None:
    """The editor is ES modules (crm/static/processes/editor/) on top of the classic bpmn-js bundle. Under a
    Content-Security-Policy of script-src 'self' (no inline script, no eval) it opens a saved diagram, a
    multi-instance one and a new one, renders the panel of every element and of each kind of field, writes
    them to the model, and downloads the diagram — with nothing on the console."""
    from playwright.sync_api import expect

    base, _app, _instance_id, _plain_id = process_server
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

    def with_csp(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": "script-src 'self'"})

    page.route(re.compile(r"/processes/(editor|definitions/\w+/edit)$"), with_csp)
    _log_in(page, base)

    page.goto(f"{base}/processes/definitions/wf_browser/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    expect(page.locator("script[type='module'][src*='processes/editor/main.js']")).to_have_count(1)
    page.evaluate(_ADD_ELEMENTS)
    for element_id in page.evaluate(_ALL_IDS):  # the process itself, shapes and flows
        page.evaluate(_SELECT, element_id)
        expect(page.locator("#panel-body [data-field='id']")).to_have_value(element_id)

    def fill(element_id: str, *values: tuple[str, str]) -> None:
        page.evaluate(_SELECT, element_id)
        for name, value in values:
            box = page.locator(f"#panel-body [data-field='{name}']")
            box.fill(value)
            box.press("Tab")

    fill("svc", ("operator", "orders.check"), ("result", "checked"))
    page.click("[data-add='parameters']")
    row = page.locator("[data-field='parameters'] .pair").first
    row.locator("input").nth(0).fill("amount")
    row.locator("input").nth(1).fill("total * 2")
    row.locator("input").nth(1).press("Tab")
    fill("calc", ("script", "total = 1"), ("prescript", "before = 1"))
    fill("sub", ("called", "wf_plain"))
    fill("f1", ("condition", "total > 0"))
    fill("wait", ("timer", "'2026-12-01T09:00:00'"))
    page.locator("#panel-body [data-field='timer_kind']").select_option("timeDate")  # moves the expression
    fill("paid", ("message", "order_paid"), ("message_variable", "payment"))
    page.evaluate(_SELECT, "paid")  # the panel shows what was written, read back from the model
    expect(page.locator("#panel-body [data-field='message']")).to_have_value("order_paid")
    exported = page.evaluate("window.crmModeler.saveXML().then(r => r.xml)")
    for written in ('<spiffworkflow:serviceTaskOperator id="orders.check" resultVariable="checked">',
                    '<spiffworkflow:parameter id="amount" type="any" value="total * 2" />',
                    '<bpmn:scriptTask id="calc" scriptFormat="python">', "<bpmn:script>total = 1</bpmn:script>",
                    "<spiffworkflow:preScript>before = 1</spiffworkflow:preScript>",
                    '<bpmn:callActivity id="sub" calledElement="wf_plain"', ">total &gt; 0</bpmn:conditionExpression>",
                    ">'2026-12-01T09:00:00'</bpmn:timeDate>", 'name="order_paid"',
                    "<spiffworkflow:messageVariable>payment</spiffworkflow:messageVariable>"):
        assert written in exported

    # The multi-instance diagram: its placeholders stay out of the downloaded file.
    page.goto(f"{base}/processes/definitions/wf_mi/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    for element_id in page.evaluate(_ALL_IDS):
        page.evaluate(_SELECT, element_id)
        expect(page.locator("#panel-body [data-field='id']")).to_have_value(element_id)
    with page.expect_download() as download:
        page.click("#download-bpmn")
    assert download.value.suggested_filename == "wf_mi.bpmn"
    downloaded = Path(download.value.path()).read_text(encoding="utf-8")
    assert "<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>" in downloaded and "dataObject" not in downloaded

    # A new diagram; a file opened into it; a save without a comment (past the browser's own check) refused.
    page.goto(f"{base}/processes/editor")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    expect(page.locator("#panel-body [data-field='id']")).to_have_value(re.compile(r"^Process_"))
    page.set_input_files("#open-file", str(DIAGRAM))
    expect(page.locator("#canvas [data-element-id='check']")).to_have_count(1)
    page.locator("#save-form").evaluate("form => form.dispatchEvent(new Event('submit', { cancelable: true }))")
    expect(page.locator("#save-error")).to_have_count(1)
    assert errors == [], "\n".join(errors)


def test_the_analytics_heatmap_draws_badges_and_counts_without_running_names(process_server: Any, page: Any) -> None:
    """The analytics page of the laid-out-on-the-fly `wf_plain`: its first task passed (coloured, a grey
    badge), its second waits (a blue badge); the table sorts. A task named with HTML (a hostile diagram) is
    shown as text: nothing of it runs."""
    from playwright.sync_api import expect

    base, app, _instance_id, _plain_id = process_server
    hostile = chain("wf_xss", "first").replace('name="Step first"', 'name="&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;"')
    with app.app_context():
        deploy_files({"wf_xss.bpmn": hostile.encode()}, source="file")
        owner = db.session.scalar(select(User).where(User.mobile == OWNER))
        store = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "天猫旗舰店"))
        runtime.start("wf_xss", store_id=store.id, actor_id=owner.id)
        db.session.commit()
    _log_in(page, base)
    page.goto(f"{base}/processes/definitions/wf_plain")
    page.click("#analytics-link")
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    expect(page.locator("#diagram .crm-count[data-count='passed'][data-element='first']")).to_have_text("1")
    expect(page.locator("#diagram .crm-count[data-count='waiting'][data-element='second']")).to_have_text("1")
    expect(page.locator("#diagram [data-element-id='first'] .djs-visual > :first-child[data-heat]")).to_have_count(1)
    expect(page.locator("#diagram [data-element-id='second'] .djs-visual > :first-child[data-heat]")).to_have_count(0)
    page.click("#analytics-table thead th:nth-child(7) button")  # waiting now, most first
    expect(page.locator("#analytics-table tbody tr").first).to_have_attribute("data-element", "second")

    page.goto(f"{base}/processes/definitions/wf_xss/analytics")
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    badge = page.locator("#diagram .crm-count[data-count='waiting'][data-element='first']")
    expect(badge).to_have_text("1")
    assert badge.get_attribute("title").startswith('<img src=x onerror="window.pwned=1">')
    expect(page.locator("#analytics-table tr[data-element='first'] td").first).to_have_text(
        '<img src=x onerror="window.pwned=1">')
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src='x']").count() == 0


def test_a_task_gets_a_due_date_through_the_panel(process_server: Any, page: Any) -> None:
    """The due-date fields of a user task write the `due`, `remind` and `escalate_to` properties, which the
    properties list shows too; the draft keeps them."""
    from playwright.sync_api import expect

    base, app, _instance_id, _plain_id = process_server
    _log_in(page, base)
    page.goto(f"{base}/processes/definitions/wf_browser/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    page.click("#canvas [data-element-id='check']")
    for name, value in (("due_due", "P2D"), ("due_remind", "PT4H"), ("due_escalate_to", "store_manager")):
        box = page.locator(f"#panel-body [data-field='{name}']")
        box.fill(value)
        box.press("Tab")
        expect(page.locator(f"#panel-body [data-field='{name}']")).to_have_value(value)
    rows = page.locator("[data-field='properties'] .pair")
    expect(rows).to_have_count(4)  # the assignee it had, and the three
    expect(rows.nth(1).locator("input").nth(0)).to_have_value("due")
    expect(rows.nth(1).locator("input").nth(1)).to_have_value("P2D")
    page.fill("#comment", "Due in two working days")
    page.click("#save-draft")
    expect(page.locator("#draft-result")).to_contain_text("The draft was saved")
    with app.app_context():
        from crm.workflow.admin.impact import get_draft

        xml = get_draft("wf_browser").bpmn_xml
        for name, value in (("due", "P2D"), ("remind", "PT4H"), ("escalate_to", "store_manager")):
            assert f'name="{name}" value="{value}"' in xml
