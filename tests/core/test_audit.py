"""The operation log: typed per-field changes on create / update / delete, excluded fields, the actor from
session.info, business events and the timeline.

`Probe` is a test-only audited model on its own metadata (so the migration check never sees it); its
table is created inside the test's transaction and vanishes with the rollback."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Date
from sqlalchemy import Enum
from sqlalchemy import MetaData
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from crm.auth.services import change_password
from crm.auth.services import save_role
from crm.core.audit import Audited
from crm.core.audit import OperationLog
from crm.core.audit import encode_value
from crm.core.audit import record_event
from crm.core.audit import timeline
from crm.core.db import JSONType
from crm.core.db import UTCDateTime
from crm.extensions import db
from crm.org.models import Gender
from crm.org.models import User
from tests.conftest import csrf
from tests.factories import PASSWORD
from tests.factories import Org
from tests.factories import UserFactory


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class ProbeBase(DeclarativeBase):
    metadata = MetaData()


class Probe(Audited, ProbeBase):
    __tablename__ = "audit_probe"
    __audit_exclude__ = frozenset({"secret", "created_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(50))
    count: Mapped[int] = mapped_column(default=0)
    flag: Mapped[bool] = mapped_column(default=False)
    colour: Mapped[Colour] = mapped_column(Enum(Colour, native_enum=False, length=10), default=Colour.RED)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_on: Mapped[date | None] = mapped_column(Date())
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    tags: Mapped[Any] = mapped_column(JSONType, default=list)
    secret: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@pytest.fixture
def probe_table() -> Iterator[None]:
    Probe.__table__.create(db.session.connection())
    yield


def log_rows(obj: Any, action: str | None = None) -> list[OperationLog]:
    db.session.flush()
    stmt = select(OperationLog).where(
        OperationLog.object_type == obj.audit_type(), OperationLog.object_id == obj.id
    ).order_by(OperationLog.id)
    if action:
        stmt = stmt.where(OperationLog.action == action)
    return list(db.session.scalars(stmt))


WHEN = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def test_create_logs_every_field_typed(probe_table: None, org: Org) -> None:
    db.session.info["actor_id"] = org.a_manager.id
    probe = Probe(
        store_id=org.store_a.id, title="First", count=3, flag=True, colour=Colour.BLUE, due_at=WHEN,
        due_on=date(2026, 3, 2), amount=Decimal("12.50"), tags=["a", "b"], secret="hunter2", created_at=WHEN,
    )
    db.session.add(probe)
    db.session.flush()
    [row] = log_rows(probe)
    assert row.action == "created"
    assert row.actor_id == org.a_manager.id
    assert row.store_id == org.store_a.id
    assert row.changes == {
        "store_id": {"type": "int", "old": None, "new": org.store_a.id},
        "title": {"type": "str", "old": None, "new": "First"},
        "count": {"type": "int", "old": None, "new": 3},
        "flag": {"type": "bool", "old": None, "new": True},
        "colour": {"type": "enum", "old": None, "new": "blue"},
        "due_at": {"type": "datetime", "old": None, "new": "2026-03-01T08:30:00+00:00"},
        "due_on": {"type": "date", "old": None, "new": "2026-03-02"},
        "amount": {"type": "decimal", "old": None, "new": "12.50"},
        "tags": {"type": "json", "old": None, "new": ["a", "b"]},
    }


def test_update_logs_only_changed_fields_with_old_and_new(probe_table: None, org: Org) -> None:
    probe = Probe(store_id=org.store_a.id, title="Before", count=1, flag=True, due_at=WHEN, tags={"k": 1})
    db.session.add(probe)
    db.session.commit()  # the update below is a later action, in its own transaction
    db.session.info["actor_id"] = org.a_sup.id
    probe.title = "After"
    probe.count = 2
    probe.flag = False
    probe.colour = Colour.BLUE
    probe.due_at = datetime(2026, 4, 1, tzinfo=UTC)
    probe.amount = Decimal("3.10")
    probe.tags = {"k": 2}
    probe.secret = "changed secret"
    db.session.flush()
    [row] = log_rows(probe, "updated")
    assert row.actor_id == org.a_sup.id
    assert row.changes == {
        "title": {"type": "str", "old": "Before", "new": "After"},
        "count": {"type": "int", "old": 1, "new": 2},
        "flag": {"type": "bool", "old": True, "new": False},
        "colour": {"type": "enum", "old": "red", "new": "blue"},
        "due_at": {"type": "datetime", "old": "2026-03-01T08:30:00+00:00", "new": "2026-04-01T00:00:00+00:00"},
        "amount": {"type": "decimal", "old": None, "new": "3.10"},
        "tags": {"type": "json", "old": {"k": 1}, "new": {"k": 2}},
    }


def test_changes_in_the_creating_transaction_amend_the_created_entry(probe_table: None, org: Org) -> None:
    """A service that flushes for the id and then sets more fields makes one "created" entry with the
    final values, not "created" plus "changed"."""
    probe = Probe(store_id=org.store_a.id, title="Draft", count=1)
    db.session.add(probe)
    db.session.flush()
    probe.title = "Final"
    probe.count = 5
    db.session.flush()
    assert log_rows(probe, "updated") == []
    [row] = log_rows(probe, "created")
    assert row.changes["title"] == {"type": "str", "old": None, "new": "Final"}
    assert row.changes["count"] == {"type": "int", "old": None, "new": 5}
    db.session.commit()
    probe.count = 6
    db.session.flush()
    [update] = log_rows(probe, "updated")
    assert update.changes == {"count": {"type": "int", "old": 5, "new": 6}}


def test_setting_a_field_to_its_value_logs_nothing(probe_table: None, org: Org) -> None:
    probe = Probe(title="Same", count=1)
    db.session.add(probe)
    db.session.flush()
    probe.title = "Same"
    probe.count = 1
    probe.secret = "only an excluded field changes"
    db.session.flush()
    assert [r.action for r in log_rows(probe)] == ["created"]


def test_clearing_a_value_logs_the_old_type(probe_table: None) -> None:
    probe = Probe(title="T", due_at=WHEN)
    db.session.add(probe)
    db.session.commit()
    probe.due_at = None
    db.session.flush()
    [row] = log_rows(probe, "updated")
    assert row.changes == {"due_at": {"type": "datetime", "old": "2026-03-01T08:30:00+00:00", "new": None}}


def test_delete_logs_the_last_values(probe_table: None, org: Org) -> None:
    probe = Probe(store_id=org.store_b.id, title="Gone", count=7, flag=True, secret="s")
    db.session.add(probe)
    db.session.flush()
    probe_id = probe.id
    db.session.info["actor_id"] = org.b_manager.id
    db.session.delete(probe)
    db.session.flush()
    [row] = db.session.scalars(
        select(OperationLog).where(OperationLog.object_id == probe_id, OperationLog.action == "deleted")
    ).all()
    assert row.actor_id == org.b_manager.id
    assert row.store_id == org.store_b.id
    assert row.changes["title"] == {"type": "str", "old": "Gone", "new": None}
    assert row.changes["flag"] == {"type": "bool", "old": True, "new": None}
    assert row.changes["count"] == {"type": "int", "old": 7, "new": None}
    assert "secret" not in row.changes


def test_no_actor_is_logged_as_none(probe_table: None) -> None:
    db.session.info["actor_id"] = None
    probe = Probe(title="By a job")
    db.session.add(probe)
    db.session.flush()
    assert log_rows(probe)[0].actor_id is None


def test_user_secrets_are_never_logged(org: Org) -> None:
    user = UserFactory(name="Secretive", unit=org.a_sales)
    db.session.commit()  # the password change is a later action
    db.session.info["actor_id"] = user.id
    change_password(user, PASSWORD, "N3w-password!", "N3w-password!")
    rows = log_rows(user)
    assert [r.action for r in rows] == ["created", "updated", "password_changed"]
    for row in rows:
        assert not {"password_hash", "security_stamp", "last_login_at"} & set(row.changes)
        assert user.password_hash not in repr(row.changes)
    # The change itself shows only as the (non-secret) time of the change, and as the event.
    assert set(rows[1].changes) == {"password_changed_at"}
    assert rows[2].actor_id == user.id


def test_real_models_log_typed_enum_and_json(org: Org) -> None:
    db.session.info["actor_id"] = org.hq_admin.id
    role = save_role(None, {"key": "probe_role", "name": "Probe", "data_scope": "store", "permissions": ["user.view"]},
                     actor=org.hq_admin)
    [created] = log_rows(role)
    assert created.changes["data_scope"] == {"type": "enum", "old": None, "new": "store"}
    assert created.changes["permissions"] == {"type": "json", "old": None, "new": ["user.view"]}
    assert created.changes["is_system"] == {"type": "bool", "old": None, "new": False}
    db.session.commit()
    save_role(role, {"name": "Probe", "data_scope": "all", "permissions": ["user.view", "org.view"]}, actor=org.hq_admin)
    [updated] = log_rows(role, "updated")
    assert updated.changes == {
        "data_scope": {"type": "enum", "old": "store", "new": "all"},
        "permissions": {"type": "json", "old": ["user.view"], "new": ["org.view", "user.view"]},
    }
    org.a_rep1.gender = Gender.FEMALE
    db.session.flush()
    assert log_rows(org.a_rep1, "updated")[0].changes == {"gender": {"type": "enum", "old": "unspecified", "new": "female"}}


def test_record_event_and_timeline(org: Org) -> None:
    entry = record_event(
        db.session, org.a_rep1, "transferred", actor_id=org.a_manager.id, note="Holiday cover",
        details={"to_user_id": org.a_rep2.id, "when": WHEN, "urgent": True, "amount": Decimal("1.5")},
    )
    db.session.flush()
    assert entry.id is not None
    assert entry.object_type == "user"
    assert entry.object_id == org.a_rep1.id
    assert entry.store_id == org.store_a.id
    assert entry.note == "Holiday cover"
    assert entry.changes == {
        "to_user_id": {"type": "int", "old": None, "new": org.a_rep2.id},
        "when": {"type": "datetime", "old": None, "new": "2026-03-01T08:30:00+00:00"},
        "urgent": {"type": "bool", "old": None, "new": True},
        "amount": {"type": "decimal", "old": None, "new": "1.5"},
    }
    record_event(db.session, org.a_rep1, "locked", actor_id=None)
    entries = timeline(db.session, "user", org.a_rep1.id)
    assert [e["entry"].action for e in entries] == ["locked", "transferred", "created"]
    assert [e["actor_name"] for e in entries[:2]] == [None, "A Manager"]
    assert len(timeline(db.session, "user", org.a_rep1.id, limit=1)) == 1
    assert timeline(db.session, "user", org.a_rep2.id)[0]["entry"].object_id == org.a_rep2.id


def test_record_event_accepts_a_proxied_object(org: Org) -> None:
    """Views hand services flask_login's `current_user`, a werkzeug LocalProxy, not the User itself."""
    from werkzeug.local import LocalProxy

    proxy = LocalProxy(lambda: org.a_rep1)
    entry = record_event(db.session, proxy, "password_changed", actor_id=org.a_rep1.id)  # type: ignore[arg-type]
    assert entry.object_type == "user"
    assert entry.object_id == org.a_rep1.id


def test_request_binds_the_signed_in_user_as_actor(client: FlaskClient, login_as: Any, org: Org) -> None:
    db.session.commit()
    login_as(org.a_rep1)
    resp = client.post("/language", data={"lang": "zh", "csrf_token": csrf(client), "next": "/account"})
    assert resp.status_code == 302
    [row] = log_rows(org.a_rep1, "updated")
    assert row.changes == {"locale": {"type": "str", "old": None, "new": "zh"}}
    assert row.actor_id == org.a_rep1.id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("null", None)),
        (True, ("bool", True)),
        (0, ("int", 0)),
        (Colour.BLUE, ("enum", "blue")),
        (Decimal("0.10"), ("decimal", "0.10")),
        (1.25, ("float", 1.25)),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), ("datetime", "2026-01-02T03:04:05+00:00")),
        (date(2026, 1, 2), ("date", "2026-01-02")),
        ("text", ("str", "text")),
        ({"a": [1]}, ("json", {"a": [1]})),
        ([1, 2], ("json", [1, 2])),
        (b"bytes", ("str", "b'bytes'")),
    ],
)
def test_encode_value(value: Any, expected: tuple[str, Any]) -> None:
    assert encode_value(value) == expected


def test_timeline_page_formats_typed_values(org: Org) -> None:
    """The labels and formatters the timeline template uses."""
    from flask import current_app

    fmt = current_app.jinja_env.globals["format_change_value"]
    label = current_app.jinja_env.globals["action_label"]
    with current_app.test_request_context("/"):
        assert fmt("bool", True) == "Yes"
        assert fmt("bool", False) == "No"
        assert fmt("decimal", "1234.5") == "1,234.50"
        assert fmt("date", "2026-01-02") == "2026-01-02"  # ISO in every language
        assert fmt("json", ["a", "b"]) == "a, b"
        assert fmt("str", None) == "—"
        assert fmt("datetime", "2026-01-02T03:04:05+00:00") == "2026-01-02 11:04"  # shown in Asia/Shanghai
        assert label("created") == "Created"
        assert label("sent_to_archive") == "Sent to archive"  # unregistered events get a readable label
    assert isinstance(User.__audit_exclude__, frozenset)
