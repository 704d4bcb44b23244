"""Passwords, log-in with throttling, roles and API tokens. Functions take the actor explicitly, flush,
never commit."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from crm.auth.models import ApiToken
from crm.auth.models import LoginThrottle
from crm.auth.models import Role
from crm.auth.permissions import DataScope
from crm.auth.permissions import all_permissions
from crm.core import signals
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import DomainError
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import check_text
from crm.core.validation import normalise_mobile
from crm.extensions import db
from crm.org.models import User

# argon2id tuned to a sign-in budget of ~100-250 ms of server time (docs/benchmarks.md, "Sign-in: password
# hashing"; `python -m bench.bench_password`): one lane (parallelism 1), so a log-in occupies one core and
# does not compete with itself on a small machine (argon2-cffi's default of 4 lanes took 0.75-1.4 s on the
# 2-core demo machine under load), 64 MiB and 2 passes. A hash made with other parameters is re-made with
# these at the next successful log-in (`check_needs_rehash` in `authenticate`).
PASSWORD_TIME_COST = 2
PASSWORD_MEMORY_KIB = 65536
PASSWORD_PARALLELISM = 1
_hasher = PasswordHasher(time_cost=PASSWORD_TIME_COST, memory_cost=PASSWORD_MEMORY_KIB,
                         parallelism=PASSWORD_PARALLELISM)
# Minimal-cost hasher for the test suite only (config PASSWORD_HASH_FAST); never in production.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _active_hasher() -> PasswordHasher:
    return _fast_hasher if current_app.config.get("PASSWORD_HASH_FAST") else _hasher


def hash_password(password: str) -> str:
    return _active_hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_new_password(password: str, errors: dict[str, str], field: str = "password") -> None:
    min_len = int(current_app.config["PASSWORD_MIN_LENGTH"])
    if len(password or "") < min_len:
        errors[field] = str(_l("Use at least %(n)d characters.", n=min_len))
    elif password.isdigit() or password.isalpha():
        errors[field] = str(_l("Mix letters with digits or symbols."))


# Log-in -------------------------------------------------------------------------------------------------
class LoginFailed(DomainError):
    status = 401
    default_message = _l("Wrong mobile number, e-mail or password.")


class LoginLocked(DomainError):
    status = 429
    default_message = _l(
        "Too many failed log-ins. This account is locked for %(minutes)d minutes; try again later.", minutes=15
    )


def _identifier_hash(identifier: str) -> str:
    text = identifier.strip().lower()
    mobile = normalise_mobile(text)
    key = mobile if mobile.isdigit() and len(mobile) == 11 else text
    return hashlib.sha256(key.encode()).hexdigest()


def _account_key(user: User) -> str:
    """One throttle row per account, whichever identifier (mobile or e-mail) was typed."""
    return hashlib.sha256(f"user:{user.id}".encode()).hexdigest()


def _address_key(address: str) -> str:
    """One row per IPv4 address, and per /64 for IPv6 (a client rotates through its /64 at will)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        client = address.strip()[:100]
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        client = str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
    return hashlib.sha256(f"address:{client}".encode()).hexdigest()


def find_login_user(identifier: str) -> User | None:
    text = identifier.strip()
    if not text or "\x00" in text:  # no account has a NUL; PostgreSQL refuses it in a query
        return None
    mobile = normalise_mobile(text)
    return db.session.scalar(select(User).where(or_(User.mobile == mobile, func.lower(User.email) == text.lower())))


def _throttle_row(key: str) -> LoginThrottle:
    """The throttle row of `key`, created if missing, locked (FOR UPDATE) until the transaction ends: two
    concurrent log-ins on one account or from one address wait for each other, so every failure counts
    and the lock holds under parallel guessing. Creating races are settled by the primary key."""
    for _attempt in range(3):
        row = db.session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        if row is not None:
            return row
        try:
            with db.session.begin_nested():
                row = LoginThrottle(identifier_hash=key, failures=0)
                db.session.add(row)
            return row
        except IntegrityError:  # another request created it first: lock theirs
            continue
    raise DomainError(_l("The log-in could not be checked. Try again."))


def _count_failure(row: LoginThrottle, now: datetime, *, limit: int, lock_minutes: int,
                   window_minutes: int | None = None) -> None:
    """One more failure on `row`; the limit-th locks it. An expired lock, or (with a window) a quiet
    spell longer than the window, starts the count from zero."""
    expired = row.locked_until is not None and row.locked_until <= now
    quiet = (window_minutes is not None and row.last_failure_at is not None
             and row.last_failure_at <= now - timedelta(minutes=window_minutes))
    if expired or quiet:
        row.failures = 0
        row.locked_until = None
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = now
    if row.failures >= limit:
        row.locked_until = now + timedelta(minutes=lock_minutes)


def authenticate(identifier: str, password: str, *, address: str | None = None) -> User:
    """The user for these credentials, or LoginFailed / LoginLocked.

    Two throttles, both in the database (so they hold across processes and parallel requests):
    - per account: LOGIN_MAX_FAILURES failures lock it for LOGIN_LOCK_MINUTES, even for the right
      password; the mobile number and the e-mail of one account share the count. An identifier that
      names no account is counted under its own key exactly the same way, and the messages never tell
      whether an account exists;
    - per client address (`address`, the caller's remote address): LOGIN_ADDRESS_MAX_FAILURES failures
      within LOGIN_ADDRESS_WINDOW_MINUTES lock every log-in from it for that long, whichever accounts
      were tried (guessing one password against many accounts). A success does not reset it.
    The failure counts are written by the caller's transaction commit, so the caller must commit even
    when this raises (see auth.views.login)."""
    cfg = current_app.config
    now = utcnow()
    window = int(cfg["LOGIN_ADDRESS_WINDOW_MINUTES"])
    per_address = int(cfg["LOGIN_ADDRESS_MAX_FAILURES"])  # 0: no limit per address
    # Always the address first, then the account: one lock order, no deadlock between two log-ins.
    by_address = _throttle_row(_address_key(address)) if address and per_address > 0 else None
    if by_address is not None and by_address.locked_until and by_address.locked_until > now:
        raise LoginLocked(_l("Too many failed log-ins from your network. Try again in %(minutes)d minutes.",
                             minutes=window))
    user = find_login_user(identifier or "")
    throttle = _throttle_row(_account_key(user) if user is not None else _identifier_hash(identifier or ""))
    if throttle.locked_until and throttle.locked_until > now:
        raise LoginLocked(_l(
            "Too many failed log-ins. This account is locked for %(minutes)d minutes; try again later.",
            minutes=int(cfg["LOGIN_LOCK_MINUTES"]),
        ))
    ok = user is not None and verify_password(user.password_hash, password or "")
    if not ok:
        if user is None:
            _hasher_burn(password)
        _count_failure(throttle, now, limit=int(cfg["LOGIN_MAX_FAILURES"]),
                       lock_minutes=int(cfg["LOGIN_LOCK_MINUTES"]))
        if by_address is not None:
            _count_failure(by_address, now, limit=per_address, lock_minutes=window, window_minutes=window)
        db.session.flush()
        raise LoginFailed()
    assert user is not None
    if not user.active:
        # Same answer as a wrong password: a disabled account is not an account any more.
        raise LoginFailed()
    db.session.delete(throttle)
    if _hasher.check_needs_rehash(user.password_hash) and not cfg.get("PASSWORD_HASH_FAST"):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    db.session.flush()
    signals.user_logged_in.send(user)
    return user


def end_sessions(user: User) -> None:
    """Sign `user` out everywhere: a new security stamp makes every session cookie and remember-me
    cookie issued before it worthless (auth.views.load_user compares the stamp on every request)."""
    user.security_stamp = secrets.token_hex(16)
    db.session.flush()


_DUMMY_HASH: str | None = None


def _hasher_burn(password: str | None) -> None:
    """Spend the time of one verification for unknown identifiers, so timing does not reveal them."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _active_hasher().hash("not-a-real-password")
    verify_password(_DUMMY_HASH, password or "")


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    errors: dict[str, str] = {}
    if not verify_password(user.password_hash, current or ""):
        errors["current_password"] = str(_l("The current password is wrong."))
    check_new_password(new, errors, "new_password")
    if "new_password" not in errors and new != confirm:
        errors["confirm_password"] = str(_l("The two new passwords differ."))
    if "new_password" not in errors and new and new == current:
        errors["new_password"] = str(_l("Choose a password different from the current one."))
    if errors:
        raise ValidationFailed(errors)
    _set_password(user, new)
    record_event(db.session, user, "password_changed", actor_id=user.id)


def reset_password(user: User, new: str, *, actor: User) -> None:
    errors: dict[str, str] = {}
    check_new_password(new, errors, "password")
    if errors:
        raise ValidationFailed(errors)
    _set_password(user, new)
    record_event(db.session, user, "password_reset", actor_id=actor.id)


def _set_password(user: User, new: str) -> None:
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    end_sessions(user)


# Roles --------------------------------------------------------------------------------------------------
def check_can_manage_user(user: User, *, actor: User) -> None:
    """Only a super admin may change a super admin's account: otherwise an admin could reset its password
    (or disable it) and take over powers the admin role does not grant."""
    if user.is_super_admin and not actor.is_super_admin:
        raise PermissionDenied(_l("Only a super admin can change the account of a super admin."))


def grantable_roles(roles: list[Role], *, actor: User) -> list[Role]:
    """The roles of `roles` that `actor` may hand out in a user form (see `roles_by_ids`)."""
    return [r for r in roles if actor.is_super_admin or not r.is_system]


def roles_by_ids(raw_ids: list[Any], *, actor: User) -> list[Role]:
    """Roles for a user form. Only a super admin may hand out the super admin role."""
    ids = []
    for raw in raw_ids or []:
        # isdecimal + the bound keep out what no id can be (SQLite overflows on huge integers)
        if not str(raw).isdecimal() or not 0 < int(raw) < 2**31:
            raise ValidationFailed({"role_ids": _l("Choose roles from the list.")})
        ids.append(int(raw))
    roles = list(db.session.scalars(select(Role).where(Role.id.in_(ids)).order_by(Role.id))) if ids else []
    if len(roles) != len(set(ids)):
        raise ValidationFailed({"role_ids": _l("Choose roles from the list.")})
    if any(r.is_system for r in roles) and not actor.is_super_admin:
        raise ValidationFailed({"role_ids": _l("Only a super admin can grant the super admin role.")})
    return roles


def save_role(role: Role | None, data: dict[str, Any], *, actor: User) -> Role:
    if role is not None and role.is_system:
        raise PermissionDenied(_l("The super admin role cannot be changed."))
    errors: dict[str, str] = {}
    name = check_text(data.get("name"), errors, "name", max_length=80)
    description = check_text(data.get("description"), errors, "description", max_length=400, required=False) or None
    try:
        scope = DataScope(data.get("data_scope") or "")
    except ValueError:
        errors["data_scope"] = str(_l("Choose a data scope."))
        scope = DataScope.SELF
    known = set(all_permissions())
    permissions = sorted(set(data.get("permissions") or []))
    unknown = [p for p in permissions if p not in known]
    if unknown:
        errors["permissions"] = str(_l("Unknown permissions: %(names)s", names=", ".join(unknown)))
    key = (data.get("key") or "").strip().lower() if role is None else role.key
    if role is None:
        if not key or not key.replace("_", "").isalnum() or len(key) > 40:
            errors["key"] = str(_l("Use lower-case letters, digits and underscores (at most 40)."))
        elif db.session.scalar(select(Role.id).where(Role.key == key)):
            errors["key"] = str(_l("Another role already uses this key."))
    if errors:
        raise ValidationFailed(errors)
    if role is None:
        role = Role(key=key, name=name, description=description, data_scope=scope, permissions=permissions)
        db.session.add(role)
    else:
        role.name = name
        role.description = description
        role.data_scope = scope
        role.permissions = permissions
    db.session.flush()
    return role


def delete_role(role: Role, *, actor: User) -> None:
    if role.is_system:
        raise PermissionDenied(_l("The super admin role cannot be removed."))
    holders = db.session.scalar(select(func.count()).select_from(User).where(User.roles.contains(role)))
    if holders:
        raise DomainError(_l("%(n)d users still hold this role; take it from them first.", n=holders))
    db.session.delete(role)
    db.session.flush()


# API tokens ---------------------------------------------------------------------------------------------
def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the plain token, which is never stored or shown again."""
    errors: dict[str, str] = {}
    name = check_text(name, errors, "name", max_length=80)
    if expires_at is not None and expires_at <= utcnow():
        errors["expires_at"] = str(_l("Choose a date in the future."))
    if errors:
        raise ValidationFailed(errors)
    plain = "crm_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=plain[:10], token_hash=hash_token(plain), expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    return token, plain


def revoke_token(token: ApiToken, *, actor: User) -> None:
    if token.user_id != actor.id and not actor.can("user.manage"):
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()


def user_for_token(plain: str) -> User | None:
    """The active user owning a usable token; records its last use (at most once a minute)."""
    if not plain or not plain.startswith("crm_"):
        return None
    # One statement for the token, its user, the user's roles and unit: every API request needs all four
    # (permissions, data scope), and the lazy loads would cost three more round trips.
    user_opt = joinedload(ApiToken.user)
    stmt = select(ApiToken).where(ApiToken.token_hash == hash_token(plain)).options(
        user_opt.joinedload(User.roles), user_opt.joinedload(User.org_unit))
    token = db.session.execute(stmt).unique().scalar_one_or_none()
    now = utcnow()
    if token is None or not token.is_usable(now) or not token.user.active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
    return token.user
