"""The daily expiry of quotations: a sent quote past its valid-until date (in its owner's zone) becomes expired,
audited, once however often the job runs; a draft and a quote still valid are left alone; the owner is told once,
in their working hours — not at night — with a button to the quote's card, in their language."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import CrmContext
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.sales.model import ProductDraft
from crm.sales.quote_model import LineDraft, QuoteStatus
from scheduler.sales.expiry import expiry_job
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, join, running_bot

TAIPEI = ZoneInfo("Asia/Taipei")
NED = 3002


async def test_sent_quotes_past_valid_until_expire_once_and_the_owner_is_told_in_working_hours(
        engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/start")
        ned_chat, ned = await join(bot, NED, "Ned", "rep", "zh-hant")
        services = bot.services
        widget = await services.sales.catalog.create(
            (await services.organisation.identity.actor_by_staff_id(1)),
            ProductDraft(sku="A-100", name="Widget", list_price=Decimal("99.99"), currency="TWD"))
        acme = (await services.customers.customers.create(ned, CustomerDraft(name="Acme"), force=True)).id
        quotes = services.sales.quotes
        lines = [LineDraft(product_id=widget.id, quantity=Decimal(2))]
        due = await quotes.create(ned, acme, lines, valid_until=date(2026, 12, 1))
        await quotes.move(ned, due.id, QuoteStatus.SENT)
        later = await quotes.create(ned, acme, lines, valid_until=date(2026, 12, 20))
        await quotes.move(ned, later.id, QuoteStatus.SENT)
        draft = await quotes.create(ned, acme, lines, valid_until=date(2026, 12, 1))
        context: Any = CrmContext(bot.app)
        before = len(bot.api.sent_messages(NED))

        # 1 December, 23:00 in Taipei: still valid all day.
        clock.set(datetime(2026, 12, 1, 23, 0, tzinfo=TAIPEI))
        await expiry_job(context)
        assert (await quotes.get(ned, due.id)).status is QuoteStatus.SENT
        # 2 December, 01:00 in Taipei (still 1 December in UTC): expired, but nobody is woken.
        clock.set(datetime(2026, 12, 2, 1, 0, tzinfo=TAIPEI))
        await expiry_job(context)
        await expiry_job(context)
        assert (await quotes.get(ned, due.id)).status is QuoteStatus.EXPIRED
        assert (await quotes.get(ned, later.id)).status is QuoteStatus.SENT
        assert (await quotes.get(ned, draft.id)).status is QuoteStatus.DRAFT
        assert len(bot.api.sent_messages(NED)) == before
        async with engine.connect() as conn:
            audited = (await conn.execute(select(t.audit_log.c.action, t.audit_log.c.actor_id).where(
                t.audit_log.c.entity == "quote", t.audit_log.c.entity_id == due.id,
                t.audit_log.c.action == "expire"))).all()
        assert [(a.action, a.actor_id) for a in audited] == [("expire", None)]

        # 08:10: told once, in Traditional Chinese, with the quote's card a tap away.
        clock.set(datetime(2026, 12, 2, 8, 10, tzinfo=TAIPEI))
        await expiry_job(context)
        await expiry_job(context)
        pushed = bot.api.sent_messages(NED)[before:]
        assert len(pushed) == 1
        assert "已過有效期限" in (pushed[0].text or "") and due.number in (pushed[0].text or "")
        assert later.number not in (pushed[0].text or "")
        opened = await ned_chat.press(1, pushed[0].message_id)
        assert any(due.number in (m.text or "") for m in opened)
        clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=TAIPEI))
        await expiry_job(context)
        notices = [m for m in bot.api.sent_messages(NED) if "已過有效期限" in (m.text or "")]
        assert len(notices) == 1
