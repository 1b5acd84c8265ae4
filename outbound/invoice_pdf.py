"""Invoices as PDF: the quotation's layout (outbound/quote_pdf.py, ``priced_pdf``: company header, CJK fonts,
lines, totals) with the invoice's own facts — issue and due date — and what was paid and what is left."""

from __future__ import annotations

from crm.billing.model import InvoiceDocument
from outbound.quote_pdf import ReportlabQuoteRenderer

__all__ = ["ReportlabInvoiceRenderer"]


class ReportlabInvoiceRenderer(ReportlabQuoteRenderer):
    """Implements :class:`crm.billing.ports.InvoiceDocuments`."""

    def invoice_pdf(self, document: InvoiceDocument) -> bytes:
        invoice, labels = document.invoice, document.labels
        facts = [("customer", document.customer_name), ("date", invoice.issue_date.isoformat()),
                 ("due_date", invoice.due_date.isoformat())]
        if invoice.void_reason:
            facts.append(("void", invoice.void_reason))
        return self.priced_pdf(labels, company_name=document.company_name,
                               company_address=document.company_address, number=invoice.number,
                               lines=invoice.lines, totals=invoice.totals, facts=facts,
                               after=(("paid", invoice.paid), ("balance", invoice.outstanding)))
