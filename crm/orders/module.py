"""The orders module: sales orders and their shipments (invoices and what is owed build on it).

The module's services as one namespace: ``services.orders.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.orders.orders import OrderService


@dataclass
class OrdersServices:
    orders: OrderService
