"""Quotations: lines from the catalog, discounts, tax and totals (docs/sales.md, "Quotations").

The arithmetic is here, pure, so it can be property-tested: every amount is a Decimal in the quote's one currency,
each line is rounded on its own (half up, to the currency's minor unit) and the totals are sums of rounded lines —
what a customer adds up on the printed quote is what the quote says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from crm.core import locales
from crm.core.errors import ValidationFailed
from crm.core.money import Money
from crm.sales.pricing import HUNDRED, parse_percent, round_money

MAX_LINES = 100
MAX_QUANTITY = Decimal(1_000_000)
VALID_DAYS = 30


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


# Where a quote may go from each status; the closed ones go nowhere.
TRANSITIONS: dict[QuoteStatus, frozenset[QuoteStatus]] = {
    QuoteStatus.DRAFT: frozenset({QuoteStatus.SENT}),
    QuoteStatus.SENT: frozenset({QuoteStatus.ACCEPTED, QuoteStatus.REJECTED, QuoteStatus.EXPIRED}),
    QuoteStatus.ACCEPTED: frozenset(),
    QuoteStatus.REJECTED: frozenset(),
    QuoteStatus.EXPIRED: frozenset(),
}


@dataclass(frozen=True, kw_only=True)
class LineDraft:
    """What a person asks for: a product and a quantity; the unit price defaults to the customer's price."""

    product_id: int
    quantity: Decimal
    unit_price: Decimal | None = None
    discount: Decimal = Decimal(0)  # percent


@dataclass(frozen=True, kw_only=True)
class QuoteLine:
    """A priced line. ``sku`` and ``name`` are copied from the product, so a quote keeps saying what was offered
    after the catalog changes."""

    product_id: int
    sku: str
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal  # percent off this line
    tax_rate: Decimal  # percent, the product's at the time of quoting
    position: int = 0
    # The product's translated names, copied with the main name (None: none then, or a line from before them).
    name_zh_hant: str | None = None
    name_zh_hans: str | None = None

    def name_in(self, locale: str | None) -> str:
        """The line's name in the reader's language, falling back to the main name."""
        translated = {locales.ZH_HANT: self.name_zh_hant, locales.ZH_HANS: self.name_zh_hans}.get(locale or "")
        return translated or self.name


def named_in(lines: Sequence[QuoteLine], locale: str | None) -> tuple[QuoteLine, ...]:
    """The lines with the main name replaced by the one in ``locale``: for documents (PDFs) laid out from
    ``name``."""
    return tuple(replace(line, name=line.name_in(locale)) for line in lines)


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal  # quantity × unit price less the line discount, rounded
    order_discount: Decimal  # this line's share of the order discount, rounded
    tax: Decimal  # on the net after the order discount, rounded
    gross: Decimal


@dataclass(frozen=True)
class Totals:
    currency: str
    lines: tuple[LineAmounts, ...]
    subtotal: Decimal  # sum of line nets
    discount: Decimal  # sum of the lines' order-discount shares
    tax: Decimal
    total: Decimal

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)


def _round(amount: Decimal, currency: str) -> Decimal:
    return round_money(Money(amount, currency)).amount


def line_amounts(line: QuoteLine, order_discount: Decimal, currency: str) -> LineAmounts:
    """One line on its own: nothing here depends on the other lines, so their order cannot change a total."""
    net = _round(line.quantity * line.unit_price * (HUNDRED - line.discount) / HUNDRED, currency)
    share = _round(net * order_discount / HUNDRED, currency)
    tax = _round((net - share) * line.tax_rate / HUNDRED, currency)
    return LineAmounts(net, share, tax, net - share + tax)


def totals(lines: Sequence[QuoteLine], order_discount: Decimal, currency: str) -> Totals:
    amounts = tuple(line_amounts(line, order_discount, currency) for line in lines)
    subtotal = sum((a.net for a in amounts), Decimal(0))
    discount = sum((a.order_discount for a in amounts), Decimal(0))
    tax = sum((a.tax for a in amounts), Decimal(0))
    return Totals(currency, amounts, subtotal, discount, tax, subtotal - discount + tax)


def clean_quantity(value: Decimal | str) -> Decimal:
    try:
        quantity = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
    except ArithmeticError:
        raise ValidationFailed("sales.quote_error_quantity", value=str(value)[:20]) from None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ValidationFailed("sales.quote_error_quantity", value=str(value)[:20])
    return quantity


def clean_discount(value: Decimal | str) -> Decimal:
    return parse_percent(value)


def quote_number(prefix: str, year: int, sequence: int) -> str:
    """``Q2025-0001``: the counter is per year; past 9999 it simply grows a digit."""
    return f"{prefix}{year}-{sequence:04d}"


@dataclass(frozen=True, kw_only=True)
class Quote:
    id: int
    number: str
    customer_id: int
    owner_id: int
    currency: str
    status: QuoteStatus
    order_discount: Decimal
    valid_until: date
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    deleted_at: datetime | None = None
    lines: tuple[QuoteLine, ...] = field(default=())

    @property
    def totals(self) -> Totals:
        return totals(self.lines, self.order_discount, self.currency)

    @property
    def discount_percent(self) -> Decimal:
        """The effective discount off the customer's prices (``effective_discount``)."""
        return effective_discount(self.lines, self.order_discount, self.currency)

    @property
    def is_open(self) -> bool:
        return self.status in (QuoteStatus.DRAFT, QuoteStatus.SENT)

    def can_move(self, to: QuoteStatus) -> bool:
        return to in TRANSITIONS[self.status]


@dataclass(frozen=True)
class QuoteCard:
    quote: Quote
    customer_name: str
    owner_name: str


@dataclass(frozen=True)
class QuoteDocument:
    """Everything a printed quote shows, already in the reader's language (``labels``: title, customer, date,
    valid_until, sku, item, quantity, unit_price, discount, tax, amount, subtotal, order_discount, total)."""

    company_name: str
    company_address: tuple[str, ...]
    quote: Quote
    customer_name: str
    issued: date
    labels: Mapping[str, str]


def effective_discount(lines: Sequence[QuoteLine], order_discount: Decimal, currency: str) -> Decimal:
    """How far below the customer's prices the quote goes, line and order discounts together, in percent (two
    decimals, half up): 100 × (1 − (subtotal − order discount) / Σ quantity × unit price). The unit price is the
    customer's price (agreed, tier or list), so a tier discount is not counted against the person quoting."""
    gross = sum((_round(line.quantity * line.unit_price, currency) for line in lines), Decimal(0))
    if gross <= 0:
        return Decimal(0)
    quoted = totals(lines, order_discount, currency)
    given = (gross - (quoted.subtotal - quoted.discount)) * HUNDRED / gross
    return max(given, Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ExpiredQuote:
    """A quote the daily expiry moved past its valid-until date, as its owner is told of it."""

    id: int
    number: str
    owner_id: int
    customer_name: str
    valid_until: date
