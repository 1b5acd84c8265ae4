"""The billing module: invoices, payments and receivables.

The module's services as one namespace: ``services.billing.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.billing.invoices import InvoiceService
from crm.billing.payments import PaymentService
from crm.billing.receivables import ReceivablesService


@dataclass
class BillingServices:
    invoices: InvoiceService  # ``invoices.sources``: where invoices of orders and shipments come from
    payments: PaymentService
    receivables: ReceivablesService  # aging, the card's section, overdue pushes
