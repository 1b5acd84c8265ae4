"""What the sales analysis is made of (docs/orders.md, "Sales analysis").

Revenue is the sum of the totals (after discounts, with tax) of the orders that count as sold — confirmed,
partially shipped, shipped or delivered — taken in the period, per currency (never mixed). An order waiting for a
discount approval is not sold yet; a cancelled one is not sold at all. Per product and category the amount is the
lines' after line and order discounts, before tax (what the goods sold for), so those do not add up to revenue;
their cost is the quantity sold times the product's cost as it is now (order lines keep no cost).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from crm.orders.model import OrderStatus
from crm.orders.periods import SalesPeriod

COUNTED = (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
GROUPS = ("customer", "product", "category", "rep")
COSTED = ("product", "category")  # cost is known per line: margins for these only


@dataclass(frozen=True)
class GroupSum:
    """One group's sum as storage returns it: ``key`` an id (None: no category), ``label`` data (a name)."""

    key: int
    label: str
    currency: str
    revenue: Decimal
    orders: int


@dataclass(frozen=True)
class ProductSum:
    """One product's lines in one currency and one of the two periods (``current`` or the previous)."""

    product_id: int
    currency: str
    current: bool
    revenue: Decimal
    quantity: Decimal


@dataclass(frozen=True)
class ProductFacts:
    label: str  # "SKU name"
    labels: Mapping[str, str]  # locale → "SKU 名稱", where the product has a name in it
    category_id: int | None
    category: str | None
    cost: Decimal | None


def change(now: Decimal | int, before: Decimal | int) -> Decimal | None:
    """The change in percent, one decimal; None when there was nothing before."""
    if not before:
        return None
    return (Decimal(now - before) * 100 / Decimal(before)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    revenue: Decimal
    orders: int
    previous_revenue: Decimal
    previous_orders: int

    @property
    def average(self) -> Decimal:
        return (self.revenue / self.orders).quantize(Decimal("0.01")) if self.orders else Decimal("0.00")

    @property
    def previous_average(self) -> Decimal:
        return (self.previous_revenue / self.previous_orders).quantize(Decimal("0.01")) \
            if self.previous_orders else Decimal("0.00")


@dataclass(frozen=True)
class BreakdownRow:
    label: str
    currency: str
    revenue: Decimal
    previous: Decimal
    orders: int | None  # customers and reps; products and categories are counted in lines, not orders
    cost: Decimal | None = None  # only for a reader with prices.view_cost

    @property
    def margin(self) -> Decimal | None:
        return None if self.cost is None else self.revenue - self.cost


@dataclass(frozen=True)
class Trend:
    """Revenue in one currency per bucket (a day, a week or a month) of the period and of the previous one."""

    currency: str
    unit: str  # "day", "week", "month"
    starts: tuple[str, ...]  # each bucket's first day, ISO
    current: tuple[Decimal, ...]
    previous: tuple[Decimal, ...]


@dataclass(frozen=True)
class SalesReport:
    period: SalesPeriod
    totals: tuple[CurrencyTotals, ...]
    groups: Mapping[str, tuple[BreakdownRow, ...]]
    with_cost: bool
    trend: Trend | None = None


@dataclass(frozen=True)
class SalesFile:
    filename: str
    data: bytes
