"""Steps of a chain: the checks of their references, their conditions and who they resolve to (the input
schema of a step is `crm.approvals.schemas.StepInput`).

A step is a dict (stored in the chain version's JSON):
    title            text shown to approvers
    rule             users | supervisor | nth_supervisor | supervisors_up_to | department_head | store_role
                     | submitter_picks
    user_ids         named users (users) or the list the submitter picks from (submitter_picks)
    level            N (nth_supervisor, supervisors_up_to)
    role             role key (store_role: its holders within the object's store)
    mode             single | any | all | sequential
    condition        null or {"field", "op" (eq ne gt ge lt le between in), "value"}: the step applies only
                     when the object's field satisfies it
    on_empty         auto_pass (logged with the reason) | admin (route to `fallback_admin_id`)
    reminder_hours, escalation_hours   null or hours after the step opens

The submitter is never one of a step's approvers, whatever the rule gives."""

from __future__ import annotations

from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.auth.models import Role
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User

RULES = {
    "users": _l("Named users"),
    "supervisor": _l("Direct supervisor of the submitter"),
    "nth_supervisor": _l("N-th level supervisor"),
    "supervisors_up_to": _l("Every supervisor up to level N"),
    "department_head": _l("Head of the submitter's department"),
    "store_role": _l("Role within the object's store"),
    "submitter_picks": _l("The submitter picks from a list"),
}
MODES = {
    "single": _l("Single approver"),
    "any": _l("Any one of them (或签)"),
    "all": _l("All of them (会签)"),
    "sequential": _l("One after the other"),
}
OPERATORS = {
    "eq": "=", "ne": "≠", "gt": ">", "ge": "≥", "lt": "<", "le": "≤", "between": _l("between"), "in": _l("in"),
}
ON_EMPTY = {
    "auto_pass": _l("Pass automatically (the reason is logged)"),
    "admin": _l("Route to a named admin"),
}
MAX_LEVEL = 10
MAX_HOURS = 24 * 365
USER_RULES = ("users", "submitter_picks")  # the rules whose step names users (user_ids)
LEVEL_RULES = ("nth_supervisor", "supervisors_up_to")  # the rules whose step has a level


def parse_int(value: Any) -> int | None:
    """A whole number as sent (at most 9 digits as text), None when blank; ValueError when it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or len(text) > 9:
        raise ValueError
    return int(text)


def parse_ids(value: Any) -> list[int]:
    """Ids as a list or as text separated by commas or spaces, each once; ValueError when one is not an id."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, (list, tuple)):
        raise ValueError
    out: list[int] = []
    for v in value:
        n = parse_int(v)
        if n is None or n < 1 or n >= 2**31:
            raise ValueError
        if n not in out:
            out.append(n)
    return out


def check_step(step: dict[str, Any], errors: dict[str, Any], *, prefix: str = "") -> None:
    """The checks of a step loaded by `StepInput` that need the database: its users, its role and its
    fallback admin exist. Adds to `errors` (the schema's messages, names prefixed as `prefix`, e.g.
    `steps.2.`) a message for each field that passed the schema but names nobody."""
    rule = step.get("rule")
    if rule in USER_RULES and step.get("user_ids") and prefix + "user_ids" not in errors:
        found = set(db.session.scalars(select(User.id).where(User.id.in_(step["user_ids"]))))
        missing = [str(u) for u in step["user_ids"] if u not in found]
        if missing:
            errors[prefix + "user_ids"] = _l("No such user: %(ids)s.", ids=", ".join(missing))
    if rule == "store_role" and prefix + "role" not in errors and db.session.scalar(
            select(Role.id).where(Role.key == step.get("role"))) is None:
        errors[prefix + "role"] = _l("Choose an existing role.")
    if step.get("on_empty") == "admin" and prefix + "fallback_admin_id" not in errors and db.session.get(
            User, step.get("fallback_admin_id")) is None:
        errors[prefix + "fallback_admin_id"] = _l("Choose the admin who gets the approval when nobody resolves.")


# Conditions ---------------------------------------------------------------------------------------------
def _num(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None


def condition_holds(condition: dict[str, Any] | None, values: dict[str, Any]) -> tuple[bool, str | None]:
    """(applies, why-not). A step without condition applies; a condition that cannot be evaluated (field
    missing, not a number) applies too — an approval is never skipped for lack of data."""
    if not condition:
        return True, None
    field, op, expected = condition["field"], condition["op"], condition["value"]
    if field not in values or values[field] is None:
        return True, f"field {field!r} unknown: step applies"
    actual = values[field]
    a = _num(actual)
    if op in ("in",):
        options = [str(v) for v in expected]
        if a is not None and all(_num(v) is not None for v in options):
            return a in [_num(v) for v in options], None
        return str(actual) in options, None
    if op == "between":
        low, high = (_num(v) for v in expected)
        if a is None or low is None or high is None:
            return True, f"field {field!r} is not a number: step applies"
        return low <= a <= high, None
    e = _num(expected)
    if a is not None and e is not None:
        result = {"eq": a == e, "ne": a != e, "gt": a > e, "ge": a >= e, "lt": a < e, "le": a <= e}[op]
        return result, None
    if op in ("eq", "ne"):
        return (str(actual) == str(expected)) == (op == "eq"), None
    return True, f"field {field!r} is not a number: step applies"


def describe_condition(condition: dict[str, Any] | None) -> str:
    if not condition:
        return ""
    value = condition["value"]
    if isinstance(value, list):
        value = " – ".join(value) if condition["op"] == "between" else ", ".join(value)
    return f"{condition['field']} {OPERATORS.get(condition['op'], condition['op'])} {value}"


# Approvers ----------------------------------------------------------------------------------------------
def _active(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def _supervisors(submitter: User, levels: int) -> list[User | None]:
    """Level 1..levels up the supervisor chain (None where the chain ends or loops)."""
    out: list[User | None] = []
    seen = {submitter.id}
    current: User | None = submitter
    for _ in range(levels):
        nxt = db.session.get(User, current.supervisor_id) if current is not None and current.supervisor_id else None
        if nxt is not None and nxt.id in seen:
            nxt = None
        if nxt is not None:
            seen.add(nxt.id)
        out.append(nxt)
        current = nxt
    return out


def _department_head(submitter: User) -> User | None:
    unit: OrgUnit | None = db.session.get(OrgUnit, submitter.org_unit_id)
    while unit is not None:
        if unit.head_id and unit.head_id != submitter.id:
            head = _active(unit.head_id)
            if head is not None:
                return head
        unit = db.session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
    return None


def _store_role(role_key: str, store_id: int | None) -> list[User]:
    if store_id is None:
        return []
    return list(db.session.scalars(
        select(User).join(User.roles).where(Role.key == role_key, User.store_id == store_id, User.active)
        .order_by(User.id)
    ))


def rule_users(step: dict[str, Any], submitter: User | None, store_id: int | None, picks: list[int] | None) -> list[int]:
    """The user ids a step's rule gives, before the submitter is excluded."""
    rule = step.get("rule")
    users: list[User | None] = []
    if rule == "users":
        users = [_active(u) for u in step.get("user_ids") or []]
    elif rule == "submitter_picks":
        offered = step.get("user_ids") or []
        users = [_active(u) for u in (picks or []) if u in offered]
    elif submitter is None:
        users = []
    elif rule == "supervisor":
        users = [s if s is None or s.active else None for s in _supervisors(submitter, 1)]
    elif rule == "nth_supervisor":
        chain = _supervisors(submitter, int(step.get("level") or 1))
        users = [chain[-1]] if chain and chain[-1] is not None and chain[-1].active else []
    elif rule == "supervisors_up_to":
        users = [s for s in _supervisors(submitter, int(step.get("level") or 1)) if s is not None and s.active]
    elif rule == "department_head":
        users = [_department_head(submitter)]
    elif rule == "store_role":
        users = list(_store_role(step.get("role") or "", store_id))
    out: list[int] = []
    for u in users:
        if u is not None and u.id not in out:
            out.append(u.id)
    return out


def resolve_step(
    step: dict[str, Any], index: int, *, submitter: User | None, store_id: int | None, values: dict[str, Any],
    picks: dict[str, Any] | None,
) -> dict[str, Any]:
    """The step as the request runs it: applies?, approvers (submitter excluded), or why it passes by itself."""
    applies, note = condition_holds(step.get("condition"), values)
    out = {
        "index": index, "title": step.get("title"), "rule": step.get("rule"), "mode": step.get("mode") or "single",
        "reminder_hours": step.get("reminder_hours"), "escalation_hours": step.get("escalation_hours"),
        "on_empty": step.get("on_empty") or "auto_pass", "fallback_admin_id": step.get("fallback_admin_id"),
        "condition": step.get("condition"), "applies": applies, "note": note, "approvers": [], "auto": False,
        "reason": None, "routed_to_admin": False,
    }
    if not applies:
        out["reason"] = "condition not met: " + describe_condition(step.get("condition"))
        return out
    raw_picks = (picks or {}).get(str(index + 1), (picks or {}).get(index + 1)) if isinstance(picks, dict) else None
    try:
        picked = parse_ids(raw_picks)
    except ValueError:
        picked = []
    found = rule_users(step, submitter, store_id, picked)
    submitter_id = submitter.id if submitter is not None else None
    approvers = [u for u in found if u != submitter_id]
    if out["mode"] == "single":
        approvers = approvers[:1]
    if not approvers:
        why = "the submitter is the only approver the rule gives" if found else "the rule resolves to nobody"
        fallback = _active(step.get("fallback_admin_id")) if out["on_empty"] == "admin" else None
        if fallback is not None and fallback.id != submitter_id:
            approvers = [fallback.id]
            out["mode"] = "single"
            out["routed_to_admin"] = True
            out["reason"] = why + "; routed to the admin"
        else:
            out["auto"] = True
            out["reason"] = why + ("; the named admin is unavailable" if out["on_empty"] == "admin" else "")
    out["approvers"] = approvers
    return out
