"""Reads of roles and tokens."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from crm.auth.models import ApiToken
from crm.auth.models import Role
from crm.auth.models import user_role
from crm.core.errors import NotFound
from crm.extensions import db
from crm.org.models import User


def roles_with_counts() -> list[tuple[Role, int]]:
    counts = (
        select(user_role.c.role_id, func.count().label("n"))
        .join(User, User.id == user_role.c.user_id)
        .where(User.active)
        .group_by(user_role.c.role_id)
        .subquery()
    )
    stmt = select(Role, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.role_id == Role.id).order_by(Role.id)
    return [(role, int(n)) for role, n in db.session.execute(stmt)]


def all_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.id)))


def get_role(role_id: int) -> Role:
    if not 0 < role_id < 2**31:  # outside the id column's range: PostgreSQL would refuse the query
        raise NotFound()
    role = db.session.get(Role, role_id)
    if role is None:
        raise NotFound()
    return role


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def get_own_token(user: User, token_id: int) -> ApiToken:
    """A token of this user; anyone else's answers NotFound."""
    if not 0 < token_id < 2**31:  # outside the id column's range: PostgreSQL would refuse the query
        raise NotFound()
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise NotFound()
    return token
