"""Customer services: dedup and its messages, visibility through the team, transfer, lock, contacts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.auth.scopes import get_visible
from crm.core import ownership
from crm.core.audit import OperationLog
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.customers import services
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import TeamAccess
from crm.extensions import db
from crm.org import services as org_services
from tests.factories import Org
from tests.factories import make_customer
from tests.factories import mobile


@pytest.mark.parametrize("typed", ["138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "0086 13800138000",
                                   "１３８００１３８０００", "(138) 0013 8000"])
def test_mobile_is_normalised_before_the_dedup(org: Org, typed: str) -> None:
    make_customer(org.a_rep1, mobile="13800138000")
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.a_rep1, mobile=typed)
    assert "mobile" in exc.value.errors


def test_chat_id_is_normalised_and_checked_on_its_own(org: Org) -> None:
    make_customer(org.a_rep1, mobile="", chat_id="Pallet_Boss")
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.a_rep1, chat_id=" pallet_boss ")
    assert set(exc.value.errors) == {"chat_id"}


def test_same_mobile_in_another_store_is_allowed(org: Org) -> None:
    make_customer(org.a_rep1, mobile="13800138001")
    other = make_customer(org.b_rep, mobile="13800138001")
    assert other.store_id == org.store_b.id


def test_conflict_names_what_the_actor_may_see_and_no_more(org: Org) -> None:
    mine = make_customer(org.a_rep1, name="Secret Pallets Ltd", mobile="13800138002")
    # The owner sees the record; another salesperson learns only who owns it.
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.a_rep1, mobile="13800138002")
    assert "Secret Pallets Ltd" in exc.value.errors["mobile"][0] and "owned by you" in exc.value.errors["mobile"][0]
    with pytest.raises(services.DuplicateCustomer) as exc2:
        make_customer(org.a_rep2, mobile="13800138002")
    message = exc2.value.errors["mobile"][0]
    assert "Secret Pallets" not in message and str(mine.id) not in message
    assert "owned by A Rep One" in message
    assert exc2.value.visible_ids == []
    # The store manager sees it: name, number and owner.
    with pytest.raises(services.DuplicateCustomer) as exc3:
        make_customer(org.a_manager, mobile="13800138002")
    assert "Secret Pallets Ltd" in exc3.value.errors["mobile"][0] and exc3.value.visible_ids == [mine.id]


def test_conflict_with_a_pool_customer_says_high_seas(org: Org) -> None:
    c = make_customer(org.a_manager, mobile="13800138003", owner_id="pool")
    assert c.owner_id is None
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.a_rep1, mobile="13800138003")
    assert "high seas" in exc.value.errors["mobile"][0]


def test_bad_input_names_each_field(org: Org) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.create_customer({"name": "", "mobile": "12345", "email": "nope", "level": "z",
                                  "chat_id": "!", "tags": "x" * 30}, actor=org.a_rep1)
    assert set(exc.value.errors) >= {"name", "mobile", "email", "level", "chat_id", "tags"}
    with pytest.raises(ValidationFailed) as exc:
        services.create_customer({"name": "No keys"}, actor=org.a_rep1)
    assert "mobile" in exc.value.errors


def test_unique_index_holds_even_without_the_service_check(org: Org) -> None:
    make_customer(org.a_rep1, mobile="13800138004")
    with pytest.raises(Conflict):
        services.create_customer({"name": "Race", "mobile": "13800138004"}, actor=org.a_rep2, check_dupes=False)


def test_hq_user_must_choose_a_visible_store(org: Org) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.create_customer({"name": "X", "mobile": mobile()}, actor=org.hq_admin)
    assert "store_id" in exc.value.errors
    c = services.create_customer({"name": "X", "mobile": mobile(), "store_id": org.store_b.id}, actor=org.hq_admin)
    assert c.store_id == org.store_b.id and c.owner_id is None
    with pytest.raises(ValidationFailed):
        services.create_customer({"name": "Y", "mobile": mobile(), "store_id": org.store_b.id,
                                  "owner_id": org.a_rep1.id}, actor=org.hq_admin)


def test_visibility_self_scope_and_team_with_expiry(org: Org) -> None:
    c = make_customer(org.a_rep1)
    with pytest.raises(NotFound):
        get_visible(Customer, c.id, org.a_rep2)
    with pytest.raises(NotFound):
        get_visible(Customer, c.id, org.b_manager)
    assert get_visible(Customer, c.id, org.a_sup) is c  # supervisor chain
    expiry = utcnow() + timedelta(days=2)
    services.add_team_member(c, org.a_rep2.id, "read", expiry.isoformat(), actor=org.a_rep1)
    org.a_rep2.__dict__.pop("_scope_context", None)
    assert get_visible(Customer, c.id, org.a_rep2).id == c.id
    assert not services.can_edit(c, org.a_rep2)
    services.add_team_member(c, org.a_rep2.id, "write", None, actor=org.a_rep1)
    assert services.can_edit(c, org.a_rep2)
    services.add_team_member(c, org.a_rep2.id, "read", expiry.isoformat(), actor=org.a_rep1)
    with time_machine.travel(expiry + timedelta(minutes=1)), pytest.raises(NotFound):
        get_visible(Customer, c.id, org.a_rep2)


def test_team_members_come_from_the_customer_store(org: Org) -> None:
    c = make_customer(org.a_rep1)
    with pytest.raises(ValidationFailed):
        services.add_team_member(c, org.b_rep.id, "read", None, actor=org.a_rep1)
    with pytest.raises(ValidationFailed):
        services.add_team_member(c, org.a_rep2.id, "read", "2001-01-01T00:00", actor=org.a_rep1)


def test_transfer_with_contacts_and_old_owner_kept(org: Org) -> None:
    c = make_customer(org.a_rep1)
    services.add_contact(c, {"name": "Buyer", "mobile": "13900001111"}, actor=org.a_rep1)
    with pytest.raises(PermissionDenied):
        services.transfer([c], org.a_rep2.id, actor=org.a_rep1)  # salespeople hold no customer.transfer
    services.transfer([c], org.a_rep2.id, actor=org.a_sup, keep_old_owner=True, reason="Rep moves to key accounts")
    assert c.owner_id == org.a_rep2.id
    assert db.session.scalar(select(Contact.owner_id).where(Contact.customer_id == c.id)) == org.a_rep2.id
    member = services.team(c)[0]
    assert member.user_id == org.a_rep1.id and member.access == TeamAccess.WRITE
    event = db.session.scalar(select(OperationLog).where(OperationLog.object_id == c.id,
                                                         OperationLog.action == "transferred"))
    assert event.note == "Rep moves to key accounts" and event.changes["owner_id_new"]["new"] == org.a_rep2.id
    with pytest.raises(ValidationFailed):
        services.transfer([c], org.b_rep.id, actor=org.a_sup)


def test_disabling_a_user_transfers_their_customers(org: Org) -> None:
    c = make_customer(org.a_rep2)
    counts = dict((e.model, n) for e, n in ownership.owned_counts(db.session, org.a_rep2.id))
    assert counts[Customer] == 1
    org_services.disable_user(org.a_rep2, transfer_to=org.a_rep1, actor=org.a_manager)
    assert c.owner_id == org.a_rep1.id


def test_lock_and_optimistic_version(org: Org) -> None:
    c = make_customer(org.a_rep1)
    version = c.lock_version
    services.set_locked(c, True, actor=org.a_rep1, lock_version=version)
    assert c.locked and c.lock_version == version + 1
    with pytest.raises(Conflict):
        services.update_customer(c, {"name": "Stale", "mobile": c.mobile}, actor=org.a_rep1, lock_version=version)
    with pytest.raises(ValidationFailed):
        services.release_to_pool([c], "try", actor=org.a_sup)
    services.set_locked(c, False, actor=org.a_rep1)
    services.release_to_pool([c], "Not interested any more", actor=org.a_sup)
    assert c.owner_id is None


def test_two_sessions_editing_the_same_customer_one_wins(app, org: Org) -> None:
    """Two stale in-memory copies: the second flush finds the version moved and answers Conflict."""
    c = make_customer(org.a_rep1)
    db.session.commit()
    from sqlalchemy import update

    # Someone else saved meanwhile (as another request would): the row's version moves on.
    db.session.execute(update(Customer.__table__).where(Customer.__table__.c.id == c.id)
                       .values(lock_version=c.lock_version + 1, name="Theirs"))
    c.name = "Mine"
    with pytest.raises(Conflict):
        services.flush()


def test_update_changes_keys_with_dedup(org: Org) -> None:
    a = make_customer(org.a_rep1, mobile="13800138010")
    b = make_customer(org.a_rep1, mobile="13800138011")
    with pytest.raises(ValidationFailed):
        services.update_customer(b, {"mobile": "138 0013 8010"}, actor=org.a_rep1, partial=True)
    services.update_customer(b, {"mobile": "13800138012", "level": "a"}, actor=org.a_rep1, partial=True)
    assert b.mobile_norm == "13800138012" and b.level.value == "a" and a.mobile_norm == "13800138010"
    with pytest.raises(PermissionDenied):
        services.update_customer(b, {"name": "x"}, actor=org.a_rep2, partial=True)


def test_transfer_moves_related_records_through_registered_handlers(org: Org) -> None:
    from crm.customers.services import owners

    moved: list[tuple[int, int | None, int]] = []
    services.register_transfer_handler("test.orders", lambda c, old, new, actor: moved.append((c.id, old, new)))
    try:
        c = make_customer(org.a_rep1)
        services.transfer([c], org.a_rep2.id, actor=org.a_sup, with_related=False)
        assert moved == []
        services.transfer([c], org.a_rep3.id, actor=org.a_sup)
        assert moved == [(c.id, org.a_rep2.id, org.a_rep3.id)]
    finally:
        owners._transfer_handlers.pop("test.orders", None)
