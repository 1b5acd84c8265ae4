"""Editing a taken order before anything is shipped: quantities, lines and the delivery date change, the total and
the sales rollup follow, every edit is audited with the order before and after, and the discount is checked again
— an edit beyond the rep's limit waits for a manager, an approved percent covers later edits up to it, a deeper one
waits again. Nothing is edited once something shipped, nor out of scope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import NotFound, ValidationFailed
from crm.orders.model import OrderStatus
from crm.orders.periods import parse_period
from crm.sales.quote_model import LineDraft
from storage import tables as t
from tests.integration.test_orders import _customer, _lines, _shop


async def test_an_order_edited_before_shipment_is_audited_and_checked_for_its_discount_again(
        engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    services = shop.org.services
    orders = services.orders.orders
    acme = await _customer(shop, shop.ned, "Acme")
    order = await orders.create(shop.ned, acme, _lines(shop))  # A-100 ×3, B-20 ×12: 472.47
    assert order.status is OrderStatus.CONFIRMED and order.totals.total == Decimal("472.47")

    # More widgets, no bolts, a delivery date: still within the rep's limit.
    edited = await orders.edit(shop.ned, order.id, [LineDraft(product_id=shop.widget.id, quantity=Decimal(5))],
                               delivery_date=date(2026, 12, 10))
    assert edited.status is OrderStatus.CONFIRMED and edited.delivery_date == date(2026, 12, 10)
    assert [(line.sku, line.quantity) for line in edited.lines] == [("A-100", Decimal(5))]
    assert edited.totals.total == Decimal("524.95")  # 5 × 99.99 + 5 %
    report = await services.orders.sales.report(shop.mia, parse_period("this month", clock.now().date()), "en", "-")
    assert [(c.revenue, c.orders) for c in report.totals] == [(Decimal("524.95"), 1)]  # the rollup followed
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_log.c.before, t.audit_log.c.after).where(
            t.audit_log.c.entity == "order", t.audit_log.c.entity_id == order.id,
            t.audit_log.c.action == "edit"))).all()
    assert len(rows) == 1 and rows[0].before["total"] == "472.47" and rows[0].after["total"] == "524.95"

    # 15 % off is beyond a rep's 10 %: the order waits for a manager, who is asked.
    deeper = await orders.edit(shop.ned, order.id, [LineDraft(product_id=shop.widget.id, quantity=Decimal(5),
                                                              discount=Decimal(15))])
    assert deeper.status is OrderStatus.PENDING_APPROVAL and deeper.delivery_date == date(2026, 12, 10)
    assert [p.subject.title for p in await services.sales.discounts.pending(shop.mia)] == [order.number]
    await orders.discount_approved(shop.mia, order.id)
    # The approved 15 % covers a later edit at the same discount; 20 % waits again.
    same = await orders.edit(shop.ned, order.id, [LineDraft(product_id=shop.widget.id, quantity=Decimal(6))])
    assert same.status is OrderStatus.CONFIRMED and same.lines[0].discount == Decimal(15)  # kept from the line
    more = await orders.edit(shop.ned, order.id, [LineDraft(product_id=shop.widget.id, quantity=Decimal(6),
                                                            discount=Decimal(20))])
    assert more.status is OrderStatus.PENDING_APPROVAL
    await orders.discount_approved(shop.mia, order.id)

    # Out of scope: not found. Once something shipped: no more edits.
    with pytest.raises(NotFound):
        await orders.edit(shop.sue, order.id, delivery_date=None)
    await orders.ship(shop.mia, order.id, {0: Decimal(1)})
    with pytest.raises(ValidationFailed):
        await orders.edit(shop.mia, order.id, delivery_date=None)
