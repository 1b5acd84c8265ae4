"""The one-message quote: customer first, then SKU × quantity in the ways people type them; anything left over
is refused rather than dropped. And the effective discount a quote gives off the customer's prices."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.core.errors import ValidationFailed
from crm.sales.quote_line import parse_quote_line
from crm.sales.quote_model import QuoteLine, effective_discount

EXPECTED = (("A-100", Decimal(3)), ("B-20", Decimal(12)))


@pytest.mark.parametrize("text", [
    "台積電 A-100 x3, B-20 x12",
    "台積電 A-100*3, B-20*12",
    "台積電 a-100 × 3、b-20×12",
    "台積電 Ａ-100＊3，B-20Ｘ12",
    "台積電 A-100 X3; B-20 x 12",
    "台積電 A-100 x3 B-20 x12",
])
def test_the_ways_people_type_it(text: str) -> None:
    parsed = parse_quote_line(text)
    assert parsed.customer == "台積電" and parsed.items == EXPECTED


def test_a_customer_name_of_several_words_and_decimal_quantities() -> None:
    parsed = parse_quote_line("Acme Trading Co A-100 x2.5")
    assert parsed.customer == "Acme Trading Co" and parsed.items == (("A-100", Decimal("2.5")),)


@pytest.mark.parametrize(("text", "key"), [
    ("台積電", "sales.quote_line_no_items"),
    ("A-100 x3", "sales.quote_line_no_customer"),
    ("台積電 A-100 x3, and more", "sales.quote_line_unclear"),
    ("台積電 A-100 x3 B-20", "sales.quote_line_unclear"),
    ("台積電 A-100 x0", "sales.quote_error_quantity"),
    ("台積電 A-100 x9999999", "sales.quote_error_quantity"),
])
def test_what_is_refused(text: str, key: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_quote_line(text)
    assert refused.value.key == key


@given(st.text(max_size=80))
def test_any_text_is_parsed_or_refused_never_crashes(text: str) -> None:
    try:
        parsed = parse_quote_line(text)
    except ValidationFailed as refused:
        assert refused.key.startswith("sales.quote_")
        return
    assert parsed.customer and parsed.items and all(quantity > 0 for _, quantity in parsed.items)


def _line(quantity: int, price: str, discount: str) -> QuoteLine:
    return QuoteLine(product_id=1, sku="A", name="A", quantity=Decimal(quantity), unit_price=Decimal(price),
                     discount=Decimal(discount), tax_rate=Decimal(5))


def test_effective_discount_combines_line_and_order_discounts() -> None:
    assert effective_discount([_line(3, "100", "0")], Decimal(0), "TWD") == 0
    assert effective_discount([_line(3, "100", "10")], Decimal(0), "TWD") == Decimal(10)
    assert effective_discount([_line(3, "100", "8")], Decimal(3), "TWD") == Decimal("10.76")
    assert effective_discount([_line(1, "100", "0"), _line(1, "100", "20")], Decimal(0), "TWD") == Decimal(10)
    assert effective_discount([_line(1, "0", "50")], Decimal(0), "TWD") == 0  # nothing to discount


@given(st.lists(st.tuples(st.integers(1, 50), st.decimals("0.01", "9999", places=2), st.integers(0, 100)),
                min_size=1, max_size=6), st.integers(0, 100))
def test_effective_discount_stays_between_0_and_100(lines: list[tuple[int, Decimal, int]], order: int) -> None:
    quoted = [_line(q, str(p), str(d)) for q, p, d in lines]
    assert Decimal(0) <= effective_discount(quoted, Decimal(order), "TWD") <= Decimal(100)
