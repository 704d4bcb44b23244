"""A quote as PDF (ReportLab) for confirmation with the customer: the store's letterhead, the lines, the
terms and, unless the store turned it off (`quote_seal`), an area for the seal and signature. Until the
quote is approved every page carries a "not approved" watermark.

The font is embedded (a subset), so "·", "¥" and every CJK character render in any viewer: the first
TrueType font found among `QUOTE_PDF_FONTS` (config; by default WenQuanYi Micro Hei from Debian's
`fonts-wqy-microhei` and AR PL UMing from `fonts-arphic-uming`, both TrueType outlines ReportLab can
embed). Without one, ReportLab's CID font STSong-Light is used: it needs no file but is not embedded,
so a viewer without Adobe's Asian font pack shows blanks (docs/operators.md says which package to install).
Text stays real text either way: searchable and extractable."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from flask import has_app_context
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph
from reportlab.platypus import SimpleDocTemplate
from reportlab.platypus import Spacer
from reportlab.platypus import Table
from reportlab.platypus import TableStyle

from crm.sales.quotes.models import Quote
from crm.sales.quotes.models import QuoteStatus

FALLBACK_FONT = "STSong-Light"
DEFAULT_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/arphic/uming.ttc")
_registered: dict[str, str] = {}


def _font() -> str:
    """The name of the registered font: the first embeddable TrueType file found, else the CID font."""
    paths = tuple(current_app.config.get("QUOTE_PDF_FONTS") or DEFAULT_FONTS) if has_app_context() else DEFAULT_FONTS
    key = "|".join(paths)
    if key not in _registered:
        name = FALLBACK_FONT
        for path in paths:
            if not Path(path).is_file():
                continue
            try:
                font = TTFont("CRM-CJK-" + Path(path).stem, path, subfontIndex=0)
            except Exception:  # noqa: BLE001 — a file ReportLab cannot read (CFF outlines): try the next
                continue
            pdfmetrics.registerFont(font)
            name = font.fontName
            break
        if name == FALLBACK_FONT:
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
        _registered[key] = name
    return _registered[key]


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"¥{value:,.2f}"


def _pct(rate: Decimal | None) -> str:
    return "" if rate is None else f"{rate * 100:.2f}%"


def _field(label: str, value: str) -> str:
    """"Label: value" as the reader's language writes it (日期：2026-12-07, with the full-width colon)."""
    return _("%(label)s: %(value)s", label=label, value=value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _watermark(font: str, text: str) -> Any:
    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 54)
        canvas.setFillColor(colors.Color(0.86, 0.21, 0.27, alpha=0.18))
        width, height = A4
        canvas.translate(width / 2, height / 2)
        canvas.rotate(35)
        canvas.drawCentredString(0, 0, text)
        canvas.restoreState()
    return draw


def _nothing(canvas: Any, doc: Any) -> None:
    return None


def render_quote(quote: Quote) -> bytes:
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=20, spaceAfter=4)
    head = ParagraphStyle("head", fontName=font, fontSize=12, leading=15)
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13)
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=10.5, textColor=colors.HexColor("#555555"))
    cell = ParagraphStyle("cell", fontName=font, fontSize=9, leading=11)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{_('Quote')} {quote.number}", author=quote.store.name)
    customer = quote.customer
    store = quote.store
    letterhead = store.quote_letterhead or ""
    story: list[Any] = [Paragraph(_escape(store.name), head)]
    for line in letterhead.splitlines() or ([store.shop_name] if store.shop_name else []):
        if line.strip():
            story.append(Paragraph(_escape(line.strip()), small))
    story += [
        Spacer(1, 3 * mm),
        Paragraph(_escape(f"{_('Quote')} {quote.number} · v{quote.version}"), title),
        Paragraph(_escape(_field(_("Customer"), customer.name + (f" ({customer.company})" if customer.company else ""))),
                  body),
        Paragraph(_escape(_field(_("Date"), f"{quote.created_at:%Y-%m-%d}") + " · "
                          + _field(_("Valid until"), f"{quote.valid_until:%Y-%m-%d}")), body),
        Paragraph(_escape(_field(_("Salesperson"), quote.owner.name)), body),
        Spacer(1, 6 * mm),
    ]
    rows = [[_("#"), _("Product"), _("Quantity"), _("List price"), _("Unit price"), _("Discount rate"), _("Amount")]]
    for i, line in enumerate(quote.lines, 1):
        product = line.product
        rows.append([str(i), Paragraph(f"{_escape(product.name)}<br/><font size=7>{_escape(product.sku)}</font>", cell),
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
        story += [Spacer(1, 5 * mm), Paragraph(_escape(f"{_('Note')}: {quote.note}"), body)]
    story += [Spacer(1, 6 * mm), Paragraph(_escape(_("Prices in RMB. This quote is valid until %(date)s.",
                                                     date=f"{quote.valid_until:%Y-%m-%d}")), body)]
    terms = store.quote_terms or ""
    if terms.strip():
        story += [Spacer(1, 3 * mm), Paragraph(_escape(_("Terms")), body)]
        story += [Paragraph(_escape(t.strip()), small) for t in terms.splitlines() if t.strip()]
    if store.quote_seal:  # the store's choice (its page, the org-unit API)
        seal = Table([[_("Seller's seal and signature"), _("Customer's seal and signature")], ["", ""]],
                     colWidths=[88 * mm, 88 * mm], rowHeights=[7 * mm, 28 * mm])
        seal.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("BOX", (0, 0), (0, -1), 0.6, colors.HexColor("#8a94a6")),
            ("BOX", (1, 0), (1, -1), 0.6, colors.HexColor("#8a94a6")),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.HexColor("#555555")),
        ]))
        story += [Spacer(1, 8 * mm), seal]
    approved = quote.status in (QuoteStatus.APPROVED, QuoteStatus.CONVERTED)
    mark = _nothing if approved else _watermark(font, _("NOT APPROVED"))
    doc.build(story, onFirstPage=mark, onLaterPages=mark)
    return buf.getvalue()
