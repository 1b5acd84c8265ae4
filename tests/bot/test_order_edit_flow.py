"""Editing a taken order in chat: ✏️ Edit order on the card turns its lines and delivery date into a draft (the
same buttons as a new order), the echo keeps the order's prices, ✅ Confirm order saves them onto the same order
(same number, audited); once something shipped the card offers no edit and a forged press changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.sales.model import ProductDraft
from crm.sales.quote_model import LineDraft
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, join, running_bot

MIA, NED = 3001, 3002


def _text(messages: Sequence[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


async def test_a_rep_edits_their_order_in_chat_until_it_ships(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, manager = await join(bot, MIA, "Mia", "manager")
        ned, rep = await join(bot, NED, "Ned", "rep")
        widget = await bot.services.sales.catalog.create(manager, ProductDraft(
            sku="A-100", name="Widget", list_price=Decimal("99.99"), currency="TWD", tax_rate=Decimal(5)))
        acme = (await bot.services.customers.customers.create(rep, CustomerDraft(name="Acme"), force=True)).id
        orders = bot.services.orders.orders
        order = await orders.create(rep, acme, [LineDraft(product_id=widget.id, quantity=Decimal(3))])
        # The list price changes after the order was taken: the edit keeps the order's price.
        await bot.services.sales.catalog.update(manager, widget.id, {"list_price": Decimal("120")})

        await ned.send("/orders")
        await ned.press(1)
        assert "✏️ Edit order" in ned.labels()
        draft = _text(await ned.press("✏️ Edit order"))
        assert "A-100 Widget × 3 @ TWD 99.99" in draft
        assert "A-100 Widget × 4 @ TWD 99.99" in _text(await ned.press("➕"))
        await ned.press("📅 Delivery date")
        echo = await ned.text_of("tomorrow")
        assert "Check the order, then confirm" in echo and "× 4" in echo
        saved = _text(await ned.press("✅ Confirm order"))
        assert f"Order {order.number} changed." in saved and "× 4" in saved and "2026-11-27" in saved
        edited = await orders.get(rep, order.id)
        assert edited.lines[0].quantity == Decimal(4) and edited.lines[0].unit_price == Decimal("99.99")
        async with engine.connect() as conn:
            actions = (await conn.execute(select(t.audit_log.c.action).where(
                t.audit_log.c.entity == "order", t.audit_log.c.entity_id == order.id))).scalars().all()
        assert list(actions) == ["create", "edit"]

        # Once something shipped: no edit button, and a forged press is refused, changing nothing.
        await orders.ship(manager, order.id, {0: Decimal(1)})
        await ned.send("/orders")
        await ned.press(1)
        assert "✏️ Edit order" not in ned.labels()
        replies = await ned._do(bot.api.press(ned.user, None, f"or:edit:{order.id}", enqueue=False, forged=True))
        assert bot.told(replies, "cannot do that in its present status")
        assert (await orders.get(rep, order.id)).lines[0].quantity == Decimal(4)
