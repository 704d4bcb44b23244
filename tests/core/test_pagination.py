"""Keyset pagination: walking every page gives exactly the ordered rows once; cursors are validated."""

from __future__ import annotations

import base64
import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crm.core.errors import ValidationFailed
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org.models import Gender
from crm.org.models import User
from tests.factories import Org
from tests.factories import UserFactory


@pytest.fixture
def users(org: Org) -> list[User]:
    """The org's users plus several with equal names, so ties are broken by the second key."""
    extra = [UserFactory(name=name, unit=org.a_sales) for name in ["Tie", "Tie", "Tie", "Alpha", "Zed", "Tie"]]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i, user in enumerate(db.session.scalars(select(User).order_by(User.id))):
        user.created_at = base + timedelta(hours=i // 2)  # pairs share a timestamp
    db.session.flush()
    return extra


def walk(keys: list[SortKey], limit: int, stmt: Any = None) -> tuple[list[int], int]:
    stmt = stmt if stmt is not None else select(User)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = keyset_page(db.session, stmt, keys, cursor=cursor, limit=limit)
        pages += 1
        assert len(page.items) <= limit
        seen.extend(u.id for u in page.items)
        if not page.has_next:
            return seen, pages
        assert page.items, "a page with a next cursor must not be empty"
        cursor = page.next_cursor
        assert pages < 100


def expected_order(*order_by: Any) -> list[int]:
    return list(db.session.scalars(select(User.id).order_by(*order_by)))


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 500])
def test_ascending_by_id(users: list[User], limit: int) -> None:
    seen, pages = walk([SortKey(User.id)], limit)
    assert seen == expected_order(User.id.asc())
    assert pages == -(-len(seen) // limit)  # ceil: a last page of exactly `limit` rows has no next cursor


def test_descending_by_id(users: list[User]) -> None:
    seen, _ = walk([SortKey(User.id, descending=True)], 4)
    assert seen == expected_order(User.id.desc())


@pytest.mark.parametrize("descending", [False, True])
def test_multi_key_with_ties(users: list[User], descending: bool) -> None:
    keys = [SortKey(User.name, descending=descending), SortKey(User.id)]
    seen, _ = walk(keys, 2)
    name_order = User.name.desc() if descending else User.name.asc()
    assert seen == expected_order(name_order, User.id.asc())
    assert len(seen) == len(set(seen))


def test_mixed_directions_and_datetime_key(users: list[User]) -> None:
    keys = [SortKey(User.created_at, descending=True), SortKey(User.name), SortKey(User.id, descending=True)]
    seen, _ = walk(keys, 3)
    assert seen == expected_order(User.created_at.desc(), User.name.asc(), User.id.desc())


def test_filtered_statement_and_page_fields(users: list[User], org: Org) -> None:
    stmt = select(User).where(User.org_unit_id == org.a_sales.id)
    first = keyset_page(db.session, stmt, [SortKey(User.id)], limit=4)
    assert first.limit == 4
    assert first.has_next
    assert all(u.org_unit_id == org.a_sales.id for u in first.items)
    seen, _ = walk([SortKey(User.id)], 4, stmt)
    assert seen == list(db.session.scalars(select(User.id).where(User.org_unit_id == org.a_sales.id).order_by(User.id)))


def test_limit_is_clamped(users: list[User]) -> None:
    assert keyset_page(db.session, select(User), [SortKey(User.id)], limit=0).limit == 1
    assert keyset_page(db.session, select(User), [SortKey(User.id)], limit=10_000).limit == 500


def test_last_page_has_no_cursor(users: list[User]) -> None:
    total = len(expected_order(User.id))
    page = keyset_page(db.session, select(User), [SortKey(User.id)], limit=total)
    assert len(page.items) == total
    assert page.next_cursor is None


def test_non_scalar_rows(users: list[User]) -> None:
    stmt = select(User, User.name)
    page = keyset_page(db.session, stmt, [SortKey(User.id)], limit=3, scalars=False)
    assert [row[0].id for row in page.items] == expected_order(User.id)[:3]
    again = keyset_page(db.session, stmt, [SortKey(User.id)], cursor=page.next_cursor, limit=3, scalars=False)
    assert [row[0].id for row in again.items] == expected_order(User.id)[3:6]


def _token(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


TAMPERED = {
    "garbage": "!!!not-base64!!!",
    "not json": base64.urlsafe_b64encode(b"{nope").decode(),
    "not a list": _token({"a": 1}),
    "too few values": _token(["Tie"]),
    "too many values": _token(["Tie", 1, 2]),
    "string for an integer": _token(["Tie", "x"]),
    "float for an integer": _token(["Tie", 1.5]),
    "bool for an integer": _token(["Tie", True]),
    "integer for a string": _token([5, 1]),
    "null": _token([None, 1]),
    "huge integer": _token(["Tie", 10**30]),
    "bad datetime": _token([{"dt": "yesterday"}, 1]),
    "bad decimal": _token([{"dec": "lots"}, 1]),
    "object": _token([{"x": 1}, 1]),
    "empty": "",
}


@pytest.mark.parametrize("case", [k for k in TAMPERED if k != "empty"])
def test_tampered_cursor_is_a_validation_error(case: str) -> None:
    keys = [SortKey(User.name), SortKey(User.id)]
    if case.startswith("bad d"):
        keys = [SortKey(User.created_at), SortKey(User.id)]
    with pytest.raises(ValidationFailed) as exc:
        keyset_page(db.session, select(User), keys, cursor=TAMPERED[case], limit=3)
    assert list(exc.value.errors) == ["cursor"]
    assert exc.value.errors["cursor"] == ["Invalid page cursor."]


def test_empty_cursor_means_first_page(users: list[User]) -> None:
    page = keyset_page(db.session, select(User), [SortKey(User.id)], cursor=TAMPERED["empty"], limit=2)
    assert [u.id for u in page.items] == expected_order(User.id)[:2]


def test_cursor_round_trips_every_key_type() -> None:
    """Cursors of every supported key type decode back to values the next query can use."""
    from decimal import Decimal

    from sqlalchemy import Numeric
    from sqlalchemy import column
    from sqlalchemy import table

    from crm.core.pagination import _decode
    from crm.core.pagination import _encode

    amount = table("t", column("amount", Numeric(14, 2))).c.amount
    keys = [SortKey(User.created_at), SortKey(amount), SortKey(User.gender), SortKey(User.name), SortKey(User.id)]
    values = [datetime(2026, 1, 1, 8, tzinfo=UTC), Decimal("12.30"), Gender.FEMALE, "text", 42]
    assert _decode(_encode(values), keys) == values
    with pytest.raises(ValidationFailed):
        _decode(_encode([datetime(2026, 1, 1, 8, tzinfo=UTC), Decimal("1"), "no-such-gender", "t", 1]), keys)
    with pytest.raises(ValidationFailed):  # naive datetimes never come from _encode
        _decode(_token([{"dt": "2026-01-01T08:00:00"}, {"dec": "1"}, "male", "t", 1]), keys)
    with pytest.raises(ValidationFailed):
        _decode(_token([{"dt": "2026-01-01T08:00:00+00:00"}, {"dec": "NaN"}, "male", "t", 1]), keys)
