"""Service tickets in chat, through the real Application over the Bot API fake: /ticket in Traditional Chinese echoed
(severity changed, typed text at the summary never saved) then saved; ambiguous customer → pick buttons; the
manager assigns from /tickets (team) and the technician is told; a customer update echoed then sent; the customer
card's 🛠 Ticket in Simplified Chinese; wrong input at each step; forged presses on another team's ticket."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.sales.model import ProductDraft, ProductFields
from crm.sales.quote_model import LineDraft
from crm.service.model import Severity, Status
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

MIA, NAT, NED, SUE = 3001, 3003, 3002, 3004
PHONE = "+886912345678"


async def _join(bot: BotHarness, tg_id: int, name: str, role: str, language: str = "en",
                department_id: int | None = None) -> tuple[Chatter, Actor]:
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await bot.services.organisation.roles.assignable(admin)}
    invite = await bot.services.organisation.invites.create(admin, roles[role], department_id or admin.department_id)
    chatter = bot.user(tg_id, name, language_code=language)
    await chatter.send(f"/start {invite.code}")
    actor: Actor | None = await bot.services.organisation.identity.actor_for(
        TelegramIdentity(tg_id, name, language_code=language))
    assert actor is not None
    return chatter, actor


async def test_ticket_in_traditional_chinese_assigned_and_updated(engine: AsyncEngine, clock: ManualClock,
                                                                  tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_bot(engine, clock, data_dir=data_dir) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, _ = await _join(bot, MIA, "Mia", "manager")
        nat, nats = await _join(bot, NAT, "Nat", "rep", "zh-hant")
        await bot.services.customers.customers.create(nats, CustomerDraft(name="台積電", phones=(PHONE,)), force=True)
        tickets = bot.services.service.tickets

        assert "/ticket 台積電 冷氣不冷" in await nat.text_of("/ticket")
        assert "找不到您名為「沒這家」的客戶" in await nat.text_of("/ticket 沒這家 壞了")
        echoed = await nat.text_of("/ticket 台積電 冷氣不冷 <b>很熱</b>")
        assert "新維修單 — 確認後儲存" in echoed and "客戶：台積電" in echoed and "一般" in echoed
        assert "問題：冷氣不冷 <b>很熱</b>" in echoed  # escaped: shown as typed, never as markup
        assert "新維修單" in await nat.text_of("好")  # typed at the summary: shown again, never the ticket
        assert await tickets.listing(nats) == []
        assert "嚴重程度：🔴 緊急" in ((await nat.press("🔴 緊急"))[-1].text or "") and "• 🔴 緊急" in nat.labels()
        saved = (await nat.press("✅ 儲存"))[-1].text or ""
        assert "已開立維修單 T2026-0001" in saved and "嚴重程度：🔴 緊急" in saved and "負責人：尚未指派" in saved
        [ticket] = await tickets.listing(nats)
        assert ticket.severity is Severity.URGENT

        assert "My open tickets — 0" in await mia.text_of("/tickets")
        team = (await mia.press("👥 My team's"))[-1].text or ""
        assert "My team's open tickets — 1" in team and "🆕 New: 1" in team
        await mia.press(1)  # the ticket
        assert "Assignee: nobody yet" in (mia.last.text or "")
        await mia.press("👤 Assign")
        await mia.press("Nat")
        assert "Assigned to Nat." in (mia.last.text or "")
        assert "維修單 T2026-0001 指派給您" in (bot.api.last_message(NAT).text or "")

        await nat.press(1)  # the pushed ticket button
        assert "負責人：Nat" in (nat.last.text or "")
        await nat.press("💬 通知客戶")
        assert "請再輸入一次" in await nat.text_of("   ")  # blank: asked again
        confirm = await nat.text_of("技師明天下午三點到")
        assert "要傳送給客戶嗎？" in confirm
        sent = (await nat.press("📤 傳送給客戶"))[-1].text or ""
        assert "已排入傳送給客戶的通知" in sent and "技師明天下午三點到" in sent
        await nat.press("🔧 處理中")
        assert (await tickets.card(nats, ticket.id)).ticket.status is Status.IN_PROGRESS

        await nat.press("📎 照片、檔案或 📍 到場打卡")
        assert "請傳送照片、檔案或位置" in await nat.text_of("這是照片")  # text is not a photo
        replies = await nat._do(bot.api.photo(nat.user, b"\xff\xd8jpeg-bytes\xff\xd9", enqueue=False))
        assert "已附加到維修單" in (replies[-1].text or "") and "📎 photo.jpg" in (replies[-1].text or "")
        await nat.press("📎 照片、檔案或 📍 到場打卡")
        replies = await nat._do(bot.api.location(nat.user, 24.77, 121.01, enqueue=False))
        assert "已到場打卡" in (replies[-1].text or "") and "到場（24.77000,121.01000）" in (replies[-1].text or "")
        kept = list((data_dir / "tickets" / str(ticket.id)).iterdir())
        assert [p.read_bytes() for p in kept] == [b"\xff\xd8jpeg-bytes\xff\xd9"]
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in kept)
        assert "🔒" not in " ".join(nat.labels())  # a rep cannot close

        # The product it is about: typed SKU or name, picked from the catalog's matches.
        admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        aircon = await bot.services.sales.catalog.create(admin, ProductFields(sku="AC-100", name="Air conditioner",
                                                                              name_zh_hant="冷氣機"))
        await nat.press("📦 產品")
        assert "型錄中沒有符合「洗衣機」的產品" in await nat.text_of("洗衣機")  # asked again
        await nat.send("AC-100")
        assert nat.labels() == ["AC-100 · Air conditioner", "✖️ 不指定產品"]
        linked = (await nat.press("AC-100 · Air conditioner"))[-1].text or ""
        assert "已連結產品。" in linked and "產品：AC-100 · Air conditioner" in linked
        assert (await tickets.card(nats, ticket.id)).ticket.product_id == aircon.id


async def test_ambiguous_customer_pick_and_card_button_in_simplified_chinese(engine: AsyncEngine,
                                                                            clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await _join(bot, NED, "Ned", "rep", "zh-hans")
        first = await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme", notes="north"),
                                                              force=True)
        await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme", notes="south"), force=True)
        assert "是哪一位客户" in await ned.text_of("/ticket Acme printer jams")
        assert bot.t("zh-Hans", "input.use_buttons") in await ned.text_of("the first one")
        await ned.press(1)
        saved = (await ned.press("✅ 保存"))[-1].text or ""
        assert "已开立维修单 T2026-0001" in saved

        card = await ned.text_of("0912 345 678")  # no such number: the search answers, nothing else happens
        assert "T2026" not in card
        await bot.services.customers.customers.update(neds, first.id, {"phones": (PHONE,)})
        await ned.text_of("0912 345 678")  # typing the number opens the card
        await ned.press("🛠 维修单")
        assert "Acme 有什么问题" in (ned.last.text or "")
        assert "请再输入一次" in await ned.text_of("  ")
        echoed = await ned.text_of("屏幕闪烁")
        assert "新维修单 — 确认后保存" in echoed
        assert "已取消" in ((await ned.press("取消"))[-1].text or "")
        assert len(await bot.services.service.tickets.listing(neds)) == 1


async def test_forged_presses_on_another_teams_ticket_change_nothing(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        south = await bot.services.organisation.departments.create(admin, "South", admin.department_id)
        ned, neds = await _join(bot, NED, "Ned", "rep")
        sue, sues = await _join(bot, SUE, "Sue", "manager", department_id=south.id)
        acme = await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme"), force=True)
        opened = await bot.services.service.tickets.open(neds, acme.id, "broken")
        ticket_id = opened.card.ticket.id
        widget = await bot.services.sales.catalog.create(admin, ProductFields(sku="W-1", name="Widget"))

        await sue.send("/tickets")  # a message with buttons to forge presses on
        for data in (f"tk:open:{ticket_id}", f"tk:mv:{ticket_id}:2", f"tk:mv:{ticket_id}:5", f"tk:asg:{ticket_id}",
                     f"tk:to:{ticket_id}:{sues.staff_id}", f"tk:upd:{ticket_id}", f"tk:note:{ticket_id}",
                     "tk:mv:abc:1", f"tk:mv:{ticket_id}:99", "tk:open:999999", "tkn:save", "tkn:pick:1",
                     f"tkn:c:{acme.id}", "tke:send", "tkn:sev:9", f"tk:prod:{ticket_id}",
                     f"tk:pp:{ticket_id}:{widget.id}"):
            await sue._do(bot.api.press(sue.user, None, data, enqueue=False, forged=True))
        await ned.send("/tickets")
        await ned._do(bot.api.press(ned.user, None, f"tk:to:{ticket_id}:{neds.staff_id}", enqueue=False,
                                    forged=True))  # a rep cannot assign, not even to himself
        await ned._do(bot.api.press(ned.user, None, f"tk:pp:{ticket_id}:{widget.id}", enqueue=False,
                                    forged=True))  # nor link a product to a ticket he is not assigned
        after = (await bot.services.service.tickets.card(neds, ticket_id)).ticket
        assert after.status is Status.NEW and after.assignee_id is None and after.updated_at == after.created_at
        assert after.product_id is None
        assert "Nothing open" in await sue.text_of("/tickets")
        assert "All: 1 opened, 1 open, 0 closed, 0 overdue" in await ned.text_of("/ticketreport week")
        assert "/ticketreport with week" in await ned.text_of("/ticketreport someday")
        assert "All: 0 opened" in await sue.text_of("/ticketreport")  # another team's ticket is not counted


async def _shop(bot: BotHarness, actor: Actor) -> tuple[int, int]:
    """Two products: AC-90 (to be named with sku:) and P-1 (for the orders)."""
    catalog = bot.services.sales.catalog
    aircon = await catalog.create(actor, ProductDraft(sku="AC-90", name="Air conditioner", list_price=Decimal(900),
                                                      currency="TWD", tax_rate=Decimal(5)))
    part = await catalog.create(actor, ProductDraft(sku="P-1", name="Filter", list_price=Decimal(10),
                                                    currency="TWD", tax_rate=Decimal(5)))
    return aircon.id, part.id


async def test_product_and_order_named_in_one_message_in_three_languages(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        aircon, part = await _shop(bot, admin)
        tickets, customers = bot.services.service.tickets, bot.services.customers.customers
        for n, (tg_id, name, language, who) in enumerate([(NED, "Ned", "en", "Acme"), (NAT, "Nat", "zh-hant", "台積電"),
                                                          (3005, "Ning", "zh-hans", "华为")], start=1):
            chatter, actor = await _join(bot, tg_id, name, "rep", language)
            mine = await customers.create(actor, CustomerDraft(name=who), force=True)
            order = await bot.services.orders.orders.create(actor, mine.id, [LineDraft(product_id=part,
                                                                                       quantity=Decimal(1))])
            usage = await chatter.text_of("/ticket")
            assert "sku:" in usage and "O2026-" in usage
            # an unknown SKU: said plainly, nothing waits and nothing is stored
            assert "XX-1" in await chatter.text_of(f"/ticket {who} sku:XX-1 broken")
            assert await tickets.listing(actor) == []
            echoed = await chatter.text_of(f"/ticket {who} sku:ac-90 noisy since {order.number.lower()} #noise")
            label = {"en": "Product: ", "zh-hant": "產品：", "zh-hans": "产品："}[language]
            said = {"en": "Order: ", "zh-hant": "訂單：", "zh-hans": "订单："}[language]
            assert f"{label}AC-90 · Air conditioner" in echoed and f"{said}{order.number}" in echoed
            assert "sku:" not in echoed  # the token is read, not kept in the text
            assert await tickets.listing(actor) == []  # nothing before the tap
            save = {"en": "✅ Save", "zh-hant": "✅ 儲存", "zh-hans": "✅ 保存"}[language]
            saved = (await chatter.press(save))[-1].text or ""
            assert f"T2026-{n:04d}" in saved and f"{said}{order.number}" in saved
            [ticket] = await tickets.listing(actor)
            assert (ticket.product_id, ticket.order_id, ticket.category) == (aircon, order.id, "noise")

        # another customer's order is refused, never linked
        other = await customers.create(admin, CustomerDraft(name="Other"), force=True)
        foreign = await bot.services.orders.orders.create(admin, other.id, [LineDraft(product_id=part,
                                                                                      quantity=Decimal(1))])
        ned, neds = bot.user(NED, "Ned", language_code="en"), await bot.services.organisation.identity.actor_for(
            TelegramIdentity(NED, "Ned", language_code="en"))
        assert neds is not None
        refused = await ned.text_of(f"/ticket Acme broken see {foreign.number}")
        assert f"{foreign.number} is not an order of this customer" in refused
        assert len(await tickets.listing(neds)) == 1


async def test_order_button_on_the_card_and_forged_presses(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        south = await bot.services.organisation.departments.create(admin, "South", admin.department_id)
        _, part = await _shop(bot, admin)
        mia, mias = await _join(bot, MIA, "Mia", "manager")
        ned, neds = await _join(bot, NED, "Ned", "rep")
        sue, _ = await _join(bot, SUE, "Sue", "manager", department_id=south.id)
        tickets, orders = bot.services.service.tickets, bot.services.orders.orders
        acme = await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme"), force=True)
        other = await bot.services.customers.customers.create(admin, CustomerDraft(name="Other"), force=True)
        first = await orders.create(neds, acme.id, [LineDraft(product_id=part, quantity=Decimal(1))])
        foreign = await orders.create(admin, other.id, [LineDraft(product_id=part, quantity=Decimal(2))])
        ticket_id = (await tickets.open(neds, acme.id, "broken")).card.ticket.id

        await mia.send("/tickets")
        await mia.press("👥 My team's")
        await mia.press(1)
        await mia.press("🧾 Order")
        assert "Which order" in (mia.last.text or "") and mia.labels()[-1] == "✖️ No order"
        assert foreign.number not in " ".join(mia.labels())  # only the ticket's customer's orders
        linked = (await mia.press(1))[-1].text or ""
        assert "Order linked." in linked and f"Order: {first.number}" in linked
        assert (await tickets.card(mias, ticket_id)).ticket.order_id == first.id
        async with engine.connect() as conn:
            a = t.audit_log.c
            rows = (await conn.execute(select(a.before, a.after).where(a.entity == "ticket", a.entity_id == ticket_id,
                                                                        a.action == "update"))).all()
        assert [(r.before, r.after) for r in rows] == [({"order_id": None}, {"order_id": first.id})]

        # forged: another customer's order, another team's manager, a rep not working on it
        await mia._do(bot.api.press(mia.user, None, f"tk:po:{ticket_id}:{foreign.id}", enqueue=False, forged=True))
        await mia._do(bot.api.press(mia.user, None, f"tk:po:{ticket_id}:999999", enqueue=False, forged=True))
        await sue.send("/tickets")
        for data in (f"tk:ord:{ticket_id}", f"tk:po:{ticket_id}:0", f"tk:po:{ticket_id}:{foreign.id}"):
            await sue._do(bot.api.press(sue.user, None, data, enqueue=False, forged=True))
        await ned.send("/tickets")
        await ned._do(bot.api.press(ned.user, None, f"tk:po:{ticket_id}:0", enqueue=False, forged=True))
        assert (await tickets.card(mias, ticket_id)).ticket.order_id == first.id
        await mia.press("🧾 Order")
        unlinked = (await mia.press("✖️ No order"))[-1].text or ""
        assert "No order linked now." in unlinked and "Order: " not in unlinked
