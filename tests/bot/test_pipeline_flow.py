"""The pipeline in chat: the one-message form in Traditional Chinese echoed then saved, the guided flow from the
customer card, /pipeline counts, moving stages, Lost asking its reason, a forged press on a colleague's
opportunity, and the stale-opportunity nudge once a day in working hours."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import CrmContext
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.organisation.permissions import Actor
from crm.sales.opportunity_model import Opportunity, OpportunityFields
from scheduler.sales.stale import stale_job
from tests.support.bot_harness import ADMIN_ID, BotHarness, join, running_bot

TAIPEI = ZoneInfo("Asia/Taipei")
NED, NAT = 3002, 3003


async def _customer(bot: BotHarness, actor: Actor, name: str) -> int:
    created = await bot.services.customers.customers.create(actor, CustomerDraft(name=name), force=True)
    return int(created.id)


async def _opportunity(bot: BotHarness, actor: Actor, customer: str, amount: str) -> Opportunity:
    created: Opportunity = await bot.services.sales.opportunities.create(actor, OpportunityFields(
        customer_id=await _customer(bot, actor, customer), title="Line upgrade", amount=Decimal(amount)))
    return created


async def test_one_message_in_traditional_chinese_is_echoed_then_saved(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        nat, actor = await join(bot, NAT, "Nat", "rep", "zh-hant")
        await _customer(bot, actor, "台積電")
        echoed = await nat.text_of("/opportunity 台積電 產線升級 120萬 TWD 預計下個月")
        assert "確認後儲存" in echoed and "客戶：台積電" in echoed and "名稱：產線升級" in echoed
        assert "TWD 1,200,000.00" in echoed and "預計結案：2026-12-01" in echoed
        assert (await bot.services.sales.opportunities.pipeline(actor)).count == 0  # nothing before the tap

        again = await nat.text_of("好")  # typed at the summary: shown again, never the record
        assert "確認後儲存" in again
        saved = (await nat.press(bot.t("zh-Hant", "sales.btn_save")))[-1].text or ""
        assert "商機已儲存" in saved and "新機會 10%" in saved and "加權 TWD 120,000.00" in saved
        assert (await bot.services.sales.opportunities.pipeline(actor)).count == 1


async def test_the_guided_flow_starts_on_the_customer_card(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, actor = await join(bot, NED, "Ned", "rep")
        await _customer(bot, actor, "Acme")
        await ned.send("Acme")
        await ned.press("🏢 Acme")
        assert "💼 Opportunity" in ned.labels()
        assert "What is it called" in ((await ned.press("💼 Opportunity"))[-1].text or "")
        assert "Expected amount" in await ned.text_of("Line upgrade")
        assert "Expected close" in await ned.text_of("1.2M USD")
        summary = await ned.text_of("next month")
        assert "Acme" in summary and "USD 1,200,000.00" in summary and "2026-12-01" in summary
        card = (await ned.press("✅ Save"))[-1].text or ""
        assert "Opportunity saved" in card and "Line upgrade" in card


async def test_pipeline_counts_moves_and_lost_asks_the_reason(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        nat, nats = await join(bot, NAT, "Nat", "rep")
        mia, _ = await join(bot, 3001, "Mia", "manager")
        opp = await _opportunity(bot, neds, "Acme", "1000")
        await _opportunity(bot, nats, "Beta", "3000")

        shown = await ned.text_of("/pipeline")
        assert "My pipeline</b> — 1 open" in shown or "My pipeline — 1 open" in shown
        assert "New 10%: 1 · TWD 1,000.00 · weighted TWD 100.00" in shown
        assert "👥 Team" not in ned.labels()  # a rep's scope is their own
        team = await mia.text_of("/pipeline")
        assert "— 0 open" in team
        team = (await mia.press("👥 Team"))[-1].text or ""
        assert "— 2 open" in team and "New 10%: 2 · TWD 4,000.00 · weighted TWD 400.00" in team

        await ned.press("New (1)")
        await ned.press(1)
        card = (await ned.press("▶️ Proposal"))[-1].text or ""
        assert "Moved to Proposal" in card and "Proposal 50%" in card and "weighted TWD 500.00" in card
        asked = (await ned.press("▶️ Lost"))[-1].text or ""
        assert "Why was" in asked and "Line upgrade" in asked
        lost = await ned.text_of("Price too high")
        assert "Marked as lost" in lost and "Lost because: Price too high" in lost

        # Nat forges a press on Ned's opportunity: refused, nothing moves.
        stages = {s.key: s.id for s in await bot.services.sales.opportunities.stages(neds)}
        await nat.send("/pipeline")  # a message with buttons to forge a press on
        api = nat.harness.api
        await nat._do(api.press(nat.user, None, f"op:mv:{opp.id}:{stages['won']}", enqueue=False, forged=True))
        after = await bot.services.sales.opportunities.get(neds, opp.id)
        assert after.stage_id == stages["lost"] and after.lost_reason == "Price too high"


async def test_stale_opportunities_nudge_the_owner_once_a_day_in_working_hours(engine: AsyncEngine,
                                                                               clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, neds = await join(bot, NED, "Ned", "rep")
        await _opportunity(bot, neds, "Acme", "1000")
        context: Any = CrmContext(bot.app)
        before = len(bot.api.sent_messages(NED))
        await stale_job(context)
        assert len(bot.api.sent_messages(NED)) == before  # fresh: nothing to say

        clock.set(datetime(2026, 12, 11, 21, 0, tzinfo=TAIPEI))  # stale, but after working hours
        await stale_job(context)
        assert len(bot.api.sent_messages(NED)) == before
        clock.set(datetime(2026, 12, 12, 8, 0, tzinfo=TAIPEI))
        await stale_job(context)
        await stale_job(context)
        pushed = [m.text or "" for m in bot.api.sent_messages(NED)[before:]]
        assert len(pushed) == 1 and "unchanged for 14+ days" in pushed[0] and "Acme · Line upgrade" in pushed[0]
        clock.set(datetime(2026, 12, 12, 19, 0, tzinfo=TAIPEI))
        await stale_job(context)
        assert len(bot.api.sent_messages(NED)) == before + 1
        clock.set(datetime(2026, 12, 13, 8, 5, tzinfo=TAIPEI))
        await stale_job(context)
        assert len(bot.api.sent_messages(NED)) == before + 2
