"""The one-message order form and an order's totals: every way of writing a quantity, full-width and Chinese
separators, the customer's words before the first item; totals equal the sums of the lines whatever their order
(Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.core.errors import ValidationFailed
from crm.orders.line import Item, parse_items, parse_order_line
from crm.orders.model import Order, OrderStatus
from crm.sales.quote_model import QuoteLine

A3_B12 = (Item("A-100", Decimal(3)), Item("B-20", Decimal(12)))


@pytest.mark.parametrize("text", [
    "台積電 A-100 x3, B-20 x12", "台積電 A-100*3、B-20 12", "台積電 A-100＊3，B-20×12", "台積電 a-100 X 3; b-20 x 12",
    "台積電 A-100x3，B-20*12", "台積電 Ａ－１００ ３、Ｂ－２０ １２",
])
def test_every_way_of_writing_the_quantities(text: str) -> None:
    parsed = parse_order_line(text)
    assert parsed.customer == "台積電" and parsed.items == A3_B12


def test_customer_names_of_several_words_and_a_sku_alone() -> None:
    assert parse_order_line("Acme Corp A-100 3").customer == "Acme Corp"
    parsed = parse_order_line("Acme Corp A-100")
    assert parsed.customer == "Acme Corp" and parsed.items == (Item("A-100", Decimal(1)),)
    assert parse_order_line("台積電 BOX 3").items == (Item("BOX", Decimal(3)),)


@pytest.mark.parametrize("text", ["", "，、", "台積電 A-100 x3, 螺絲"])
def test_what_is_not_an_order(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_order_line(text)


def test_items_alone() -> None:
    assert parse_items("A-100 x3, B-20 x12") == A3_B12


@given(st.text(max_size=60))
def test_any_text_is_an_order_or_a_clear_refusal(text: str) -> None:
    try:
        parsed = parse_order_line(text)
    except ValidationFailed as exc:
        assert exc.key.startswith("orders.error_")
    else:
        assert parsed.items and all(item.quantity >= 0 for item in parsed.items)


_amount = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2)
_line = st.builds(lambda q, p, d, tax: (q, p, d, tax), st.integers(1, 1000).map(Decimal), _amount,
                  st.sampled_from([Decimal(0), Decimal(5), Decimal("12.5"), Decimal(50)]),
                  st.sampled_from([Decimal(0), Decimal(5), Decimal(10)]))


def _order(values: list[tuple[Decimal, Decimal, Decimal, Decimal]], discount: Decimal, currency: str) -> Order:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    lines = tuple(QuoteLine(product_id=i, sku=f"S{i}", name="x", quantity=q, unit_price=p, discount=d, tax_rate=tax,
                            position=i) for i, (q, p, d, tax) in enumerate(values))
    return Order(id=1, number="O2026-0001", customer_id=1, owner_id=1, currency=currency,
                 status=OrderStatus.CONFIRMED, order_discount=discount, delivery_date=None, created_at=now,
                 updated_at=now, lines=lines)


@given(st.lists(_line, min_size=1, max_size=12), st.sampled_from([Decimal(0), Decimal(3), Decimal("7.5")]),
       st.sampled_from(["TWD", "JPY"]), st.randoms())
def test_totals_are_the_sums_of_the_lines_in_any_order(values: list[tuple[Decimal, Decimal, Decimal, Decimal]],
                                                       discount: Decimal, currency: str, rnd: object) -> None:
    order = _order(values, discount, currency)
    totals = order.totals
    assert totals.subtotal == sum((a.net for a in totals.lines), Decimal(0))
    assert totals.tax == sum((a.tax for a in totals.lines), Decimal(0))
    assert totals.total == sum((a.gross for a in totals.lines), Decimal(0))
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    again = _order(shuffled, discount, currency).totals
    assert (again.subtotal, again.discount, again.tax, again.total) == (
        totals.subtotal, totals.discount, totals.tax, totals.total)
