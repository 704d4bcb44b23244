"""Follow-ups: status columns, the workflow message, the reminder signal (once), the to-follow-up list."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.signals import follow_up_due
from crm.customers import queries
from crm.customers.models import FollowUp
from crm.customers.services import follow_ups
from crm.extensions import db
from crm.workflow.models import UnmatchedMessage
from tests.factories import Org
from tests.factories import make_customer


def test_recording_updates_the_customer_and_sends_the_message(org: Org) -> None:
    c = make_customer(org.a_rep1)
    version = c.lock_version
    next_at = utcnow() + timedelta(days=3)
    fu = follow_ups.record_follow_up(c, {"kind": "phone", "content": "Wants 200 pallets",
                                         "next_contact_at": next_at.isoformat()}, actor=org.a_rep1)
    assert c.last_follow_up_at == fu.occurred_at and c.next_follow_up_at == next_at
    assert c.lock_version == version  # no spurious conflict for someone editing the profile
    # A broadcast to whoever listens (a claim waiting for its return visit): nobody listening is the normal
    # case, not a lost message for the admins' "Unmatched messages".
    assert db.session.scalar(select(UnmatchedMessage).where(UnmatchedMessage.message_name == "follow_up_recorded")) is None


def test_bad_follow_up_input(org: Org) -> None:
    c = make_customer(org.a_rep1)
    with pytest.raises(ValidationFailed) as exc:
        follow_ups.record_follow_up(c, {"kind": "pigeon", "content": "", "next_contact_at": "yesterday"},
                                    actor=org.a_rep1)
    assert set(exc.value.errors) == {"kind", "content", "next_contact_at"}
    with pytest.raises(PermissionDenied):
        follow_ups.record_follow_up(c, {"kind": "phone", "content": "x"}, actor=org.a_rep2)


def test_attachments_are_checked_and_kept(org: Org, app: Any, tmp_path: Any) -> None:
    app.config["TASK_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        c = make_customer(org.a_rep1)
        fu = follow_ups.record_follow_up(c, {"kind": "visit", "content": "Site visit"}, actor=org.a_rep1,
                                         files=[("notes.txt", io.BytesIO(b"pallet sizes 1200x1000"))])
        item, path = follow_ups.get_attachment(c, fu.id, 0)
        assert item["name"] == "notes.txt" and path.read_bytes().startswith(b"pallet")
        with pytest.raises(ValidationFailed):
            follow_ups.record_follow_up(c, {"kind": "visit", "content": "x"}, actor=org.a_rep1,
                                        files=[("evil.exe", io.BytesIO(b"MZ"))])
    finally:
        app.config["TASK_ATTACHMENT_DIR"] = None


def test_reminder_signal_goes_out_once(org: Org) -> None:
    c = make_customer(org.a_rep1)
    due = utcnow() + timedelta(hours=2)
    fu = follow_ups.record_follow_up(c, {"kind": "wechat", "content": "Sent the catalogue",
                                         "next_contact_at": due.isoformat()}, actor=org.a_rep1)
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kw: Any) -> None:
        received.append(kw)

    follow_up_due.connect(receiver)
    try:
        assert follow_ups.send_due_reminders() == 0
        with time_machine.travel(due + timedelta(minutes=1)):
            assert follow_ups.send_due_reminders() == 1
            assert follow_ups.send_due_reminders() == 0
    finally:
        follow_up_due.disconnect(receiver)
    assert received == [{"follow_up_id": fu.id, "customer_id": c.id, "store_id": org.store_a.id,
                         "user_id": org.a_rep1.id, "due_at": due, "customer_name": c.name}]


def test_a_new_follow_up_answers_the_open_reminder(org: Org) -> None:
    c = make_customer(org.a_rep1)
    first = follow_ups.record_follow_up(c, {"kind": "phone", "content": "Call back",
                                            "next_contact_at": (utcnow() + timedelta(hours=1)).isoformat()},
                                        actor=org.a_rep1)
    follow_ups.record_follow_up(c, {"kind": "phone", "content": "Called back early"}, actor=org.a_rep1)
    assert first.reminder_sent_at is not None
    with time_machine.travel(utcnow() + timedelta(hours=2)):
        assert follow_ups.send_due_reminders() == 0


def test_to_follow_up_buckets(org: Org) -> None:
    with time_machine.travel("2026-11-20 02:00:00+00:00", tick=False):  # 10:00 in Shanghai
        overdue, today, later = (make_customer(org.a_rep1) for _ in range(3))
        for c, delta in ((overdue, timedelta(hours=1)), (today, timedelta(days=2, hours=3)),
                         (later, timedelta(days=5))):
            follow_ups.record_follow_up(c, {"kind": "phone", "content": "x",
                                            "next_contact_at": (utcnow() + delta).isoformat()}, actor=org.a_rep1)
    with time_machine.travel("2026-11-22 02:00:00+00:00", tick=False):
        names = {b: [f.customer_id for f in queries.to_follow_up(org.a_rep1, b)] for b in ("overdue", "today", "upcoming")}
        assert names == {"overdue": [overdue.id], "today": [today.id], "upcoming": [later.id]}
        assert queries.to_follow_up(org.a_rep2, "overdue") == []
    assert db.session.scalar(select(FollowUp.id).where(FollowUp.customer_id == later.id))


def test_due_badge_counts_overdue_and_today(org: Org) -> None:
    with time_machine.travel("2026-11-20 02:00:00+00:00", tick=False):
        a, b = make_customer(org.a_rep1), make_customer(org.a_rep1)
        follow_ups.record_follow_up(a, {"kind": "phone", "content": "x",
                                        "next_contact_at": (utcnow() + timedelta(hours=2)).isoformat()}, actor=org.a_rep1)
        follow_ups.record_follow_up(b, {"kind": "phone", "content": "x",
                                        "next_contact_at": (utcnow() + timedelta(days=5)).isoformat()}, actor=org.a_rep1)
        assert queries.due_count(org.a_rep1) == 1
    with time_machine.travel("2026-11-26 02:00:00+00:00", tick=False):
        assert queries.due_count(org.a_rep1) == 2
        assert queries.due_count(org.a_rep2) == 0


def test_the_reminder_reaches_the_author_as_a_notification(org: Org) -> None:
    from sqlalchemy import select

    from crm.extensions import db
    from crm.notify.models import Notification

    c = make_customer(org.a_rep1, name="宏达物流")
    due = utcnow() + timedelta(hours=1)
    follow_ups.record_follow_up(c, {"kind": "phone", "content": "Quote sent", "next_contact_at": due.isoformat()},
                                actor=org.a_rep1)
    with time_machine.travel(due + timedelta(minutes=1)):
        assert follow_ups.send_due_reminders() == 1
    [note] = db.session.scalars(select(Notification).where(Notification.kind == "follow_up_due")).all()
    assert note.user_id == org.a_rep1.id and "宏达物流" in note.title and note.url == f"/customers/{c.id}"
    assert note.store_id == org.store_a.id


def test_the_reminder_is_written_in_the_authors_language(org: Org) -> None:
    """The reminder job runs without a request (the default language, English); each recipient still reads
    it in the language they saved, and the e-mail's subject follows."""
    from sqlalchemy import select

    from crm.extensions import db
    from crm.notify.models import EmailOutbox
    from crm.notify.models import Notification

    org.a_rep1.locale = "zh"
    org.a_rep1.email = "rep1@example.com"
    db.session.flush()
    c = make_customer(org.a_rep1, name="宏达物流")
    d = make_customer(org.a_rep2, name="Second")
    due = utcnow() + timedelta(hours=1)
    for customer, author in ((c, org.a_rep1), (d, org.a_rep2)):
        follow_ups.record_follow_up(customer, {"kind": "phone", "content": "x", "next_contact_at": due.isoformat()},
                                    actor=author)
    with time_machine.travel(due + timedelta(minutes=1)):
        assert follow_ups.send_due_reminders() == 2
    notes = {n.user_id: n.title for n in db.session.scalars(select(Notification).where(
        Notification.kind == "follow_up_due"))}
    assert notes[org.a_rep1.id] == "现在该跟进 宏达物流 了"
    assert notes[org.a_rep2.id] == "Follow up with Second now"
    mail = db.session.scalars(select(EmailOutbox).where(EmailOutbox.user_id == org.a_rep1.id)).one()
    assert mail.subject == notes[org.a_rep1.id]
