"""Names and time zones in chat, as a new team meets them in its first hour: a Chinese contact shared from a
phone, colleagues' names, a customer who is a person, names with hidden characters, /timezone as people type it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.customers.model import CustomerKind
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot


def _text(messages: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


async def _join(bot: BotHarness, tg_id: int, first: str, last: str | None = None, language: str = "en"
                ) -> tuple[Chatter, Actor]:
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await bot.services.organisation.roles.assignable(admin)}
    invite = await bot.services.organisation.invites.create(admin, roles["rep"], admin.department_id)
    chatter = bot.user(tg_id, first, last_name=last, language_code=language)
    await chatter.send(f"/start {invite.code}")
    actor = await bot.services.organisation.identity.actor_for(TelegramIdentity(tg_id, first, last, None, language))
    assert actor is not None
    return chatter, actor


async def test_a_chinese_contact_shared_from_a_phone_is_found_by_its_name(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        bob, _ = await _join(bot, 3001, "Bob")
        assert "王小明: this number is new" in _text(await bob.share_contact("886912111222", "小明", "王"))
        assert "Lead “王小明” saved" in _text(await bob.press("🌱 New lead"))
        for typed in ("王小明", "小明王", "王 小明", "小明 王"):
            await bob.send(f"/find {typed}")
            assert bob.labels()[:1] == ["🌱 王小明"], typed
        for log in ("/log 王小明 called about the price", "/log 小明王 called about the price"):
            shown = await bob.text_of(log)
            assert "王小明" in shown and "called about the price" in shown, log
            assert "🌱 New lead" not in bob.labels() and "✅ Save" in bob.labels(), log
            await bob.send("/cancel")


async def test_a_colleagues_name_is_written_one_way(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mei, mei_actor = await _join(bot, 3002, "美玲", "林", "zh-hant")
        ada, _ = await _join(bot, 3003, "Ada", "Lovelace")
        assert mei_actor.name == "林美玲" and "林美玲" in await mei.text_of("/me")
        assert "Ada Lovelace" in await ada.text_of("/me")


async def test_a_customer_who_is_a_person_shows_a_person(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        bob, bob_actor = await _join(bot, 3001, "Bob")
        await bot.services.customers.customers.create(bob_actor, CustomerDraft(name="陳美玲", kind=CustomerKind.PERSON))
        await bot.services.customers.customers.create(bob_actor, CustomerDraft(name="Acme"))
        await bob.send("/customers")
        assert set(bob.labels()[:2]) == {"👤 陳美玲", "🏢 Acme"}
        card = _text(await bob.press("👤 陳美玲"))
        assert card.startswith("👤 陳美玲") and "🏢" not in card.split("\n")[0]


async def test_names_with_hidden_characters(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        bob, _ = await _join(bot, 3001, "Bob")
        async def one_line(form: str) -> str:
            """The one-line form, then the one tap that saves what the bot understood."""
            summary = await bob.text_of(form)
            assert "\u200b" not in summary  # the echo shows the name as it will be stored
            return _text(await bob.press("✅ Save"))

        assert "“Victim Co” saved" in await one_line("/newcustomer Victim Co; 0912-000-001")
        assert "may already exist" in await one_line("/newcustomer Vic\u200btim Co; 0912-000-002")
        assert "“Mary” saved" in await one_line("/newcustomer Ma\u200bry; 0912-000-003")
        await bob.send("/find Mary")
        assert bob.labels()[:1] == ["🏢 Mary"]
        await bob.send("/find Vic\u200btim")
        assert bob.labels()[:1] == ["🏢 Victim Co"]


async def test_timezone_as_people_type_it(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        bob, _ = await _join(bot, 3001, "Bob")
        mei, _ = await _join(bot, 3002, "美玲", "林", "zh-hant")
        for typed, zone in (("Taipei", "Asia/Taipei (UTC+8"), ("上海", "Asia/Shanghai (UTC+8"),
                            ("臺北", "Asia/Taipei (UTC+8"), ("Shanghai", "Asia/Shanghai (UTC+8"),
                            ("asia/taipei", "Asia/Taipei (UTC+8"), ("London", "Europe/London (UTC, "),
                            ("UTC+8", "Etc/GMT-8 (UTC+8"), ("GMT-05:00", "Etc/GMT+5 (UTC−5"),
                            ("台北", "Asia/Taipei (UTC+8"), ("+8", "Asia/Taipei (UTC+8")):
            shown = await bob.text_of(f"/timezone {typed}")
            assert f"Time zone set to {zone}" in shown.replace("<b>", "").replace("</b>", ""), typed
        refused = await bob.text_of("/timezone Atlantis")
        assert "“Atlantis”" in refused and "UTC+8" in refused and "Taipei" in refused
        # A zh-Hant reader's "+8" is Taipei time, also after choosing Shanghai.
        await mei.send("/timezone 上海")
        assert "Asia/Taipei" in await mei.text_of("/timezone GMT+08:00")
        # A typed answer: a wrong one is explained and the question stays open.
        await mei.send("/timezone")
        assert "無法辨識" in await mei.text_of("火星")
        assert "Asia/Shanghai" in await mei.text_of("上海")
