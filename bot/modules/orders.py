"""The orders module: sales orders taken in chat (guided or in one message), from accepted quotations, and their
shipments (invoices and what is owed build on it)."""

from __future__ import annotations

from bot.i18n import Catalogs
from bot.module import Module, Wiring
from crm.customers.module import CustomersServices
from crm.fields.module import FieldsServices
from crm.messaging.module import MessagingServices
from crm.messaging.subscriptions import CatalogTexts
from crm.orders.digest import OrdersDigestSection
from crm.orders.discounts import OrderDiscounts
from crm.orders.kpi import OrdersKpi, RevenueKpi
from crm.orders.module import OrdersServices
from crm.orders.orders import ORDER_KIND, OrderService
from crm.orders.report import SalesReportService
from crm.orders.subscribers import LastOrdersSection, OpenOrders, OrderFromAcceptedQuote
from crm.organisation.module import OrganisationServices
from crm.sales.events import QuoteAccepted
from crm.sales.module import SalesServices
from handlers.core.menu import Command
from handlers.orders import registration
from outbound.expense_sheets import XlsxSheets
from outbound.sales_chart import MatplotlibSalesChart
from storage.offloop import worker_beside
from storage.orders import tables


def build(wiring: Wiring) -> OrdersServices:
    settings = wiring.settings
    # An accepted quotation becomes an order in its own transaction. Subscribed here rather than with
    # ``Module.subscribe`` because the order numbers' prefix is a setting.
    wiring.uow.bus.in_transaction(QuoteAccepted, OrderFromAcceptedQuote(settings.order_prefix))
    # Nobody with orders not yet shipped in full is deactivated; the customer card lists the latest orders.
    wiring.need(OrganisationServices).staff.open_work.add(OpenOrders())
    wiring.need(CustomersServices).customers.card_sections.add(LastOrdersSection())
    program = wiring.need(MessagingServices).subscriptions.program
    # Orders beyond their taker's discount limit wait for the same approval as quotes (crm/orders/discounts.py).
    discounts = wiring.need(SalesServices).discounts
    discounts.subjects.add(OrderDiscounts(wiring.clock.now))
    # The managers' digest counts orders and revenue; the sales analysis runs in a worker of its own.
    wiring.need(OrganisationServices).digest_sections.add(OrdersDigestSection())
    for kpi in (RevenueKpi(settings.default_currency), OrdersKpi(settings.default_currency)):  # reviews (docs/hr.md)
        wiring.need(OrganisationServices).kpi_sources.add(kpi)
    worker = worker_beside(wiring.uow, wiring.clock)
    orders = OrderService(wiring.uow, wiring.clock, discounts, prefix=settings.order_prefix, program=program,
                          texts=CatalogTexts(lambda: Catalogs().messages))
    fields = wiring.need(FieldsServices).fields
    fields.kinds[ORDER_KIND.entity] = ORDER_KIND  # custom fields on orders (docs/fields.md)
    orders.fields = fields
    return OrdersServices(
        orders=orders,
        sales=SalesReportService(wiring.uow, wiring.clock, XlsxSheets(), MatplotlibSalesChart(), worker=worker))


MODULE = Module(
    name="orders",
    requires=("organisation", "customers", "segments", "fields", "followups", "messaging", "sales"),
    build=build,
    operations=("orders.create", "orders.cancel", "shipments.create"),
    commands=(
        Command("order", "orders.cmd_order", "orders.create"),
        Command("orders", "orders.cmd_orders", "sales.view"),
        Command("sales", "orders.cmd_sales", "sales.view"),
    ),
    handlers=(registration.register,),
    tables=(tables.orders, tables.order_lines, tables.order_counters, tables.shipments, tables.shipment_lines,
            tables.sales_rollup_orders, tables.sales_rollup_lines),
)
