"""State changes of the enquiry statistics: platform figures (the week grid, the API, imports), a
salesperson's own figures and screenshots, and the daily reminder. Every service takes the actor
explicitly, checks the function permission and the store against the actor's scope, flushes and never
commits. A correction is an update of the day's row: the operation log keeps the old values (`Audited`);
an import also records an `enquiry_imported` event with the file's name on every row it changed."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import IO
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.auth.models import Role
from crm.auth.models import user_role
from crm.auth.scopes import get_visible
from crm.core import tabular
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.files import IMAGE_TYPES
from crm.core.files import clean_filename
from crm.core.files import remove_stored
from crm.core.files import store_upload
from crm.enquiries.models import EnquiryDaily
from crm.enquiries.models import EnquiryImport
from crm.enquiries.models import EnquiryReminder
from crm.enquiries.models import EnquirySalespersonDaily
from crm.enquiries.models import EnquiryScreenshot
from crm.enquiries.queries import LOCAL
from crm.enquiries.queries import local_today
from crm.enquiries.queries import visible_stores
from crm.extensions import db
from crm.notify.services import notify_many
from crm.org.models import OrgUnit
from crm.org.models import User

MAX_COUNT = 1_000_000  # a day's figure above this is a typing error
FIRST_DAY = date(2000, 1, 1)
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
MAX_SCREENSHOTS = 20  # files in one upload
MAX_ERRORS = 1000


# Checking values ------------------------------------------------------------------------------------------
def parse_day(raw: Any, field: str, errors: dict[str, Any], *, today: date | None = None) -> date | None:
    """A day (YYYY-MM-DD, or a date) that is not in the future; None with an error otherwise."""
    if isinstance(raw, datetime):
        raw = raw.date()
    if isinstance(raw, date):
        value = raw
    else:
        text = str(raw or "").strip()
        if not text:
            errors[field] = _l("Enter the day.")
            return None
        # 2026-03-02, 2026/3/2, or a spreadsheet's date cell (2026-03-02 00:00:00)
        parts = text.split()[0].replace("/", "-").split("-")
        try:
            if len(parts) != 3 or not all(p.isdigit() and len(p) <= 4 for p in parts):
                raise ValueError(text)
            value = date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            errors[field] = _l("Enter a date as YYYY-MM-DD.")
            return None
    if value < FIRST_DAY:
        errors[field] = _l("Enter a date as YYYY-MM-DD.")
        return None
    if value > (today or local_today()):
        errors[field] = _l("Figures can be entered for today or earlier days only.")
        return None
    return value


def parse_count(raw: Any, field: str, errors: dict[str, Any]) -> int | None:
    """A whole number from 0 to MAX_COUNT; None (no error) when blank."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        errors[field] = _l("Enter a whole number.")
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    try:
        value = int(str(raw).strip().replace(",", ""))
    except ValueError:
        errors[field] = _l("Enter a whole number.")
        return None
    if not 0 <= value <= MAX_COUNT:
        errors[field] = _l("Use a number from %(min)d to %(max)d.", min=0, max=MAX_COUNT)
        return None
    return value


# Stores and people in scope -------------------------------------------------------------------------------
def entry_stores(actor: User) -> list[OrgUnit]:
    """The stores whose platform figures the actor may enter."""
    return visible_stores(actor) if actor.can("enquiry.enter_platform") else []


def _entry_store(actor: User, raw: Any, field: str = "store_id") -> OrgUnit:
    if not actor.can("enquiry.enter_platform"):
        raise PermissionDenied()
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        wanted = 0
    store = next((s for s in entry_stores(actor) if s.id == wanted), None)
    if store is None:
        raise ValidationFailed({field: _l("Choose a store from the list.")})
    return store


# Platform figures -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlatformFigures:
    store_id: int
    day: date
    enquiries: int
    new_enquiries: int


def _check_pair(enquiries: int | None, new: int | None, fields: tuple[str, str], errors: dict[str, Any]) -> bool:
    """Both figures or neither; new enquiries are some of the enquiries."""
    if enquiries is None and new is None:
        return False
    if enquiries is None:
        errors[fields[0]] = _l("Enter the enquiries too.")
    elif new is None:
        errors[fields[1]] = _l("Enter the new enquiries too.")
    elif new > enquiries:
        errors[fields[1]] = _l("New enquiries cannot be more than the enquiries.")
    return True


def _write_platform(figures: PlatformFigures, actor: User) -> tuple[str, EnquiryDaily]:
    """Insert or correct one store-day; answers created / updated / unchanged."""
    row = db.session.scalar(select(EnquiryDaily).where(EnquiryDaily.store_id == figures.store_id,
                                                       EnquiryDaily.day == figures.day))
    if row is None:
        row = EnquiryDaily(store_id=figures.store_id, day=figures.day, enquiries=figures.enquiries,
                           new_enquiries=figures.new_enquiries, entered_by_id=actor.id, updated_at=utcnow())
        db.session.add(row)
        db.session.flush()
        return "created", row
    if (row.enquiries, row.new_enquiries) == (figures.enquiries, figures.new_enquiries):
        return "unchanged", row
    row.enquiries, row.new_enquiries, row.entered_by_id = figures.enquiries, figures.new_enquiries, actor.id
    row.updated_at = utcnow()
    db.session.flush()
    return "updated", row


def save_platform_week(store_id: Any, cells: Mapping[str, tuple[Any, Any]], *, actor: User) -> dict[str, int]:
    """The week grid: `cells` maps an ISO day to (enquiries, new enquiries) as typed. Blank days are left
    as they are; all or nothing. Field errors are named `enquiries-<day>` / `new_enquiries-<day>`."""
    store = _entry_store(actor, store_id)
    errors: dict[str, Any] = {}
    wanted: list[PlatformFigures] = []
    for iso, (raw_enquiries, raw_new) in sorted(cells.items()):
        fields = (f"enquiries-{iso}", f"new_enquiries-{iso}")
        enquiries, new = parse_count(raw_enquiries, fields[0], errors), parse_count(raw_new, fields[1], errors)
        if any(f in errors for f in fields) or not _check_pair(enquiries, new, fields, errors):
            continue
        day = parse_day(iso, fields[0], errors)
        if day is not None and enquiries is not None and new is not None and not errors.get(fields[1]):
            wanted.append(PlatformFigures(store.id, day, enquiries, new))
    if errors:
        raise ValidationFailed(errors)
    return _count_results(_write_platform(f, actor)[0] for f in wanted)


def save_platform_rows(rows: Iterable[Mapping[str, Any]], *, actor: User) -> list[EnquiryDaily]:
    """Rows of {store_id, day, enquiries, new_enquiries} (the API): all or nothing; errors are named
    `rows.<i>.<field>`."""
    if not actor.can("enquiry.enter_platform"):
        raise PermissionDenied()
    stores = {s.id for s in entry_stores(actor)}
    errors: dict[str, Any] = {}
    wanted: list[PlatformFigures] = []
    seen: set[tuple[int, date]] = set()
    for i, row in enumerate(rows):
        prefix = f"rows.{i}."
        try:
            store_id = int(row.get("store_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            store_id = 0
        if store_id not in stores:
            errors[prefix + "store_id"] = _l("Choose a store from the list.")
        day = parse_day(row.get("day"), prefix + "day", errors)
        enquiries = parse_count(row.get("enquiries"), prefix + "enquiries", errors)
        new = parse_count(row.get("new_enquiries"), prefix + "new_enquiries", errors)
        for name, value in (("enquiries", enquiries), ("new_enquiries", new)):
            if value is None and prefix + name not in errors:
                errors[prefix + name] = _l("This field is required.")
        if enquiries is not None and new is not None and new > enquiries:
            errors[prefix + "new_enquiries"] = _l("New enquiries cannot be more than the enquiries.")
        if day is not None and (store_id, day) in seen:
            errors[prefix + "day"] = _l("This store and day come twice in the request.")
        if day is not None:
            seen.add((store_id, day))
        if not any(k.startswith(prefix) for k in errors):
            wanted.append(PlatformFigures(store_id, day, enquiries, new))  # type: ignore[arg-type]
    if errors:
        raise ValidationFailed(errors)
    return [_write_platform(f, actor)[1] for f in wanted]


def _count_results(results: Iterable[str]) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for result in results:
        counts[result] += 1
    return counts


# Import ----------------------------------------------------------------------------------------------------
IMPORT_COLUMNS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "store": (_l("Store"), ("store", "store code", "shop", "platform", "店铺", "店铺编码", "门店", "平台")),
    "day": (_l("Date"), ("date", "day", "日期")),
    "enquiries": (_l("Enquiries"), ("enquiries", "询盘", "询盘数", "咨询量", "询盘量")),
    "new_enquiries": (_l("New enquiries"), ("new enquiries", "new_enquiries", "新询盘", "新增询盘", "新询盘数")),
}


def _store_keys(stores: list[OrgUnit]) -> dict[str, OrgUnit]:
    """A store named in a file: by its code, name, shop name or id (case-insensitive)."""
    keys: dict[str, OrgUnit] = {}
    for store in stores:
        for key in (store.code, store.name, store.shop_name, str(store.id)):
            if key:
                keys.setdefault(key.strip().lower(), store)
    return keys


def import_platform(filename: Any, stream: IO[bytes], *, actor: User) -> EnquiryImport:
    """Platform figures from an XLSX or CSV file (titles in the first row: store, date, enquiries, new
    enquiries, in English or Chinese). Good rows are saved (a row for a day already entered corrects it);
    each refused row is kept with its row number, column and message for the error report. A file that
    cannot be read at all, or lacks a column, is refused whole (`file`)."""
    if not actor.can("enquiry.enter_platform"):
        raise PermissionDenied()
    name = clean_filename(filename)
    fmt = tabular.format_of(name)
    content = stream.read(MAX_IMPORT_BYTES + 1)
    if not content:
        raise ValidationFailed({"file": _l("The file is empty.")})
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationFailed({"file": _l("The file is larger than %(mb)d MB.", mb=MAX_IMPORT_BYTES // (1024 * 1024))})
    rows = tabular.read_rows(content, fmt, max_rows=MAX_IMPORT_ROWS)
    header = next(rows, None)
    if not header:
        raise ValidationFailed({"file": _l("The first row must hold the column titles.")})
    columns = tabular.match_columns(header, {k: v[1] for k, v in IMPORT_COLUMNS.items()})
    missing = [str(IMPORT_COLUMNS[k][0]) for k in IMPORT_COLUMNS if k not in columns]
    if missing:
        raise ValidationFailed({"file": _l("The file has no column %(names)s.", names=", ".join(missing))})
    stores = _store_keys(entry_stores(actor))
    today = local_today()
    job = EnquiryImport(org_unit_id=actor.org_unit_id, created_by_id=actor.id, file_name=name[:200], errors=[])
    refused: list[dict[str, Any]] = []
    seen: dict[tuple[int, date], int] = {}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    changed: list[EnquiryDaily] = []
    for number, cells in enumerate(rows, start=2):
        def cell(key: str, cells: list[str] = cells) -> str:
            index = columns[key]
            return cells[index] if index < len(cells) else ""

        errors: dict[str, Any] = {}
        store = stores.get(cell("store").strip().lower())
        if store is None:
            errors["store"] = _l("No store of yours has this code or name.")
        day = parse_day(cell("day"), "day", errors, today=today)
        enquiries = parse_count(cell("enquiries"), "enquiries", errors)
        new = parse_count(cell("new_enquiries"), "new_enquiries", errors)
        for key, value in (("enquiries", enquiries), ("new_enquiries", new)):
            if value is None and key not in errors:
                errors[key] = _l("This field is required.")
        if enquiries is not None and new is not None and new > enquiries:
            errors["new_enquiries"] = _l("New enquiries cannot be more than the enquiries.")
        if store is not None and day is not None and (store.id, day) in seen:
            errors["day"] = _l("This store and day are already in row %(n)d.", n=seen[(store.id, day)])
        if errors:
            for key, message in errors.items():
                if len(refused) < MAX_ERRORS:
                    refused.append({"row": number, "field": str(IMPORT_COLUMNS[key][0]), "value": cell(key)[:200],
                                    "message": str(message)})
            continue
        assert store is not None and day is not None and enquiries is not None and new is not None
        seen[(store.id, day)] = number
        result, row = _write_platform(PlatformFigures(store.id, day, enquiries, new), actor)
        counts[result] += 1
        if result != "unchanged":
            changed.append(row)
    job.created, job.updated, job.unchanged, job.errors = counts["created"], counts["updated"], counts["unchanged"], refused
    db.session.add(job)
    db.session.flush()
    for row in changed:
        record_event(db.session, row, "enquiry_imported", actor_id=actor.id, note=f"{name[:200]} (#{job.id})")
    return job


def error_report(job: EnquiryImport) -> bytes:
    """The refused rows as CSV, through the one export writer (a refused value may be a formula)."""
    rows = ([e["row"], e["field"], e["value"], e["message"]] for e in job.errors or [])
    return tabular.write_table([str(_l("Row")), str(_l("Field")), str(_l("Value")), str(_l("Problem"))], rows, "csv")


# A salesperson's own figures -----------------------------------------------------------------------------
def _own_store(actor: User) -> int:
    if not actor.can("enquiry.enter_own"):
        raise PermissionDenied()
    if actor.store_id is None:
        raise ValidationFailed({"store_id": _l("Only people of a store enter daily figures.")})
    return actor.store_id


def _write_own(store_id: int, day: date, wechat_adds: int, contacts: int, actor: User
               ) -> tuple[str, EnquirySalespersonDaily]:
    row = db.session.scalar(select(EnquirySalespersonDaily).where(
        EnquirySalespersonDaily.user_id == actor.id, EnquirySalespersonDaily.store_id == store_id,
        EnquirySalespersonDaily.day == day))
    if row is None:
        row = EnquirySalespersonDaily(store_id=store_id, user_id=actor.id, day=day, wechat_adds=wechat_adds,
                                      contacts=contacts, entered_by_id=actor.id, updated_at=utcnow())
        db.session.add(row)
        db.session.flush()
        return "created", row
    if (row.wechat_adds, row.contacts) == (wechat_adds, contacts):
        return "unchanged", row
    row.wechat_adds, row.contacts, row.entered_by_id, row.updated_at = wechat_adds, contacts, actor.id, utcnow()
    db.session.flush()
    return "updated", row


def save_own_week(cells: Mapping[str, tuple[Any, Any]], *, actor: User) -> dict[str, int]:
    """The salesperson's week grid: ISO day -> (WeChat adds, contacts) as typed; blank days are left
    alone; all or nothing; errors named `wechat_adds-<day>` / `contacts-<day>`."""
    store_id = _own_store(actor)
    errors: dict[str, Any] = {}
    wanted: list[tuple[date, int, int]] = []
    for iso, (raw_wechat, raw_contacts) in sorted(cells.items()):
        fields = (f"wechat_adds-{iso}", f"contacts-{iso}")
        wechat, contacts = parse_count(raw_wechat, fields[0], errors), parse_count(raw_contacts, fields[1], errors)
        if any(f in errors for f in fields) or (wechat is None and contacts is None):
            continue
        day = parse_day(iso, fields[0], errors)
        if day is not None:
            wanted.append((day, wechat or 0, contacts or 0))
    if errors:
        raise ValidationFailed(errors)
    return _count_results(_write_own(store_id, day, w, c, actor)[0] for day, w, c in wanted)


def save_own_rows(rows: Iterable[Mapping[str, Any]], *, actor: User) -> list[EnquirySalespersonDaily]:
    """Rows of {day, wechat_adds, contacts[, user_id]} (the API): only the caller's own figures; all or
    nothing; errors named `rows.<i>.<field>`."""
    store_id = _own_store(actor)
    errors: dict[str, Any] = {}
    wanted: list[tuple[date, int, int]] = []
    seen: set[date] = set()
    for i, row in enumerate(rows):
        prefix = f"rows.{i}."
        if row.get("user_id") not in (None, actor.id):
            errors[prefix + "user_id"] = _l("You can enter only your own figures.")
        day = parse_day(row.get("day"), prefix + "day", errors)
        wechat = parse_count(row.get("wechat_adds"), prefix + "wechat_adds", errors)
        contacts = parse_count(row.get("contacts"), prefix + "contacts", errors)
        for name, value in (("wechat_adds", wechat), ("contacts", contacts)):
            if value is None and prefix + name not in errors:
                errors[prefix + name] = _l("This field is required.")
        if day is not None and day in seen:
            errors[prefix + "day"] = _l("This day comes twice in the request.")
        if day is not None:
            seen.add(day)
        if not any(k.startswith(prefix) for k in errors):
            wanted.append((day, wechat, contacts))  # type: ignore[arg-type]
    if errors:
        raise ValidationFailed(errors)
    return [_write_own(store_id, day, w, c, actor)[1] for day, w, c in wanted]


def add_screenshots(raw_day: Any, files: Iterable[tuple[Any, IO[bytes]]], *, actor: User) -> list[EnquiryScreenshot]:
    """WeChat screenshots of a day (images only: png, jpg, gif, webp, checked by their content); all or
    nothing. Errors name `day` or `screenshots`."""
    store_id = _own_store(actor)
    errors: dict[str, Any] = {}
    day = parse_day(raw_day, "day", errors)
    if errors:
        raise ValidationFailed(errors)
    files = [(name, stream) for name, stream in files if name]
    if not files:
        raise ValidationFailed({"screenshots": _l("Choose one or more pictures.")})
    if len(files) > MAX_SCREENSHOTS:
        raise ValidationFailed({"screenshots": _l("Upload at most %(n)d pictures at a time.", n=MAX_SCREENSHOTS)})
    shots = []
    for name, stream in files:
        stored = store_upload(name, stream, accept=IMAGE_TYPES, error_field="screenshots", folder="enquiries")
        shot = EnquiryScreenshot(store_id=store_id, user_id=actor.id, day=day, original_name=stored.name[:200],
                                 stored_name=stored.relative, content_type=stored.content_type, size=stored.size,
                                 uploaded_at=utcnow())
        db.session.add(shot)
        shots.append(shot)
    db.session.flush()
    return shots


def remove_screenshot(screenshot_id: Any, *, actor: User) -> None:
    """The uploader removes a screenshot (a correction: the operation log keeps the removal)."""
    shot = get_visible(EnquiryScreenshot, screenshot_id, actor)
    if shot.user_id != actor.id or not actor.can("enquiry.enter_own"):
        raise PermissionDenied()
    remove_stored(shot.stored_name)
    db.session.delete(shot)
    db.session.flush()


# Reminders -------------------------------------------------------------------------------------------------
def reminder_time() -> time:
    text = str(current_app.config.get("ENQUIRY_REMINDER_AT") or "10:00").strip()
    hour, _, minute = text.partition(":")
    return time(int(hour), int(minute or 0))


def send_reminders() -> int:
    """Once the configured hour (ENQUIRY_REMINDER_AT, Asia/Shanghai) has come, remind every active person of
    a store who may enter own figures (`enquiry.enter_own`) and has no figures for yesterday: a bell and an
    e-mail, at most once per person and day (`enquiry_reminder`), however often the job runs."""
    now = utcnow().astimezone(LOCAL)
    if now.time() < reminder_time():
        return 0
    yesterday = now.date() - timedelta(days=1)
    role_ids = [r.id for r in db.session.scalars(select(Role)) if not r.is_system
                and "enquiry.enter_own" in r.permission_list]
    if not role_ids:
        return 0
    entered = select(EnquirySalespersonDaily.user_id).where(EnquirySalespersonDaily.day == yesterday)
    reminded = select(EnquiryReminder.user_id).where(EnquiryReminder.day == yesterday)
    people = list(db.session.execute(
        select(User.id, User.store_id).where(
            User.active.is_(True), User.store_id.is_not(None),
            User.id.in_(select(user_role.c.user_id).where(user_role.c.role_id.in_(role_ids))),
            User.id.not_in(entered), User.id.not_in(reminded))
        .order_by(User.id)))
    if not people:
        return 0
    db.session.add_all([EnquiryReminder(user_id=uid, day=yesterday, sent_at=utcnow()) for uid, _store in people])
    db.session.flush()
    title = _l("Enter yesterday's enquiry figures (%(day)s)", day=yesterday.isoformat())
    body = _l("Your WeChat adds, contacts and screenshots of %(day)s are not in the CRM yet.", day=yesterday.isoformat())
    url = f"/enquiries/mine?week={yesterday.isoformat()}"
    sent = 0
    by_store: dict[int, list[int]] = {}
    for uid, store_id in people:
        by_store.setdefault(store_id, []).append(uid)
    for store_id, ids in by_store.items():
        sent += notify_many("enquiry_reminder", [(uid, title, body, url) for uid in ids], store_id=store_id)
    return sent

