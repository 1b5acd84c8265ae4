"""Expenses in chat: the one-message form in Traditional Chinese echoed then saved, a receipt photo with that
caption, the approval push with its buttons to the manager, approve → the submitter told, reject with a typed
reason, and a forged press refused."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.expenses.model import Status
from tests.support.bot_harness import ADMIN_ID, BotHarness, join, running_bot

MIA, NED, NAT = 3001, 3002, 3003


def _latest(bot: BotHarness, tg_id: int) -> str:
    return bot.api.last_message(tg_id).text or ""


async def test_one_message_in_traditional_chinese_is_echoed_then_saved_and_approved(engine: AsyncEngine,
                                                                                   clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, _ = await join(bot, MIA, "Mia", "manager")
        nat, nats = await join(bot, NAT, "Nat", "rep", "zh-hant")
        await bot.services.customers.customers.create(nats, CustomerDraft(name="台積電"), force=True)

        echoed = await nat.text_of("/expense 350 計程車 @台積電 昨天 去新竹")
        assert "確認後儲存" in echoed and "金額：TWD 350.00" in echoed and "類別：交通" in echoed
        assert "日期：2026-11-25" in echoed and "客戶：台積電" in echoed and "備註：去新竹" in echoed
        assert (await bot.services.expenses.expenses.month(nats)).items == ()  # nothing before the tap
        assert "確認後儲存" in await nat.text_of("好")  # typed at the summary: shown again, never the record
        assert (await bot.services.expenses.expenses.month(nats)).items == ()

        saved = (await nat.press("✅ 儲存"))[-1].text or ""
        assert "費用已儲存並送出核准" in saved and "待核准" in saved
        push = _latest(bot, MIA)
        assert "Nat asks you to approve an expense" in push and "TWD 350.00" in push and "Transport" in push
        assert mia.labels() == ["✅ Approve", "✖️ Reject"]

        approved = (await mia.press("✅ Approve"))[-1].text or ""
        assert "Approved: the expense is locked" in approved
        told = _latest(bot, NAT)
        assert "已由 Mia 核准" in told and "TWD 350.00" in told
        expense = (await bot.services.expenses.expenses.month(nats)).items[0].expense
        assert expense.status is Status.APPROVED


async def test_a_receipt_photo_with_the_caption_and_a_reject_with_its_reason(engine: AsyncEngine,
                                                                             clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, _ = await join(bot, MIA, "Mia", "manager")
        ned, neds = await join(bot, NED, "Ned", "rep")
        replies = await ned._do(bot.api.photo(ned.user, caption="/expense 1280 USD dinner client visit",
                                              enqueue=False))
        echoed = "\n".join(m.text or "" for m in replies)
        assert "USD 1,280.00" in echoed and "Category: Meals" in echoed and "Receipt photo attached" in echoed
        await ned.press("✅ Save")
        expense = (await bot.services.expenses.expenses.month(neds)).items[0].expense
        assert expense.receipt_file_id

        assert "Waiting for your approval" in await mia.text_of("/approvals")
        await mia.press(1)
        asked = (await mia.press("✖️ Reject"))[-1].text or ""
        assert "Why is Ned's expense USD 1,280.00 rejected" in asked
        rejected = await mia.text_of("Wine is not covered")
        assert "Rejected: the submitter was told why" in rejected and "Wine is not covered" in rejected
        assert "was rejected by Mia: Wine is not covered" in _latest(bot, NED)

        month = await ned.text_of("/expenses")
        assert "My expenses" in month and "Total (not counting rejected): nothing" in month


async def test_a_forged_approval_press_changes_nothing(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        nat, _ = await join(bot, NAT, "Nat", "rep")
        await ned.send("/expense 90 parking")
        await ned.press("✅ Save")
        expense = (await bot.services.expenses.expenses.month(neds)).items[0].expense

        await nat.send("/expense 5 parking")  # a message with buttons to forge a press on
        for data in (f"ex:ok:{expense.id}", f"ex:no:{expense.id}", f"ex:open:{expense.id}"):
            await nat._do(bot.api.press(nat.user, None, data, enqueue=False, forged=True))
        await ned.send("/expense 6 parking")
        await ned._do(bot.api.press(ned.user, None, f"ex:ok:{expense.id}", enqueue=False, forged=True))  # own
        after = await bot.services.expenses.expenses.card(neds, expense.id)
        assert after.expense.status is Status.SUBMITTED and after.expense.decided_by is None
        assert bot.t("en", "error.permission_denied") in await nat.text_of("/approvals")
