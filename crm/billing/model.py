"""Invoices, payments and what customers owe (docs/billing.md).

An invoice's lines are quotation lines (``crm.sales.quote_model.QuoteLine``) and its amounts come from the same
arithmetic (``totals``): what a customer adds up on the printed invoice is what the invoice says. Amounts are
Decimals in the invoice's one currency; the database keeps totals and payments in the currency's minor unit as
integers, so sums over many invoices are exact in SQL on both databases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from crm.core.money import Money
from crm.sales.quote_model import QuoteLine, Totals, totals

REASON_LIMIT = 300
REFERENCE_LIMIT = 100
MAX_TERMS_DAYS = 365


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    PARTIAL = "partial"  # partially paid
    PAID = "paid"
    VOID = "void"


OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIAL)


class PaymentMethod(StrEnum):
    TRANSFER = "transfer"
    CASH = "cash"
    CHEQUE = "cheque"
    CARD = "card"


def status_for(total: Decimal, paid: Decimal) -> InvoiceStatus:
    """What an invoice that is not void is, from what was paid against it."""
    if paid <= 0:
        return InvoiceStatus.ISSUED
    return InvoiceStatus.PAID if paid >= total else InvoiceStatus.PARTIAL


def invoice_number(prefix: str, year: int, sequence: int) -> str:
    """``INV2026-0001``: the counter is per year; past 9999 it simply grows a digit."""
    return f"{prefix}{year}-{sequence:04d}"


@dataclass(frozen=True, kw_only=True)
class Invoice:
    id: int
    number: str
    customer_id: int
    owner_id: int
    currency: str
    status: InvoiceStatus
    issue_date: date
    due_date: date
    order_discount: Decimal
    total: Decimal  # the lines' total, kept with the invoice (it never changes once issued)
    paid: Decimal
    created_at: datetime
    updated_at: datetime
    source_kind: str | None = None  # "order", "shipment": where the lines came from (None: typed in chat)
    source_id: int | None = None
    void_reason: str | None = None
    lines: tuple[QuoteLine, ...] = field(default=())

    @property
    def totals(self) -> Totals:
        return totals(self.lines, self.order_discount, self.currency)

    @property
    def outstanding(self) -> Decimal:
        return Decimal(0) if self.status is InvoiceStatus.VOID else self.total - self.paid

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def overdue(self, today: date) -> bool:
        return self.is_open and self.due_date < today

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)


@dataclass(frozen=True)
class Allocation:
    invoice_id: int
    amount: Decimal
    number: str = ""  # the invoice's number, for showing


@dataclass(frozen=True, kw_only=True)
class Payment:
    id: int
    customer_id: int
    currency: str
    amount: Decimal
    method: PaymentMethod
    received_on: date
    reference: str | None
    recorded_by: int
    created_at: datetime
    allocations: tuple[Allocation, ...] = ()
    reversed_at: datetime | None = None
    reversed_by: int | None = None
    reverse_reason: str | None = None

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


@dataclass(frozen=True, kw_only=True)
class PaymentDraft:
    """What a person says was received: from a customer, in one currency; ``invoice_ids`` chosen, or none for
    the oldest open invoices first."""

    customer_id: int
    amount: Decimal
    currency: str
    method: PaymentMethod
    received_on: date
    reference: str | None = None
    invoice_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class InvoiceCard:
    invoice: Invoice
    customer_name: str
    owner_name: str
    payments: tuple[Payment, ...] = ()


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything a printed invoice shows, already in the reader's language (``labels``: title, customer, date,
    due_date, sku, item, quantity, unit_price, discount, tax, amount, subtotal, order_discount, total, paid,
    balance)."""

    company_name: str
    company_address: tuple[str, ...]
    invoice: Invoice
    customer_name: str
    labels: Mapping[str, str]


# Aging: days past the due date. "current" is not yet due (or due today).
BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus")


@dataclass(frozen=True)
class Aging:
    """What one customer (or everyone, in ``totals``) owes in one currency, by how late it is."""

    customer_id: int
    customer_name: str
    currency: str
    current: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal

    @property
    def total(self) -> Decimal:
        return self.current + self.d1_30 + self.d31_60 + self.d61_90 + self.d90_plus

    @property
    def overdue(self) -> Decimal:
        return self.total - self.current

    def bucket(self, name: str) -> Decimal:
        value: Decimal = getattr(self, name)
        return value


@dataclass(frozen=True)
class Receivables:
    today: date
    customers: tuple[Aging, ...]  # the largest balances first, at most a page
    more: int  # customers with a balance not in ``customers``
    totals: tuple[Aging, ...]  # one per currency (customer_id 0)


@dataclass(frozen=True)
class Owed:
    """The customer card's section: what is open, per currency, and how much of it is overdue."""

    currency: str
    outstanding: Decimal
    overdue: Decimal
    invoices: int
