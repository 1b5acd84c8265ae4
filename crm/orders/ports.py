"""What the orders module needs from storage (``storage/orders`` implements it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from crm.messaging.ports.repositories import MessagingUnitOfWork
from crm.orders.model import Order, OrderRow, OrderStatus, Shipment, ShipmentRow
from crm.orders.report_model import GroupSum, ProductFacts, ProductSum
from crm.organisation.permissions import ScopeFilter
from crm.sales.ports import SalesUnitOfWork
from crm.sales.quote_model import QuoteLine


class OrderRepository(Protocol):
    async def next_number(self, year: int) -> int:
        """The year's next sequence number, taken in the caller's transaction (never handed out twice)."""
        ...
    async def add(self, order: Order) -> Order: ...
    async def get(self, order_id: int) -> Order | None:
        """A live order with its lines and what was shipped of each."""
        ...
    async def id_of(self, number: str) -> int | None:
        """The live order with this number (``O2026-0001``), if any."""
        ...
    async def replace_lines(self, order_id: int, lines: Sequence[QuoteLine]) -> None:
        """The order's lines, all new (only before anything was shipped: shipped quantities start at 0)."""
        ...
    async def lock(self, order_id: int) -> None:
        """Keep concurrent writers of this order waiting until the caller's transaction ends."""
        ...
    async def update(self, order_id: int, **fields: Any) -> None: ...
    async def add_shipped(self, order_id: int, quantities: Mapping[int, Decimal]) -> None:
        """Add to the shipped quantity of these lines (by position)."""
        ...
    async def listed(self, scope: ScopeFilter, *, customer_id: int | None = None, offset: int,
                     limit: int) -> Sequence[OrderRow]:
        """Live orders the scope allows (of one customer, when given), newest first."""
        ...
    async def last_of(self, customer_id: int, scope: ScopeFilter) -> Order | None:
        """The customer's latest live, not cancelled order the scope allows."""
        ...
    async def count_owned(self, owner_id: int, statuses: Sequence[OrderStatus]) -> int: ...
    async def by_quote(self, quote_id: int) -> Order | None: ...


class ShipmentRepository(Protocol):
    async def add(self, shipment: Shipment) -> Shipment: ...
    async def of_order(self, order_id: int) -> Sequence[Shipment]:
        """The order's shipments, oldest first."""
        ...
    async def get(self, shipment_id: int) -> Shipment | None: ...
    async def of_customer(self, scope: ScopeFilter, customer_id: int, *, limit: int) -> Sequence[ShipmentRow]:
        """The shipments from the customer's live orders the scope allows (the order's owner), newest first."""
        ...


class OrdersRepositories(Protocol):
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def shipments(self) -> ShipmentRepository: ...
    @property
    def figures(self) -> SalesFigures: ...


class OrdersUnitOfWork(SalesUnitOfWork, MessagingUnitOfWork, Protocol):
    @property
    def orders(self) -> OrdersRepositories: ...


class SalesFigures(Protocol):
    """The sales analysis's sums (storage/orders/report.py): SQL aggregates within a query scope."""

    async def totals(self, scope: ScopeFilter, start: datetime, end: datetime) -> Sequence[tuple[str, Decimal, int]]:
        """(currency, revenue, orders) of the orders that count as sold, taken in ``[start, end)``."""
        ...
    async def grouped(self, scope: ScopeFilter, start: datetime, end: datetime, group: str, *,
                      limit: int | None = None, keys: Sequence[int] | None = None) -> Sequence[GroupSum]:
        """Per ``customer`` or ``rep``: revenue and orders, largest first (only ``keys``, when given)."""
        ...
    async def product_sums(self, scope: ScopeFilter, previous: datetime, start: datetime,
                           end: datetime) -> Sequence[ProductSum]:
        """Per product, currency and period, both periods in one pass."""
        ...
    async def products(self, product_ids: Sequence[int]) -> Mapping[int, ProductFacts]: ...
    async def buckets(self, scope: ScopeFilter, bounds: Sequence[datetime], currency: str) -> Sequence[Decimal]:
        """Revenue in ``currency`` between each consecutive pair of ``bounds``."""
        ...


Cell = str | int | Decimal


class SheetWriter(Protocol):
    def write(self, sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Cell]]]]) -> bytes:
        """An XLSX workbook of (title, headers, rows) sheets: numbers stay numbers, text stays text."""
        ...


class TrendChart(Protocol):
    def render(self, title: str, points: Sequence[str], lines: Sequence[tuple[str, Sequence[Decimal]]]) -> bytes:
        """A PNG line chart."""
        ...
