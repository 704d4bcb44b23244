"""Import (CSV and XLSX) of customers (export: `crm.customers.exports`).

Import is a DB-backed job: upload (the file is stored, its header and first rows previewed with a
guessed column mapping) -> confirm (mapping, what to do with duplicates, default owner) -> the
`customers.run_imports` job processes it in chunks of `CHUNK` rows (one transaction each), so progress is
visible and a 100 k-row file never holds a request. Every refused row is kept with its row number, field
and message for the downloadable error report.

No request reads a whole file: the upload is only checked cheaply (size, type, a CSV decodes, a workbook's
zip directory and declared size, see `crm.core.workbook_guard`); the previews read the first rows; the job
counts and reads the rows and stops a file past `IMPORT_MAX_ROWS` (whatever it declared) with the reason
on the job and in its error report, before importing any row."""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import secrets
from collections.abc import Iterator
from itertools import islice
from typing import IO
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select

from crm.core import tabular
from crm.core.audit import OperationLog
from crm.core.clock import utcnow
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.files import clean_filename
from crm.core.files import upload_folder
from crm.core.jobs import in_batches
from crm.core.validation import normalise_mobile
from crm.customers.models import Customer
from crm.customers.models import ImportJob
from crm.customers.models import ImportStatus
from crm.customers.services import clean_profile
from crm.customers.services import resolve_store
from crm.customers.services import store_user
from crm.extensions import db
from crm.org.models import User

logger = logging.getLogger(__name__)

CHUNK = 5000
MAX_ERRORS = 5000
MAX_BYTES = 50 * 1024 * 1024
PREVIEW_ROWS = 10
_KEYS = frozenset({"mobile", "mobile_norm", "chat_id", "chat_id_norm"})
_BLANK: dict[str, Any] = {
    "name": None, "company": None, "mobile": None, "mobile_norm": None, "chat_id": None, "chat_id_norm": None,
    "email": None, "province": None, "city": None, "address": None, "source_platform": None, "source_store": None,
    "level": None, "industry": None, "tags": [], "product_preferences": None, "intention": None, "remarks": None,
    "locked": False, "won": False, "lock_version": 1,
}

# Our import fields and the header names (en / zh) that map to them automatically.
FIELDS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "name": (_l("Name"), ("name", "customer", "customer name", "客户名称", "客户", "姓名", "名称")),
    "company": (_l("Company"), ("company", "公司", "公司名称", "单位")),
    "mobile": (_l("Mobile number"), ("mobile", "phone", "mobile number", "手机", "手机号", "手机号码", "电话")),
    "chat_id": (_l("WeChat ID"), ("wechat", "wechat id", "chat id", "chat_id", "微信", "微信号")),
    "email": (_l("E-mail"), ("email", "e-mail", "邮箱", "电子邮件")),
    "province": (_l("Province"), ("province", "省", "省份")),
    "city": (_l("City"), ("city", "市", "城市")),
    "address": (_l("Address"), ("address", "地址", "详细地址")),
    "source_platform": (_l("Source platform"), ("platform", "source platform", "source_platform", "来源平台", "平台")),
    "source_store": (_l("Source store"), ("source store", "source_store", "来源店铺", "店铺")),
    "level": (_l("Level"), ("level", "客户等级", "等级")),
    "industry": (_l("Industry"), ("industry", "行业", "所属行业")),
    "tags": (_l("Tags"), ("tags", "标签")),
    "product_preferences": (_l("Product preferences"), ("product preferences", "product_preferences", "产品偏好")),
    "intention": (_l("Purchase intention"), ("intention", "purchase intention", "购买意向", "意向")),
    "remarks": (_l("Remarks"), ("remarks", "notes", "备注")),
    "owner_mobile": (_l("Owner (mobile number of the salesperson)"), ("owner mobile", "owner_mobile", "负责人手机",
                                                                     "负责人手机号")),
}


# Reading files: every read goes through crm.core.tabular, bounded (a preview reads its first rows only;
# the job reads the whole file with the row limit enforced while streaming) ------------------------------
def header(path: str, file_format: str) -> list[str]:
    with contextlib.closing(tabular.iter_file_rows(path, file_format, first=1)) as rows:
        return next(rows, [])


def data_rows(path: str, file_format: str, *, skip: int = 0, first: int | None = None) -> Iterator[list[str]]:
    """Data rows (after the title row) as lists of text, starting after `skip` data rows; with `first`,
    only among the first `first` data rows (a bounded preview)."""
    rows = tabular.iter_file_rows(path, file_format, first=None if first is None else first + 1)
    return islice(rows, 1 + skip, None)


def guess_mapping(columns: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for index, title in enumerate(columns):
        key = title.strip().lower()
        for field, (_label, names) in FIELDS.items():
            if field not in mapping and key in names:
                mapping[field] = index
                break
    return mapping


# Upload and confirm -------------------------------------------------------------------------------------
def upload(filename: Any, stream: IO[bytes], *, actor: User, store_id: Any = None, target: str = "customers"
           ) -> ImportJob:
    if not actor.can("customer.import"):
        raise PermissionDenied()
    name = clean_filename(filename)
    ext = os.path.splitext(name)[1].lower()
    if ext not in (".csv", ".xlsx"):
        raise ValidationFailed({"file": _l("Upload a .csv or .xlsx file.")})
    content = stream.read(MAX_BYTES + 1)
    if not content:
        raise ValidationFailed({"file": _l("The file is empty.")})
    if len(content) > MAX_BYTES:
        raise ValidationFailed({"file": _l("The file is larger than %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024))})
    if target not in ("customers", "leads"):
        raise ValidationFailed({"target": _l("Choose a value from the list.")})
    # Cheap checks only (a CSV must decode; a workbook's zip directory and declared size must be within the
    # limits): the rows are counted and read by the job, which stops at the row limit.
    content = tabular.check_upload(content, ext.lstrip("."))
    store = resolve_store(actor, store_id)
    now = utcnow()
    relative = f"imports/{now:%Y}/{now:%m}/{secrets.token_hex(16)}{ext}"
    path = upload_folder() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    db.session.info.setdefault("crm_new_files", []).append(str(path))
    job = ImportJob(store_id=store, created_by_id=actor.id, file_name=name, stored_name=relative,
                    file_format=ext.lstrip("."), status=ImportStatus.DRAFT, target=target)
    try:
        columns = header(str(path), job.file_format)
    except ValidationFailed:
        raise
    except Exception:  # a corrupt workbook
        raise ValidationFailed({"file": _l("The file could not be read. Save it again as .xlsx or .csv.")}) from None
    if not any(columns):
        raise ValidationFailed({"file": _l("The first row must hold the column titles.")})
    job.mapping = guess_mapping(columns)
    db.session.add(job)
    db.session.flush()
    return job


def file_path(job: ImportJob) -> str:
    return str(upload_folder() / job.stored_name)


def preview(job: ImportJob) -> tuple[list[str], list[list[str]]]:
    """The title row and the first PREVIEW_ROWS data rows; nothing further is read."""
    rows = list(tabular.iter_file_rows(file_path(job), job.file_format, first=PREVIEW_ROWS + 1))
    return (rows[0] if rows else []), rows[1:]


def save_mapping(job: ImportJob, mapping: dict[str, Any]) -> ImportJob:
    """Check and keep the column mapping of a draft import (the duplicate preview uses it)."""
    if job.status != ImportStatus.DRAFT:
        raise ValidationFailed({"mapping": _l("This import has already started.")})
    columns = header(file_path(job), job.file_format)
    clean: dict[str, int] = {}
    for field, raw in mapping.items():
        if field not in FIELDS or raw in (None, ""):
            continue
        try:
            index = int(raw)
        except (TypeError, ValueError):
            raise ValidationFailed({f"map_{field}": _l("Choose a column from the list.")}) from None
        if not 0 <= index < len(columns):
            raise ValidationFailed({f"map_{field}": _l("Choose a column from the list.")})
        clean[field] = index
    if "name" not in clean:
        raise ValidationFailed({"map_name": _l("Choose the column holding the customer's name.")})
    if "mobile" not in clean and "chat_id" not in clean:
        raise ValidationFailed({"map_mobile": _l("Choose the column of the mobile number or of the WeChat ID.")})
    job.mapping = clean
    db.session.flush()
    return job


def choices_for(job: ImportJob) -> tuple[str, ...]:
    return ("skip", "create") if job.target == "leads" else ("skip", "update")


def confirm(job: ImportJob, mapping: dict[str, Any], on_duplicate: str, default_owner: Any, *, actor: User,
            row_choices: dict[str, Any] | None = None) -> ImportJob:
    save_mapping(job, mapping)
    allowed = choices_for(job)
    if on_duplicate not in allowed:
        raise ValidationFailed({"on_duplicate": _l("Choose what to do with duplicates.")})
    rows: dict[str, str] = {}
    for row, choice in (row_choices or {}).items():
        if choice in (None, ""):
            continue
        if not str(row).isdigit() or choice not in allowed:
            raise ValidationFailed({f"row_{row}": _l("Choose a value from the list.")})
        rows[str(int(row))] = choice
    owner_id = None
    if default_owner not in (None, "", "pool"):
        owner_id = store_user(default_owner, job.store_id, "default_owner_id").id
    job.on_duplicate = on_duplicate
    job.row_choices = rows
    job.default_owner_id = owner_id
    job.status = ImportStatus.PENDING  # the job counts the rows (see _prepare): nothing is read here
    db.session.flush()
    return job


def _prepare(job: ImportJob) -> None:
    """The job's first step: count the rows, stopping at the row limit (a file past it fails the job before
    any row is imported, whatever it declared), and rewrite a workbook once as CSV: every chunk re-reads its
    file from the top, and openpyxl parses the sheet's XML from the start each time (quadratic on a 100 k-row
    workbook); CSV parses ten times faster."""
    source = file_path(job)
    rows = tabular.iter_file_rows(source, job.file_format)
    if job.file_format != "xlsx":
        job.total_rows = sum(1 for number, row in enumerate(rows) if number and any(row))
        return
    target = source.rsplit(".", 1)[0] + ".csv"
    total = 0
    try:
        with open(target, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            for number, row in enumerate(rows):
                writer.writerow(row)
                total += 1 if number and any(row) else 0
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise
    db.session.info.setdefault("crm_new_files", []).append(target)
    job.stored_name = job.stored_name.rsplit(".", 1)[0] + ".csv"
    job.file_format = "csv"
    job.total_rows = total


def duplicate_preview(job: ImportJob, actor: User, scan: int = 2000, show: int = 50) -> list[dict[str, Any]]:
    """Rows among the first `scan` whose mobile number or WeChat ID already exists in the store, with what
    the actor may learn about the existing record, so a choice can be made row by row."""
    from crm.customers.models import Lead
    from crm.customers.services import describe
    from crm.customers.services import normalise_chat_id

    mapping = job.mapping or {}
    found: list[tuple[int, str, str | None, str | None]] = []
    for offset, row in enumerate(data_rows(file_path(job), job.file_format, first=scan)):

        def cell(field: str, row: list[str] = row) -> str:
            index = mapping.get(field)
            return tabular.unquote(row[index]) if index is not None and index < len(row) else ""

        mobile = normalise_mobile(cell("mobile")) or None
        chat = normalise_chat_id(cell("chat_id")) or None
        if mobile or chat:
            found.append((offset + 2, cell("name"), mobile, chat))
    mobiles = {m for _r, _n, m, _c in found if m}
    chats = {c for _r, _n, _m, c in found if c}
    known: dict[tuple[str, str], str] = {}
    models: list[Any] = [Customer] + ([Lead] if job.target == "leads" else [])
    for model in models:
        conds = []
        if mobiles:
            conds.append(model.mobile_norm.in_(mobiles))
        if chats:
            conds.append(model.chat_id_norm.in_(chats))
        if not conds:
            continue
        for obj in db.session.scalars(select(model).where(model.store_id == job.store_id, or_(*conds))):
            text = describe(obj, actor) if model is Customer else str(_l("a lead of this store"))
            if obj.mobile_norm:
                known.setdefault(("m", obj.mobile_norm), text)
            if obj.chat_id_norm:
                known.setdefault(("c", obj.chat_id_norm), text)
    out = []
    for row, name, mobile, chat in found:
        existing = known.get(("m", mobile or "")) or known.get(("c", chat or ""))
        if existing:
            out.append({"row": row, "name": name, "key": mobile or chat, "existing": existing})
            if len(out) >= show:
                break
    return out


# Processing ---------------------------------------------------------------------------------------------
def _error(job: ImportJob, errors: list[dict[str, Any]], row: int, field: str, value: Any, message: Any) -> None:
    if len(errors) < MAX_ERRORS:
        label = str(FIELDS[field][0]) if field in FIELDS else field
        errors.append({"row": row, "field": label, "value": str(value)[:200], "message": str(message)})


def skip_row(reasons: dict[str, int], reason: str, skipped: list[dict[str, Any]] | None = None,
             row: int | None = None, **matched: Any) -> None:
    """Count a skipped row under its reason and, with `skipped` and `row`, keep the row itself (what it
    matched: `customer_id`, or `same_as_row` for a repeat of an earlier row of the file) for the result."""
    reasons[reason] = reasons.get(reason, 0) + 1
    if skipped is not None and row is not None and len(skipped) < MAX_ERRORS:
        skipped.append({"row": row, "reason": reason, **matched})


def skipped_rows(job: ImportJob, actor: User) -> list[dict[str, Any]]:
    """The import's skipped rows as `actor` may learn them: the existing customer's id only when they may
    see it, and what they may know of it (`describe`: "owned by 王芳", "in the high seas")."""
    from crm.customers.services import can_see
    from crm.customers.services import describe

    rows = list(job.skipped_rows or [])
    ids = {r["customer_id"] for r in rows if r.get("customer_id")}
    found = {c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(ids)))} if ids else {}
    out = []
    for r in rows:
        customer = found.get(r.get("customer_id") or 0)
        out.append({"row": r["row"], "reason": r["reason"], "same_as_row": r.get("same_as_row"),
                    "existing_id": customer.id if customer is not None and can_see(customer, actor) else None,
                    "existing": describe(customer, actor) if customer is not None else None})
    return out


def run_chunk(job: ImportJob) -> None:
    """Process the next CHUNK rows of `job` (the caller holds its row lock and commits)."""
    if job.status == ImportStatus.PENDING:
        _prepare(job)
        job.status = ImportStatus.RUNNING
    start = job.processed_rows
    raw_rows = list(islice(data_rows(file_path(job), job.file_format, skip=start), CHUNK))
    errors = list(job.errors or [])
    reasons = dict(job.skip_reasons or {})
    skipped = list(job.skipped_rows or [])
    owners = {u.mobile: u.id for u in db.session.scalars(select(User).where(User.store_id == job.store_id, User.active))}
    parsed: list[tuple[int, dict[str, Any], int | None]] = []
    for offset, row in enumerate(raw_rows):
        line = start + offset + 2  # the spreadsheet's row number (1 is the header)
        if not any(row):
            continue
        data = {field: (tabular.unquote(row[index]) if index < len(row) else "") for field, index in job.mapping.items()}
        clean, problems = clean_profile(data)
        if problems:
            for field, message in problems.items():
                _error(job, errors, line, field, data.get(field, ""), message)
            job.failed += 1
            continue
        owner_id = job.default_owner_id
        if data.get("owner_mobile"):
            owner_id = owners.get(normalise_mobile(data["owner_mobile"]))
            if owner_id is None:
                _error(job, errors, line, "owner_mobile", data["owner_mobile"],
                       _l("No active person of this store has this mobile number."))
                job.failed += 1
                continue
        parsed.append((line, clean, owner_id))
    if job.target == "leads":
        from crm.customers.leads.imports import store_leads

        store_leads(job, parsed, errors, reasons, skipped)
    else:
        _store_customers(job, parsed, errors, reasons, skipped)
    job.processed_rows = start + len(raw_rows)
    job.errors = errors
    job.skip_reasons = reasons
    job.skipped_rows = skipped
    if len(raw_rows) < CHUNK:
        job.status = ImportStatus.DONE
        job.finished_at = utcnow()
        job.processed_rows = max(job.processed_rows, job.total_rows)
    db.session.flush()


def _store_customers(job: ImportJob, parsed: list[tuple[int, dict[str, Any], int | None]],
                     errors: list[dict[str, Any]], reasons: dict[str, int], skipped: list[dict[str, Any]]) -> None:
    mobiles = {c["mobile_norm"] for _l_, c, _o in parsed if c.get("mobile_norm")}
    chats = {c["chat_id_norm"] for _l_, c, _o in parsed if c.get("chat_id_norm")}
    existing: dict[tuple[str, str], Any] = {}  # a Customer, or the row dict of one created from this file
    if mobiles or chats:
        conds = []
        if mobiles:
            conds.append(Customer.mobile_norm.in_(mobiles))
        if chats:
            conds.append(Customer.chat_id_norm.in_(chats))
        for c in db.session.scalars(select(Customer).where(Customer.store_id == job.store_id, or_(*conds))):
            if c.mobile_norm:
                existing[("m", c.mobile_norm)] = c
            if c.chat_id_norm:
                existing[("c", c.chat_id_norm)] = c
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    row_lines: dict[int, int] = {}  # id(row) -> its line, for a later repeat of it
    for line, clean, owner_id in parsed:
        hits = [existing.get(("m", clean.get("mobile_norm") or "")), existing.get(("c", clean.get("chat_id_norm") or ""))]
        found = {id(h): h for h in hits if h is not None}
        if len(found) > 1:
            skip_row(reasons, str(_l("mobile number and WeChat ID belong to two different customers")), skipped, line)
            _error(job, errors, line, "mobile", clean.get("mobile"),
                   _l("The mobile number and the WeChat ID belong to two different existing customers."))
            job.skipped += 1
            continue
        if found:
            target = next(iter(found.values()))
            if isinstance(target, dict):  # a row earlier in this file
                skip_row(reasons, str(_l("duplicate row in the file")), skipped, line, same_as_row=row_lines.get(id(target)))
                job.skipped += 1
                continue
            if (job.row_choices or {}).get(str(line), job.on_duplicate) == "skip":
                skip_row(reasons, str(_l("already a customer of this store")), skipped, line, customer_id=target.id)
                job.skipped += 1
                continue
            for key, value in clean.items():
                # Fill and refresh the profile; never overwrite the other dedup key (it could clash).
                if value in (None, "", []) or (key in _KEYS and getattr(target, key)):
                    continue
                setattr(target, key, value)
            job.updated += 1
            continue
        row = {**_BLANK, **clean, "store_id": job.store_id, "owner_id": owner_id, "created_by_id": job.created_by_id,
               "owned_since": now if owner_id else None, "last_activity_at": now, "created_at": now, "updated_at": now}
        row["level"] = row["level"].value if row["level"] else None
        row["intention"] = row["intention"].value if row["intention"] else None
        row["tags_text"] = ("," + ",".join(row["tags"]) + ",") if row["tags"] else ""
        new_rows.append(row)
        row_lines[id(row)] = line
        if row["mobile_norm"]:
            existing[("m", row["mobile_norm"])] = row
        if row["chat_id_norm"]:
            existing[("c", row["chat_id_norm"])] = row
        job.created += 1
    db.session.flush()  # the updates above, through the ORM (their field changes go to the operation log)
    if new_rows:
        # New customers by one multi-row INSERT and one operation-log INSERT ... SELECT: the ORM's per-object
        # bookkeeping would cost ten times more (see bench/bench_customers.py). Each gets an "imported" entry.
        table = Customer.__table__
        db.session.execute(table.insert(), new_rows)
        log = OperationLog.__table__
        picked = select(
            literal(now, type_=log.c.occurred_at.type), literal(job.created_by_id), literal("customer"), table.c.id,
            table.c.store_id, literal("imported"), literal({}, type_=log.c.changes.type),
            literal(f"{job.file_name} (no. {job.id})"),
        ).where(table.c.store_id == job.store_id, table.c.created_by_id == job.created_by_id,
                table.c.created_at == now)
        db.session.execute(log.insert().from_select(
            ["occurred_at", "actor_id", "object_type", "object_id", "store_id", "action", "changes", "note"], picked))


def run_imports(max_chunks: int = 5) -> int:
    """The `customers.run_imports` job: a few chunks of the oldest pending import (taken with SKIP LOCKED),
    one transaction per chunk (`in_batches` commits each)."""
    done = 0

    def chunk() -> bool:
        nonlocal done
        stmt = (select(ImportJob).where(ImportJob.status.in_([ImportStatus.PENDING, ImportStatus.RUNNING]))
                .order_by(ImportJob.id).limit(1))
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        job = db.session.scalar(stmt)
        if job is None:
            return False
        with _language_of(job):
            try:
                with db.session.begin_nested():
                    run_chunk(job)
            except ValidationFailed as exc:  # the file itself: longer or wider than allowed, unreadable
                _fail(job, " ".join(m for messages in exc.errors.values() for m in messages) or str(exc.message))
            except Exception:  # a broken file: the job says so instead of retrying forever
                logger.exception("import %s failed", job.id)
                _fail(job, str(_l("The file could not be read. Save it again as .xlsx or .csv.")))
        done += 1
        return True

    in_batches(chunk, limit=max_chunks)
    return done


def _language_of(job: ImportJob) -> Any:
    """Messages the job writes (refused rows, why it stopped) in its creator's saved language."""
    locale = db.session.scalar(select(User.locale).where(User.id == job.created_by_id))
    if locale and locale in current_app.config.get("LANGUAGES", {}):
        return force_locale(locale)
    return contextlib.nullcontext()


def _fail(job: ImportJob, message: str) -> None:
    """Stop the job; the reason is its last error and an entry of its error report (field: the file)."""
    job.status = ImportStatus.FAILED
    job.last_error = message[:1000]
    job.finished_at = utcnow()
    job.errors = [*(job.errors or []), {"row": None, "field": str(_l("File")), "value": job.file_name,
                                        "message": message}][-MAX_ERRORS:]


def error_report(job: ImportJob) -> bytes:
    """The refused rows as CSV, through the one export writer (a refused value may be a formula)."""
    rows = ([e["row"], e["field"], e["value"], e["message"]] for e in job.errors or [])
    return tabular.write_table([str(_l("Row")), str(_l("Field")), str(_l("Value")), str(_l("Problem"))], rows, "csv")
