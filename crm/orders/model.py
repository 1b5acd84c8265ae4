"""Sales orders and their shipments (docs/orders.md).

An order's lines are quotation lines (``crm.sales.quote_model.QuoteLine``) and its money is the quotation's
arithmetic (``totals``): per-line rounding, totals as sums of rounded lines. What an order adds is what happens
after the sale: how much of each line went out, in which shipment, and where the order stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from crm.fields.model import FieldDef, FieldValue
from crm.sales.quote_model import QuoteLine, Totals, quote_number, totals

REASON_LIMIT = 500
CARRIER_LIMIT = 60
TRACKING_LIMIT = 80


class OrderStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # a discount beyond the taker's limit waits for discounts.approve
    CONFIRMED = "confirmed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


OPEN = frozenset({OrderStatus.PENDING_APPROVAL, OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED})
SHIPPABLE = frozenset({OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED})
# Goods that left cannot be called back by cancelling: only orders nothing was shipped from can be cancelled.
CANCELLABLE = frozenset({OrderStatus.PENDING_APPROVAL, OrderStatus.CONFIRMED})


def order_number(prefix: str, year: int, sequence: int) -> str:
    """``O2026-0001``: numbered per year like quotations."""
    return quote_number(prefix, year, sequence)


@dataclass(frozen=True, kw_only=True)
class Order:
    id: int
    number: str
    customer_id: int
    owner_id: int
    currency: str
    status: OrderStatus
    order_discount: Decimal
    delivery_date: date | None
    created_at: datetime
    updated_at: datetime
    quote_id: int | None = None
    cancel_reason: str | None = None
    deleted_at: datetime | None = None
    lines: tuple[QuoteLine, ...] = ()
    shipped: tuple[Decimal, ...] = ()  # per line (by position): how much has gone out

    @property
    def totals(self) -> Totals:
        return totals(self.lines, self.order_discount, self.currency)

    def shipped_of(self, position: int) -> Decimal:
        return self.shipped[position] if position < len(self.shipped) else Decimal(0)

    def remaining(self) -> dict[int, Decimal]:
        """Per line position: ordered minus shipped, for the lines with something left."""
        left = {line.position: line.quantity - self.shipped_of(line.position) for line in self.lines}
        return {position: quantity for position, quantity in left.items() if quantity > 0}

    def status_after(self, shipping: Mapping[int, Decimal]) -> OrderStatus:
        """What shipping these quantities (per position) makes of the order."""
        left = self.remaining()
        return OrderStatus.SHIPPED if all(shipping.get(p, Decimal(0)) >= q for p, q in left.items()) \
            else OrderStatus.PARTIALLY_SHIPPED


@dataclass(frozen=True, kw_only=True)
class Shipment:
    id: int
    order_id: int
    carrier: str | None
    tracking: str | None
    shipped_at: datetime
    by_staff_id: int
    quantities: Mapping[int, Decimal] = field(default_factory=dict)  # line position → quantity


@dataclass(frozen=True)
class OrderCard:
    order: Order
    customer_name: str
    owner_name: str
    quote_number: str | None
    shipments: tuple[Shipment, ...]
    custom: tuple[tuple[FieldDef, FieldValue], ...] = ()  # the custom fields with a value, in their order


@dataclass(frozen=True)
class OrderRow:
    """One order in a list: what a line of ``/orders`` or the customer card shows."""

    id: int
    number: str
    status: OrderStatus
    customer_name: str
    total: Decimal
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class ShipmentRow:
    """One shipment in a customer's history: its reference is ``S<id>`` (``/invoice S12``)."""

    id: int
    order_number: str
    shipped_at: datetime
    carrier: str | None
    tracking: str | None

    @property
    def reference(self) -> str:
        return f"S{self.id}"


@dataclass(frozen=True)
class Shipped:
    """The outcome of a shipment: the order after it, the shipment, and whether the customer is texted."""

    order: Order
    shipment: Shipment
    texted: bool
