"""/stages in chat: an admin renames a stage in Traditional Chinese, sets a probability (after two wrong answers),
reorders, adds a stage only after the echoed name is confirmed, cannot remove a stage in use, removes and restores
an empty one; a manager without stages.manage is refused, and forged presses change nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.sales.opportunity_model import OpportunityFields, Stage
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot


async def _admin(bot: BotHarness, language: str = "en") -> tuple[Chatter, Actor]:
    ada = bot.user(ADMIN_ID, "Ada", language_code=language)
    await ada.send("/start")
    actor = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    assert actor is not None
    return ada, actor


async def _card(ada: Chatter, stage_id: int) -> None:
    """From a fresh /stages list to the stage's card, as a person would tap."""
    await ada.send("/stages")
    await ada.press_data(f"st:card:{stage_id}")


async def _stages(bot: BotHarness, actor: Actor) -> dict[str, Stage]:
    return {s.key: s for s in await bot.services.sales.stages.all(actor)}


async def test_an_admin_edits_the_stages_with_every_wrong_answer_refused(engine: AsyncEngine,
                                                                         clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada, actor = await _admin(bot)
        listed = await ada.text_of("/stages")
        assert "Pipeline stages" in listed and "1. New 10% · Open" in listed
        stages = await _stages(bot, actor)
        proposal = stages["proposal"]

        await _card(ada, proposal.id)
        await ada.press_data(f"st:ef:{proposal.id}:probability")
        assert "Type the Win probability in percent" in (ada.last.text or "")
        assert "\"abc\" is not a percentage between 0 and 100" in await ada.text_of("abc")
        assert "is not a percentage between 0 and 100" in await ada.text_of("150%")
        saved = await ada.text_of("35%")
        assert "Win probability: 35%" in saved and "Saved" in saved
        assert (await _stages(bot, actor))["proposal"].probability == Decimal(35)

        await _card(ada, proposal.id)
        await ada.press_data(f"st:ef:{proposal.id}:name_zh_hant")
        await ada.text_of("提案報價")
        assert (await _stages(bot, actor))["proposal"].name_zh_hant == "提案報價"

        # Won keeps its meaning: no probability button, and a forged one is refused.
        won = stages["won"]
        await _card(ada, won.id)
        assert not any("Win probability" in label for label in ada.labels())
        await ada._do(bot.api.press(ada.user, None, f"st:ef:{won.id}:probability", enqueue=False, forged=True))
        assert (await _stages(bot, actor))["won"].probability == Decimal(100)

        # Reorder: proposal one up, before qualified.
        before = [s.key for s in await bot.services.sales.stages.all(actor)]
        await _card(ada, proposal.id)
        await ada.press_data(f"st:up:{proposal.id}")
        after = [s.key for s in await bot.services.sales.stages.all(actor)]
        assert after.index("proposal") == before.index("proposal") - 1
        assert after[-2:] == before[-2:]  # won and lost stay last

        # Add: the typed name is echoed; text at the confirm step is not the answer.
        await ada.send("/stages")
        await ada.press_data("st:new")
        echoed = await ada.text_of("Site visit")
        assert "Add the stage “Site visit”" in echoed
        await ada.text_of("yes")
        assert "Site visit" not in [s.name for s in await bot.services.sales.stages.all(actor)]
        await ada.press("✅ Add")
        names = [s.name for s in await bot.services.sales.stages.all(actor)]
        assert names.index("Site visit") == len(names) - 3  # the last open stage

        # In use: refused. Empty: removed, then restored.
        customer = await bot.services.customers.customers.create(actor, CustomerDraft(name="Acme"), force=True)
        await bot.services.sales.opportunities.create(actor, OpportunityFields(customer_id=customer.id, title="Deal"))
        first = (await _stages(bot, actor))["new"]
        await _card(ada, first.id)
        await ada.press_data(f"st:del:{first.id}")
        await ada.press_data(f"st:delok:{first.id}")
        alert = bot.api.calls_to("answerCallbackQuery")[-1].params.get("text", "")
        assert "1 opportunities are in this stage" in alert
        visit = next(s for s in await bot.services.sales.stages.all(actor) if s.name == "Site visit")
        await _card(ada, visit.id)
        await ada.press_data(f"st:del:{visit.id}")
        removed = await ada.press("Yes, delete")
        assert "Removed “Site visit”" in (removed[-1].text or "")
        assert "Site visit" not in [s.name for s in await bot.services.sales.stages.all(actor)]
        await ada.send("/stages")
        await ada.press_data("st:trash")
        await ada.press(1)
        assert "Site visit" in [s.name for s in await bot.services.sales.stages.all(actor)]
        async with engine.connect() as conn:
            audited = (await conn.execute(select(func.count()).select_from(t.audit_log).where(
                t.audit_log.c.entity == "opportunity_stage"))).scalar_one()
        assert audited >= 6


async def test_chinese_screens_and_who_may_not_edit(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada, actor = await _admin(bot, "zh-hans")
        assert "销售阶段" in await ada.text_of("/stages")
        roles = {r.name: r.id for r in await bot.services.organisation.roles.assignable(actor)}
        invite = await bot.services.organisation.invites.create(actor, roles["manager"], actor.department_id)
        mia = bot.user(3001, "Mia", language_code="zh-hant")
        await mia.send(f"/start {invite.code}")
        refused = await mia.text_of("/stages")
        assert "權限" in refused or "不允許" in refused or "無法" in refused
        stages = await _stages(bot, actor)
        await mia.send("/language")  # a message with buttons, as a modified client would press on
        for data in (f"st:ef:{stages['new'].id}:name", f"st:up:{stages['qualified'].id}", "st:add",
                     f"st:delok:{stages['new'].id}", f"st:rst:{stages['new'].id}", "st:card:99999999999999999999"):
            await mia._do(bot.api.press(mia.user, None, data, enqueue=False, forged=True))
        assert await _stages(bot, actor) == stages
