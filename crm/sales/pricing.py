"""Which price a customer pays, and how amounts are rounded (docs/sales.md, "Price rules").

Pure functions: the service reads the product, the customer's tier, the company's tier discounts and any price
agreed with the customer, and asks ``price_for`` which one applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from crm.core.errors import ValidationFailed
from crm.core.money import Money
from crm.customers.model import Tier

HUNDRED = Decimal(100)
MAX_PERCENT = HUNDRED


@cache  # a handful of currencies; every rounded amount asks (an order's echo: ~20 times)
def minor_unit(currency: str) -> Decimal:
    """The currency's smallest amount as crm.core.money knows it (1 for JPY, 0.01 for TWD)."""
    exponent = Money(Decimal(0), currency).quantized().amount.as_tuple().exponent
    return Decimal(1).scaleb(int(exponent))


def round_money(money: Money) -> Money:
    """Half up to the currency's minor unit: a price of 10.005 TWD is 10.01, as a person rounding by hand does
    (money.quantized() rounds half to even, which is right for sums of many amounts, not for one price)."""
    return Money(money.amount.quantize(minor_unit(money.currency), rounding=ROUND_HALF_UP), money.currency)


def parse_percent(text: str | Decimal) -> Decimal:
    """A percentage between 0 and 100 ("5", "5%", "12.5")."""
    try:
        value = text if isinstance(text, Decimal) else Decimal(str(text).strip().rstrip("%％").strip())
    except InvalidOperation:
        raise ValidationFailed("sales.error_percent", value=str(text)[:20]) from None
    if not value.is_finite() or value < 0 or value > MAX_PERCENT:
        raise ValidationFailed("sales.error_percent", value=str(text)[:20])
    return value


def discounted(list_price: Money, percent: Decimal) -> Money:
    """The list price less ``percent`` (0–100), rounded: never negative, never above the list price."""
    percent = min(max(percent, Decimal(0)), MAX_PERCENT)
    return round_money(Money(list_price.amount * (HUNDRED - percent) / HUNDRED, list_price.currency))


def price_for(list_price: Money, tier: Tier | None, tier_discounts: Mapping[Tier, Decimal],
              customer_price: Money | None) -> Money:
    """A price agreed with the customer wins; else the customer's tier discount off the list price; else the
    list price. Always rounded half up to the currency's minor unit."""
    if customer_price is not None:
        return round_money(customer_price)
    percent = tier_discounts.get(tier, Decimal(0)) if tier is not None else Decimal(0)
    return discounted(list_price, percent)
