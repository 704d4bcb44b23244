"""E-mail over a real local SMTP server (aiosmtpd): delivered by the job after commit, nothing for a
rolled-back action, retried with backoff while the server is down. Announcements reach only their
audience: a store-A user never sees store B's."""

from __future__ import annotations

import contextlib
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import load_input
from crm.extensions import db
from crm.notify import queries
from crm.notify import services
from crm.notify.models import EmailOutbox
from crm.notify.models import EmailStatus
from crm.notify.schemas import AnnouncementInput


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    port = free_port()
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    old = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    controller.start()
    handler.controller = controller
    yield handler
    with contextlib.suppress(Exception):  # a test may have stopped it already
        controller.stop()
    app.config.update(old)


def test_e_mail_is_delivered_to_the_smtp_server_after_commit(org, smtp):
    services.notify([org.a_sup.id], "approval_requested", "Approval requested: Expense 7", body="Step: Team",
                    url="/approvals/")
    db.session.commit()
    assert smtp.messages == []  # nothing is sent inside the action's transaction
    result = services.send_due_emails()
    db.session.commit()
    assert result == {"sent": 1, "retry": 0, "failed": 0}
    [(to, content)] = smtp.messages
    assert to == [org.a_sup.email]
    assert "Subject: Approval requested: Expense 7" in content and "Step: Team" in content
    row = db.session.scalars(select(EmailOutbox)).one()
    assert row.status == EmailStatus.SENT and row.attempts == 1
    assert services.send_due_emails() == {"sent": 0, "retry": 0, "failed": 0}  # never twice


def test_a_rolled_back_action_sends_nothing(org, smtp):
    savepoint = db.session.begin_nested()
    services.notify([org.a_sup.id], "approval_requested", "Never sent")
    savepoint.rollback()
    assert services.send_due_emails() == {"sent": 0, "retry": 0, "failed": 0}
    assert smtp.messages == []


def test_retry_with_backoff_after_the_server_was_down(org, app):
    port = free_port()  # nobody listens yet: the server is down
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    try:
        services.notify([org.a_sup.id], "approval_reminder", "Reminder")
        db.session.commit()
        now = utcnow()
        assert services.send_due_emails(now=now) == {"sent": 0, "retry": 1, "failed": 0}
        row = db.session.scalars(select(EmailOutbox)).one()
        assert row.status == EmailStatus.PENDING and row.attempts == 1 and row.last_error
        assert row.next_attempt_at == now + timedelta(minutes=1)
        controller.start()
        # Not yet due: the backoff holds it back even though the server is up again.
        assert services.send_due_emails(now=now + timedelta(seconds=30)) == {"sent": 0, "retry": 0, "failed": 0}
        assert services.send_due_emails(now=now + timedelta(minutes=1)) == {"sent": 1, "retry": 0, "failed": 0}
        assert len(handler.messages) == 1
        db.session.refresh(row)
        assert row.status == EmailStatus.SENT and row.attempts == 2 and row.last_error is None
    finally:
        with contextlib.suppress(Exception):  # never started if an assertion failed early
            controller.stop()
        app.config.update(SMTP_HOST=None, SMTP_PORT=25)


def test_gives_up_after_the_last_attempt(org, app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nobody listens
    try:
        services.notify([org.a_sup.id], "approval_reminder", "Reminder")
        now = utcnow()
        for i in range(services.MAX_ATTEMPTS):
            services.send_due_emails(now=now + timedelta(days=i))
        row = db.session.scalars(select(EmailOutbox)).one()
        assert row.status == EmailStatus.FAILED and row.attempts == services.MAX_ATTEMPTS
    finally:
        app.config.update(SMTP_HOST=None, SMTP_PORT=25)


def test_preferences_switch_e_mail_off(org):
    services.set_preference("approval_reminder", actor=org.a_sup, in_app=True, email=False)
    services.notify([org.a_sup.id], "approval_reminder", "Reminder")
    assert db.session.scalars(select(EmailOutbox)).all() == []
    assert queries.unread_count(org.a_sup) == 1
    services.mark_all_read(actor=org.a_sup)
    assert queries.unread_count(org.a_sup) == 0


def test_notifications_are_private(org):
    [n] = services.notify([org.a_sup.id], "approval_requested", "Yours")
    with pytest.raises(NotFound):
        services.mark_read(n.id, actor=org.b_sup)
    services.mark_read(n.id, actor=org.a_sup)
    assert queries.unread_count(org.a_sup) == 0


# Announcements --------------------------------------------------------------------------------------------
def titles(user):
    return [a.title for a in queries.home_announcements(user)]


def test_store_announcements_reach_only_their_store(org):
    services.publish_announcement({"title": "A only", "body": "x", "audience": "unit", "unit_id": org.store_a.id},
                                  actor=org.a_manager)
    b = services.publish_announcement({"title": "B only", "body": "y", "audience": "unit",
                                       "unit_id": org.store_b.id}, actor=org.b_manager)
    services.publish_announcement({"title": "Everyone", "body": "z", "audience": "all", "pinned": True},
                                  actor=org.hq_manager)
    services.publish_announcement({"title": "East", "body": "e", "audience": "unit", "unit_id": org.east.id},
                                  actor=org.east_manager)
    assert titles(org.a_rep1) == ["Everyone", "East", "A only"]
    assert titles(org.b_rep) == ["Everyone", "East", "B only"]
    assert titles(org.c_rep) == ["Everyone"]
    with pytest.raises(NotFound):
        queries.announcement_for(b.id, org.a_rep1)
    with pytest.raises(NotFound):
        services.mark_announcement_read(b.id, actor=org.a_rep1)


def test_a_store_manager_cannot_address_another_store_or_everyone(org):
    with pytest.raises(ValidationFailed) as exc:
        services.publish_announcement({"title": "t", "body": "b", "audience": "unit", "unit_id": org.store_b.id},
                                      actor=org.a_manager)
    assert "unit_id" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        services.publish_announcement({"title": "t", "body": "b", "audience": "all"}, actor=org.a_manager)
    assert "audience" in exc.value.errors
    with pytest.raises(PermissionDenied):
        services.publish_announcement({"title": "t", "body": "b", "audience": "all"}, actor=org.a_rep1)


def test_roles_users_time_window_and_read_receipts(org):
    sup = services.publish_announcement({"title": "Supervisors of A", "body": "b", "audience": "role",
                                         "role_key": "supervisor", "unit_id": org.store_a.id}, actor=org.a_manager)
    services.publish_announcement({"title": "For rep two", "body": "b", "audience": "users",
                                   "user_ids": f"{org.a_rep2.id}"}, actor=org.a_manager)
    services.publish_announcement({"title": "Later", "body": "b", "audience": "unit", "unit_id": org.store_a.id,
                                   "publish_at": utcnow() + timedelta(days=1)}, actor=org.a_manager)
    services.publish_announcement({"title": "Expired", "body": "b", "audience": "unit", "unit_id": org.store_a.id,
                                   "publish_at": utcnow() - timedelta(days=2),
                                   "expires_at": utcnow() - timedelta(days=1)}, actor=org.a_manager)
    assert titles(org.a_sup) == ["Supervisors of A"]
    assert titles(org.b_sup) == []
    assert titles(org.a_rep2) == ["For rep two"]
    assert titles(org.a_rep1) == []
    services.mark_announcement_read(sup.id, actor=org.a_sup)
    assert titles(org.a_sup) == []
    assert [u.id for u, _ in queries.read_receipts(sup.id, org.a_manager)] == [org.a_sup.id]


def test_one_input_schema_for_the_page_and_the_api(org):
    """AnnouncementInput checks the form; the service checks the scope and answers both at once."""
    loaded = load_input(AnnouncementInput(), {"title": "", "body": "b", "audience": "unit", "unit_id": org.store_b.id,
                                              "user_ids": "x"})  # user ids count for the audience `users` only
    assert set(loaded.errors) == {"title"} and loaded.values["pinned"] is False and loaded.values["user_ids"] == []
    with pytest.raises(ValidationFailed) as exc:
        services.publish_announcement(loaded, actor=org.a_manager)
    assert set(exc.value.errors) == {"title", "unit_id"}


def test_a_new_inbox_task_notifies_its_candidates(org):
    from tests.conftest import deploy_inbox_process
    from tests.conftest import start_review

    deploy_inbox_process()
    task = start_review(org.store_a, order_no="SO-77", candidates=[org.a_rep2])
    notes = queries.notifications(org.a_rep2).items
    assert [(n.kind, n.url) for n in notes] == [("task_assigned", f"/tasks/{task.id}")]
    assert "SO-77" in notes[0].title
    assert queries.notifications(org.b_rep).items == []


def test_a_new_tasks_recipients_are_read_with_its_candidates_and_keep_their_preferences(org):
    from tests.conftest import deploy_inbox_process
    from tests.conftest import start_review
    from tests.conftest import statements

    deploy_inbox_process()
    org.a_rep2.email, org.a_sup.email = "rep2@example.com", "sup@example.com"
    services.set_preference("task_assigned", actor=org.a_sup, in_app=False, email=True)
    db.session.commit()
    with statements() as seen:
        start_review(org.store_a, order_no="SO-78", candidates=[org.a_rep2, org.a_sup])
    # The users are read for their candidacy (the lane's supervisors, then the named users who are not) with
    # their address, language and preference in the same statements: no read of the recipients after.
    reads = [s for s in seen if s.startswith("SELECT") and "user.active" in s.replace('"', "")]
    assert len(reads) == 2 and all("notification_preference" in s for s in reads)
    assert len(queries.notifications(org.a_rep2).items) == 1 and queries.notifications(org.a_sup).items == []
    mails = db.session.scalars(select(EmailOutbox).order_by(EmailOutbox.to_address)).all()
    assert [m.to_address for m in mails] == ["rep2@example.com", "sup@example.com"]


def test_publish_page_offers_only_units_in_scope_and_shows_errors(org, client, login_as):
    from tests.conftest import csrf

    login_as(org.a_manager)
    page = client.get("/notifications/announcements").get_data(as_text=True)
    assert "Store A" in page and "Store B" not in page
    token = csrf(client, "/notifications/announcements")
    r = client.post("/notifications/announcements", data={"csrf_token": token, "title": "", "body": "x",
                                                          "audience": "unit", "unit_id": str(org.store_b.id)})
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "Enter a title." in body and "Choose an org unit within your scope." in body
    r = client.post("/notifications/announcements", data={"csrf_token": token, "title": "Meeting", "body": "Thu",
                                                          "audience": "unit", "unit_id": str(org.store_a.id),
                                                          "publish_at": "2020-01-01T09:00"})
    assert r.status_code == 302
    login_as(org.a_rep1)
    assert "Meeting" in client.get("/").get_data(as_text=True)  # on the home page until read
