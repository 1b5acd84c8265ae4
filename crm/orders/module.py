"""The orders module: sales orders and their shipments (invoices and what is owed build on it).

The module's services as one namespace: ``services.orders.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.orders.orders import OrderService
from crm.orders.report import SalesReportService


@dataclass
class OrdersServices:
    orders: OrderService
    sales: SalesReportService
