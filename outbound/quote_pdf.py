"""Quotations (and, through ``priced_pdf``, other priced documents: invoices) as PDF (reportlab, A4): the
company header, the customer, the lines table and the totals.

Chinese and English are drawn with the fonts the labels use (outbound/labels_pdf.py): Helvetica for Latin-only
text, the embedded CJK TrueType font otherwise (fonts-wqy-microhei), the non-embedded CID fonts with a warning
when no such font is found. A line that does not fit its column is cut with "…" rather than overprinting the next.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from crm.core.money import Money
from crm.sales.quote_model import QuoteDocument, QuoteLine, Totals
from outbound.labels_pdf import MM, ReportlabLabelRenderer, _width

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

__all__ = ["ReportlabQuoteRenderer"]

PAGE_W, PAGE_H = 210 * MM, 297 * MM
MARGIN = 18 * MM
BODY = 9.0
ROW = 14.0
# Column left edges (points from the margin) and whether the column is right-aligned.
COLUMNS: tuple[tuple[str, float, float, bool], ...] = (
    ("sku", 0, 70, False), ("item", 72, 170, False), ("quantity", 244, 50, True), ("unit_price", 296, 70, True),
    ("discount", 368, 40, True), ("tax", 410, 35, True), ("amount", 447, 80, True),
)


def _number(value: Decimal) -> str:
    return f"{value.normalize():,f}" if value == value.to_integral_value() else f"{value:,f}"


def _money(amount: Decimal, currency: str) -> str:
    return f"{Money(amount, currency).amount:,f}"


class ReportlabQuoteRenderer:
    """Implements :class:`crm.sales.ports.QuoteDocuments`."""

    def __init__(self, cjk_font_path: str | os.PathLike[str] | None = None, *, search_fonts: bool = True) -> None:
        self._fonts = ReportlabLabelRenderer(cjk_font_path, search_fonts=search_fonts)

    def _text(self, canvas: Canvas, x: float, y: float, text: str, *, size: float = BODY, bold: bool = False,
              width: float | None = None, right: bool = False) -> None:
        font = self._fonts.font_for(text, bold=bold) if text else "Helvetica"
        if width is not None:
            while text and _width(text, font, size) > width:
                text = text[:-2] + "…" if len(text) > 1 else ""
        canvas.setFont(font, size)
        if right:
            canvas.drawRightString(x + (width or 0), y, text)
        else:
            canvas.drawString(x, y, text)

    def quote_pdf(self, document: QuoteDocument) -> bytes:
        quote, labels = document.quote, document.labels
        return self.priced_pdf(
            labels, company_name=document.company_name, company_address=document.company_address,
            number=quote.number, lines=quote.lines, totals=quote.totals,
            facts=(("customer", document.customer_name), ("date", document.issued.isoformat()),
                   ("valid_until", quote.valid_until.isoformat())))

    def priced_pdf(self, labels: Mapping[str, str], *, company_name: str, company_address: Sequence[str],
                   number: str, facts: Sequence[tuple[str, str]], lines: Sequence[QuoteLine], totals: Totals,
                   after: Sequence[tuple[str, Decimal]] = ()) -> bytes:
        """A priced document (a quotation, an invoice): the company header, ``labels['title']`` and the number,
        ``facts`` (label key, value) under it, the lines table, the totals and ``after`` (label key, amount) below
        the total (an invoice's paid and balance)."""
        from reportlab.pdfgen.canvas import Canvas

        currency = totals.currency
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=(PAGE_W, PAGE_H), invariant=True, pageCompression=1)
        canvas.setTitle(f"{labels['title']} {number}")
        canvas.setCreator("crmbot")
        y = PAGE_H - MARGIN
        self._text(canvas, MARGIN, y, company_name, size=16, bold=True)
        for address_line in company_address:
            y -= 12
            self._text(canvas, MARGIN, y, address_line)
        y -= 30
        self._text(canvas, MARGIN, y, f"{labels['title']} {number}", size=14, bold=True)
        y -= 18
        for key, value in facts:
            self._text(canvas, MARGIN, y, f"{labels[key]}: {value}")
            y -= 13
        y -= 10

        def header(y: float) -> float:
            for key, left, width, right in COLUMNS:
                self._text(canvas, MARGIN + left, y, labels[key], bold=True, width=width, right=right)
            canvas.setLineWidth(0.5)
            canvas.line(MARGIN, y - 4, PAGE_W - MARGIN, y - 4)
            return y - ROW - 2

        y = header(y)
        for line, amounts in zip(lines, totals.lines, strict=True):
            if y < MARGIN + 5 * ROW:
                canvas.showPage()
                y = header(PAGE_H - MARGIN)
            cells = (line.sku, line.name, _number(line.quantity), _money(line.unit_price, currency),
                     f"{_number(line.discount)}%" if line.discount else "", f"{_number(line.tax_rate)}%",
                     _money(amounts.net, currency))
            for (_, left, width, right), cell in zip(COLUMNS, cells, strict=True):
                self._text(canvas, MARGIN + left, y, cell, width=width, right=right)
            y -= ROW
        canvas.line(MARGIN, y + ROW - 4, PAGE_W - MARGIN, y + ROW - 4)
        y -= 4
        rows = [("subtotal", totals.subtotal)]
        if totals.discount:
            rows.append(("order_discount", -totals.discount))
        rows += [("tax", totals.tax), ("total", totals.total), *after]
        for key, amount in rows:
            bold = key == "total"
            self._text(canvas, PAGE_W - MARGIN - 230, y, labels[key], bold=bold, width=120)
            self._text(canvas, PAGE_W - MARGIN - 110, y, f"{currency} {_money(amount, currency)}",
                       bold=bold, width=110, right=True)
            y -= ROW
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()
