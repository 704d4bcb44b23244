"""The write-behind queue (crm.core.deferred): what is queued is read back by whatever reads its tables in
the same transaction, is written by the commit, is dropped with a savepoint that rolls back and is kept
by one that is released; PostgreSQL gets the whole queue as one statement with the column types intact."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy import update

from crm.core.clock import utcnow
from crm.core.deferred import defer
from crm.core.deferred import defer_insert
from crm.core.deferred import flush_deferred
from crm.core.deferred import pending
from crm.extensions import db
from crm.notify.models import EmailOutbox
from crm.notify.models import EmailStatus
from crm.notify.models import Notification
from tests.conftest import statements

BELLS = Notification.__table__


def _bell(user_id: int, title: str, **extra) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return {"user_id": user_id, "store_id": None, "kind": "announcement", "title": title, "body": None,
            "url": None, "message": None, "created_at": utcnow(), **extra}


def _titles(user_id: int) -> list[str]:
    return list(db.session.scalars(select(Notification.title).where(Notification.user_id == user_id)
                                   .order_by(Notification.id)))


def test_a_read_of_a_queued_table_sees_the_rows_and_other_reads_leave_the_queue(org):
    defer_insert(db.session, BELLS, [_bell(org.a_rep1.id, "one"), _bell(org.a_rep1.id, "two")])
    with statements() as seen:
        db.session.get(type(org.a_rep2), org.a_rep2.id, populate_existing=True)  # another table
    assert pending(db.session) and not [s for s in seen if "notification" in s]
    assert _titles(org.a_rep1.id) == ["one", "two"]  # sent first, in order
    assert not pending(db.session)


def test_the_commit_writes_the_queue_and_a_rolled_back_savepoint_drops_its_part(org):
    defer_insert(db.session, BELLS, [_bell(org.a_rep1.id, "before the savepoint")])
    savepoint = db.session.begin_nested()  # sends what the queue held: it is not the savepoint's to drop
    assert not pending(db.session)
    defer_insert(db.session, BELLS, [_bell(org.a_rep1.id, "in the savepoint")])
    savepoint.rollback()
    assert not pending(db.session)
    with db.session.begin_nested():
        defer_insert(db.session, BELLS, [_bell(org.a_rep1.id, "in a released savepoint")])
    defer_insert(db.session, BELLS, [_bell(org.a_rep1.id, "at the commit")])
    db.session.commit()
    assert _titles(org.a_rep1.id) == ["before the savepoint", "in a released savepoint", "at the commit"]


def test_a_rolled_back_transaction_drops_the_queue(org):
    defer_insert(db.session, BELLS, [_bell(org.a_rep1.id, "lost")])
    db.session.rollback()
    assert not pending(db.session)
    assert _titles(org.a_rep1.id) == []


def test_an_update_that_reads_what_the_queue_inserts_sees_it(org):
    """Within one PostgreSQL statement the parts would not see each other: the queue is sent first."""
    defer_insert(db.session, BELLS, [_bell(org.a_rep1.id, "to be read")])
    defer(db.session, update(BELLS).where(BELLS.c.user_id == org.a_rep1.id).values(read_at=utcnow()))
    flush_deferred(db.session)
    assert db.session.scalar(select(Notification.read_at).where(Notification.user_id == org.a_rep1.id)) is not None


def test_one_statement_on_postgresql_with_json_times_and_enums_as_written_one_by_one(org):
    at = utcnow() - timedelta(hours=1)
    defer_insert(db.session, BELLS, [_bell(org.a_rep1.id, "kept", message={"title": ["k", {}]}, created_at=at),
                                     _bell(org.a_rep2.id, "plain")])
    defer_insert(db.session, EmailOutbox.__table__, [
        {"user_id": org.a_rep1.id, "to_address": "a@example.com", "subject": "s", "body": "b",
         "status": EmailStatus.PENDING, "attempts": 0, "created_at": at, "next_attempt_at": at}])
    with statements() as seen:
        flush_deferred(db.session)
    writes = [s for s in seen if not s.startswith(("SAVEPOINT", "RELEASE"))]
    assert len(writes) == (1 if db.engine.dialect.name == "postgresql" else 2), writes
    kept, plain = db.session.scalars(select(Notification).where(Notification.title.in_(["kept", "plain"]))
                                     .order_by(Notification.id)).all()
    assert kept.message == {"title": ["k", {}]} and kept.created_at == at and plain.message is None
    mail = db.session.scalar(select(EmailOutbox).where(EmailOutbox.to_address == "a@example.com"))
    assert mail.status == EmailStatus.PENDING and mail.next_attempt_at == at
