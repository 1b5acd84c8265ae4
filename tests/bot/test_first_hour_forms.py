"""The first hour with the bot: one-line forms as people type them, phone numbers of the user's own country, /log
with a time that cannot be, and the same interaction logged twice — driven through the chat."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, running_bot

REP_EN, REP_HANT, REP_HANS = 5001, 5002, 5003


async def _reps(bot: BotHarness) -> dict[int, Actor]:
    await bot.user(ADMIN_ID, "Ada").send("/start")
    s = bot.services
    admin = await s.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await s.organisation.roles.list(admin)}
    reps: dict[int, Actor] = {}
    for tg, name, language in ((REP_EN, "Bob", "en"), (REP_HANT, "小哲", "zh-hant"), (REP_HANS, "小明", "zh-hans")):
        invite = await s.organisation.invites.create(admin, roles["rep"], admin.department_id)
        who = TelegramIdentity(tg, name, language_code=language)
        await s.organisation.invites.accept(invite.code, who)
        actor = await s.organisation.identity.actor_for(who)
        assert actor is not None
        reps[tg] = actor
    return reps


def _text(messages: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


async def _row(engine: AsyncEngine, table: Any, name: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(table).where(table.c.name == name))).first()


async def test_a_one_line_customer_with_spaces_is_read_echoed_and_saved_on_one_tap(engine: AsyncEngine,
                                                                                   clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await _reps(bot)
        zed = bot.user(REP_HANT, "小哲")
        summary = await zed.text_of("/newcustomer 李大華 0922333444 lee@example.com 高雄")
        assert "李大華" in summary and "0922 333 444" in summary and "lee@example.com" in summary
        assert "高雄" in summary and "依格式判讀" in summary  # the format, since the fields were guessed
        assert zed.labels() == ["✅ 儲存", "✏️ 編輯", "✖️ 取消"]
        assert await _row(engine, t.customers, "李大華") is None  # nothing saved before the tap
        await zed.send("好")  # typed text at the button step is never data
        assert await _row(engine, t.customers, "李大華") is None
        await zed.press("✅ 儲存")
        row = await _row(engine, t.customers, "李大華")
        assert row is not None and list(row.phones) == ["+886922333444"] and row.region == "高雄"
        assert row.email == "lee@example.com"


async def test_commas_and_an_international_number_in_english(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await _reps(bot)
        bob = bot.user(REP_EN, "Bob")
        summary = await bob.text_of("/newcustomer Globex Corp, +1 415 555 0100, sales@globex.com")
        assert "Globex Corp" in summary and "(United States)" in summary and "any order" in summary
        assert bob.labels() == ["✅ Save", "✏️ Edit", "✖️ Cancel"]
        await bob.press("✅ Save")
        row = await _row(engine, t.customers, "Globex Corp")
        assert row is not None and list(row.phones) == ["+14155550100"] and row.email == "sales@globex.com"
        # Cancel saves nothing.
        await bob.send("/newcustomer Initech 0912345678")
        await bob.press("✖️ Cancel")
        assert await _row(engine, t.customers, "Initech") is None


async def test_a_one_line_lead_does_not_ask_for_the_phone_again(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await _reps(bot)
        for tg, name, words in ((REP_EN, "Bob", "Save"), (REP_HANT, "小哲", "儲存"), (REP_HANS, "小明", "保存")):
            chatter = bot.user(tg, name)
            lead_name = f"路人甲{name}"
            summary = await chatter.text_of(f"/newlead {lead_name} 0955666777")
            assert lead_name in summary and "0955 666 777" in summary
            assert words in chatter.labels()[0]
            await chatter.press(1)
            row = await _row(engine, t.leads, lead_name)
            assert row is not None and list(row.phones) == ["+886955666777"]


async def test_help_shows_the_one_line_format(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await _reps(bot)
        assert "/newcustomer 李大華 0922333444 lee@example.com 高雄" in await bot.user(REP_EN, "Bob").text_of("/help")
        assert "/newlead 路人甲 13800138000" in await bot.user(REP_HANS, "小明").text_of("/help")


async def test_a_mainland_mobile_typed_by_a_simplified_chinese_user(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await _reps(bot)
        ming = bot.user(REP_HANS, "小明")
        summary = await ming.text_of("/newcustomer 华为 138-0013-8000")
        assert "+86 138 0013 8000（中国）" in summary
        await ming.press(1)
        row = await _row(engine, t.customers, "华为")
        assert row is not None and list(row.phones) == ["+8613800138000"]
        # The guided flow's phone step reads it the same way.
        await ming.send("/newlead 张三")
        assert "公司" in await ming.text_of("138-0013-8000")
        reply = _text(await ming.press(1))  # skip the company: the summary
        assert "+86 138 0013 8000（中国）" in reply
        # An English user in a Taiwan team: no country to fall back on, the number is refused with the reason.
        bob = bot.user(REP_EN, "Bob")
        reply = await bob.text_of("/newcustomer Acme 138-0013-8000")
        assert "is not a phone number" in reply
        assert await _row(engine, t.customers, "Acme") is None


async def test_log_with_a_next_time_that_cannot_be(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        reps = await _reps(bot)
        bob, zed = bot.user(REP_EN, "Bob"), bot.user(REP_HANT, "小哲")
        for rep in (REP_EN, REP_HANT):  # reps see their own customers
            await bot.services.customers.customers.create(reps[rep], CustomerDraft(name="王小明"), force=True)
        cases = ((bob, "31 Feb", "I couldn't read “31 Feb”", "When?"),
                 (bob, "in -3 days", "I couldn't read “in -3 days”", "When?"),
                 (bob, "in 9999 years", "I couldn't read “in 9999 years”", "When?"),
                 (zed, "2月31日", "無法把「2月31日」讀成日期", "什麼時候"))
        for n, (chatter, words, said, asked) in enumerate(cases):
            # A different visit each time: the same one again within minutes would be asked about first.
            reply = await chatter.text_of(f"/log 王小明 visited shop {n} next: {words} call")
            assert said in reply and asked in reply, reply
            shown = await chatter.text_of("tomorrow 3pm")
            assert words not in shown  # the unreadable words are not part of the follow-up's text
            await chatter.press("✅ Save" if chatter is bob else "✅ 儲存")
        async with engine.connect() as conn:
            texts = [r.text for r in (await conn.execute(select(t.followups))).all()]
        assert texts == ["call"] * 4
        # Typed at the "When?" step, an impossible date gets the same explanation and the question again.
        await bob.send("/log 王小明 visited next: 31 Feb call")
        reply = await bob.text_of("Feb 30")
        assert "I couldn't read “Feb 30”" in reply and "When?" in reply
