"""1,000 recipients drained through the Bot API fake within Telegram's limits (it answers anything faster than
30 messages a second with 429), and a crash mid-drain: the worker dies after Telegram accepted a chunk but before
the database heard, with more rows claimed; another worker finishes. Everyone gets the announcement exactly once.
Runs on a virtual clock (tests/bot/test_fake_bot_api.py's ``virtual_time``): 35 s of Telegram time, no sleeping."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import OFFLINE_TOKEN
from bot.i18n import Catalogs
from bot.rate_limit import TelegramRateLimiter
from crm.announcements.delivery import DeliveryService
from crm.announcements.model import AnnouncementDraft, Audience, AudienceKind
from crm.announcements.ports import Outcome
from crm.core.clock import ManualClock
from scheduler.announcements.delivery import AnnouncementDispatcher
from storage import tables as t
from tests.bot.test_fake_bot_api import busiest_window, timedelta_retry_after, virtual_time  # noqa: F401
from tests.fakes.bot_api import FakeBotApi
from tests.support.org import ADMIN_TG, make_org

STAFF = 1000
FIRST_TG = 900_000
CATALOGS = Catalogs()


class Crash(Exception):
    pass


async def _hire(engine: AsyncEngine, clock: ManualClock, department_id: int) -> None:
    """A thousand reps at once, written straight to the table: joining one by one is covered elsewhere."""
    async with engine.begin() as conn:
        rep = (await conn.execute(select(t.roles.c.id).where(t.roles.c.name == "rep"))).scalar_one()
        await conn.execute(insert(t.staff), [
            {"name": f"Rep {n:04d}", "telegram_user_id": FIRST_TG + n, "role_id": rep, "department_id": department_id,
             "locale": "zh-Hant" if n % 2 else "en", "active": True, "created_at": clock.now()}
            for n in range(STAFF)])


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_a_thousand_recipients_within_the_limits_and_a_crash_sends_nobody_anything_twice(
        engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    await _hire(engine, clock, org.north)
    loop = asyncio.get_running_loop()
    with virtual_time(loop) as now:
        api = FakeBotApi(token=OFFLINE_TOKEN, clock=lambda: loop.time())
        api.add_user(ADMIN_TG, "Ada")
        for n in range(STAFF):
            api.add_user(FIRST_TG + n, f"Rep {n:04d}")
        app = api.application_builder().rate_limiter(TelegramRateLimiter(max_retries=3)).build()
        async with app:
            published = await org.services.announcements.announcements.publish(
                org.admin, AnnouncementDraft("Quarterly targets are out: see the shared drive",
                                             Audience(AudienceKind.ALL)))
            assert published.recipients == STAFF + 1
            started = now()

            # The first worker dies on its 31st chunk: Telegram has those ten, the database still says "sending".
            doomed = DeliveryService(org.services.uow, clock)
            finish = doomed.finish
            calls = 0

            async def finish_then_crash(worker: str, outcomes: Sequence[Outcome]) -> int:
                nonlocal calls
                calls += 1
                if calls == 31:
                    raise Crash()
                return await finish(worker, outcomes)

            doomed.finish = finish_then_crash  # type: ignore[method-assign]
            with pytest.raises(Crash):
                await AnnouncementDispatcher(doomed, app.bot, CATALOGS, worker="doomed").run_once()
            assert len(api.calls_to("sendMessage")) == 310

            survivor = AnnouncementDispatcher(org.services.announcements.delivery, app.bot, CATALOGS,
                                              worker="survivor")
            first = await survivor.run_once()  # what nobody had claimed
            assert first.sent == STAFF + 1 - 400
            clock.advance(org.services.announcements.delivery.lease + timedelta(seconds=1))
            second = await survivor.run_once()  # the dead worker's claims, after its lease
            assert second.sent == 90
            assert not (await survivor.run_once()).busy
            elapsed = now() - started

    sends = api.calls_to("sendMessage")
    assert [c.error for c in sends] == [None] * len(sends)  # not one 429
    assert busiest_window([c.time for c in sends]) <= 30
    assert elapsed >= (STAFF + 1) / 30
    received = Counter(m.chat_id for m in api.sent_messages() if "Quarterly targets" in (m.text or ""))
    assert len(received) == STAFF + 1 and set(received.values()) == {1}
    assert "✅ 已讀" in [b.text for b in api.last_message(FIRST_TG + 1).buttons]
    r = t.announcement_recipients.c
    async with engine.connect() as conn:
        states = Counter((await conn.execute(select(r.state))).scalars())
        uncertain = (await conn.execute(select(func.count()).where(r.uncertain.is_(True)))).scalar_one()
    assert states == Counter({"sent": STAFF + 1})
    assert uncertain == 10  # the chunk in flight at the crash: delivered, counted, never sent again


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_a_pinned_announcement_is_pinned_and_unpinned_in_every_chat_within_the_limits(
        engine: AsyncEngine, clock: ManualClock) -> None:
    """Pins and unpins go through the same rate limiter as the messages: 120 recipients, the fake enforcing
    Telegram's 30 a second, not one 429; every chat pinned, then every chat unpinned when it is withdrawn."""
    org = await make_org(engine, clock)
    async with engine.begin() as conn:
        rep = (await conn.execute(select(t.roles.c.id).where(t.roles.c.name == "rep"))).scalar_one()
        await conn.execute(insert(t.staff), [
            {"name": f"Rep {n:04d}", "telegram_user_id": FIRST_TG + n, "role_id": rep, "department_id": org.north,
             "locale": "en", "active": True, "created_at": clock.now()} for n in range(120)])
    loop = asyncio.get_running_loop()
    with virtual_time(loop):
        api = FakeBotApi(token=OFFLINE_TOKEN, clock=lambda: loop.time())
        api.add_user(ADMIN_TG, "Ada")
        for n in range(120):
            api.add_user(FIRST_TG + n, f"Rep {n:04d}")
        app = api.application_builder().rate_limiter(TelegramRateLimiter(max_retries=3)).build()
        async with app:
            service = org.services.announcements.announcements
            published = await service.publish(org.admin, AnnouncementDraft(
                "Safety drill on Monday", Audience(AudienceKind.ALL), pinned=True))
            dispatcher = AnnouncementDispatcher(org.services.announcements.delivery, app.bot, CATALOGS)
            assert (await dispatcher.run_once()).sent == 121
            chats = (ADMIN_TG, *range(FIRST_TG, FIRST_TG + 120))
            pinned = {chat_id: list(api.chat(chat_id).pinned) for chat_id in chats}
            assert all(len(ids) == 1 and api.chat(c).message(ids[0]).text.startswith("📌")  # type: ignore[union-attr]
                       for c, ids in pinned.items())
            await service.withdraw(org.admin, published.announcement.id)
            assert (await dispatcher.run_once()).edited == 121
            assert all(api.chat(c).pinned == [] for c in pinned)
    calls = [c for c in api.calls if c.method.lower() in ("sendmessage", "editmessagetext", "pinchatmessage",
                                                          "unpinchatmessage")]
    assert [c.error for c in calls] == [None] * len(calls)
    assert len(api.calls_to("pinChatMessage")) == 121 and len(api.calls_to("unpinChatMessage")) == 121
    assert busiest_window([c.time for c in api.calls_to("sendMessage")]) <= 30
