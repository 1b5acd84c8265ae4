"""The rules every multi-step input follows (docs/input-flows.md), driven through the chat as users met them:
stray text at a button step never becomes a record, flows time out and survive restarts, a command leaves a flow,
/cancel works on every step, and text that matches nothing gets one useful reply — in English and Chinese."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from handlers.core.flow import AWAITING_KEY
from storage import tables as t
from tests.bot.test_followups_flow import _customer, _join
from tests.conftest import START, migrated_engine
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

NED, MEI, FANG = 3001, 3002, 3003  # rep (English), rep (繁體), rep (简体)


def _text(messages: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


async def _count(engine: AsyncEngine, table: Any, **where: Any) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def _team(bot: BotHarness) -> tuple[Chatter, Chatter, Chatter, Any, Any, Any]:
    await bot.user(ADMIN_ID, "Ada").send("/start")
    ned, ned_actor = await _join(bot, NED, "Ned")
    mei, mei_actor = await _join(bot, MEI, "美玲", "zh-hant")
    fang, fang_actor = await _join(bot, FANG, "芳", "zh-hans")
    return ned, mei, fang, ned_actor, mei_actor, fang_actor


# ---- stray input never becomes a record --------------------------------------------------------------------

async def test_a_number_typed_at_a_pick_between_namesakes_never_becomes_a_name(engine: AsyncEngine,
                                                                               clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        ned, mei, _fang, ned_actor, mei_actor, _ = await _team(bot)
        for owner in (mei_actor, mei_actor):
            await _customer(bot, owner, "張志明")
        for owner in (ned_actor, ned_actor):
            await _customer(bot, owner, "John Chen")

        shown = await mei.text_of("/log 張志明 打電話問報價")
        assert "是哪一位" in shown and mei.labels()[:2] == ["🏢 張志明", "🏢 張志明"]
        assert await mei.text_of("7") == bot.t("zh-Hant", "input.use_buttons")
        picked = _text(await mei.press(1))  # the draft is still there: the first 張志明 is picked, the log goes on
        assert "打電話問報價" in picked and "張志明" in picked and "7" not in picked
        assert "已儲存" in _text(await mei.press("✅ 儲存"))

        await ned.send("/log John Chen called about the price")
        assert await ned.text_of("7") == bot.t("en", "input.use_buttons")
        assert await ned.text_of("John") == bot.t("en", "input.use_buttons")  # a name is no button either
        await ned.press(1)
        assert "Saved" in _text(await ned.press("✅ Save"))

        assert await _count(engine, t.leads) == 0
        assert await _count(engine, t.customers) == 4
        assert await _count(engine, t.interactions) == 2


async def test_a_number_typed_at_a_menu_is_not_a_search(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        ned, _mei, fang, ned_actor, _, fang_actor = await _team(bot)
        for i in range(5):
            await _customer(bot, ned_actor, f"Customer {i}")
        await _customer(bot, fang_actor, "王芳贸易")
        await ned.send("/customers")
        assert len(ned.labels()) == 5
        for typed in ("19", "1", "7"):
            replies = await ned.send(typed)
            assert _text(replies) == bot.t("en", "input.short_number", digits=4)
            assert all(not m.buttons for m in replies)  # no "New lead with this name/number" under it
        await fang.send("/customers")
        assert _text(await fang.send("7")) == bot.t("zh-Hans", "input.short_number", digits=4)
        assert await _count(engine, t.customers) == 6 and await _count(engine, t.leads) == 0
        # Four digits are the last digits of a phone: a search as before.
        assert "Nothing found for “1234”" in await ned.text_of("1234")


# ---- timeouts and restarts ------------------------------------------------------------------------------------

async def test_a_half_finished_flow_times_out_quietly(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        ned, mei, *_ = await _team(bot)
        await ned.send("/newlead")
        assert "Phone number?" in await ned.text_of("Amy")
        clock.advance(timedelta(minutes=29))
        assert "not a phone number" in await ned.text_of("hello")  # still waiting, and the answer kept it alive
        clock.advance(timedelta(minutes=29))
        assert "not a phone number" in await ned.text_of("hello")
        asked = ned.last.message_id
        clock.advance(timedelta(minutes=31))
        fresh = await ned.send("hello")
        assert len(fresh) == 1 and "Nothing found for “hello”" in (fresh[0].text or "")
        assert "not a phone number" not in _text(fresh)
        assert "no longer open" in _text(await ned.press("Skip ⏭", asked))
        assert "nothing to cancel" in await ned.text_of("/cancel")
        assert await _count(engine, t.leads) == 0

        await mei.send("/timezone")
        clock.advance(timedelta(minutes=31))
        assert "找不到" in await mei.text_of("Asia/Tokyo")  # a search now, not a time zone


async def test_the_timeout_is_a_setting(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300, flow_timeout_minutes=5) as bot:
        ned, *_ = await _team(bot)
        await ned.send("/timezone")
        clock.advance(timedelta(minutes=4))
        assert "America/New_York" in await ned.text_of("America/New_York")
        await ned.send("/timezone")
        clock.advance(timedelta(minutes=6))
        assert "Nothing found" in await ned.text_of("Europe/London")


async def test_a_flow_survives_a_restart_but_not_days_of_silence(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        ned, _mei, _fang, ned_actor, *_ = await _team(bot)
        await _customer(bot, ned_actor, "Acme Trading")
        assert "Who is it about?" in await ned.text_of("/log")
    async with running_bot(engine, clock, reminder_tick_seconds=300) as restarted:
        ned = restarted.user(NED, "Ned")
        assert "How were you in touch with Acme Trading" in await ned.text_of("Acme")  # it lands in the flow
        await ned.send("/newlead")
        assert "Phone number?" in await ned.text_of("Amy")
    clock.advance(timedelta(days=2))
    async with running_bot(engine, clock, reminder_tick_seconds=300) as later:
        ned = later.user(NED, "Ned")
        fresh = _text(await ned.send("hello"))
        assert "Nothing found for “hello”" in fresh and "not a phone number" not in fresh
        assert "nothing to cancel" in await ned.text_of("/cancel")


# ---- commands and /cancel ------------------------------------------------------------------------------------

async def test_a_command_leaves_the_flow_and_runs(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        ned, mei, *_ = await _team(bot)
        await ned.send("/newcustomer")
        assert "company or a person" in await ned.text_of("Acme Two")
        asked = ned.last.message_id
        assert "today" in (await ned.text_of("/today")).lower()
        assert "Nothing found for “hello”" in await ned.text_of("hello")  # not "choose with the buttons"
        assert "no longer open" in _text(await ned.press("Company", asked))
        # A mistyped command is no way out: the flow stays.
        await ned.send("/newcustomer")
        assert "don't know that command" in await ned.text_of("/frobnicate")
        assert "company or a person" in await ned.text_of("Beta")
        # A command that asks its own question replaces the flow's.
        await mei.send("/newlead")
        await mei.send("/timezone")
        assert "Asia/Tokyo" in await mei.text_of("Asia/Tokyo")
        assert await _count(engine, t.customers) == 0 and await _count(engine, t.leads) == 0


async def test_cancel_works_on_every_step(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        ned, mei, _fang, ned_actor, mei_actor, _ = await _team(bot)
        await _customer(bot, ned_actor, "Acme Trading")
        await _customer(bot, mei_actor, "張志明")
        await _customer(bot, mei_actor, "張志明")
        done, nothing = bot.t("en", "cancel.done"), bot.t("en", "cancel.nothing")

        await ned.send("/newcustomer")  # a text step
        assert await ned.text_of("/cancel") == done
        await ned.send("/newcustomer Acme Two")  # a button step (company or person)
        assert await ned.text_of("/cancel") == done
        shown = await ned.text_of("/log Acme called about the price")  # the "Check and save" screen
        assert "Save" in " ".join(ned.labels()) and "called about the price" in shown
        assert await ned.text_of("/cancel") == done
        await ned.press("✅ Save")  # that screen's button no longer saves anything
        assert "earlier draft" in str(bot.api.calls_to("answerCallbackQuery")[-1].params.get("text"))
        await ned.send("/timezone")  # a question of another area
        assert await ned.text_of("/cancel") == done
        assert await ned.text_of("/cancel") == nothing

        await mei.send("/log 張志明 拜訪")  # a pick between namesakes, in Chinese
        assert await mei.text_of("/cancel") == bot.t("zh-Hant", "cancel.done")
        assert await _count(engine, t.interactions) == 0 and await _count(engine, t.customers) == 3


# ---- plain text that matches nothing ------------------------------------------------------------------------

async def test_unmatched_text_gets_one_reply_with_the_next_step(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        ned, mei, fang, *_ = await _team(bot)
        for chatter, locale, typed in ((ned, "en", "nobody here"), (mei, "zh-Hant", "沒有這個人"),
                                       (fang, "zh-Hans", "没有这个人")):
            replies = await chatter.send(typed)
            assert len(replies) == 1, _text(replies)
            text = replies[0].text or ""
            assert bot.t(locale, "customers.no_results", query=typed) in text
            assert bot.t(locale, "customers.search_tip_create") in text
            assert bot.t(locale, "text.no_flow") not in text
            assert chatter.labels() == [bot.t(locale, "customers.btn_new_lead_from_search"),
                                        bot.t(locale, "customers.btn_new_customer_from_search")]


# ---- random text at any step -----------------------------------------------------------------------------------

STEPS = ("nc-kind", "nc-phones", "nc-summary", "fu-who", "fu-pick", "fu-when", "fu-check")
DRAFTS = {"nc": "nc", "fu": "fu_draft"}


async def _reach(chatter: Chatter, step: str) -> None:
    """Start a fresh flow and walk it to ``step``."""
    await chatter.send("/cancel")
    if step == "nc-kind":
        await chatter.send("/newcustomer Fuzz Co")
    elif step == "nc-phones":
        await chatter.send("/newlead Fuzz Lead")
    elif step == "nc-summary":
        await chatter.send("/newlead Fuzz Lead")
        await chatter.press("Skip ⏭")
        await chatter.press("Skip ⏭")
    elif step == "fu-who":
        await chatter.send("/log")
    elif step == "fu-pick":
        await chatter.send("/log Twin met them")
    elif step == "fu-when":
        await chatter.send("/log Acme called next: someday send it")
    else:
        await chatter.send("/log Acme called about the price")


def test_random_text_at_any_step_never_crashes_or_loses_the_draft(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    clock = ManualClock(START)

    async def setup() -> tuple[BotHarness, Chatter]:
        engine = await migrated_engine(f"sqlite+aiosqlite:///{tmp_path}/fuzz.db")
        stack.push_async_callback(engine.dispose)
        bot = await stack.enter_async_context(running_bot(engine, clock, reminder_tick_seconds=300))
        ned, _mei, _fang, ned_actor, *_ = await _team(bot)
        for name in ("Acme Trading", "Twin Ltd", "Twin Ltd"):
            await _customer(bot, ned_actor, name)
        return bot, ned

    bot, ned = loop.run_until_complete(setup())
    records = {"customers": 3, "leads": 0}

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(step=st.sampled_from(STEPS),
           typed=st.lists(st.text(min_size=1, max_size=60).filter(lambda s: s.strip() and not s.startswith("/")),
                          min_size=1, max_size=4))
    def check(step: str, typed: list[str]) -> None:
        async def run() -> None:
            await _reach(ned, step)
            flow_key = DRAFTS[step.split("-")[0]]
            for text in typed:
                replies = await ned.send(text)
                assert replies and all(m.text for m in replies), text  # always an answer
                assert bot.t("en", "error.unexpected") not in _text(replies), text
                user_data = bot.app.user_data[NED]
                assert flow_key in user_data and AWAITING_KEY in user_data, (step, text)
            assert await _count(bot.runtime.engine, t.customers) == records["customers"]
            assert await _count(bot.runtime.engine, t.leads) == records["leads"]

        loop.run_until_complete(run())

    try:
        check()
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
