"""Quotation arithmetic (crm/sales/quote_model.py, docs/sales.md "Quotations"): exact, per line, order-free."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.core.errors import ValidationFailed
from crm.sales.quote_model import (
    Quote,
    QuoteLine,
    QuoteStatus,
    clean_quantity,
    line_amounts,
    quote_number,
    totals,
)

_money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
_percent = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=1)
_lines = st.lists(st.builds(
    QuoteLine, product_id=st.integers(1, 50), sku=st.just("A-1"), name=st.just("Widget"),
    quantity=st.decimals(min_value=Decimal("0.5"), max_value=Decimal(1000), places=1), unit_price=_money,
    discount=_percent, tax_rate=st.sampled_from([Decimal(0), Decimal(5), Decimal("8.25"), Decimal(17)])),
    min_size=1, max_size=12)


def _line(quantity: str, price: str, discount: str = "0", tax: str = "5") -> QuoteLine:
    return QuoteLine(product_id=1, sku="A-100", name="Widget", quantity=Decimal(quantity), unit_price=Decimal(price),
                     discount=Decimal(discount), tax_rate=Decimal(tax))


def test_each_line_is_rounded_half_up_then_summed() -> None:
    # 3 × 33.335 = 100.005 → 100.01 (half up); tax 5 % of 100.01 = 5.0005 → 5.00.
    amounts = line_amounts(_line("3", "33.335"), Decimal(0), "TWD")
    assert (amounts.net, amounts.tax, amounts.gross) == (Decimal("100.01"), Decimal("5.00"), Decimal("105.01"))
    # 10 % order discount: 10.001 → 10.00 off, tax on 90.01.
    result = totals([_line("3", "33.335"), _line("1", "99.99", discount="12.5")], Decimal(10), "TWD")
    assert result.subtotal == Decimal("100.01") + Decimal("87.49")
    assert result.discount == Decimal("10.00") + Decimal("8.75")
    assert result.tax == Decimal("4.50") + Decimal("3.94")
    assert result.total == result.subtotal - result.discount + result.tax == Decimal("177.19")


def test_yen_has_no_minor_unit() -> None:
    assert line_amounts(_line("1", "100.5", tax="0"), Decimal(0), "JPY").net == Decimal(101)


@given(_lines, _percent, st.sampled_from(["TWD", "USD", "JPY"]))
def test_totals_are_the_sums_of_the_rounded_lines(lines: list[QuoteLine], discount: Decimal, currency: str) -> None:
    result = totals(lines, discount, currency)
    assert result.subtotal == sum((a.net for a in result.lines), Decimal(0))
    assert result.tax == sum((a.tax for a in result.lines), Decimal(0))
    assert result.total == sum((a.gross for a in result.lines), Decimal(0))
    assert result.total == result.subtotal - result.discount + result.tax
    exponent = 0 if currency == "JPY" else -2
    for amount in (result.subtotal, result.discount, result.tax, result.total):
        assert isinstance(amount, Decimal) and amount.as_tuple().exponent == exponent
        assert amount >= 0


@given(_lines, _percent, st.randoms(use_true_random=False))
def test_reordering_the_lines_changes_no_total(lines: list[QuoteLine], discount: Decimal, rng: random.Random) -> None:
    shuffled = list(lines)
    rng.shuffle(shuffled)
    before, after = totals(lines, discount, "TWD"), totals(shuffled, discount, "TWD")
    assert (before.subtotal, before.discount, before.tax, before.total) == (
        after.subtotal, after.discount, after.tax, after.total)


def test_a_float_never_gets_in() -> None:
    with pytest.raises(TypeError):
        totals([_line("1", "1")], 0.5, "TWD")  # type: ignore[arg-type]


@pytest.mark.parametrize("typed", ["0", "-1", "abc", "1e9", "NaN"])
def test_a_quantity_must_be_a_positive_number(typed: str) -> None:
    with pytest.raises(ValidationFailed):
        clean_quantity(typed)


def test_numbers_and_statuses() -> None:
    assert quote_number("Q", 2025, 7) == "Q2025-0007"
    assert quote_number("QT-", 2026, 12345) == "QT-2026-12345"
    now = datetime(2025, 3, 1, tzinfo=UTC)
    quote = Quote(id=1, number="Q2025-0001", customer_id=1, owner_id=1, currency="TWD", status=QuoteStatus.DRAFT,
                  order_discount=Decimal(0), valid_until=date(2025, 3, 31), created_at=now, updated_at=now)
    assert quote.can_move(QuoteStatus.SENT) and not quote.can_move(QuoteStatus.ACCEPTED)
    sent = Quote(**{**quote.__dict__, "status": QuoteStatus.SENT})
    assert {s for s in QuoteStatus if sent.can_move(s)} == {
        QuoteStatus.ACCEPTED, QuoteStatus.REJECTED, QuoteStatus.EXPIRED}
