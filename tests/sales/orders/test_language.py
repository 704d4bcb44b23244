"""The order pipeline's tasks in the reader's language: titles and instructions come from the BPMN in
English, go through the message catalogue (the BPMN extractor of babel.cfg) and are rendered for every
language when the task opens, so a Chinese salesperson's inbox, task page, order page, search, bell and API
read in Chinese while an English reader's read as the diagram says."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.notify.models import EmailOutbox
from crm.notify.models import Notification
from crm.workflow.i18n import extract
from tests.sales.conftest import approved_quote
from tests.sales.conftest import open_task
from tests.sales.conftest import order_from_quote

pytestmark = pytest.mark.usefixtures("quote_process")
ROOT = Path(__file__).resolve().parents[3]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _chinese(user: Any) -> None:
    user.locale = "zh"
    db.session.commit()


def test_a_chinese_salesperson_reads_the_task_in_chinese(org, products, customers, staff, client, login_as):
    _chinese(org.a_rep1)
    order = order_from_quote(org, approved_quote(org, products, customers))
    task = open_task(order, "op_sign")
    zh_title = f"合同订单 {order.number}：登记签约"
    assert task.title == f"Contracting order {order.number}: record the signature"  # the source text is kept
    assert task.texts["zh"]["title"] == zh_title
    assert task.texts["zh"]["instructions"] == (f"客户 {order.customer.name} 签署合同订单 {order.number}，"
                                                f"金额 ¥{order.total:,.2f}。")

    login_as(org.a_rep1)
    inbox = client.get("/tasks/").get_data(as_text=True)
    assert zh_title in inbox and "record the signature" not in inbox
    # The process named in Chinese too; the object by its number in the title, never "订单 #<id>".
    assert "订单流程" in _text(inbox) and f"#{order.id}" not in _text(inbox)
    page = _text(client.get(f"/tasks/{task.id}").get_data(as_text=True))
    assert zh_title in page and f"签署合同订单 {order.number}" in page
    assert "record the signature" not in page and "signs the contracting order" not in page
    order_page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert zh_title in order_page

    # The search looks in the reader's language and in the diagram's.
    assert f"/tasks/{task.id}" in client.get("/tasks/?q=登记签约").get_data(as_text=True)
    assert f"/tasks/{task.id}" in client.get("/tasks/?q=signature").get_data(as_text=True)
    assert f"/tasks/{task.id}" not in client.get("/tasks/?q=出库").get_data(as_text=True)

    # The bell and its e-mail were written in the recipient's language, whoever's request opened the task.
    bell = db.session.scalars(select(Notification).where(Notification.user_id == org.a_rep1.id)
                              .order_by(Notification.id.desc())).first()
    assert bell is not None and bell.title == f"新任务：{zh_title}"
    mail = db.session.scalars(select(EmailOutbox).where(EmailOutbox.user_id == org.a_rep1.id)
                              .order_by(EmailOutbox.id.desc())).first()
    assert mail is None or mail.subject == bell.title


def test_an_english_reader_and_the_other_roles_bells(org, products, customers, staff, client, login_as):
    order = order_from_quote(org, approved_quote(org, products, customers))
    task = open_task(order, "op_sign")
    login_as(org.a_rep1)  # no language of their own: the request's (English here)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"Contracting order {order.number}: record the signature" in page and "登记签约" not in page
    assert f"/tasks/{task.id}" not in client.get("/tasks/?q=登记签约").get_data(as_text=True)

    # A Chinese warehouse keeper gets the outbound's bell in Chinese, the English logistics clerk later in English.
    _chinese(staff["warehouse"])
    from crm.workflow import runtime
    from tests.conftest import collect

    runtime.complete_task(task.id, {}, actor_id=org.a_rep1.id)
    db.session.commit()
    collect(order, staff["finance"], staff["finance2"])
    bells = {n.user_id: n.title for n in db.session.scalars(select(Notification).where(
        Notification.user_id.in_([staff["warehouse"].id, staff["warehouse2"].id])))}
    assert bells[staff["warehouse"].id] == f"新任务：订单 {order.number} 出库"
    assert bells[staff["warehouse2"].id] == f"New task: Outbound of order {order.number}"

    # The sign-off task is done: its "New task" bell is marked read by itself; the open outbound's is not.
    signed = db.session.scalars(select(Notification).where(Notification.url == f"/tasks/{task.id}")).all()
    assert signed and all(n.read_at is not None for n in signed)
    outbound = db.session.scalars(select(Notification).where(Notification.user_id == staff["warehouse2"].id)).all()
    assert outbound and all(n.read_at is None for n in outbound)


@pytest.fixture
def api(org, roles):
    """`api.use` for salespeople, granted before anything caches their permissions."""
    from tests.conftest import grant

    grant(roles["salesperson"], "api.use")
    db.session.commit()
    return org


def test_the_api_answers_in_the_asked_language(api, products, customers, staff, call):
    org = api
    order = order_from_quote(org, approved_quote(org, products, customers))
    task = open_task(order, "op_sign")
    zh = call("GET", f"/api/v1/tasks/{task.id}", org.a_rep1, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()
    en = call("GET", f"/api/v1/tasks/{task.id}", org.a_rep1, headers={"Accept-Language": "en"}).get_json()
    assert zh["title"] == f"合同订单 {order.number}：登记签约" and zh["instructions"].startswith("客户 ")
    assert en["title"] == f"Contracting order {order.number}: record the signature"
    assert en["instructions"].startswith("The customer ")
    listed = call("GET", "/api/v1/tasks?view=mine&q=登记签约", org.a_rep1,
                  headers={"Accept-Language": "zh"}).get_json()["items"]
    assert [t["id"] for t in listed] == [task.id] and listed[0]["title"] == zh["title"]
    tasks = call("GET", f"/api/v1/orders/{order.id}/tasks", org.a_rep1,
                 headers={"Accept-Language": "zh"}).get_json()["items"]
    assert tasks[0]["title"] == zh["title"]
    done = call("POST", f"/api/v1/tasks/{task.id}/complete", org.a_rep1, json={"data": {}},
                headers={"Accept-Language": "zh"}).get_json()
    assert done["title"] == zh["title"]


def test_the_order_history_names_the_steps_in_chinese(org, products, customers, staff, client, login_as):
    _chinese(org.a_rep1)
    order = order_from_quote(org, approved_quote(org, products, customers))
    from crm.workflow import runtime

    runtime.complete_task(open_task(order, "op_sign").id, {"contract_no": "HT-1"}, actor_id=org.a_rep1.id)
    db.session.commit()
    login_as(org.a_rep1)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    history = _text(page[page.index('id="history"'):page.index('id="timeline"')])
    assert f"合同订单 {order.number}：登记签约" in history and "record the signature" not in history


def test_a_process_owners_own_words_stay_as_written(app):
    """Text the catalogue does not know is not translated: no `texts`, the title shows as written."""
    from flask_babel import force_locale

    from crm.workflow.i18n import rendered_texts
    from crm.workflow.inbox_sync import render
    from crm.workflow.models import HumanTask

    with app.test_request_context():
        assert rendered_texts("Check the pallets of {{ n }}", None, {"n": "SO-1"}, render) is None
        texts = rendered_texts("Ship order {{ order_number }}", "Hand the goods to the carrier and enter the "
                               "tracking number.", {"order_number": "SO-1"}, render)
        assert texts == {"zh": {"title": "订单 SO-1 发货", "instructions": "将货物交给承运商，并填写运单号。"}}
        task = HumanTask(title="Ship order SO-1", instructions="Hand …", texts=texts)
        with force_locale("zh"):
            assert (task.shown_title, task.shown_instructions) == ("订单 SO-1 发货", "将货物交给承运商，并填写运单号。")
        with force_locale("en"):
            assert (task.shown_title, task.shown_instructions) == ("Ship order SO-1", "Hand …")
        with force_locale("zh"):
            assert HumanTask(title="Mine", texts=None).shown_title == "Mine"


def test_the_bpmn_extractor_takes_names_and_instructions_only():
    source = (ROOT / "processes/order_pipeline.bpmn").read_bytes()
    found = {message: comments for _line, _fn, message, comments in extract(io.BytesIO(source), [], [], {})}
    assert "Contracting order {{ order_number }}: record the signature" in found
    assert found["Outbound of order {{ order_number }}"] == [
        "Keep the {{ placeholders }} as they are: they are filled from the task data."]
    assert ("Hand the goods to the carrier and enter the tracking number. Consignee: {{ ship_name }}, "
            "{{ ship_phone }}; address: {{ ship_address }}.") in found
    assert "Order pipeline" in found and "Payment mode?" in found and found["Order paid"] == []
    assert "pay before delivery" in found and "not paid yet" in found  # flow labels: the viewers draw them
    # Not the words people do not read: properties, and messages (their names correlate them).
    for technical in ("role", "assignee", "status", "order_paid", "order_cancelled"):
        assert technical not in found, technical
    assert "[bpmn: processes/**.bpmn]" in (ROOT / "babel.cfg").read_text()


def test_the_order_diagram_is_labelled_for_its_reader(org, roles, products, customers, staff, client, login_as):
    """The viewer on the order page draws the names its history uses: filled from the order, in the reader's
    language. The process editor's copy keeps the diagram's own names."""
    from crm.workflow.models import ProcessDefinition
    from tests.factories import UserFactory

    owner = UserFactory(name="Owner", unit=org.units["hq"], roles=[roles["process_owner"]], locale="zh")
    order = order_from_quote(org, approved_quote(org, products, customers))
    login_as(org.a_rep1)
    english = client.get(f"/orders/{order.id}/diagram").get_data(as_text=True)
    assert f'name="Contracting order {order.number}: record the signature"' in english
    assert 'name="Payment mode?"' in english and 'name="Contracting order {{ order_number }}' not in english
    _chinese(org.a_rep1)
    login_as(org.a_rep1)
    chinese = client.get(f"/orders/{order.id}/diagram").get_data(as_text=True)
    assert f'name="合同订单 {order.number}：登记签约"' in chinese and 'name="付款方式？"' in chinese
    assert 'name="先款后货"' in chinese and 'name="pay before delivery"' in english  # flow labels translated
    assert 'name="order_paid"' in chinese  # a message keeps its name: it is what correlates it

    version = db.session.scalars(select(ProcessDefinition.version).where(ProcessDefinition.key == "order_pipeline")
                                 .order_by(ProcessDefinition.version.desc())).first()
    login_as(owner)
    editor = client.get(f"/processes/definitions/order_pipeline/{version}/xml").get_data(as_text=True)
    assert 'name="Contracting order {{ order_number }}: record the signature"' in editor and "付款方式" not in editor


def test_open_tasks_from_before_the_translations_get_them_from_the_command(org, products, customers, staff, app):
    """`flask crm processes retranslate-tasks` renders the open tasks' texts again from each instance's
    state: tasks opened before an upgrade (no texts) or before a catalogue change read in Chinese after it."""
    first = order_from_quote(org, approved_quote(org, products, customers))
    second = order_from_quote(org, approved_quote(org, products, customers))
    old, fresh = open_task(first, "op_sign"), open_task(second, "op_sign")
    expected = dict(fresh.texts)
    old.texts = None  # as opened before the migration
    fresh.texts = {"zh": {"title": "旧的译文"}}  # as opened under an older catalogue
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["crm", "processes", "retranslate-tasks"])
    assert result.exit_code == 0, result.output
    assert "open tasks with new texts: 2" in result.output
    db.session.expire_all()
    assert open_task(first, "op_sign").texts["zh"]["title"] == f"合同订单 {first.number}：登记签约"
    assert open_task(second, "op_sign").texts == expected
    again = app.test_cli_runner().invoke(args=["crm", "processes", "retranslate-tasks"])
    assert "open tasks with new texts: 0" in again.output


def test_a_received_message_is_named_by_the_event_that_caught_it(org, products, customers, staff, client, login_as):
    """The history said "Message received · order_cancelled" (the message's technical name); it names the
    catching event instead, in the reader's language."""
    from crm.sales.orders import services as order_services

    order = order_from_quote(org, approved_quote(org, products, customers))
    order_services.cancel_order(order.id, {"reason": "客户改主意了"}, actor=org.a_rep1)
    db.session.commit()
    login_as(org.a_rep1)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    history = _text(page[page.index('id="history"'):page.index('id="timeline"')])
    # What the message means, not the engine's "Message received" (issue 25).
    assert "Cancelled" in history and "Message received" not in history, history
    assert "order_cancelled" not in history
    _chinese(org.a_rep1)
    login_as(org.a_rep1)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    history = _text(page[page.index('id="history"'):page.index('id="timeline"')])
    assert "已取消" in history and "order_cancelled" not in history


def test_the_process_pages_label_the_orders_status_and_object(org, products, customers, staff, client, login_as):
    """The instance list and page said "contracting" and "order #5"; they use the orders' own labels and name
    the order by its number and customer."""
    from crm.workflow.models import ProcessInstance

    order = order_from_quote(org, approved_quote(org, products, customers))
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.object_type == "order",
                                                                ProcessInstance.object_id == order.id)).one()
    _chinese(org.a_rep1)
    login_as(org.a_rep1)
    listed = _text(client.get("/processes/").get_data(as_text=True))
    assert f"订单 {order.number} · {customers['a'].name}" in listed and "签约中" in listed and "contracting" not in listed
    page = _text(client.get(f"/processes/{instance.id}").get_data(as_text=True))
    assert "签约中" in page and "contracting" not in page
