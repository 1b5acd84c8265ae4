"""Orders in chat over the real Application: the guided order for a known customer in six messages and taps,
the one-message order echoed with prices for one tap (Traditional Chinese), an unknown SKU named with nothing
saved, an ambiguous customer picked from buttons, editing lines and /cancel (Simplified Chinese), an accepted
quotation pushed to the rep as an order, a partial then full shipment with the SMS queued for a subscribed
customer, and forged presses on another rep's order changing nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.customers.model import EntityKind
from crm.followups.followups import Target
from crm.orders.model import OrderStatus
from crm.organisation.permissions import Actor
from crm.sales.model import ProductDraft
from crm.sales.quote_model import LineDraft, QuoteStatus
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, BotHarness, join, running_bot

MIA, NED, NAT = 3001, 3002, 3003


async def _catalog(bot: BotHarness, manager: Actor) -> tuple[int, int]:
    catalog = bot.services.sales.catalog
    widget = await catalog.create(manager, ProductDraft(sku="A-100", name="Widget", name_zh_hant="螺絲起子",
                                                        name_zh_hans="螺丝起子", list_price=Decimal(100),
                                                        currency="TWD", tax_rate=Decimal(5)))
    bolt = await catalog.create(manager, ProductDraft(sku="B-20", name="Bolt", list_price=Decimal(10),
                                                      currency="TWD", tax_rate=Decimal(5)))
    return widget.id, bolt.id


async def _orders(bot: BotHarness, actor: Actor) -> list[int]:
    rows, _ = await bot.services.orders.orders.listed(actor)
    return [r.id for r in rows]


async def test_a_repeat_order_for_a_known_customer_takes_six_messages_and_taps(engine: AsyncEngine,
                                                                              clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, mias = await join(bot, MIA, "Mia", "manager")
        ned, neds = await join(bot, NED, "Ned", "rep")
        widget, bolt = await _catalog(bot, mias)
        tsmc = await bot.services.customers.customers.create(neds, CustomerDraft(name="台積電"), force=True)
        await bot.services.orders.orders.create(neds, tsmc.id, [LineDraft(product_id=widget, quantity=Decimal(3)),
                                                                LineDraft(product_id=bolt, quantity=Decimal(12))])
        steps = 0

        async def send(text: str) -> str:
            nonlocal steps
            steps += 1
            return await ned.text_of(text)

        async def press(label: str) -> str:
            nonlocal steps
            steps += 1
            return "\n".join(m.text or "" for m in await ned.press(label))

        assert "Which customer" in await send("/order")
        asked = await send("台積電")
        assert "Order for 台積電" in asked and "🔁 Same as last order" in ned.labels()
        drafted = await press("🔁 Same as last order")
        assert "A-100 Widget × 3" in drafted and "B-20 Bolt × 12" in drafted and "Total: TWD 441.00" in drafted
        assert "When should it be delivered" in await press("📅 Delivery date")
        echoed = await send("tomorrow")
        assert "Check the order" in echoed and "Delivery: 2026-11-27" in echoed
        assert len(await _orders(bot, neds)) == 1  # nothing before the tap
        done = await press("✅ Confirm order")
        assert steps == 6
        assert "Order O2026-0002 confirmed" in done and "🆗 Confirmed" in done
        order = await bot.services.orders.orders.get(neds, (await _orders(bot, neds))[0])
        assert order.delivery_date is not None and order.delivery_date.isoformat() == "2026-11-27"
        assert order.totals.total == Decimal(441)


async def test_one_message_in_traditional_chinese_is_echoed_with_prices_for_one_tap(engine: AsyncEngine,
                                                                                   clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, mias = await join(bot, MIA, "Mia", "manager")
        nat, nats = await join(bot, NAT, "Nat", "rep", "zh-hant")
        await _catalog(bot, mias)
        await bot.services.customers.customers.create(nats, CustomerDraft(name="台積電"), force=True)

        echoed = await nat.text_of("/order 台積電 A-100 x3、B-20＊12")
        assert "請確認訂單內容" in echoed and "客戶：台積電" in echoed
        assert "× 3 @ TWD 100.00" in echoed and "× 12 @ TWD 10.00" in echoed and "總計：TWD 441.00" in echoed
        assert await _orders(bot, nats) == []
        assert "請確認訂單內容" in await nat.text_of("好")  # typed at the echo: shown again, not an answer
        saved = "\n".join(m.text or "" for m in await nat.press("✅ 確認下單"))
        assert "訂單 O2026-0001 已確認" in saved and "已確認" in saved
        assert len(await _orders(bot, nats)) == 1

        unknown = await nat.text_of("/order 台積電 A-100 x3, ZZ-9 x2")
        assert "找不到料號：ZZ-9" in unknown and "未儲存任何內容" in unknown
        assert len(await _orders(bot, nats)) == 1

        await bot.services.customers.customers.create(nats, CustomerDraft(name="台積電 南科"), force=True)
        await bot.services.customers.customers.create(nats, CustomerDraft(name="台積電 竹科"), force=True)
        picked = await nat.text_of("/order 台積 A-100 x1")
        assert "「台積」是指哪位客戶" in picked and len(nat.labels()) >= 3
        echoed = "\n".join(m.text or "" for m in await nat.press("台積電 竹科"))
        assert "客戶：台積電 竹科" in echoed and "總計：TWD 105.00" in echoed


async def test_simplified_chinese_guided_order_with_edits_and_cancel(engine: AsyncEngine,
                                                                    clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, mias = await join(bot, MIA, "Mia", "manager")
        ned, neds = await join(bot, NED, "Ned", "rep", "zh-hans")
        widget, _ = await _catalog(bot, mias)
        await bot.services.customers.customers.create(neds, CustomerDraft(name="华为"), force=True)

        assert "华为 的订单" in await ned.text_of("/order 华为")
        drafted = await ned.text_of("A-100 x2")
        assert "订单草稿" in drafted and "× 2" in drafted
        assert "× 3" in "\n".join(m.text or "" for m in await ned.press("➕"))
        # The line is named in the reader's language (the product has a Simplified Chinese name).
        assert "A-100 螺丝起子 × 2" in "\n".join(m.text or "" for m in await ned.press("➖"))
        searched = await ned.text_of("螺丝")
        assert "符合“螺丝”的产品" in searched
        added = "\n".join(m.text or "" for m in await ned.press("A-100 螺丝起子"))
        assert "A-100 螺丝起子 × 3" in added
        await bot.services.sales.catalog.create(mias, ProductDraft(sku="C-1", name="Import", list_price=Decimal(5),
                                                                   currency="USD"))
        refused = await ned.text_of("C-1 x1")  # another currency: refused, the draft as it was
        assert "C-1 以 USD 计价，这张订单是 TWD" in refused
        assert bot.app.user_data[NED]["order_draft"]["lines"] == [[widget, "3"]]
        assert bot.app.user_data[NED].get("order_draft")
        await ned.send("/cancel")
        assert not bot.app.user_data[NED].get("order_draft")
        assert await _orders(bot, neds) == []
        assert "尚无订单" in await ned.text_of("/orders")


async def test_an_accepted_quote_reaches_the_rep_as_an_order(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, mias = await join(bot, MIA, "Mia", "manager")
        _, neds = await join(bot, NED, "Ned", "rep")
        widget, _ = await _catalog(bot, mias)
        tsmc = await bot.services.customers.customers.create(neds, CustomerDraft(name="台積電"), force=True)
        quotes = bot.services.sales.quotes
        quote = await quotes.create(neds, tsmc.id, [LineDraft(product_id=widget, quantity=Decimal(2))])
        await quotes.move(neds, quote.id, QuoteStatus.SENT)
        await quotes.move(neds, quote.id, QuoteStatus.ACCEPTED)
        told = bot.api.last_message(NED).text or ""
        assert f"Quotation {quote.number} was accepted: order O2026-0001 is confirmed" in told
        assert "Total: TWD 210.00" in told and f"From quotation {quote.number}" in told


async def test_partial_then_full_shipment_texts_the_subscribed_customer(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager")
        _, neds = await join(bot, NED, "Ned", "rep")
        widget, bolt = await _catalog(bot, mias)
        tsmc = await bot.services.customers.customers.create(
            neds, CustomerDraft(name="台積電", phones=("0912-000-070",)), force=True)
        await bot.services.messaging.subscriptions.record_consent(
            neds, Target(EntityKind.CUSTOMER, tsmc.id), "0912000070", ["orders"])
        order = await bot.services.orders.orders.create(neds, tsmc.id, [
            LineDraft(product_id=widget, quantity=Decimal(3)), LineDraft(product_id=bolt, quantity=Decimal(12))])

        assert "Orders" in await mia.text_of("/orders")
        await mia.press(1)
        assert mia.labels()[:2] == ["🚚 Ship all", "📦 Ship part"]
        assert "What goes out now" in "\n".join(m.text or "" for m in await mia.press("📦 Ship part"))
        await mia.press("➕")
        await mia.press("➕")
        await mia.press("➕")
        assert "A-100: ship 2 (3 left)" in "\n".join(m.text or "" for m in await mia.press("➖"))
        assert "Shipping order" in "\n".join(m.text or "" for m in await mia.press("➡️ Next"))
        check = await mia.text_of("黑貓 1234-5678")
        assert "Carrier: 黑貓 · Tracking: 1234-5678" in check and "A-100 × 2" in check
        shipped = "\n".join(m.text or "" for m in await mia.press("✅ Ship"))
        assert "Shipment recorded" in shipped and "📦 Partially shipped" in shipped
        assert "The customer is being texted" in shipped

        await mia.press("🚚 Ship all")
        await mia.press("No tracking number")
        done = "\n".join(m.text or "" for m in await mia.press("✅ Ship"))
        assert "🚚 Shipped" in done and "📬 Delivered" in mia.labels()
        assert "✅ Delivered" in "\n".join(m.text or "" for m in await mia.press("📬 Delivered"))
        async with engine.connect() as conn:
            texts = (await conn.execute(select(t.outbox.c.body, t.outbox.c.recipient)
                                        .where(t.outbox.c.topic == "orders").order_by(t.outbox.c.id))).all()
        assert [r.recipient for r in texts] == ["+886912000070", "+886912000070"]
        assert "部分出貨" in texts[0].body and "1234-5678" in texts[0].body and "已出貨" in texts[1].body
        final = await bot.services.orders.orders.get(mias, order.id)
        assert final.status is OrderStatus.DELIVERED


async def test_forged_presses_on_another_reps_order_change_nothing(engine: AsyncEngine,
                                                                   clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, mias = await join(bot, MIA, "Mia", "manager")
        _, neds = await join(bot, NED, "Ned", "rep")
        nat, nats = await join(bot, NAT, "Nat", "rep")
        widget, _ = await _catalog(bot, mias)
        await bot.services.customers.customers.create(nats, CustomerDraft(name="聯電"), force=True)
        tsmc = await bot.services.customers.customers.create(neds, CustomerDraft(name="台積電"), force=True)
        order = await bot.services.orders.orders.create(neds, tsmc.id, [LineDraft(product_id=widget,
                                                                                  quantity=Decimal(3))])
        await nat.send("/order 聯電")  # a message with buttons to forge presses on
        for data in (f"or:open:{order.id}", f"or:ship:{order.id}", f"or:part:{order.id}", f"or:dlv:{order.id}",
                     f"or:cxl:{order.id}", f"or:apv:{order.id}", f"or:lines:{order.id}", "or:open:99999",
                     "or:ship:abc", "orn:ok", "orn:q:0:1", "ors:go"):
            await nat._do(bot.api.press(nat.user, None, data, enqueue=False, forged=True))
        after = await bot.services.orders.orders.get(neds, order.id)
        assert after.status is OrderStatus.CONFIRMED and after.shipped == (Decimal(0),)
        assert await _orders(bot, mias) == [order.id]


async def test_a_draft_survives_a_restart_and_wrong_input_at_each_step_gets_a_clear_reply(
        engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, mias = await join(bot, MIA, "Mia", "manager")
        ned, neds = await join(bot, NED, "Ned", "rep")
        await _catalog(bot, mias)
        await bot.services.customers.customers.create(neds, CustomerDraft(name="台積電"), force=True)
        assert "Which customer" in await ned.text_of("/order")
        assert "No customer found for “Nobody Ltd”" in await ned.text_of("Nobody Ltd")
        assert "Order for 台積電" in await ned.text_of("台積電")
        assert "Nothing found" not in await ned.text_of("A-100 x2")
        assert "Unknown SKU: ZZ-9" in await ned.text_of("ZZ-9 x2")  # neither a SKU nor a product's name
    async with running_bot(engine, clock) as restarted:
        ned = restarted.user(NED, "Ned")
        drafted = await ned.text_of("B-20 x1")  # lands in the draft kept over the restart
        assert "A-100 Widget × 2" in drafted and "B-20 Bolt × 1" in drafted
        await ned.press("📅 Delivery date")
        assert "not a date I understand" in await ned.text_of("whenever")
        assert "The delivery date is in the past" in await ned.text_of("2020-01-01")
        assert "Check the order" in await ned.text_of("next monday")
        assert "Check the order" in await ned.text_of("yes")  # typed at the echo: shown again, not an answer
        echo = ned.last.message_id
        clock.advance(timedelta(minutes=31))  # the flow times out: the draft is dropped quietly
        await ned.send("hello")
        await ned.press("✅ Confirm order", echo)
        answers = [q.answer_text or "" for q in restarted.api._callback_queries.values()]
        assert answers[-1] == restarted.t("en", "error.stale_button")
        rows, _ = await restarted.services.orders.orders.listed(neds)
        assert list(rows) == []
