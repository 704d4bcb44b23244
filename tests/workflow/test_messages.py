"""Messages: routed by (name, object reference) through subscriptions, payload into the waiting
instance's data, only to the instances waiting about that object; a message nobody waits for is stored
as unmatched (never dropped)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.workflow import locks
from crm.workflow import runtime
from crm.workflow.admin import repair
from crm.workflow.models import InstanceStatus
from crm.workflow.models import MessageSubscription
from crm.workflow.models import UnmatchedMessage
from tests.conftest import statements
from tests.workflow.conftest import data
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload


@pytest.fixture
def case(org, deploy):
    deploy("lifecycle")

    def _start(object_id):
        instance = runtime.start("wf_case", object_type="ticket", object_id=object_id, store_id=org.store_a.id,
                                 actor_id=org.a_rep1.id)
        db.session.commit()
        return instance

    return _start


def subscriptions(instance):
    return db.session.scalars(select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)).all()


def unmatched(name):
    return db.session.scalars(select(UnmatchedMessage).where(UnmatchedMessage.message_name == name)
                              .order_by(UnmatchedMessage.id)).all()


def test_a_caller_holding_every_instance_of_the_object_is_answered_from_them(case, org):
    # A service that locked every instance about its object (`lock_instances_of`) sends without reading the
    # subscriptions again; an instance started about that object since is still reached.
    a, other = case(7), case(8)
    held = locks.lock_instances_of("ticket", 7)
    assert [i.id for i in held] == [a.id]
    b = runtime.start("wf_case", object_type="ticket", object_id=7, store_id=org.store_a.id, actor_id=org.a_rep1.id)
    delivered = runtime.send_message("customer_replied", "ticket", 7, {"text": "thanks"}, actor_id=org.a_rep1.id)
    assert delivered == [a.id, b.id]
    held = locks.lock_instances_of("ticket", 7)
    with statements() as seen:
        assert runtime.send_message("customer_replied", "ticket", 7, {}, actor_id=org.a_rep1.id) == []
    assert not [s for s in seen if "message_subscription" in s]
    db.session.commit()
    assert kinds(a) == kinds(b) == ["created", "message_received"] and kinds(other) == ["created"]


def test_message_reaches_only_the_instances_waiting_about_that_object(case, org):
    a, b, other = case(7), case(7), case(8)
    [sub] = subscriptions(a)
    assert (sub.message_name, sub.object_type, sub.object_id) == ("customer_replied", "ticket", 7)
    delivered = runtime.send_message("customer_replied", "ticket", 7, {"text": "thanks"}, actor_id=org.a_rep1.id)
    db.session.commit()
    assert delivered == [a.id, b.id]
    for instance in (a, b):
        assert subscriptions(instance) == []
        assert kinds(instance) == ["created", "message_received"]
        assert reload(instance).status == InstanceStatus.RUNNING  # the user task still holds the join
    assert len(subscriptions(other)) == 1 and kinds(other) == ["created"]
    assert unmatched("customer_replied") == []
    # The payload lands in the variable the catch event names.
    runtime.complete_task(one_task(a, "work").id, {}, actor_id=org.a_sup.id)
    db.session.commit()
    assert reload(a).status == InstanceStatus.COMPLETED
    assert data(a)["reply"] == {"text": "thanks"}


def test_unmatched_messages_are_stored(case, org):
    instance = case(9)
    assert runtime.send_message("customer_replied", "ticket", 999, {"text": "who?"}, actor_id=org.a_rep1.id,
                                store_id=org.store_a.id) == []
    assert runtime.send_message("no_such_message", "ticket", 9, {}) == []
    assert runtime.send_message("customer_replied", "order", 9, {}) == []  # same id, another kind of object
    db.session.commit()
    [stored] = unmatched("customer_replied")[:1]
    assert (stored.object_type, stored.object_id, stored.payload) == ("ticket", 999, {"text": "who?"})
    assert stored.sent_by_id == org.a_rep1.id and stored.store_id == org.store_a.id
    assert len(unmatched("customer_replied")) == 2 and len(unmatched("no_such_message")) == 1
    assert kinds(instance) == ["created"]  # nothing reached the waiting instance of ticket 9


def test_a_broadcast_nobody_listens_to_is_not_an_unmatched_message_but_still_reaches_a_listener(case, org):
    instance = case(11)
    assert runtime.send_message("customer_replied", "ticket", 998, {"text": "fyi"}, broadcast=True) == []
    assert runtime.send_message("customer_replied", "ticket", 11, {"text": "heard"}, broadcast=True) == [instance.id]
    db.session.commit()
    assert unmatched("customer_replied") == []
    assert data(reload(instance))["reply"] == {"text": "heard"}


def test_a_second_message_is_stored_once_the_instance_stopped_waiting(case):
    instance = case(10)
    assert runtime.send_message("customer_replied", "ticket", 10, {"n": 1}) == [instance.id]
    assert runtime.send_message("customer_replied", "ticket", 10, {"n": 2}) == []
    db.session.commit()
    assert [m.payload for m in unmatched("customer_replied")] == [{"n": 2}]
    assert kinds(instance) == ["created", "message_received"]


def test_a_message_to_a_suspended_instance_is_kept_and_delivered_on_resume(case, org):
    instance = case(11)
    repair.suspend(instance.id, actor_id=org.hq_admin.id)
    db.session.commit()
    assert runtime.send_message("customer_replied", "ticket", 11, {"text": "later"}, actor_id=org.a_rep1.id) == []
    db.session.commit()
    assert unmatched("customer_replied") == []  # kept on the instance, not stored as nobody's
    assert kinds(instance)[-1] == "message_held" and len(subscriptions(instance)) == 1

    repair.resume(instance.id, actor_id=org.hq_admin.id)
    db.session.commit()
    assert kinds(instance)[-3:] == ["message_held", "resumed", "message_received"]
    assert subscriptions(instance) == []
    # Delivered once: a second resume cycle does not deliver it again.
    repair.suspend(instance.id, actor_id=org.hq_admin.id)
    repair.resume(instance.id, actor_id=org.hq_admin.id)
    db.session.commit()
    assert kinds(instance).count("message_received") == 1
    runtime.complete_task(one_task(instance, "work").id, {}, actor_id=org.a_sup.id)
    db.session.commit()
    assert reload(instance).status == InstanceStatus.COMPLETED
    assert data(instance)["reply"] == {"text": "later"}
