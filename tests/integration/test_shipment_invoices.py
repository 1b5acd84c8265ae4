"""Invoicing what was shipped (crm/billing/shipment_source.py): a shipment is invoiced for what it carried, once;
never a quantity twice across the order's and its shipments' invoices, whichever comes first; a void invoice makes
its lines billable again; a shipment is found by its reference (``S12``); out of scope it is "not found"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.billing.model import Invoice
from crm.core.clock import ManualClock
from crm.core.errors import NotFound, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.sales.model import ProductDraft
from crm.sales.quote_model import LineDraft
from tests.integration.test_orders import _customer, _lines, _shop
from tests.support.bot_harness import ADMIN_ID, join, running_bot


def _quantities(invoice: Invoice) -> list[tuple[str, Decimal]]:
    return [(line.sku, line.quantity) for line in invoice.lines]


async def test_shipments_and_their_order_never_invoice_a_quantity_twice(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    services = shop.org.services
    orders, invoices = services.orders.orders, services.billing.invoices
    acme = await _customer(shop, shop.ned, "Acme")
    order = await orders.create(shop.mia, acme, _lines(shop, widgets=5, bolts=3))  # A-100 ×5, B-20 ×3

    first = (await orders.ship(shop.mia, order.id, {0: Decimal(2)})).shipment
    assert await invoices.find_source(shop.mia, f"s{first.id}") == ("shipment", first.id)
    assert await invoices.find_source(shop.mia, "S99999") is None
    billed = await invoices.issue_from(shop.mia, "shipment", first.id)
    assert billed.source_kind == "shipment" and _quantities(billed) == [("A-100", Decimal(2))]
    with pytest.raises(ValidationFailed):  # what it carried is invoiced: nothing left
        await invoices.issue_from(shop.mia, "shipment", first.id)

    # The order has the rest to invoice, not the two widgets the shipment's invoice carries.
    assert _quantities(await invoices.preview_from(shop.mia, "order", order.id)) == [
        ("A-100", Decimal(3)), ("B-20", Decimal(3))]
    second = (await orders.ship(shop.mia, order.id)).shipment  # the rest: A-100 ×3, B-20 ×3
    rest = await invoices.issue_from(shop.mia, "order", order.id)
    assert _quantities(rest) == [("A-100", Decimal(3)), ("B-20", Decimal(3))]
    with pytest.raises(ValidationFailed):  # the order invoiced what the second shipment carried
        await invoices.issue_from(shop.mia, "shipment", second.id)
    with pytest.raises(ValidationFailed):
        await invoices.issue_from(shop.mia, "order", order.id)

    # Voiding the order's invoice makes those quantities billable again, from the shipment that carried them.
    await invoices.void(shop.mia, rest.id, "wrong address")
    again = await invoices.issue_from(shop.mia, "shipment", second.id)
    assert _quantities(again) == [("A-100", Decimal(3)), ("B-20", Decimal(3))]
    assert billed.total + again.total == (await orders.get(shop.mia, order.id)).totals.total

    # A manager of another department: not found, as for the order.
    south = await shop.org.join(shop.org.admin, 3005, "Max", "manager", shop.org.south)
    with pytest.raises(NotFound):
        await invoices.billable(south, "shipment", second.id)


async def test_invoice_a_shipment_in_chat_by_its_reference(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, manager = await join(bot, 3001, "Mia", "manager")
        widget = await bot.services.sales.catalog.create(manager, ProductDraft(
            sku="A-100", name="Widget", list_price=Decimal("99.99"), currency="TWD", tax_rate=Decimal(5)))
        acme = (await bot.services.customers.customers.create(manager, CustomerDraft(name="Acme"), force=True)).id
        orders = bot.services.orders.orders
        order = await orders.create(manager, acme, [LineDraft(product_id=widget.id, quantity=Decimal(5))])
        shipment = (await orders.ship(manager, order.id, {0: Decimal(2)})).shipment

        await mia.send("/orders")
        card = "\n".join(m.text or "" for m in await mia.press(1))
        assert f"S{shipment.id}" in card  # the reference to invoice it by
        echoed = await mia.text_of(f"/invoice S{shipment.id}")
        assert "Acme" in echoed and "A-100 Widget" in echoed and "TWD 209.98" in echoed  # 2 × 99.99 + 5 %
        issued = "\n".join(m.text or "" for m in await mia.press("✅ Issue"))
        assert "Invoice INV2026-0001 issued" in issued
        assert "There is nothing to invoice" in await mia.text_of(f"/invoice S{shipment.id}")


async def test_two_issues_at_once_for_the_same_goods_invoice_them_once(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    """Concurrent `/invoice O…` and `/invoice S…` (or a double tap): one invoice gets the goods, the other finds
    nothing left — on PostgreSQL too, where reads do not wait for another transaction's writes."""
    import asyncio

    shop = await _shop(engine, clock)
    services = shop.org.services
    orders, invoices = services.orders.orders, services.billing.invoices
    acme = await _customer(shop, shop.ned, "Acme")
    order = await orders.create(shop.mia, acme, _lines(shop, widgets=5, bolts=3))
    shipment = (await orders.ship(shop.mia, order.id)).shipment
    outcomes = await asyncio.gather(invoices.issue_from(shop.mia, "order", order.id),
                                    invoices.issue_from(shop.mia, "shipment", shipment.id),
                                    invoices.issue_from(shop.mia, "order", order.id),
                                    return_exceptions=True)
    issued = [o for o in outcomes if isinstance(o, Invoice)]
    assert len(issued) == 1, outcomes
    assert all(isinstance(o, ValidationFailed) for o in outcomes if not isinstance(o, Invoice))
    assert _quantities(issued[0]) == [("A-100", Decimal(5)), ("B-20", Decimal(3))]
