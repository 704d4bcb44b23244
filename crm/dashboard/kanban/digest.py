"""The kanban digest: a user with `kanban.view` subscribes to a daily or weekly e-mail of their own kanban
(their scope, every figure with the previous window's value and the change, a link to the page). The
scheduler's job writes it to the notification outbox (`notify`: a bell and an e-mail); `last_sent_on` is
claimed with a conditional UPDATE so two scheduler processes never send one twice."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from crm.core.clock import local_today
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.dashboard.kanban import queries
from crm.dashboard.kanban.models import KanbanDigest
from crm.dashboard.kanban.schemas import DigestSchema
from crm.enquiries.queries import Filters
from crm.enquiries.queries import Window
from crm.extensions import db
from crm.notify.services import notify
from crm.org.models import User

FREQUENCIES = {"off": _l("No e-mail"), "daily": _l("Daily (yesterday)"), "weekly": _l("Weekly (on Mondays: the last 7 days)")}


def subscription(actor: User) -> str:
    return db.session.scalar(select(KanbanDigest.frequency).where(KanbanDigest.user_id == actor.id)) or "off"


def subscribe(data: dict[str, Any] | Loaded, *, actor: User) -> str:
    """Set the actor's digest: off, daily or weekly."""
    if not actor.can("kanban.view"):
        raise PermissionDenied()
    loaded = load_input(DigestSchema(), data)
    if loaded.errors:
        raise ValidationFailed(loaded.errors)
    frequency = loaded.values["frequency"]
    row = db.session.scalar(select(KanbanDigest).where(KanbanDigest.user_id == actor.id))
    if frequency == "off":
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(KanbanDigest(user_id=actor.id, frequency=frequency))
    else:
        row.frequency = frequency
    db.session.flush()
    return str(frequency)


def _window(frequency: str, today: date) -> Window:
    yesterday = today - timedelta(days=1)
    return Window(yesterday, yesterday) if frequency == "daily" else Window(today - timedelta(days=7), yesterday)


def _body(k: queries.Kanban) -> str:
    w = k.filters.window
    lines = [_("%(first)s to %(last)s, compared with %(pfirst)s to %(plast)s.", first=w.first.isoformat(),
               last=w.last.isoformat(), pfirst=w.previous().first.isoformat(), plast=w.previous().last.isoformat()), ""]
    for f in k.figures:
        def show(value: Any, kind: str = f.kind) -> str:
            if value is None:
                return "—"
            return f"{value * 100:.1f}%" if kind == "rate" else str(value)
        change = "" if f.change is None else (f" ({f.change:+}{' pp' if f.kind == 'rate' else ' %'})")
        lines.append(f"{f.label}: {show(f.value)} · {_('Previous')}: {show(f.previous)}{change}")
    return "\n".join(lines)


def send_digests(today: date | None = None, limit: int = 500) -> int:
    """Send today's digests (daily ones every day, weekly ones on Mondays); returns how many were sent."""
    today = today or local_today()
    frequencies = ["daily", "weekly"] if today.weekday() == 0 else ["daily"]
    due = db.session.execute(select(KanbanDigest.id, KanbanDigest.user_id, KanbanDigest.frequency).where(
        KanbanDigest.frequency.in_(frequencies),
        or_(KanbanDigest.last_sent_on.is_(None), KanbanDigest.last_sent_on < today)).order_by(KanbanDigest.id)
        .limit(limit)).all()
    sent = 0
    for digest_id, user_id, frequency in due:
        claimed = db.session.execute(update(KanbanDigest).where(
            KanbanDigest.id == digest_id, or_(KanbanDigest.last_sent_on.is_(None), KanbanDigest.last_sent_on < today))
            .values(last_sent_on=today))
        user = db.session.get(User, user_id)
        if not claimed.rowcount or user is None or not user.active or not user.can("kanban.view"):  # type: ignore[attr-defined]
            continue
        window = _window(frequency, today)
        with force_locale(user.locale or "en"):
            k = queries.kanban(user, Filters(window=window), "custom")
            title = _("Your daily kanban") if frequency == "daily" else _("Your weekly kanban")
            body = _body(k)
        url = f"/kanban/?window=custom&date_from={window.first.isoformat()}&date_to={window.last.isoformat()}"
        notify([user.id], "kanban_digest", title, body=body, url=url)
        sent += 1
    return sent
