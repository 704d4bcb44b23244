"""The scale-data generator: an org tree of subsidiaries, stores and sales teams, and their users.

Rows are inserted in bulk (Core inserts), with the same path / store_id / subsidiary_id invariants that
crm.org.services maintains, so benchmarks start in seconds even at tens of thousands of users. Later
contexts add their generators (customers, orders, tasks) beside this one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select

from crm.auth.defaults import ensure_default_roles
from crm.auth.models import user_role
from crm.core.clock import utcnow
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User

PLATFORMS = ["tmall", "jd", "1688", "alibaba_com", "pinduoduo", "douyin", "taobao", "other"]


@dataclass
class Scale:
    subsidiaries: int = 2
    stores_per_subsidiary: int = 5
    teams_per_store: int = 4
    reps_per_team: int = 25
    units: dict[str, list[int]] = field(default_factory=dict)
    users: dict[str, list[int]] = field(default_factory=dict)


def generate_org(scale: Scale, password_hash: str) -> Scale:
    """HQ → subsidiaries → stores → sales teams; per store a manager, per team a supervisor and reps."""
    roles = ensure_default_roles()
    now = utcnow()
    next_id = [int(db.session.scalar(select(OrgUnit.id).order_by(OrgUnit.id.desc()).limit(1)) or 0) + 1]
    unit_rows: list[dict[str, Any]] = []

    def unit(kind: str, name: str, parent: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
        uid = next_id[0]
        next_id[0] += 1
        row = {
            "id": uid, "kind": kind, "name": name, "code": f"B{uid}", "parent_id": parent["id"] if parent else None,
            "path": f"{parent['path'] if parent else '/'}{uid}/", "depth": parent["depth"] + 1 if parent else 0,
            "store_id": uid if kind == "store" else (parent["store_id"] if parent else None),
            "subsidiary_id": uid if kind == "subsidiary" else (parent["subsidiary_id"] if parent else None),
            "platform": extra.get("platform"), "shop_name": extra.get("shop_name"), "active": True,
            "created_at": now, "updated_at": now,
        }
        unit_rows.append(row)
        scale.units.setdefault(kind, []).append(uid)
        return row

    hq = unit("hq", "Bench HQ", None)
    teams: list[dict[str, Any]] = []
    stores: list[dict[str, Any]] = []
    for s in range(scale.subsidiaries):
        sub = unit("subsidiary", f"Subsidiary {s + 1}", hq)
        for _ in range(scale.stores_per_subsidiary):
            n = len(stores)
            store = unit("store", f"Store {n + 1}", sub, platform=PLATFORMS[n % len(PLATFORMS)], shop_name=f"Shop {n + 1}")
            stores.append(store)
            for k in range(scale.teams_per_store):
                teams.append(unit("department", f"Store {n + 1} team {k + 1}", store))
    db.session.execute(insert(OrgUnit), unit_rows)

    user_rows: list[dict[str, Any]] = []
    role_rows: list[dict[str, Any]] = []
    mobile = [13_000_000_000]
    next_user = [int(db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0) + 1]

    def user(name: str, unit_row: dict[str, Any], role: str, supervisor: int | None) -> int:
        uid = next_user[0]
        next_user[0] += 1
        mobile[0] += 1
        user_rows.append({
            "id": uid, "mobile": str(mobile[0]), "email": None, "name": name, "gender": "unspecified",
            "position": role, "org_unit_id": unit_row["id"], "store_id": unit_row["store_id"],
            "supervisor_id": supervisor, "active": True, "password_hash": password_hash,
            "security_stamp": secrets.token_hex(16), "created_at": now, "updated_at": now,
        })
        role_rows.append({"user_id": uid, "role_id": roles[role].id})
        scale.users.setdefault(role, []).append(uid)
        return uid

    user("Bench HQ manager", hq, "hq_manager", None)
    for store in stores:
        manager = user(f"{store['name']} manager", store, "store_manager", None)
        for team in (t for t in teams if t["store_id"] == store["id"]):
            sup = user(f"{team['name']} supervisor", team, "supervisor", manager)
            for r in range(scale.reps_per_team):
                user(f"{team['name']} rep {r + 1}", team, "salesperson", sup)
    db.session.execute(insert(User), user_rows)
    db.session.execute(insert(user_role), role_rows)
    _advance_sequences()
    db.session.commit()
    return scale


def _advance_sequences() -> None:
    """Explicit ids bypass PostgreSQL's sequences; move them past the rows just written."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    for table in ("org_unit", "user"):
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"
        ))
