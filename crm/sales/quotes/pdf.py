"""A quote as PDF (ReportLab) for confirmation with the customer. Chinese renders with the CID font
STSong-Light, which ReportLab ships (no font file): text stays real text, so it is searchable and
extractable."""

from __future__ import annotations

import io
from decimal import Decimal

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph
from reportlab.platypus import SimpleDocTemplate
from reportlab.platypus import Spacer
from reportlab.platypus import Table
from reportlab.platypus import TableStyle

from crm.sales.quotes.models import Quote

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"¥{value:,.2f}"


def _pct(rate: Decimal | None) -> str:
    return "" if rate is None else f"{rate * 100:.2f}%"


def _field(label: str, value: str) -> str:
    """"Label: value" as the reader's language writes it (日期：2026-12-07, with the full-width colon)."""
    return _("%(label)s: %(value)s", label=label, value=value)


def render_quote(quote: Quote) -> bytes:
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=20, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13)
    cell = ParagraphStyle("cell", fontName=font, fontSize=9, leading=11)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{_('Quote')} {quote.number}", author=quote.store.name)
    customer = quote.customer
    story = [
        Paragraph(quote.store.name, body),
        Paragraph(f"{_('Quote')} {quote.number} · v{quote.version}", title),
        Paragraph(_field(_("Customer"), customer.name + (f" ({customer.company})" if customer.company else "")), body),
        Paragraph(_field(_("Date"), f"{quote.created_at:%Y-%m-%d}") + " · "
                  + _field(_("Valid until"), f"{quote.valid_until:%Y-%m-%d}"), body),
        Paragraph(_field(_("Salesperson"), quote.owner.name), body),
        Spacer(1, 6 * mm),
    ]
    rows = [[_("#"), _("Product"), _("Quantity"), _("List price"), _("Unit price"), _("Discount rate"), _("Amount")]]
    for i, line in enumerate(quote.lines, 1):
        product = line.product
        rows.append([str(i), Paragraph(f"{product.name}<br/><font size=7>{product.sku}</font>", cell),
                     f"{line.quantity} {product.unit}", _money(line.list_price), _money(line.unit_price),
                     _pct(line.discount_rate), _money(line.amount)])
    rows.append(["", _("Total"), "", _money(quote.list_total), "", _pct(quote.discount_rate), _money(quote.total)])
    table = Table(rows, colWidths=[8 * mm, 62 * mm, 20 * mm, 24 * mm, 24 * mm, 20 * mm, 24 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#8a94a6")),
        ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.HexColor("#8a94a6")),
        ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    story.append(table)
    if quote.note:
        story += [Spacer(1, 5 * mm), Paragraph(f"{_('Note')}: {quote.note}", body)]
    story += [Spacer(1, 8 * mm), Paragraph(_("Prices in RMB. This quote is valid until %(date)s.",
                                             date=f"{quote.valid_until:%Y-%m-%d}"), body)]
    doc.build(story)
    return buf.getvalue()
