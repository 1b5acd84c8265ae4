"""Documents on an opportunity and a ticket, in chat and in three languages: ``@O<id>`` (``@商機<id>``) on the
filing line links the opportunity, the opportunity's and the ticket's cards carry "📁 Documents" (their modules'
card-extras points), which lists what is linked and says how to file there; another rep's forged presses and
lines name nothing of a record out of their sight."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.sales.opportunity_model import OpportunityFields
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, join, running_bot

NED, NAT, SUE = 3301, 3302, 3303


async def _forge(bot: BotHarness, chatter: Chatter, data: str) -> list[ChatMessage]:
    return await chatter._do(bot.api.press(chatter.user, chatter.last.message_id, data, enqueue=False, forged=True))


def _text(replies: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in replies)


async def _documents(engine: AsyncEngine) -> list[Row[Any]]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(t.office_documents).order_by(t.office_documents.c.id)))


async def _file(bot: BotHarness, chatter: Chatter, name: str, button: str) -> None:
    await chatter._do(bot.api.document(chatter.user, name, b"%PDF-1.7 " + name.encode(), "application/pdf",
                                       enqueue=False))
    await chatter.press(button)


async def test_documents_on_an_opportunity_and_a_ticket_in_three_languages(engine: AsyncEngine,
                                                                           clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        nat, nats = await join(bot, NAT, "Nat", "rep", "zh-hant")
        sue, _ = await join(bot, SUE, "Sue", "rep", "zh-hans")
        acme = await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme"), force=True)
        tsmc = await bot.services.customers.customers.create(nats, CustomerDraft(name="台積電"), force=True)
        deal = await bot.services.sales.opportunities.create(neds, OpportunityFields(
            customer_id=acme.id, title="Fab 18 chillers", amount=Decimal(1000)))
        nats_deal = await bot.services.sales.opportunities.create(nats, OpportunityFields(
            customer_id=tsmc.id, title="冷卻水塔", amount=Decimal(500)))
        ticket = (await bot.services.service.tickets.open(neds, acme.id, "Chiller leaks")).card.ticket

        # English: the opportunity's card has "📁 Documents", which says how to file there.
        await _forge(bot, ned, f"op:open:{deal.id}")  # as from /pipeline
        assert "📁 Documents" in ned.labels()
        listed = _text(await ned.press("📁 Documents"))
        assert "No documents linked to it" in listed and f"@O{deal.id}" in listed
        await _file(bot, ned, "spec.pdf", "📁 File it")
        echoed = await ned.text_of(f"Chiller spec #spec @O{deal.id}")
        assert "Linked to: Opportunity Fab 18 chillers" in echoed
        await ned.press("✅ Save")
        assert (await _documents(engine))[-1].link_kind == "opportunity"
        await _forge(bot, ned, f"op:open:{deal.id}")
        listed = _text(await ned.press("📁 Documents"))
        assert "Documents linked to it" in listed and ned.labels() == ["📄 Chiller spec"]

        # ... and the ticket's card too.
        await _forge(bot, ned, f"tk:open:{ticket.id}")
        assert "📁 Documents" in ned.labels()
        assert f"@{ticket.number}" in _text(await ned.press("📁 Documents"))

        # Traditional Chinese: @商機<id>, the card's button in Chinese.
        await _file(bot, nat, "圖面.pdf", "📁 歸檔")
        echoed = await nat.text_of(f"水塔圖面 @商機{nats_deal.id}")
        assert "連結：商機 冷卻水塔" in echoed
        await nat.press("✅ 儲存")
        await _forge(bot, nat, f"op:open:{nats_deal.id}")
        await nat.press("📁 文件")
        assert nat.labels() == ["📄 水塔圖面"]

        # Simplified Chinese: another rep names Ned's opportunity and is told there is none they can see.
        await _file(bot, sue, "x.pdf", "📁 归档")
        refused = await sue.text_of(f"偷看 @O{deal.id}")
        assert f"名为「O{deal.id}」" in refused and "商机" in refused
        await sue.send("/cancel")
        # Forged presses on the opportunity and the ticket: "not found", nothing listed, nothing changed.
        count = len(await _documents(engine))
        for data in (f"ofd:lk:opportunity:{deal.id}", f"ofd:lk:ticket:{ticket.id}", "ofd:lk:opportunity:999999",
                     "ofd:lk:deal:1"):
            replies = await _forge(bot, sue, data)
            assert "Chiller" not in _text(replies), data
            assert bot.told(replies, bot.t("zh-Hans", "error.not_found")) or bot.told(
                replies, bot.t("zh-Hans", "error.stale_button")), data
        assert len(await _documents(engine)) == count
