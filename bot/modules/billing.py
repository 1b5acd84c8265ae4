"""The billing module: invoices (from a source record such as an order, or typed in chat from catalog lines),
payments against them, receivables by age, and the overdue pushes to the invoices' owners."""

from __future__ import annotations

from bot.module import Module, Wiring
from bot.modules.sales import _address_lines
from crm.billing.invoices import InvoiceService
from crm.billing.kpi import CollectionsKpi
from crm.billing.module import BillingServices
from crm.billing.order_source import OrderSource
from crm.billing.payments import PaymentService
from crm.billing.receivables import (
    OverdueReceivablesSection,
    OwedSection,
    PaymentsReceivedSection,
    ReceivablesService,
)
from crm.billing.shipment_source import ShipmentSource
from crm.customers.module import CustomersServices
from crm.organisation.module import OrganisationServices
from handlers.billing import registration
from handlers.core.menu import Command
from outbound.invoice_pdf import ReportlabInvoiceRenderer
from scheduler.billing import overdue
from storage.billing import tables


def build(wiring: Wiring) -> BillingServices:
    settings, uow, clock = wiring.settings, wiring.uow, wiring.clock
    # The customer card shows what the customer owes; the digest, payments received and what is overdue.
    wiring.need(CustomersServices).customers.card_sections.add(OwedSection(clock))
    digest = wiring.need(OrganisationServices).digest_sections
    digest.add(PaymentsReceivedSection())
    digest.add(OverdueReceivablesSection())
    wiring.need(OrganisationServices).kpi_sources.add(CollectionsKpi(settings.default_currency))  # reviews
    invoices = InvoiceService(uow, clock, ReportlabInvoiceRenderer(), prefix=settings.invoice_prefix,
                              terms_days=settings.payment_terms_days, company_name=settings.company_name,
                              company_address=_address_lines(settings.company_address))
    invoices.sources.add(OrderSource())  # an order's lines still to invoice (crm/billing/order_source.py)
    invoices.sources.add(ShipmentSource())  # what a shipment carried, never invoiced twice with its order's
    return BillingServices(
        invoices=invoices,
        payments=PaymentService(uow, clock),
        receivables=ReceivablesService(uow, clock, repeat_days=settings.overdue_repeat_days,
                                       default_timezone=settings.default_timezone),
    )


MODULE = Module(
    name="billing",
    requires=("organisation", "customers", "segments", "followups", "messaging", "sales", "orders"),
    build=build,
    operations=("invoices.issue", "payments.record"),
    commands=(
        Command("invoice", "billing.cmd_invoice", "invoices.issue"),
        Command("payment", "billing.cmd_payment", "payments.record"),
        Command("receivables", "billing.cmd_receivables", "sales.view"),
    ),
    handlers=(registration.register,),
    jobs=(overdue.register,),
    tables=(tables.invoices, tables.invoice_lines, tables.invoice_counters, tables.payments,
            tables.payment_allocations, tables.billing_terms),
)
