"""The kanban digest: a manager subscribes on the page; the job e-mails each subscriber their own kanban
(daily: yesterday; weekly: on Mondays, the last 7 days) through the outbox, once a day however often it
runs; unsubscribing stops it; bad input names the field."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from sqlalchemy import select

from crm.core.errors import ValidationFailed
from crm.dashboard.kanban import digest
from crm.dashboard.kanban import jobs
from crm.extensions import db
from crm.notify.models import EmailOutbox
from tests.conftest import post
from tests.dashboard.kanban.conftest import at


def _mails(user):
    return list(db.session.scalars(select(EmailOutbox).where(EmailOutbox.user_id == user.id)))


def test_daily_and_weekly_digests(org, world, login_as):
    org.a_manager.email, org.a_rep1.email = "a.manager@example.com", "a.rep1@example.com"
    db.session.commit()
    client = login_as(org.a_manager)
    assert post(client, "/kanban/digest", {"frequency": "daily"}).status_code == 302
    digest.subscribe({"frequency": "weekly"}, actor=org.a_rep1)
    db.session.commit()
    with time_machine.travel(at("2026-11-07 07:59"), tick=False):  # Saturday, before the hour: nothing
        assert jobs.send_digests() == 0
    with time_machine.travel(at("2026-11-07 09:00"), tick=False):  # Saturday: the daily one only
        assert jobs.send_digests() == 1
        assert jobs.send_digests() == 0  # once a day
        db.session.commit()
    [mail] = _mails(org.a_manager)
    assert "2026-11-06 to 2026-11-06" in mail.body and "Transaction amount: 400.00" in mail.body
    assert "/kanban/?window=custom&date_from=2026-11-06" in mail.body
    assert _mails(org.a_rep1) == []
    with time_machine.travel(at("2026-11-09 08:30"), tick=False):  # Monday: both
        assert jobs.send_digests() == 2
        db.session.commit()
    [weekly] = _mails(org.a_rep1)
    assert "2026-11-02 to 2026-11-08" in weekly.body and "Transaction amount: 580.00" in weekly.body  # their own: 200 + 300 + 80
    digest.subscribe({"frequency": "off"}, actor=org.a_manager)
    assert digest.send_digests(date(2026, 11, 10)) == 0


def test_bad_frequency_names_the_field(org):
    with pytest.raises(ValidationFailed) as exc:
        digest.subscribe({"frequency": "hourly"}, actor=org.a_manager)
    assert "frequency" in exc.value.errors
