"""Search results show a customer who is a person as 👤, not 🏢, wherever hits are buttons (/find, /log, /consent);
/team is in the command menu only of someone whose follow-ups scope is wider than their own — through the chat."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.customers.model import CustomerKind
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from tests.support.bot_harness import ADMIN_ID, BotHarness, running_bot

REP, MANAGER, REP_HANT = 6101, 6102, 6103


async def _people(bot: BotHarness) -> dict[int, Actor]:
    await bot.user(ADMIN_ID, "Ada").send("/start")
    s = bot.services
    admin = await s.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await s.organisation.roles.list(admin)}
    people: dict[int, Actor] = {}
    for tg, name, role, language in ((REP, "Bob", "rep", "en"), (MANAGER, "Mia", "manager", "en"),
                                     (REP_HANT, "小哲", "rep", "zh-hant")):
        invite = await s.organisation.invites.create(admin, roles[role], admin.department_id)
        who = TelegramIdentity(tg, name, language_code=language)
        await s.organisation.invites.accept(invite.code, who)
        actor = await s.organisation.identity.actor_for(who)
        assert actor is not None
        people[tg] = actor
    return people


async def test_a_person_customer_is_a_face_in_search_results(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        people = await _people(bot)
        customers = bot.services.customers.customers
        await customers.create(people[REP], CustomerDraft(name="Wang Acme Ltd"), force=True)
        await customers.create(people[REP], CustomerDraft(name="Wang Daming", kind=CustomerKind.PERSON), force=True)
        await bot.services.customers.leads.create(people[REP], "Wang Lead")
        bob = bot.user(REP, "Bob")
        await bob.send("/find wang")
        assert set(bob.labels()) == {"👤 Wang Daming", "🌱 Wang Lead", "🏢 Wang Acme Ltd"}
        # The same hits picking whom a /log is about.
        await bob.send("/log wang called about the order")
        assert {"👤 Wang Daming", "🏢 Wang Acme Ltd"} <= set(bob.labels())
        # And in Traditional Chinese, a person customer is a 👤 too.
        await customers.create(people[REP_HANT], CustomerDraft(name="陳小美", kind=CustomerKind.PERSON), force=True)
        await customers.create(people[REP_HANT], CustomerDraft(name="陳氏貿易"), force=True)
        zed = bot.user(REP_HANT, "小哲")
        await zed.send("/find 陳")
        assert set(zed.labels()) == {"👤 陳小美", "🏢 陳氏貿易"}


async def test_team_is_in_the_menu_of_managers_only(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await _people(bot)
        rep_help = await bot.user(REP, "Bob").text_of("/help")
        manager_help = await bot.user(MANAGER, "Mia").text_of("/help")
        zed_help = await bot.user(REP_HANT, "小哲").text_of("/help")
        assert "/team" not in rep_help and "/team" not in zed_help
        assert "/team — " + bot.t("en", "cmd.team") in manager_help
        # Both still see what every rep may use.
        assert "/today" in rep_help and "/today" in manager_help and "/log" in zed_help
