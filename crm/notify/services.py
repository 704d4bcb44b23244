"""Notify users (bell + e-mail outbox), mark read, preferences; deliver the outbox over SMTP; publish
announcements and mark them read. Services flush, never commit."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Iterable
from datetime import datetime
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from email.utils import make_msgid
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import update

from crm.core.clock import LOCAL_ZONE
from crm.core.clock import utcnow
from crm.core.deferred import defer
from crm.core.deferred import defer_insert
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.i18n import frozen
from crm.core.i18n import shown
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.extensions import db
from crm.notify.models import Announcement
from crm.notify.models import AnnouncementRead
from crm.notify.models import AnnouncementRecipient
from crm.notify.models import AudienceKind
from crm.notify.models import EmailOutbox
from crm.notify.models import EmailStatus
from crm.notify.models import Notification
from crm.notify.models import NotificationPreference
from crm.notify.schemas import AnnouncementInput
from crm.org.models import OrgUnit
from crm.org.models import User

# Kinds other contexts use; a kind not listed here still works (it is shown as written).
KINDS: dict[str, Any] = {
    "task_assigned": _l("A task was assigned to you"),
    "approval_requested": _l("Approval requested"),
    "approval_reminder": _l("Approval reminder"),
    "approval_escalated": _l("Approval escalated to you"),
    "approval_decided": _l("Your request was decided"),
    "announcement": _l("Announcement"),
    "follow_up_due": _l("Time to follow up a customer"),
    "highseas_claim": _l("High-seas claim"),
    "highseas_reminder": _l("A customer is about to go back to the high seas"),
    "highseas_moved": _l("A customer moved in or out of the high seas"),
    "enquiry_reminder": _l("Yesterday's enquiry figures are missing"),
    "task_due_soon": _l("A task of yours is due soon"),
    "task_overdue": _l("A task of yours is overdue"),
    "task_escalated": _l("An overdue task was escalated to you"),
}
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 6 * 3600


def in_language(text: Any, locale: str | None) -> str | None:
    """What one recipient reads: a plain string as it is; a lazy one (`_l("...", name=...)`, translated only
    when rendered) in the recipient's saved language, else in the current one (a job's: the default)."""
    if text is None or isinstance(text, str):
        return text
    if locale and locale in current_app.config.get("LANGUAGES", {}):
        with force_locale(locale):
            return str(text)
    return str(text)


def kept(title: Any, body: Any) -> dict[str, Any] | None:
    """The bell's message as catalogue keys and parameters (`Notification.message`), for a title or body
    given as lazy strings; None when both are plain text (nothing to render again)."""
    if (title is None or isinstance(title, str)) and (body is None or isinstance(body, str)):
        return None
    return {"title": frozen(title), "body": frozen(body)}


def notify(
    user_ids: Iterable[int], kind: str, title: Any, *, body: Any = None, url: str | None = None,
    store_id: int | None = None, email: bool = True,
) -> list[Notification]:
    """One notification per (active) user, and an outbox e-mail for those who have an address and did
    not switch e-mail off for this kind. Written in the caller's transaction. Pass `title` and `body` as
    lazy strings (`_l(...)`) and each recipient reads them in their own language (`in_language`)."""
    ids = sorted({int(u) for u in user_ids if u})
    if not ids:
        return []
    # One query for the recipients and their preference for this kind (this runs inside process steps:
    # every new inbox task notifies its candidates).
    recipients = db.session.execute(
        select(User.id, User.email, NotificationPreference.in_app, NotificationPreference.email, User.locale)
        .outerjoin(NotificationPreference, (NotificationPreference.user_id == User.id)
                   & (NotificationPreference.kind == kind))
        .where(User.id.in_(ids), User.active)
    ).all()
    now = utcnow()
    out: list[Notification] = []
    message = kept(title, body)
    for user_id, address, in_app, by_email, locale in recipients:
        their_title, their_body = str(in_language(title, locale)), in_language(body, locale)
        if in_app is None or in_app:
            n = Notification(user_id=user_id, store_id=store_id, kind=kind, title=their_title[:300], body=their_body,
                             url=url, message=message, created_at=now)
            db.session.add(n)
            out.append(n)
        if email and address and (by_email is None or by_email):
            text = (their_body or "") + (f"\n\n{_absolute(url)}" if url else "")
            db.session.add(EmailOutbox(user_id=user_id, to_address=address, subject=their_title[:300],
                                       body=text.strip() or their_title, created_at=now, next_attempt_at=now))
    db.session.flush()
    return out


def notify_many(kind: str, messages: Iterable[tuple[int, Any, Any, str | None]], *,
                store_id: int | None = None, email: bool = True,
                known: dict[int, tuple[Any, ...]] | None = None) -> int:
    """Like `notify`, for many different messages of one kind at once (user_id, title, body, url): one
    query for the recipients' preferences and one multi-row INSERT each for the bells and the outbox (the
    nightly jobs tell hundreds of people at a time), queued: sent before anything reads those tables, at the
    step's end or at the commit (`crm.core.deferred`). Returns how many bells were written. Lazy titles and
    bodies are read in each recipient's language, as in `notify`. `known`: the recipients' `recipient_columns`
    read already (active users only), which spares the query when it names every one."""
    wanted = [(int(u), t, b, url) for u, t, b, url in messages if u]
    if not wanted:
        return 0
    if known is not None and all(w[0] in known for w in wanted):
        recipients = known
    else:
        recipients = {row[0]: tuple(row[1:]) for row in db.session.execute(
            recipient_columns(select(User.id), kind).where(User.id.in_(sorted({w[0] for w in wanted})), User.active))}
    now = utcnow()
    bells: list[dict[str, Any]] = []
    mails: list[dict[str, Any]] = []
    messages_kept: dict[tuple[int, int], dict[str, Any] | None] = {}  # one message is often told to many
    for user_id, lazy_title, lazy_body, url in wanted:
        if user_id not in recipients:
            continue
        address, in_app, by_email, locale = recipients[user_id]
        title, body = str(in_language(lazy_title, locale)), in_language(lazy_body, locale)
        if in_app is None or in_app:
            key = (id(lazy_title), id(lazy_body))
            if key not in messages_kept:
                messages_kept[key] = kept(lazy_title, lazy_body)
            bells.append({"user_id": user_id, "store_id": store_id, "kind": kind, "title": str(title)[:300],
                          "body": body, "url": url, "message": messages_kept[key], "created_at": now})
        if email and address and (by_email is None or by_email):
            text = (body or "") + (f"\n\n{_absolute(url)}" if url else "")
            mails.append({"user_id": user_id, "to_address": address, "subject": str(title)[:300],
                          "body": text.strip() or str(title), "status": EmailStatus.PENDING, "attempts": 0,
                          "created_at": now, "next_attempt_at": now})
    # Queued (crm.core.deferred): inside a process step they go out with the step's other side writes.
    defer_insert(db.session, Notification.__table__, bells)
    defer_insert(db.session, EmailOutbox.__table__, mails)
    return len(bells)


def recipient_columns(stmt: Any, kind: str) -> Any:
    """A select of user ids with what a notification of `kind` needs of each: address, in-app and e-mail
    preference, language (also read with a new task's candidates: `inbox_sync.read_recipients_with`)."""
    return (stmt.add_columns(User.email, NotificationPreference.in_app, NotificationPreference.email, User.locale)
            .outerjoin(NotificationPreference, (NotificationPreference.user_id == User.id)
                       & (NotificationPreference.kind == kind)))


def task_recipient_columns(stmt: Any, kind: str) -> Any:
    """`recipient_columns` for the kind a new task's notification will have (`on_task_opened`)."""
    return recipient_columns(stmt, kind if kind in KINDS else "task_assigned")


def _absolute(url: str) -> str:
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    return base + url if base and url.startswith("/") else url


def mark_read(notification_id: int, *, actor: User) -> Notification:
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != actor.id:
        raise NotFound()
    if n.read_at is None:
        n.read_at = utcnow()
        db.session.flush()
    return n


def mark_all_read(*, actor: User) -> int:
    result = db.session.execute(
        update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def set_preference(kind: str, *, actor: User, in_app: bool, email: bool) -> NotificationPreference:
    if kind not in KINDS:
        raise ValidationFailed({"kind": _l("Unknown kind of notification.")})
    pref = db.session.scalar(select(NotificationPreference).where(
        NotificationPreference.user_id == actor.id, NotificationPreference.kind == kind))
    if pref is None:
        pref = NotificationPreference(user_id=actor.id, kind=kind)
        db.session.add(pref)
    pref.in_app = bool(in_app)
    pref.email = bool(email)
    db.session.flush()
    return pref


# E-mail delivery ------------------------------------------------------------------------------------------
def backoff(attempts: int) -> timedelta:
    """1 min, 2, 4, 8 … capped at 6 h."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def _smtp_config() -> dict[str, Any]:
    c = current_app.config
    return {
        "host": c.get("SMTP_HOST"), "port": int(c.get("SMTP_PORT") or 25), "user": c.get("SMTP_USER"),
        "password": c.get("SMTP_PASSWORD"), "starttls": bool(c.get("SMTP_STARTTLS")), "ssl": bool(c.get("SMTP_SSL")),
        "sender": c.get("SMTP_FROM") or "crm@localhost", "timeout": float(c.get("SMTP_TIMEOUT") or 10),
    }


def _connect(cfg: dict[str, Any]) -> smtplib.SMTP:
    if cfg["ssl"]:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg["host"], cfg["port"], timeout=cfg["timeout"],
                                               context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(cfg["host"], cfg["port"], timeout=cfg["timeout"])
        if cfg["starttls"]:
            smtp.starttls(context=ssl.create_default_context())
    if cfg["user"]:
        smtp.login(cfg["user"], cfg["password"] or "")
    return smtp


def _message(row: EmailOutbox, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=f"crm-outbox-{row.id}")
    msg.set_content(row.body)
    return msg


def send_due_emails(limit: int = 100, now: datetime | None = None) -> dict[str, int]:
    """Deliver due outbox rows over SMTP (CRM_SMTP_*). Rows are taken with FOR UPDATE SKIP LOCKED on
    PostgreSQL, so several schedulers never send one twice. A failure is kept on the row and retried
    with exponential backoff; after MAX_ATTEMPTS the row is marked failed."""
    cfg = _smtp_config()
    result = {"sent": 0, "retry": 0, "failed": 0}
    if not cfg["host"]:
        return result
    now = now or utcnow()
    stmt = (select(EmailOutbox).where(EmailOutbox.status == EmailStatus.PENDING, EmailOutbox.next_attempt_at <= now)
            .order_by(EmailOutbox.next_attempt_at, EmailOutbox.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(stmt))
    if not rows:
        return result
    smtp: smtplib.SMTP | None = None
    connect_error: str | None = None
    try:
        smtp = _connect(cfg)
    except (OSError, smtplib.SMTPException) as exc:
        connect_error = f"{type(exc).__name__}: {exc}"
    for row in rows:
        error = connect_error
        if smtp is not None:
            try:
                smtp.send_message(_message(row, cfg["sender"]))
            except (OSError, smtplib.SMTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
        row.attempts += 1
        if error is None:
            row.status = EmailStatus.SENT
            row.sent_at = utcnow()
            row.last_error = None
            result["sent"] += 1
        else:
            row.last_error = error[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = EmailStatus.FAILED
                result["failed"] += 1
            else:
                row.next_attempt_at = now + backoff(row.attempts)
                result["retry"] += 1
    if smtp is not None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
    db.session.flush()
    return result


# Announcements --------------------------------------------------------------------------------------------
def _publishable_units(actor: User) -> list[OrgUnit]:
    """The units an actor may address: their own unit's store / subsidiary / HQ subtree."""
    from crm.auth.scopes import visible

    return list(db.session.scalars(visible(select(OrgUnit), actor, OrgUnit)))


def _unit_in_scope(unit_id: int | None, actor: User, errors: dict[str, Any]) -> OrgUnit | None:
    if unit_id is None:
        return None
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or unit.id not in {u.id for u in _publishable_units(actor)}:
        errors["unit_id"] = _l("Choose an org unit within your scope.")
        return None
    return unit


def _check_audience(values: dict[str, Any], unit: OrgUnit | None, actor: User, errors: dict[str, Any]) -> None:
    """What needs the database or the publisher: only headquarters addresses everyone or a role company-wide,
    the role exists, the users are within the publisher's scope."""
    audience = values.get("audience")
    home = db.session.get(OrgUnit, actor.org_unit_id)
    at_hq = home is not None and home.parent_id is None
    if audience == AudienceKind.ALL and not at_hq:
        errors["audience"] = _l("Only headquarters can address everyone; choose your store or subsidiary.")
    if audience == AudienceKind.ROLE:
        from crm.auth.models import Role

        role_key = values.get("role_key")
        if role_key and "role_key" not in errors and db.session.scalar(
                select(Role.id).where(Role.key == role_key)) is None:
            errors["role_key"] = _l("Choose a role.")
        if unit is None and not at_hq and "unit_id" not in errors:
            errors["unit_id"] = _l("Choose the unit whose role holders receive it.")
    user_ids = values.get("user_ids")
    if audience == AudienceKind.USERS and user_ids and "user_ids" not in errors:
        from crm.auth.scopes import visible

        seen = set(db.session.scalars(visible(select(User.id).where(User.id.in_(user_ids)), actor, User)))
        if set(user_ids) - seen:
            errors["user_ids"] = _l("Choose users within your scope.")


def publish_announcement(data: Loaded | dict[str, Any], *, actor: User) -> Announcement:
    """Publish to everyone (HQ only), an org unit (and below), a role (optionally within a unit) or
    chosen users. A store manager can only address their own store. `data` as loaded by
    AnnouncementInput (plain values are loaded here)."""
    if not actor.can("announcement.publish"):
        raise PermissionDenied()
    loaded = load_input(AnnouncementInput(), data)
    values = loaded.values
    errors: dict[str, Any] = dict(loaded.errors)
    unit = _unit_in_scope(values.get("unit_id"), actor, errors)
    _check_audience(values, unit, actor, errors)
    if errors:
        raise ValidationFailed(errors)
    audience = values["audience"]
    a = Announcement(
        title=values["title"], body=values["body"], audience=audience, unit_id=unit.id if unit else None,
        unit_path=unit.path if unit else None, role_key=values["role_key"] if audience == AudienceKind.ROLE else None,
        pinned=values["pinned"], publish_at=values["publish_at"], expires_at=values["expires_at"],
        created_by_id=actor.id, created_at=utcnow(),
    )
    db.session.add(a)
    db.session.flush()
    for uid in values["user_ids"]:
        db.session.add(AnnouncementRecipient(announcement_id=a.id, user_id=uid))
    db.session.flush()
    return a


def mark_announcement_read(announcement_id: int, *, actor: User) -> None:
    from crm.notify.queries import announcement_for

    a = announcement_for(announcement_id, actor)
    exists = db.session.get(AnnouncementRead, (a.id, actor.id))
    if exists is None:
        db.session.add(AnnouncementRead(announcement_id=a.id, user_id=actor.id, read_at=utcnow()))
        db.session.flush()


def on_task_opened(sender: Any, *, task_id: int, title: str, user_ids: list[int], store_id: int | None,
                   kind: str = "task_assigned", texts: dict[str, Any] | None = None,
                   recipients: dict[int, tuple[Any, ...]] | None = None, **_: Any) -> None:
    """The notification of a new inbox task (connected by create_app): `task_assigned`, or the kind the
    task's element names (`notify_kind`, e.g. approval_requested for each turn of a sequential approval)."""
    # `notify_many`: multi-row inserts without ORM objects or a flush (this runs inside every process step
    # that opens a task).
    # In each recipient's language, with the task's title as rendered for that language when it opened.
    shown = LazyString(_task_title, title, texts or {})
    if kind == "approval_requested":
        message, url = _l("Approval requested: %(title)s", title=shown), "/approvals/"
    else:
        kind = kind if kind in KINDS else "task_assigned"
        message, url = _l("New task: %(title)s", title=shown), f"/tasks/{task_id}"
    notify_many(kind, [(uid, message, None, url) for uid in sorted({int(u) for u in user_ids if u})], store_id=store_id,
                known=recipients)


_DUE_MESSAGES = {
    "task_due_soon": lambda title, due: _l("Due soon (%(due)s): %(title)s", title=title, due=due),
    "task_overdue": lambda title, due: _l("Overdue since %(due)s: %(title)s", title=title, due=due),
    "task_escalated": lambda title, due: _l("Escalated to you, overdue since %(due)s: %(title)s", title=title, due=due),
}


def on_task_due(sender: Any, *, task_id: int, title: str, user_ids: list[int], store_id: int | None, kind: str,
                due_at: Any = None, texts: dict[str, Any] | None = None, **_: Any) -> None:
    """A task's reminder, overdue notice or escalation (crm.core.signals.task_due, connected by create_app)."""
    if kind not in _DUE_MESSAGES:
        return
    due = due_at.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M") if due_at is not None else ""
    message = _DUE_MESSAGES[kind](LazyString(_task_title, title, texts or {}), due)
    notify_many(kind, [(uid, message, None, f"/tasks/{task_id}") for uid in sorted({int(u) for u in user_ids if u})],
                store_id=store_id)


def on_tasks_closed(sender: Any, *, tasks: Any, **_: Any) -> None:
    """The bells of tasks that were completed or cancelled ("New task: …", each links to its task) are
    marked read: nobody has to act on them any more. `tasks`: a select of the closing tasks' ids (read
    before they close). One UPDATE, by the people the tasks were for (the unread index), queued with the
    step's other side writes (`crm.core.deferred`)."""
    from sqlalchemy import String
    from sqlalchemy import cast
    from sqlalchemy import union

    from crm.workflow.models import HumanTask
    from crm.workflow.models import HumanTaskCandidate

    ids = tasks.subquery()
    people = union(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id.in_(select(ids.c.id))),
                   select(HumanTask.assignee_id).where(HumanTask.id.in_(select(ids.c.id)),
                                                       HumanTask.assignee_id.is_not(None)))
    bells = Notification.__table__
    defer(db.session, update(bells)
          .where(bells.c.user_id.in_(select(people.subquery())), bells.c.read_at.is_(None),
                 bells.c.url.in_(select(literal("/tasks/") + cast(ids.c.id, String))))
          .values(read_at=utcnow()),
          reads=[HumanTask.__table__, HumanTaskCandidate.__table__])


def _task_title(title: str, texts: dict[str, Any]) -> str:
    """A task's title in the current language (`human_task.texts`, see crm.workflow.i18n)."""
    return shown(texts, "title", title) or title


def on_follow_up_due(sender: Any, *, customer_id: int, store_id: int | None, user_id: int | None,
                     customer_name: str = "", **_: Any) -> None:
    """The reminder of a follow-up's next-contact time (crm.core.signals.follow_up_due, connected by
    create_app), to the salesperson who wrote it."""
    if user_id:
        notify([user_id], "follow_up_due", _l("Follow up with %(name)s now", name=customer_name or f"#{customer_id}"),
               url=f"/customers/{customer_id}", store_id=store_id)
