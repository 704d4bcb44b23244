"""The enquiry statistics' daily tables as files (XLSX or CSV), for the page's and the API's exports: the
same rows as the tables, every row of the window (no page cap)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _

from crm.core.clock import utcnow
from crm.core.tabular import write_table
from crm.enquiries.queries import Filters
from crm.enquiries.queries import people_rows
from crm.enquiries.queries import platform_rows
from crm.org.models import PLATFORM_LABELS
from crm.org.models import User


def platform_file(actor: User, filters: Filters, fmt: str) -> tuple[bytes, str]:
    titles = [_("Date"), _("Store"), _("Platform"), _("Enquiries"), _("New enquiries"), _("Entered by"), _("Updated")]
    rows: Iterator[list[Any]] = (
        [r["day"].isoformat(), r["store"], str(PLATFORM_LABELS.get(r["platform"], "")) if r["platform"] else "",
         r["enquiries"], r["new_enquiries"], r["entered_by"] or "", r["updated_at"]]
        for r in platform_rows(actor, filters, limit=None))
    return write_table(titles, rows, fmt, sheet="enquiries"), _file_name("enquiries-platform", filters, fmt)


def people_file(actor: User, filters: Filters, fmt: str) -> tuple[bytes, str]:
    titles = [_("Date"), _("Store"), _("Salesperson"), _("WeChat adds"), _("Contacts"), _("Screenshots")]
    rows: Iterator[list[Any]] = (
        [r["day"].isoformat(), r["store"], r["salesperson"], r["wechat_adds"], r["contacts"], r["screenshots"]]
        for r in people_rows(actor, filters, limit=None))
    return write_table(titles, rows, fmt, sheet="salespeople"), _file_name("enquiries-salespeople", filters, fmt)


def _file_name(stem: str, filters: Filters, fmt: str) -> str:
    w = filters.window
    return f"{stem}-{w.first:%Y%m%d}-{w.last:%Y%m%d}-{utcnow():%H%M}.{fmt}"
