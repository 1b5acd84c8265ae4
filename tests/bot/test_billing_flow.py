"""Billing in chat over the Bot API fake: the one-message invoice echoed then issued and its PDF, the guided
invoice in Traditional Chinese with wrong input at every step, the one-message payment, the overdue push at a
working hour with "record payment" taken to the end, /receivables in Simplified Chinese, the card's section,
and forged presses on another rep's invoice that change nothing."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.billing.model import InvoiceStatus
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.orders.line import Item
from crm.organisation.permissions import Actor
from crm.sales.model import ProductDraft
from scheduler.billing.overdue import send_overdue_pushes
from tests.support.bot_harness import ADMIN_ID, BotHarness, join, running_bot

MIA, NED, NAT = 3001, 3002, 3003


async def _catalog(bot: BotHarness, actor: Actor) -> None:
    for sku, name, price in (("A-100", "Widget", "99.99"), ("B-20", "Bolt", "12.5")):
        await bot.services.sales.catalog.create(actor, ProductDraft(sku=sku, name=name, list_price=Decimal(price),
                                                                    currency="TWD", tax_rate=Decimal(5)))


async def _customer(bot: BotHarness, actor: Actor, name: str) -> int:
    return int((await bot.services.customers.customers.create(actor, CustomerDraft(name=name), force=True)).id)


async def test_one_message_invoice_then_payment_and_the_pdf(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager")
        await _catalog(bot, mias)
        tsmc = await _customer(bot, mias, "台積電")

        echoed = await mia.text_of("/invoice 台積電 A-100 x3, B-20 x12")
        assert "Check the invoice" in echoed and "A-100 Widget × 3" in echoed and "Total TWD 472.47" in echoed
        assert "Due: 2026-12-26" in echoed  # 30 days of default terms
        assert (await bot.services.billing.invoices.listed(mias))[0] == []  # nothing before the tap
        assert "Check the invoice" in await mia.text_of("yes")  # typed at the check: shown again
        issued = (await mia.press("✅ Issue"))[-1].text or ""
        assert "Invoice INV2026-0001 issued" in issued and "Status: 🧾 issued" in issued

        await mia.press("📄 PDF")
        document = bot.api.documents(MIA)[-1]
        assert document.filename == "INV2026-0001.pdf"
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(document.content)).pages)
        assert "Invoice INV2026-0001" in text and "台積電" in text and "Balance due" in text

        echoed = await mia.text_of("/payment 台積電 NT$200 transfer #TX-9")
        assert "From 台積電: TWD 200.00 by Transfer" in echoed and "→ INV2026-0001: TWD 200.00" in echoed
        assert "Reference: TX-9" in echoed
        saved = (await mia.press("✅ Save"))[-1].text or ""
        assert "Payment of TWD 200.00 recorded" in saved
        invoice = (await bot.services.billing.invoices.listed(mias, customer_id=tsmc))[0][0][0]
        assert invoice.status is InvoiceStatus.PARTIAL and invoice.outstanding == Decimal("272.47")

        await mia.send("台積電")
        card_text = (await mia.press("🏢 台積電"))[-1].text or ""
        assert "💰 Owed: TWD 272.47 on 1 invoice(s)" in card_text

        over = await mia.text_of("/payment 台積電 NT$99999 cash")
        assert "more than the invoices still owe" in over
        assert "how much?" in await mia.text_of("lots")  # a wrong amount: asked again
        assert "more than the invoices still owe" in await mia.text_of("300")
        assert "TWD 272.47 by Cash" in await mia.text_of("272.47")
        await mia.press("✅ Save")
        card = await bot.services.billing.invoices.card(mias, invoice.id)
        assert card.invoice.status is InvoiceStatus.PAID and len(card.payments) == 2

        await mia.send("台積電")  # the customer card: nothing owed now, and the invoices button
        card_text = (await mia.press("🏢 台積電"))[-1].text or ""
        assert "台積電" in card_text and "Owed" not in card_text and "🧾 Invoices" in mia.labels()
        listed = (await mia.press("🧾 Invoices"))[-1]
        assert "INV2026-0001" in " ".join(mia.labels()) and "Payment terms: 30 days" in (listed.text or "")
        assert "How many days" in ((await mia.press("📅 Payment terms: 30 days"))[-1].text or "")
        assert "0 to 365" in await mia.text_of("forever")  # wrong: asked again
        assert "set to 45 days" in await mia.text_of("45")
        assert "Due: 2027-01-10" in await mia.text_of("/invoice 台積電 B-20 x1")


async def test_guided_invoice_in_traditional_chinese_with_wrong_input_at_every_step(engine: AsyncEngine,
                                                                                   clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager", "zh-hant")
        await _catalog(bot, mias)
        await _customer(bot, mias, "台積電")
        await _customer(bot, mias, "台塑")

        assert "哪一位客戶" in await mia.text_of("/invoice")
        assert "找不到唯一一位名為「無此公司」" in await mia.text_of("無此公司")
        assert "有多位客戶符合" in await mia.text_of("台")
        assert "請點選上方的按鈕" in await mia.text_of("台積電")  # typed at a button step: never the answer
        await mia.press("台積電")
        assert "請以「料號 x 數量」輸入" in await mia.text_of("三個螺絲")
        assert "找不到料號「Z-9」" in await mia.text_of("Z-9 x1")
        check = await mia.text_of("A-100 x2")
        assert "請確認發票後開立" in check and "到期日：2026-12-26" in check
        await mia.press("📅 到期日")
        assert "無法辨識日期「不知道」" in await mia.text_of("不知道")
        assert "到期日不可早於開立日" in await mia.text_of("2026-01-01")
        check = await mia.text_of("下週五")
        assert "到期日：2026-12-04" in check
        issued = (await mia.press("✅ 開立"))[-1].text or ""
        assert "發票 INV2026-0001 已開立" in issued and "到期 2026-12-04" in issued

        assert "哪一位客戶" in await mia.text_of("/invoice")
        assert "已取消" in await mia.text_of("/cancel")
        assert "找不到" not in await mia.text_of("台積電")  # the flow is over: a plain search again
        assert [i.number for i, _ in (await bot.services.billing.invoices.listed(mias))[0]] == ["INV2026-0001"]


async def test_overdue_push_at_a_working_hour_and_record_payment_from_it(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager")
        await _catalog(bot, mias)
        await _customer(bot, mias, "Acme")
        await mia.send("/invoice Acme A-100 x1 due tomorrow")
        await mia.press("✅ Issue")
        catalogs = bot.app.bot_data["i18n"]

        clock.advance(timedelta(days=1, hours=13))  # the day after tomorrow, 23:00 in Taipei
        assert await send_overdue_pushes(bot.services, bot.app.bot, catalogs) == 0
        clock.advance(timedelta(hours=10))  # 09:00
        before = bot.api.last_message(MIA).message_id
        assert await send_overdue_pushes(bot.services, bot.app.bot, catalogs) == 1
        assert await send_overdue_pushes(bot.services, bot.app.bot, catalogs) == 0  # once
        push = bot.api.last_message(MIA).text or ""
        assert bot.api.last_message(MIA).message_id > before
        assert "INV2026-0001" in push
        assert "1 days overdue" in push and "TWD 104.99" in push
        assert "how much?" in ((await mia.press("💰 Record payment"))[-1].text or "")
        assert "How was it paid" in await mia.text_of("104.99")
        check = (await mia.press("Cheque"))[-1].text or ""
        assert "TWD 104.99 by Cheque" in check
        await mia.press("✅ Save")
        invoice = (await bot.services.billing.invoices.listed(mias))[0][0][0]
        assert invoice.status is InvoiceStatus.PAID
        clock.advance(timedelta(days=8))
        assert await send_overdue_pushes(bot.services, bot.app.bot, catalogs) == 0  # paid: never again


async def test_receivables_in_simplified_chinese_and_forged_presses(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager", "zh-hans")
        ned, neds = await join(bot, NED, "Ned", "rep")
        nat, _ = await join(bot, NAT, "Nat", "rep")
        await _catalog(bot, mias)
        acme = await _customer(bot, neds, "Acme")
        drafts = await bot.services.billing.invoices.drafts_for(mias, [("A-100", Decimal(2))])
        invoice = await bot.services.billing.invoices.issue(mias, acme, drafts)
        assert invoice.owner_id == neds.staff_id

        clock.advance(timedelta(days=40))
        shown = await mia.text_of("/receivables")
        assert "应收账款" in shown and "Acme" in shown and "1–30 天 TWD 209.98" in shown
        assert "Acme" in await ned.text_of("/receivables")
        assert "目前没有应收账款" not in shown
        assert "Nothing is owed to you right now" in await nat.text_of("/receivables")

        await nat.send("/expense 5 parking")  # a message with buttons to forge presses on
        for data in (f"bi:open:{invoice.id}", f"bi:pay:{invoice.id}", f"bi:void:{invoice.id}",
                     f"bi:pdf:{invoice.id}", f"bi:cust:{acme}", "bp:save", "bn:issue", "bp:m:9", "bi:open:x"):
            await nat._do(bot.api.press(nat.user, None, data, enqueue=False, forged=True))
        assert bot.api.documents(NAT) == []
        after = await bot.services.billing.invoices.get(mias, invoice.id)
        assert after.status is InvoiceStatus.ISSUED and after.paid == 0
        assert "Acme" not in (bot.api.last_message(NAT).text or "")


async def test_guided_payment_with_wrong_input_and_chosen_invoices(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager")
        await _catalog(bot, mias)
        acme = await _customer(bot, mias, "Acme")
        invoices = bot.services.billing.invoices
        drafts = await invoices.drafts_for(mias, [("B-20", Decimal(8))])  # TWD 105.00 each
        older = await invoices.issue(mias, acme, drafts)
        newer = await invoices.issue(mias, acme, drafts)

        assert "Which customer" in await mia.text_of("/payment")
        assert "No single customer named “Nobody”" in await mia.text_of("Nobody")
        assert "how much?" in await mia.text_of("Acme")
        assert "not an amount" in await mia.text_of("abc")
        assert "could not read the date “someday”" in await mia.text_of("100 someday")
        assert "The invoices are in TWD" in await mia.text_of("100USD")
        assert "How was it paid" in await mia.text_of("100 yesterday")
        assert "Please choose one of the buttons" in await mia.text_of("cash")  # typed at a button step
        check = (await mia.press("Cash"))[-1].text or ""
        assert "TWD 100.00 by Cash on 2026-11-25" in check and f"→ {older.number}: TWD 100.00" in check
        await mia.press("📑 Choose invoices")
        await mia.press(f"▫️ {newer.number} · TWD 105.00")
        assert f"☑️ {newer.number} · TWD 105.00" in mia.labels()
        check = (await mia.press("Done"))[-1].text or ""
        assert f"→ {newer.number}: TWD 100.00" in check and older.number not in check
        await mia.press("✅ Save")
        assert (await invoices.get(mias, newer.id)).paid == Decimal(100)
        assert (await invoices.get(mias, older.id)).paid == 0

        asked = (await mia.press("↩️ Reverse"))[-1].text or ""
        assert "Why is this payment reversed" in asked
        assert "Reversed:" in await mia.text_of("cheque bounced")
        assert (await invoices.get(mias, newer.id)).paid == 0


async def test_an_order_is_invoiced_by_its_number_once(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager", "zh-hant")
        ned, neds = await join(bot, 3002, "Ned", "rep")
        await _catalog(bot, mias)
        tsmc = await _customer(bot, neds, "台積電")
        orders = bot.services.orders.orders
        drafts = await orders.resolve(neds, [Item("A-100", Decimal(3)), Item("B-20", Decimal(12))])
        order = await orders.create(neds, tsmc, drafts)

        refused = await ned.text_of(f"/invoice {order.number}")  # a rep does not issue invoices
        assert "permission" in refused.lower()
        echoed = await mia.text_of(f"/invoice {order.number.lower()}")  # typed as it comes
        assert "台積電" in echoed and "A-100" in echoed and str(order.totals.total) in echoed.replace(",", "")
        assert (await bot.services.billing.invoices.listed(mias))[0] == []  # nothing before the tap
        issued = "\n".join(m.text or "" for m in await mia.press("✅ 開立"))
        assert "發票 INV2026-0001 已開立" in issued
        invoices, _ = await bot.services.billing.invoices.listed(mias)
        assert len(invoices) == 1
        again = await mia.text_of(f"/invoice {order.number}")
        assert "沒有可開立發票的項目" in again
        assert len((await bot.services.billing.invoices.listed(mias))[0]) == 1
        # The customer's history has the order and its invoice beside the interactions.
        history = (await mia._do(bot.api.press(mia.user, None, f"cu:hist:{tsmc}", enqueue=False,
                                               forged=True)))[-1].text or ""
        assert f"訂單 {order.number}" in history and "發票 INV2026-0001" in history
