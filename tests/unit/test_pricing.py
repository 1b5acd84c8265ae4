"""Price rules and rounding (crm/sales/pricing.py, docs/sales.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.core.errors import ValidationFailed
from crm.core.money import Money
from crm.customers.model import Tier
from crm.sales.catalog import parse_line
from crm.sales.pricing import discounted, minor_unit, parse_percent, price_for, round_money


def test_rounding_is_half_up_to_the_currencys_minor_unit() -> None:
    assert round_money(Money(Decimal("10.005"), "TWD")) == Money(Decimal("10.01"), "TWD")
    assert round_money(Money(Decimal("10.015"), "TWD")) == Money(Decimal("10.02"), "TWD")  # half even says 10.02 too
    assert round_money(Money(Decimal("10.025"), "TWD")) == Money(Decimal("10.03"), "TWD")  # half even: 10.02
    assert round_money(Money(Decimal("100.5"), "JPY")) == Money(Decimal("101"), "JPY")
    assert minor_unit("JPY") == Decimal(1) and minor_unit("USD") == Decimal("0.01")


def test_a_customer_price_wins_over_the_tier_discount() -> None:
    list_price = Money(Decimal("120"), "TWD")
    discounts = {Tier.A: Decimal("10"), Tier.B: Decimal("5")}
    assert price_for(list_price, Tier.A, discounts, None) == Money(Decimal("108.00"), "TWD")
    assert price_for(list_price, Tier.C, discounts, None) == Money(Decimal("120.00"), "TWD")
    assert price_for(list_price, None, discounts, None) == Money(Decimal("120.00"), "TWD")
    assert price_for(list_price, Tier.A, discounts, Money(Decimal("99.999"), "TWD")) == Money(Decimal("100.00"), "TWD")


def test_percentages_are_checked() -> None:
    assert parse_percent("12.5%") == Decimal("12.5")
    for bad in ("-1", "101", "abc", "NaN"):
        with pytest.raises(ValidationFailed):
            parse_percent(bad)


def test_one_line_product() -> None:
    draft = parse_line("a-100 Big Widget 1,200 usd", "TWD")
    assert (draft.sku, draft.name, draft.list_price, draft.currency) == ("A-100", "Big Widget", Decimal("1200"),
                                                                          "USD")
    assert parse_line("B-2 螺絲 15", "TWD").currency == "TWD"
    with pytest.raises(ValidationFailed):
        parse_line("A-100 Widget", "TWD")


amounts = st.decimals(min_value=Decimal(0), max_value=Decimal("1e9"), places=4, allow_nan=False,
                      allow_infinity=False)
percents = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2, allow_nan=False, allow_infinity=False)


@given(amounts, percents, st.sampled_from(["TWD", "USD", "JPY"]))
def test_tier_discounts_are_never_negative_nor_above_list_price_and_stable(amount: Decimal, percent: Decimal,
                                                                           currency: str) -> None:
    list_price = Money(amount, currency)
    price = discounted(list_price, percent)
    assert Decimal(0) <= price.amount <= round_money(list_price).amount
    assert price.amount == price.amount.quantize(minor_unit(currency))
    assert round_money(price) == price  # rounding again changes nothing
    assert price_for(list_price, Tier.B, {Tier.B: percent}, None) == price


@given(amounts, percents, percents)
def test_a_bigger_discount_never_costs_more(amount: Decimal, low: Decimal, high: Decimal) -> None:
    low, high = min(low, high), max(low, high)
    list_price = Money(amount, "TWD")
    assert discounted(list_price, high).amount <= discounted(list_price, low).amount
