"""Bells and approval summaries in the reader's language: a notification keeps its message as catalogue
keys and parameters and is rendered when read, so the same bell reads in English to one person and in
Chinese to another (and follows a person who switches). Bells and summaries written before, as plain
text, are shown in the reader's language where the catalogue recognises the text, else as written."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.approvals.models import ApprovalRequest
from crm.core.i18n import frozen
from crm.core.i18n import later
from crm.core.i18n import recognised
from crm.core.i18n import rendered
from crm.extensions import db
from crm.notify.models import EmailOutbox
from crm.notify.models import Notification
from crm.notify.services import notify
from tests.sales.conftest import line
from tests.sales.conftest import submitted


def _bells(client) -> str:
    return client.get("/notifications/").get_data(as_text=True)


def test_the_same_notification_reads_in_english_to_one_reader_and_in_chinese_to_another(org, login_as, call):
    english, chinese = org.a_rep1, org.a_rep2
    english.locale, chinese.locale = "en", "zh"
    title = _l("Approval requested: %(title)s",
               title=later(frozen(_l("Quote %(number)s v%(version)s", number="Q-2026-0001", version=2))))
    notify([english.id, chinese.id], "approval_requested", title, body=_l("Step: %(step)s", step="经理"),
           url="/approvals/", store_id=org.store_a.id)
    db.session.commit()
    kept = db.session.scalars(select(Notification).where(Notification.kind == "approval_requested")).all()
    assert len(kept) == 2 and all(n.message["title"]["msgid"] == "Approval requested: %(title)s" for n in kept)
    page = _bells(login_as(english))
    assert "Approval requested: Quote Q-2026-0001 v2" in page and "Step: 经理" in page
    page = _bells(login_as(chinese))
    assert "待您审批：报价单 Q-2026-0001 第 2 版" in page and "步骤：经理" in page
    assert "Approval requested" not in page
    # The API answers in the caller's language too, and a reader who switches reads it in the new one.
    en = call("GET", "/api/v1/notifications", chinese, headers={"Accept-Language": "en"}).get_json()["items"]
    assert en[0]["title"] == "Approval requested: Quote Q-2026-0001 v2" and en[0]["body"] == "Step: 经理"
    zh = call("GET", "/api/v1/notifications", english, headers={"Accept-Language": "zh"}).get_json()["items"]
    assert zh[0]["title"] == "待您审批：报价单 Q-2026-0001 第 2 版"
    # The e-mail went out once, in each recipient's language.
    subjects = {m.user_id: m.subject for m in db.session.scalars(select(EmailOutbox))}
    assert subjects[chinese.id] == "待您审批：报价单 Q-2026-0001 第 2 版"
    assert subjects[english.id] == "Approval requested: Quote Q-2026-0001 v2"


def test_bells_written_before_as_plain_text_read_in_the_readers_language_where_the_catalogue_knows_them(
        org, login_as):
    reader = org.a_rep2
    reader.locale = "zh"
    for title, body in (("Approval requested: Quote Q-7 v1", "Step: Manager"),  # written in English before
                        ("新任务：Sign the order", None),  # in Chinese, read now by an English reader below
                        ("Something the catalogue never had", "Words of a colleague")):
        db.session.add(Notification(user_id=reader.id, kind="approval_requested", title=title, body=body))
    db.session.commit()
    page = _bells(login_as(reader))
    assert "待您审批：报价单 Q-7 第 1 版" in page and "步骤：Manager" in page
    assert "Something the catalogue never had" in page and "Words of a colleague" in page
    reader.locale = "en"
    db.session.commit()
    page = _bells(login_as(reader))
    assert "New task: Sign the order" in page and "Approval requested: Quote Q-7 v1" in page


def test_recognition_takes_the_most_specific_template_and_leaves_unknown_text_alone(app):
    with app.test_request_context(), force_locale("zh"):
        assert recognised("Your request was rejected: Quote Q-1 v3") == "您的申请被驳回：报价单 Q-1 第 3 版"
        assert recognised("Customer") == "客户"
        assert recognised("Zhang San: too cheap") == "Zhang San: too cheap"  # "%(name)s: %(reason)s" is too loose
        assert recognised("") == "" and recognised(None) is None
        assert rendered({"texts": {"en": "Sign", "zh": "签约"}}) == "签约"
        assert rendered(frozen(_l("Approval requested: %(title)s", title="X"))) == "待您审批：X"


@pytest.mark.usefixtures("quote_process")
def test_an_approval_summary_reads_in_the_approvers_language(org, products, customers, login_as, call):
    org.a_rep1.locale = "en"
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "85.00", 2))
    request = db.session.scalar(select(ApprovalRequest).where(ApprovalRequest.object_type == "quote",
                                                               ApprovalRequest.object_id == q.id))
    assert request.summary["i18n"]["title"]["msgid"] == "Quote %(number)s v%(version)s"
    org.a_sup.locale = "zh"
    db.session.commit()
    page = login_as(org.a_sup).get("/approvals/").get_data(as_text=True)
    assert f"报价单 {q.number} 第 1 版" in page and "整单折扣率" in page and ">产品</th>" in page
    assert "Overall discount rate" not in page
    page = login_as(org.a_sup).get(f"/approvals/requests/{request.id}").get_data(as_text=True)
    assert f"报价单 {q.number} 第 1 版" in page
    body = call("GET", f"/api/v1/approvals/requests/{request.id}", org.a_sup,
                headers={"Accept-Language": "en"}).get_json()
    assert body["summary"]["title"] == f"Quote {q.number} v1" and "i18n" not in body["summary"]
    assert "Overall discount rate" in [label for label, _value in body["summary"]["lines"]]
    # A summary written before its words were kept: its labels in the reader's language, its values as written.
    request.summary = {"title": f"Quote {q.number} v1", "type_label": "Quote",
                       "lines": [["Customer", "Acme 公司"], ["Total", "¥170.00 / ¥200.00"]]}
    db.session.commit()
    page = login_as(org.a_sup).get(f"/approvals/requests/{request.id}").get_data(as_text=True)
    assert f"报价单 {q.number} 第 1 版" in page and ">客户</dt>" in page and "Acme 公司" in page
