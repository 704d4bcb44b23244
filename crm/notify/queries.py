"""Reads: a user's notifications and unread count, announcements addressed to a user, read receipts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.notify.models import Announcement
from crm.notify.models import AnnouncementRead
from crm.notify.models import AnnouncementRecipient
from crm.notify.models import AudienceKind
from crm.notify.models import Notification
from crm.org.models import OrgUnit
from crm.org.models import User


def unread_count(user: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def notifications(user: Any, *, unread_only: bool = False, cursor: str | None = None, limit: int = 50) -> Any:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return keyset_page(db.session, stmt, [SortKey(Notification.id, descending=True)], cursor=cursor, limit=limit)


def _user_path(user: Any) -> str:
    unit = db.session.get(OrgUnit, user.org_unit_id)
    return unit.path if unit is not None else ""


def addressed_to(user: Any) -> Any:
    """The clause: announcements whose audience includes `user` (whatever the time window)."""
    path = literal(_user_path(user))
    in_unit = path.like(Announcement.unit_path + "%")
    role_keys = [r.key for r in user.roles]
    recipient = exists().where(AnnouncementRecipient.announcement_id == Announcement.id,
                               AnnouncementRecipient.user_id == user.id)
    return or_(
        Announcement.audience == AudienceKind.ALL,
        and_(Announcement.audience == AudienceKind.UNIT, in_unit),
        and_(Announcement.audience == AudienceKind.ROLE, Announcement.role_key.in_(role_keys or [""]),
             or_(Announcement.unit_path.is_(None), in_unit)),
        and_(Announcement.audience == AudienceKind.USERS, recipient),
    )


def _current() -> Any:
    now = utcnow()
    return and_(Announcement.publish_at <= now, or_(Announcement.expires_at.is_(None), Announcement.expires_at > now))


def _read_by(user: Any) -> Any:
    return exists().where(AnnouncementRead.announcement_id == Announcement.id, AnnouncementRead.user_id == user.id)


def home_announcements(user: Any, limit: int = 10) -> list[Announcement]:
    """Unread, current announcements for the home page: pinned first, newest first."""
    return list(db.session.scalars(
        select(Announcement).where(addressed_to(user), _current(), ~_read_by(user))
        .order_by(Announcement.pinned.desc(), Announcement.publish_at.desc(), Announcement.id.desc()).limit(limit)
    ))


def announcements(user: Any, *, cursor: str | None = None, limit: int = 50) -> Any:
    """Every current announcement addressed to the user, read or not: rows (announcement, read)."""
    stmt = select(Announcement, _read_by(user).label("read")).where(addressed_to(user), _current())
    return keyset_page(db.session, stmt, [SortKey(Announcement.id, descending=True)], cursor=cursor, limit=limit,
                       scalars=False)


def announcement_for(announcement_id: int, user: Any) -> Announcement:
    """One announcement addressed to the user, or NotFound (an announcement of another store is 404)."""
    a = db.session.scalar(select(Announcement).where(Announcement.id == announcement_id, addressed_to(user)))
    if a is None:
        raise NotFound()
    return a


def published_by(user: Any, limit: int = 100) -> list[tuple[Announcement, int]]:
    """What the user published, with the number of read receipts."""
    reads = (select(func.count()).select_from(AnnouncementRead)
             .where(AnnouncementRead.announcement_id == Announcement.id).scalar_subquery())
    return [(a, n) for a, n in db.session.execute(
        select(Announcement, reads).where(Announcement.created_by_id == user.id)
        .order_by(Announcement.id.desc()).limit(limit)
    )]


def read_receipts(announcement_id: int, user: Any) -> list[tuple[User, Any]]:
    a = db.session.get(Announcement, announcement_id)
    if a is None or (a.created_by_id != user.id and not user.is_super_admin):
        raise NotFound()
    return [(u, r.read_at) for r, u in db.session.execute(
        select(AnnouncementRead, User).join(User, User.id == AnnouncementRead.user_id)
        .where(AnnouncementRead.announcement_id == a.id).order_by(AnnouncementRead.read_at)
    )]



# Announcements by name -------------------------------------------------------------------------------------
def describe_announcements(items: list[Announcement], viewer: Any) -> None:
    """Set on each announcement what the API and the pages show by name: `author` and `unit` ({id, name,
    kind}), `role` ({key, name}), and for its publisher the chosen `recipients` ({id, name}). Three queries
    for the whole list."""
    from crm.auth.models import Role

    if not items:
        return
    ids = [a.id for a in items]
    chosen: dict[int, list[int]] = {}
    for aid, uid in db.session.execute(select(AnnouncementRecipient.announcement_id, AnnouncementRecipient.user_id)
                                       .where(AnnouncementRecipient.announcement_id.in_(ids))):
        chosen.setdefault(aid, []).append(uid)
    people = {a.created_by_id for a in items if a.created_by_id} | {u for us in chosen.values() for u in us}
    names = {i: n for i, n in db.session.execute(select(User.id, User.name).where(User.id.in_(people)))} if people else {}
    unit_ids = {a.unit_id for a in items if a.unit_id}
    units = {u.id: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(unit_ids)))} if unit_ids else {}
    role_keys = {a.role_key for a in items if a.role_key}
    roles = {r.key: r for r in db.session.scalars(select(Role).where(Role.key.in_(role_keys)))} if role_keys else {}
    for a in items:
        unit = units.get(a.unit_id or 0)
        role = roles.get(a.role_key or "")
        a.author = {"id": a.created_by_id, "name": names.get(a.created_by_id, "")} if a.created_by_id else None
        a.unit = {"id": unit.id, "name": unit.name, "kind": unit.kind} if unit is not None else None
        a.role = {"key": role.key, "name": role.display_name} if role is not None else None
        mine = a.created_by_id == viewer.id or viewer.is_super_admin
        a.recipients = sorted(({"id": u, "name": names.get(u, "")} for u in chosen.get(a.id, [])),
                              key=lambda p: (p["name"], p["id"])) if mine else None


def audience_choices(actor: Any, q: str = "", limit: int = 500) -> dict[str, list[Any]]:
    """What a publisher may address, by name: the active people and org units of their scope and the roles;
    `q` keeps those whose name contains it."""
    from crm.auth.models import Role
    from crm.auth.scopes import visible

    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if q else None
    people_stmt = visible(select(User.id, User.name, OrgUnit.name).join(OrgUnit, OrgUnit.id == User.org_unit_id)
                          .where(User.active), actor, User)  # type: ignore[arg-type]
    unit_stmt = visible(select(OrgUnit), actor, OrgUnit).where(OrgUnit.active)
    if pattern:
        people_stmt = people_stmt.where(User.name.ilike(pattern, escape="\\"))
        unit_stmt = unit_stmt.where(OrgUnit.name.ilike(pattern, escape="\\"))
    people = [{"id": int(i), "name": n, "unit": u} for i, n, u in
              db.session.execute(people_stmt.order_by(User.name, User.id).limit(limit))]
    units = [{"id": u.id, "name": u.name, "kind": u.kind, "depth": u.depth}
             for u in db.session.scalars(unit_stmt.order_by(OrgUnit.path).limit(limit))]
    roles = [{"key": r.key, "name": r.display_name} for r in db.session.scalars(select(Role).order_by(Role.name))]
    if q:
        roles = [r for r in roles if q.lower() in str(r["name"]).lower()]
    return {"people": people, "units": units, "roles": roles}
