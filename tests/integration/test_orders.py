"""Orders over a real database: priced like quotations and numbered per year, discount beyond the limit waits for
approval, cancel with a reason (never once shipped), partial and full shipments with the status following and
quantities capped, the SMS on the order-updates topic (and none after an opt-out), quote accepted → order in the
same transaction, scope, open work and the customer card's section, audit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.customers.model import EntityKind, Tier
from crm.followups.followups import Target
from crm.messaging.subscription_model import ConsentStatus
from crm.orders.line import Item
from crm.orders.model import OrderStatus
from crm.organisation.permissions import Actor
from crm.organisation.staff import OwnsOpenWork
from crm.sales.model import Product, ProductDraft
from crm.sales.quote_model import LineDraft, QuoteStatus
from storage import tables as t
from tests.support.org import Org, make_org


@dataclass
class Shop:
    org: Org
    mia: Actor  # manager, North: may cancel, ship and approve discounts
    ned: Actor  # rep, North-East
    sue: Actor  # rep, South
    widget: Product
    bolt: Product


async def _shop(engine: AsyncEngine, clock: ManualClock) -> Shop:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, 3004, "Sue", "rep", org.south)
    catalog = org.services.sales.catalog
    widget = await catalog.create(mia, ProductDraft(sku="A-100", name="Widget", list_price=Decimal("99.99"),
                                                    currency="TWD", tax_rate=Decimal(5)))
    bolt = await catalog.create(mia, ProductDraft(sku="B-20", name="Bolt", list_price=Decimal("12.5"),
                                                  currency="TWD", tax_rate=Decimal(5)))
    return Shop(org, mia, ned, sue, widget, bolt)


async def _customer(shop: Shop, actor: Actor, name: str, *, tier: Tier | None = None,
                    phones: tuple[str, ...] = ()) -> int:
    customers = shop.org.services.customers.customers
    return (await customers.create(actor, CustomerDraft(name=name, tier=tier, phones=phones), force=True)).id


def _lines(shop: Shop, widgets: int = 3, bolts: int = 12) -> list[LineDraft]:
    return [LineDraft(product_id=shop.widget.id, quantity=Decimal(widgets)),
            LineDraft(product_id=shop.bolt.id, quantity=Decimal(bolts))]


async def _audit(engine: AsyncEngine, entity_id: int) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.audit_log.c.action).where(t.audit_log.c.entity == "order",
                                                                     t.audit_log.c.entity_id == entity_id)
                                  .order_by(t.audit_log.c.id))
        return [r.action for r in rows]


async def test_an_order_is_priced_for_the_customer_numbered_per_year_and_audited(engine: AsyncEngine,
                                                                                 clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    orders = shop.org.services.orders.orders
    await shop.org.services.sales.prices.set_tier_discount(shop.mia, Tier.A, "12.5")
    tsmc = await _customer(shop, shop.ned, "台積電", tier=Tier.A)

    first = await orders.create(shop.ned, tsmc, _lines(shop))
    second = await orders.create(shop.ned, tsmc, _lines(shop, 1, 1))
    year = clock.now().year
    assert (first.number, second.number) == (f"O{year}-0001", f"O{year}-0002")
    assert first.status is OrderStatus.CONFIRMED and first.owner_id == shop.ned.staff_id
    # 99.99 less 12.5 % = 87.49; 12.5 less 12.5 % = 10.94 (half up); per line, then summed (docs/sales.md).
    assert [line.unit_price for line in first.lines] == [Decimal("87.49"), Decimal("10.94")]
    totals = first.totals
    assert totals.subtotal == Decimal("262.47") + Decimal("131.28")
    assert totals.tax == Decimal("13.12") + Decimal("6.56")
    assert totals.total == totals.subtotal + totals.tax
    assert await _audit(engine, first.id) == ["create"]
    stored = await orders.get(shop.ned, first.id)
    assert stored.lines == first.lines and stored.shipped == (Decimal(0), Decimal(0))
    rows, more = await orders.listed(shop.ned)
    assert [r.number for r in rows] == [second.number, first.number] and not more
    assert rows[1].total == totals.total


async def test_the_last_order_and_typed_skus_become_lines(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    orders = shop.org.services.orders.orders
    tsmc = await _customer(shop, shop.ned, "台積電")
    assert await orders.last_lines(shop.ned, tsmc) == ()
    drafts = await orders.resolve(shop.ned, [Item("A-100", Decimal(3)), Item("B-20", Decimal(12))])
    await orders.create(shop.ned, tsmc, drafts)
    again = await orders.last_lines(shop.ned, tsmc)
    assert [(d.product_id, d.quantity) for d in again] == [(shop.widget.id, Decimal(3)), (shop.bolt.id, Decimal(12))]
    with pytest.raises(ValidationFailed) as unknown:
        await orders.resolve(shop.ned, [Item("A-100", Decimal(1)), Item("ZZ-9", Decimal(2))])
    assert unknown.value.key == "orders.error_unknown_sku" and unknown.value.params["sku"] == "ZZ-9"


async def test_a_discount_beyond_the_limit_waits_for_approval(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    orders = shop.org.services.orders.orders
    tsmc = await _customer(shop, shop.ned, "台積電")
    within = await orders.create(shop.ned, tsmc, _lines(shop), order_discount=Decimal(10))
    assert within.status is OrderStatus.CONFIRMED
    beyond = await orders.create(shop.ned, tsmc, [LineDraft(product_id=shop.widget.id, quantity=Decimal(1),
                                                            discount=Decimal(25))])
    assert beyond.status is OrderStatus.PENDING_APPROVAL
    with pytest.raises(PermissionDenied):
        await orders.discount_approved(shop.ned, beyond.id)
    waiting_list = await shop.org.services.sales.discounts.pending(shop.mia)
    assert [(p.approval.kind, p.approval.subject_id) for p in waiting_list] == [("order", beyond.id)]
    decided = await orders.discount_approved(shop.mia, beyond.id)
    assert decided.subject.subject_id == beyond.id
    assert (await orders.get(shop.mia, beyond.id)).status is OrderStatus.CONFIRMED
    with pytest.raises(ValidationFailed):
        await orders.discount_approved(shop.mia, beyond.id)  # only a waiting order
    waiting = await orders.create(shop.ned, tsmc, _lines(shop), order_discount=Decimal(30))
    await orders.discount_rejected(shop.mia, waiting.id, "too deep")
    rejected = await orders.get(shop.mia, waiting.id)
    assert rejected.status is OrderStatus.CANCELLED and rejected.cancel_reason == "too deep"
    assert await _audit(engine, waiting.id) == ["create", "discount_rejected"]
    # The manager may give any discount: confirmed straight away.
    own = await orders.create(shop.mia, tsmc, _lines(shop), order_discount=Decimal(30))
    assert own.status is OrderStatus.CONFIRMED


async def test_partial_then_full_shipment_and_delivery_and_the_caps(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    orders = shop.org.services.orders.orders
    tsmc = await _customer(shop, shop.ned, "台積電")
    order = await orders.create(shop.ned, tsmc, _lines(shop))
    with pytest.raises(PermissionDenied):
        await orders.ship(shop.ned, order.id)  # a rep does not ship
    with pytest.raises(ValidationFailed) as too_many:
        await orders.ship(shop.mia, order.id, {0: Decimal(4)})
    assert too_many.value.key == "orders.error_ship_quantity"
    with pytest.raises(ValidationFailed):
        await orders.ship(shop.mia, order.id, {7: Decimal(1)})  # no such line
    with pytest.raises(ValidationFailed):
        await orders.deliver(shop.mia, order.id)  # nothing shipped yet

    part = await orders.ship(shop.mia, order.id, {0: Decimal(2), 1: Decimal(12)}, carrier="黑貓", tracking="123")
    assert part.order.status is OrderStatus.PARTIALLY_SHIPPED
    assert part.order.shipped == (Decimal(2), Decimal(12)) and part.order.remaining() == {0: Decimal(1)}
    with pytest.raises(ValidationFailed):
        await orders.ship(shop.mia, order.id, {1: Decimal(1)})  # that line is all out
    with pytest.raises(ValidationFailed):
        await orders.cancel(shop.mia, order.id, "changed their mind")  # goods left: no cancelling
    rest = await orders.ship(shop.mia, order.id)
    assert rest.order.status is OrderStatus.SHIPPED and rest.shipment.quantities == {0: Decimal(1)}
    card = await orders.card(shop.ned, order.id)
    assert [(s.carrier, s.tracking) for s in card.shipments] == [("黑貓", "123"), (None, None)]
    delivered = await orders.deliver(shop.mia, order.id)
    assert delivered.status is OrderStatus.DELIVERED
    assert await _audit(engine, order.id) == ["create", "ship", "ship", "deliver"]


async def test_cancel_needs_the_permission_and_a_reason(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    orders = shop.org.services.orders.orders
    tsmc = await _customer(shop, shop.ned, "台積電")
    order = await orders.create(shop.ned, tsmc, _lines(shop))
    with pytest.raises(PermissionDenied):
        await orders.cancel(shop.ned, order.id, "no")
    with pytest.raises(ValidationFailed):
        await orders.cancel(shop.mia, order.id, "   ")
    cancelled = await orders.cancel(shop.mia, order.id, "customer went elsewhere")
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.cancel_reason == "customer went elsewhere"
    with pytest.raises(ValidationFailed):
        await orders.ship(shop.mia, order.id)


async def test_scope_open_work_and_the_customer_card(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    orders = shop.org.services.orders.orders
    tsmc = await _customer(shop, shop.ned, "台積電")
    order = await orders.create(shop.ned, tsmc, _lines(shop))
    for call in (orders.get(shop.sue, order.id), orders.card(shop.sue, order.id)):
        with pytest.raises(NotFound):
            await call
    assert (await orders.listed(shop.sue))[0] == []
    assert (await orders.get(shop.mia, order.id)).id == order.id  # the manager's department tree
    card = await shop.org.services.customers.customers.card(shop.ned, tsmc, sections={"orders": 3})
    assert [r.number for r in card.sections["orders"]] == [order.number]
    staff = shop.org.services.organisation.staff
    assert (await staff.open_work_of(shop.org.admin, shop.ned.staff_id)).get("orders") == 1
    with pytest.raises(OwnsOpenWork):
        await staff.set_active(shop.org.admin, shop.ned.staff_id, False)


async def test_shipping_texts_a_customer_unless_they_opted_out(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    orders = shop.org.services.orders.orders
    subs = shop.org.services.messaging.subscriptions
    tsmc = await _customer(shop, shop.ned, "台積電", phones=("0912-000-070",))
    await subs.record_consent(shop.ned, Target(EntityKind.CUSTOMER, tsmc), "0912000070", ["orders"])
    order = await orders.create(shop.ned, tsmc, _lines(shop))
    shipped = await orders.ship(shop.mia, order.id, carrier="黑貓", tracking="8899")
    assert shipped.texted
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.outbox).where(t.outbox.c.topic == "orders"))).all()
    assert len(rows) == 1 and rows[0].recipient == "+886912000070" and rows[0].customer_id == tsmc
    assert order.number in rows[0].body and "已出貨" in rows[0].body and "8899" in rows[0].body

    umc = await _customer(shop, shop.ned, "聯電", phones=("0912-000-080",))
    await subs.record_consent(shop.ned, Target(EntityKind.CUSTOMER, umc), "0912000080", ["orders"],
                              ConsentStatus.OPTED_OUT)
    other = await orders.create(shop.ned, umc, _lines(shop))
    assert not (await orders.ship(shop.mia, other.id)).texted
    async with engine.connect() as conn:
        count = len((await conn.execute(select(t.outbox.c.id).where(t.outbox.c.topic == "orders"))).all())
    assert count == 1


async def test_an_accepted_quote_becomes_a_confirmed_order_in_its_transaction(engine: AsyncEngine,
                                                                            clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    quotes, orders = shop.org.services.sales.quotes, shop.org.services.orders.orders
    tsmc = await _customer(shop, shop.ned, "台積電")
    quote = await quotes.create(shop.ned, tsmc, [LineDraft(product_id=shop.widget.id, quantity=Decimal(2),
                                                           unit_price=Decimal(90), discount=Decimal(5))],
                                order_discount=Decimal(3))
    await quotes.move(shop.ned, quote.id, QuoteStatus.SENT)
    await quotes.move(shop.ned, quote.id, QuoteStatus.ACCEPTED)
    rows, _ = await orders.listed(shop.ned)
    assert len(rows) == 1
    order = await orders.get(shop.ned, rows[0].id)
    assert order.quote_id == quote.id and order.status is OrderStatus.CONFIRMED
    assert order.lines == quote.lines and order.order_discount == quote.order_discount
    assert order.currency == quote.currency and order.totals == quote.totals
    assert (await orders.card(shop.ned, order.id)).quote_number == quote.number


async def test_two_shipments_at_once_never_ship_more_than_ordered(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    orders = shop.org.services.orders.orders
    tsmc = await _customer(shop, shop.ned, "台積電")
    order = await orders.create(shop.ned, tsmc, _lines(shop, 3, 1))
    results = await asyncio.gather(*(orders.ship(shop.mia, order.id, {0: Decimal(2)}) for _ in range(2)),
                                   return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Shipped", "ValidationFailed"]
    assert (await orders.get(shop.mia, order.id)).shipped == (Decimal(2), Decimal(0))


async def test_with_a_limit_of_nothing_only_an_order_without_a_discount_goes_ahead(engine: AsyncEngine,
                                                                                  clock: ManualClock) -> None:
    # An order without a discount is never over a limit (limits are 0–100 %), so its echo reads no limit.
    shop = await _shop(engine, clock)
    await shop.org.services.sales.discounts.set_limit(shop.org.admin, "rep", "0")
    orders = shop.org.services.orders.orders
    tsmc = await _customer(shop, shop.ned, "台積電")
    plain = await orders.create(shop.ned, tsmc, _lines(shop))
    assert plain.status is OrderStatus.CONFIRMED
    echo = await orders.preview(shop.ned, tsmc, _lines(shop), order_discount=Decimal("0.5"))
    assert echo.status is OrderStatus.PENDING_APPROVAL
    tiny = await orders.create(shop.ned, tsmc, [LineDraft(product_id=shop.widget.id, quantity=Decimal(1),
                                                          discount=Decimal("0.01"))])
    assert tiny.status is OrderStatus.PENDING_APPROVAL
