"""From an order to cash, across the modules: an order over the rep's discount limit waits for a manager's
approval, is shipped in part, invoiced for what it still has to invoice (never twice), paid in part, and ages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.billing.model import InvoiceStatus, PaymentDraft, PaymentMethod
from crm.billing.order_source import still_to_invoice
from crm.core.clock import ManualClock
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.orders.model import OrderStatus
from crm.sales.quote_model import LineDraft, QuoteLine
from tests.integration.test_orders import _customer, _lines, _shop


def _line(product_id: int, quantity: str, price: str = "10", position: int = 0) -> QuoteLine:
    return QuoteLine(product_id=product_id, sku=f"S{product_id}", name="x", quantity=Decimal(quantity),
                     unit_price=Decimal(price), discount=Decimal(0), tax_rate=Decimal(5), position=position)


def test_what_is_still_to_invoice_never_counts_a_quantity_twice() -> None:
    ordered = (_line(1, "3"), _line(2, "12", position=1), _line(1, "2", price="9", position=2))
    assert still_to_invoice(ordered, []) == tuple(ordered)
    left = still_to_invoice(ordered, [_line(1, "2"), _line(2, "12")])
    assert [(line.product_id, line.quantity, line.unit_price) for line in left] == [
        (1, Decimal(1), Decimal(10)), (1, Decimal(2), Decimal(9))]
    assert still_to_invoice(ordered, [_line(1, "5"), _line(2, "20"), _line(1, "9", price="9")]) == ()


async def test_order_approved_shipped_invoiced_paid_and_aging(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    services = shop.org.services
    orders, invoices = services.orders.orders, services.billing.invoices
    tsmc = await _customer(shop, shop.ned, "台積電")

    order = await orders.create(shop.ned, tsmc, [LineDraft(product_id=shop.widget.id, quantity=Decimal(10),
                                                            discount=Decimal(20)), *_lines(shop)[1:]])
    assert order.status is OrderStatus.PENDING_APPROVAL  # 20 % is beyond a rep's 10 %
    with pytest.raises(ValidationFailed):  # nothing to invoice while it waits
        await invoices.issue_from(shop.mia, "order", order.id)
    await orders.discount_approved(shop.mia, order.id)

    await orders.ship(shop.mia, order.id, {0: Decimal(4)}, carrier="黑貓", tracking="T-1")
    shipped = await orders.get(shop.mia, order.id)
    assert shipped.status is OrderStatus.PARTIALLY_SHIPPED

    with pytest.raises(PermissionDenied):  # a rep does not issue invoices
        await invoices.billable(shop.ned, "order", order.id)
    invoice = await invoices.issue_from(shop.mia, "order", order.id)
    assert invoice.source_kind == "order" and invoice.source_id == order.id
    assert invoice.total == shipped.totals.total  # the whole order, priced as ordered
    with pytest.raises(ValidationFailed):  # invoiced already: never twice
        await invoices.issue_from(shop.mia, "order", order.id)

    part = (invoice.total / 2).quantize(Decimal("0.01"))
    await services.billing.payments.record(shop.mia, PaymentDraft(
        customer_id=tsmc, amount=part, currency=invoice.currency, method=PaymentMethod.TRANSFER,
        received_on=clock.now().date()))
    paid_part = await invoices.get(shop.mia, invoice.id)
    assert paid_part.status is InvoiceStatus.PARTIAL and paid_part.outstanding == invoice.total - part

    clock.advance(timedelta(days=(invoice.due_date - clock.now().date()).days + 40))
    aging = await services.billing.receivables.aging(shop.mia)
    (total,) = aging.totals
    assert total.d31_60 == invoice.total - part and total.current == 0
