"""Billing's pure rules: a payment's allocations always add up to it exactly (never a float, never more than an
invoice owes, the oldest due first); the one-message forms for invoices and payments in three languages, and
what they refuse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.billing.allocation import OpenInvoice, allocate
from crm.billing.line import parse_amount, parse_invoice, parse_items, parse_payment
from crm.billing.model import InvoiceStatus, PaymentMethod, status_for
from crm.core.errors import ValidationFailed

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday
CENTS = st.integers(min_value=1, max_value=10**11).map(lambda n: Decimal(n).scaleb(-2))
INVOICES = st.lists(st.tuples(CENTS, st.integers(min_value=-400, max_value=400)), min_size=1, max_size=30)


def _open(rows: list[tuple[Decimal, int]]) -> list[OpenInvoice]:
    return [OpenInvoice(n + 1, date(2026, 11, 26) + timedelta(days=days), owed) for n, (owed, days) in enumerate(rows)]


@given(INVOICES, st.data())
def test_allocations_sum_to_the_payment_exactly_and_never_exceed_an_invoice(rows: list[tuple[Decimal, int]],
                                                                           data: st.DataObject) -> None:
    invoices = _open(rows)
    owed = sum((i.outstanding for i in invoices), Decimal(0))
    amount = data.draw(st.integers(min_value=1, max_value=int(owed * 100)).map(lambda n: Decimal(n).scaleb(-2)))
    shares = allocate(amount, invoices)
    assert sum((share for _, share in shares), Decimal(0)) == amount
    by_id = {i.id: i for i in invoices}
    for invoice_id, share in shares:
        assert isinstance(share, Decimal) and 0 < share <= by_id[invoice_id].outstanding
    # The oldest first: every invoice before the last one reached is paid in full.
    order = sorted(invoices, key=lambda i: (i.due_date, i.id))
    reached = [i.id for i in order][:len(shares)]
    assert [invoice_id for invoice_id, _ in shares] == reached
    for invoice_id, share in shares[:-1]:
        assert share == by_id[invoice_id].outstanding


@given(INVOICES, CENTS)
def test_more_than_is_owed_is_refused(rows: list[tuple[Decimal, int]], extra: Decimal) -> None:
    invoices = _open(rows)
    owed = sum((i.outstanding for i in invoices), Decimal(0))
    with pytest.raises(ValidationFailed):
        allocate(owed + extra, invoices)


def test_allocation_refuses_nonsense_amounts() -> None:
    invoices = _open([(Decimal(10), 0)])
    for amount in (Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValidationFailed):
            allocate(amount, invoices)
    with pytest.raises(ValidationFailed):
        allocate(1.5, invoices)  # type: ignore[arg-type]  # a float is never money


def test_status_follows_what_was_paid() -> None:
    assert status_for(Decimal(100), Decimal(0)) is InvoiceStatus.ISSUED
    assert status_for(Decimal(100), Decimal("0.01")) is InvoiceStatus.PARTIAL
    assert status_for(Decimal(100), Decimal(100)) is InvoiceStatus.PAID


@pytest.mark.parametrize(("text", "customer", "items", "due"), [
    ("台積電 A-100 x3, B-20 x12", "台積電", [("A-100", "3"), ("B-20", "12")], None),
    ("Acme Corp A-100 ×2 due 2027-01-31", "Acme Corp", [("A-100", "2")], date(2027, 1, 31)),
    ("华为 A-100*5、B-20 x1.5 到期 下周五", "华为", [("A-100", "5"), ("B-20", "1.5")], date(2026, 12, 4)),
    ("台積電 A-100 x3 下週五", "台積電", [("A-100", "3")], date(2026, 12, 4)),
])
def test_the_invoice_form(text: str, customer: str, items: list[tuple[str, str]], due: date | None) -> None:
    parsed = parse_invoice(text, NOW)
    assert parsed.customer == customer
    assert [(sku, str(q)) for sku, q in parsed.items] == items
    assert parsed.due == due


@pytest.mark.parametrize("text", ["台積電", "A-100 x3", "台積電 A-100 x3 lots of B-20 x2", "台積電 A-100 x3 whenever"])
def test_the_invoice_form_refuses(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_invoice(text, NOW)


def test_items_alone() -> None:
    assert parse_items("A-100 x3, B-20 x12") == (("A-100", Decimal(3)), ("B-20", Decimal(12)))
    for wrong in ("", "three widgets", "A-100 x3 and more"):
        with pytest.raises(ValidationFailed):
            parse_items(wrong)


@pytest.mark.parametrize(("text", "customer", "amount", "currency", "method", "on", "reference"), [
    ("台積電 NT$50000 transfer", "台積電", "50000", "TWD", PaymentMethod.TRANSFER, None, None),
    ("Acme Corp 1,250.50 USD cash yesterday #R-7", "Acme Corp", "1250.50", "USD", PaymentMethod.CASH,
     date(2026, 11, 25), "R-7"),
    ("台積電 30000元 匯款 昨天", "台積電", "30000", None, PaymentMethod.TRANSFER, date(2026, 11, 25), None),
    ("华为 8000 支票", "华为", "8000", None, PaymentMethod.CHEQUE, None, None),
    ("華碩 500 刷卡", "華碩", "500", None, PaymentMethod.CARD, None, None),
    ("Acme 99", "Acme", "99", None, None, None, None),
])
def test_the_payment_form(text: str, customer: str, amount: str, currency: str | None,
                          method: PaymentMethod | None, on: date | None, reference: str | None) -> None:
    parsed = parse_payment(text, NOW)
    assert (parsed.customer, parsed.amount, parsed.currency, parsed.method, parsed.received_on,
            parsed.reference) == (customer, Decimal(amount), currency, method, on, reference)


@pytest.mark.parametrize("text", ["", "台積電", "50000 transfer", "台積電 50000 transfer someday"])
def test_the_payment_form_refuses(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_payment(text, NOW)


def test_amounts() -> None:
    assert parse_amount("US$12.5") == (Decimal("12.5"), "USD")
    assert parse_amount("50,000") == (Decimal(50000), None)
    for wrong in ("abc", "12..5", "NT$", "1e5"):
        with pytest.raises(ValidationFailed):
            parse_amount(wrong)
