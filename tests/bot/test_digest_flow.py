"""/digest in chat: the settings buttons, a digest on demand with its chart, the scheduled push at 08:30 through
the Bot API, in English and Chinese; a rep without digests.receive is refused and forged presses change nothing."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from matplotlib import image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.digests.schedule import Frequency
from crm.organisation.identity import TelegramIdentity
from scheduler.digests.digests import send_due_digests
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, join, running_bot

MIA, NED, LIN = 3001, 3002, 3003
TAIPEI = ZoneInfo("Asia/Taipei")


async def test_settings_by_buttons_and_a_weekly_digest_now_with_its_chart(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager")
        _, neds = await join(bot, NED, "Ned", "rep")
        for name in ("Acme Trading", "Globex Ltd."):  # Thursday the 26th
            await bot.services.customers.customers.create(neds, CustomerDraft(name=name), force=True)

        shown = await mia.text_of("/digest")
        assert "Your digest" in shown and "Now: daily, at 08:30 your time (Asia/Taipei)" in shown
        assert mia.labels() == ["✅ Daily", "Weekly", "Monthly", "Off", "📊 Send one now"]
        edited = (await mia.press("Weekly"))[-1].text or ""
        assert "Now: weekly (Mondays)" in edited and mia.labels()[1] == "✅ Weekly"
        assert await bot.services.digests.digests.frequency(mias) is Frequency.WEEKLY

        clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=TAIPEI))  # Tuesday: last week is Nov 23–29
        replies = await mia.send("/digest now")
        text = "\n".join(m.text or "" for m in replies if m.kind == "text")
        assert "Weekly digest — 2026-11-23 – 2026-11-29" in text and "Compared with 2026-11-16 – 2026-11-22" in text
        assert "New customers: 2 (before 0, +2)" in text
        photo = next(m for m in replies if m.kind == "photo")
        assert photo.document is not None and "Trend up to 2026-11-23 – 2026-11-29" in (photo.text or "")
        assert image.imread(io.BytesIO(photo.document.content), format="png").shape[1] > 200

        assert "I did not understand “soon”" in await mia.text_of("/digest soon")


async def test_the_scheduled_digest_arrives_at_half_past_eight_in_chinese(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        lin, _ = await join(bot, LIN, "林經理", "manager", "zh-hant")
        admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        await bot.services.digests.digests.set_frequency(admin, Frequency.OFF)  # only Lin's digest, then
        await bot.services.customers.customers.create(admin, CustomerDraft(name="台積電"), force=True)  # Thursday
        clock.set(datetime(2026, 11, 27, 8, 29, tzinfo=TAIPEI))
        assert await send_due_digests(bot.services, bot.app.bot, bot.runtime.catalogs) == 0
        clock.set(datetime(2026, 11, 27, 8, 30, tzinfo=TAIPEI))
        assert await send_due_digests(bot.services, bot.app.bot, bot.runtime.catalogs) == 1
        pushed = bot.api.last_message(LIN).text or ""
        assert "每日摘要 — 2026-11-26" in pushed and "新客戶：1（上期 0，+1）" in pushed
        assert await send_due_digests(bot.services, bot.app.bot, bot.runtime.catalogs) == 0  # once

        shown = await lin.text_of("/digest 設定")
        assert "您的摘要" in shown and "目前：每日" in shown


async def test_a_rep_is_refused_and_forged_presses_change_nothing(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager")
        ned, _ = await join(bot, NED, "Ned", "rep")
        denied = bot.t("en", "error.permission_denied")
        assert denied in await ned.text_of("/digest")
        assert denied in await ned.text_of("/digest now")

        await ned.send("/today")  # a message to forge presses on
        for data in ("dg:set:o", "dg:set:w", "dg:now"):
            replies = await ned._do(bot.api.press(ned.user, None, data, enqueue=False, forged=True))
            assert bot.told(replies, denied)
        await mia.send("/digest")
        for data in ("dg:set:x", "dg:set:", "dg:set:o:1", "dg:set:" + "9" * 40):
            replies = await mia._do(bot.api.press(mia.user, None, data, enqueue=False, forged=True))
            assert bot.told(replies, bot.t("en", "error.stale_button"))
        assert await bot.services.digests.digests.frequency(mias) is Frequency.DAILY
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(t.digest_settings))).scalar_one() == 0
