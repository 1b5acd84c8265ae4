"""Service tickets in chat, through the real Application over the Bot API fake: /ticket in Traditional Chinese echoed
(severity changed, typed text at the summary never saved) then saved; ambiguous customer → pick buttons; the
manager assigns from /tickets (team) and the technician is told; a customer update echoed then sent; the customer
card's 🛠 Ticket in Simplified Chinese; wrong input at each step; forged presses on another team's ticket."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.sales.model import ProductFields
from crm.service.model import Severity, Status
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
